/**
 * Renders a stored report (its exact JSON bytes + detached JWS) to a signed, PDF/A-3b document
 * with both embedded. The PDF is a pure function of the report bytes, the JWS, the signing
 * certificate, the layout template and this code's version: no clock, locale, time zone or
 * randomness reaches it (dates come from the report's submission time).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import PDFDocument from 'pdfkit';
import { PdfCmsSigner, endAndSignPdf, pdfSigningTime } from '../../signing/pdf-sign.js';
import type { PdfSignerIdentity } from '../../signing/pdf-sign.js';
import { sha256Hex } from '../../util/hash.js';
import { Canvas } from './canvas.js';
import type { Doc, TextStyle } from './canvas.js';
import { t } from './context.js';
import type { RenderContext } from './context.js';
import { FONT, loadFonts, MONO_PRELOAD, SUBSET_PRELOAD } from './fonts.js';
import { shorten } from './format.js';
import { installPdfkitFastPaths, preloadSubset } from './pdfkit-fast.js';
import { loadPdfLayout, text } from './layout.js';
import type { PdfLayout, SectionName } from './layout.js';
import { buildPdfModel, parseReportBytes } from './model.js';
import { EMBEDDED_JWS_NAME, EMBEDDED_REPORT_NAME } from './names.js';
import type { PdfReportModel } from './model.js';
import { fillContents, reserveContents } from './sections/contents.js';
import { drawCover } from './sections/cover.js';
import { drawFindings, drawRemediation } from './sections/findings.js';
import { drawMethodology, drawVerification } from './sections/reference.js';
import { drawSummary } from './sections/summary.js';

/** What `renderReportPdf` needs: the stored report bytes, their JWS and the PDF signing identity. */
export interface RenderReportPdfInput {
  /** The exact stored bytes of the report (canonical JSON); embedded unchanged as `report.json`. */
  readonly reportBytes: Uint8Array;
  /** The report's detached JWS; embedded as `report.jws`. */
  readonly jws: string;
  /** PKCS#12 + passphrase of the X.509 identity that signs the PDF. */
  readonly signer: PdfSignerIdentity;
}

/** Options for tests and tools; production uses the defaults. */
export interface RenderOptions {
  /** Another layout template file (default `templates/pdf/report-layout.json`). */
  readonly layoutPath?: string;
  /** Install the shortcuts of pdfkit-fast.ts (default true); the file says the same without them, glyph strings spelled as hex. */
  readonly pdfkitFastPaths?: boolean;
}

export { EMBEDDED_JWS_NAME, EMBEDDED_REPORT_NAME } from './names.js';
/** `hipaa-ai-risk <version>`: the PDF's Producer and Creator. */
export const PRODUCER = `hipaa-ai-risk ${readVersion()}`;

const SECTION_DRAWERS: Readonly<Record<Exclude<SectionName, 'cover' | 'contents'>, (ctx: RenderContext) => void>> = {
  summary: drawSummary,
  findings: drawFindings,
  remediation: drawRemediation,
  methodology: drawMethodology,
  verification: drawVerification,
};

/**
 * Renders and signs the PDF of a stored report.
 *
 * Guarantees:
 * - deterministic: the same bytes, JWS and certificate give the same PDF bytes in any process,
 *   time zone or locale (document dates, embedded-file dates and the signing time are the
 *   report's `assessment.submittedAt`; Producer/Creator are `hipaa-ai-risk <version>`);
 * - PDF/A-3b (PDF 1.7, tagged) with `report.json` (exactly `reportBytes`, relationship Data) and
 *   `report.jws` (exactly `jws`, relationship Supplement) as associated embedded files;
 * - signed last, over the final bytes (CMS detached, SHA-256), so any later change is detected;
 * - throws `AppError('bad-request')` if the bytes are not a report it can state the identity of.
 */
export async function renderReportPdf(input: RenderReportPdfInput, options: RenderOptions = {}): Promise<Buffer> {
  const layout = loadPdfLayout(options.layoutPath);
  const model = buildPdfModel(parseReportBytes(input.reportBytes), layout);
  const reportSha256 = sha256Hex(input.reportBytes);
  const signer = signerFor(input.signer);
  const signingTime = pdfSigningTime(model.assessment.submittedAt, signer);
  const doc = buildReportDocument(model, layout, reportSha256, { ...input, signingTime }, options);
  const values = { reportId: model.reportId, sha256: reportSha256 };
  return endAndSignPdf(doc, signer, {
    reason: text(layout, 'signature.reason', values),
    name: text(layout, 'signature.name', values),
    location: text(layout, 'signature.location', values),
    contactInfo: text(layout, 'signature.contactInfo', values),
    signingTime,
  });
}

/**
 * Lays out the whole document (not ended, not signed): for tools that want the unsigned pdfkit
 * document, e.g. to measure layout time. Same determinism guarantees as `renderReportPdf`.
 */
export function buildReportDocument(
  model: PdfReportModel,
  layout: PdfLayout,
  reportSha256: string,
  embedded: { readonly reportBytes: Uint8Array; readonly jws: string; /** The time the signature will claim (default: the submission time). */ readonly signingTime?: Date },
  options: Pick<RenderOptions, 'pdfkitFastPaths'> = {},
): Doc {
  const when = model.assessment.submittedAt;
  const doc = new PDFDocument({
    size: layout.page.size,
    margins: layout.page.margins,
    subset: 'PDF/A-3b',
    pdfVersion: '1.7',
    tagged: true,
    lang: 'en-US',
    displayTitle: true,
    bufferPages: true,
    autoFirstPage: true,
    // No default font: pdfkit would otherwise parse Helvetica's metrics for every document
    // (a standard font a PDF/A file may not use anyway); the report fonts are registered below.
    font: null as unknown as string,
    info: {
      Title: text(layout, 'documentTitle', { title: model.assessment.title }),
      Author: model.assessment.organization,
      Subject: `${text(layout, 'documentSubject', { assessmentId: model.assessment.id, revision: model.assessment.revision })}; report SHA-256 ${reportSha256}`,
      Keywords: text(layout, 'documentKeywords'),
      Creator: PRODUCER,
      Producer: PRODUCER,
      CreationDate: when,
      ModDate: when,
    },
  });
  if (options.pdfkitFastPaths !== false) installPdfkitFastPaths(doc);
  const fonts = loadFonts(layout);
  doc.registerFont(FONT.regular, fonts.regular as unknown as string);
  doc.registerFont(FONT.bold, fonts.bold as unknown as string);
  doc.registerFont(FONT.mono, fonts.mono as unknown as string);
  // Report text is set in these two; the monospaced font holds a few hashes and commands, whose
  // preloaded glyphs would have cost 4.3 KB of the poorly-controlled example's PDF to save little:
  // it preloads only the hexadecimal digits its hashes use anyway (see MONO_PRELOAD). Regular last:
  // the document starts in it.
  preloadSubset(doc.font(FONT.mono), MONO_PRELOAD);
  for (const name of [FONT.bold, FONT.regular]) preloadSubset(doc.font(name), SUBSET_PRELOAD);

  const ctx: RenderContext = { canvas: new Canvas(doc, layout), layout, model, reportSha256, signingTime: embedded.signingTime ?? when, toc: [], contentsPage: undefined, bare: new Set() };
  for (const section of layout.sections) {
    if (section === 'cover') {
      drawCover(ctx);
      continue;
    }
    ctx.canvas.newPage();
    if (section === 'contents') reserveContents(ctx);
    else SECTION_DRAWERS[section](ctx);
  }
  fillContents(ctx);
  drawRunningHeadAndFoot(ctx);

  // @types/pdfkit lacks `relationship` (AFRelationship), which PDF/A-3 associated files need.
  const file: (src: Buffer, options: PDFKit.Mixins.PDFAttachmentOptions & { relationship: string }) => Doc = doc.file.bind(doc);
  file(Buffer.from(embedded.reportBytes), {
    name: EMBEDDED_REPORT_NAME,
    type: 'application/json',
    description: text(layout, 'embedded.json'),
    creationDate: when,
    modifiedDate: when,
    relationship: 'Data',
  });
  file(Buffer.from(embedded.jws, 'utf8'), {
    name: EMBEDDED_JWS_NAME,
    type: 'application/jose',
    description: text(layout, 'embedded.jws'),
    creationDate: when,
    modifiedDate: when,
    relationship: 'Supplement',
  });
  doc.switchToPage(0); // the (invisible) signature widget goes on the cover
  return doc;
}

function drawRunningHeadAndFoot(ctx: RenderContext): void {
  const { canvas: c, layout, model } = ctx;
  const doc = c.doc;
  const { count } = doc.bufferedPageRange();
  const style: TextStyle = { size: layout.fontSizes.running, color: layout.colors.muted };
  const headerY = layout.page.margins.top - 34;
  const values = {
    organization: model.assessment.organization,
    title: model.assessment.title,
    assessmentId: model.assessment.id,
    revision: model.assessment.revision,
    sha256Short: shorten(ctx.reportSha256, 16),
    kidShort: shorten(model.signing.kid, 12),
  };
  const right = t(ctx, 'runningHeaderRight', values);
  const left = t(ctx, 'runningHeaderLeft', values);
  const footLeft = t(ctx, 'runningFooterLeft', values);
  for (let i = 0; i < count; i++) {
    if (ctx.bare.has(i)) continue;
    doc.switchToPage(i);
    const footerY = doc.page.height - layout.page.margins.bottom + 20;
    const rightWidth = Math.min(c.textWidth(right, style) + 1, c.width / 2);
    oneLine(c, right, c.right - rightWidth, headerY, rightWidth, style, 'right');
    oneLine(c, left, c.left, headerY, c.width - rightWidth - 16, { ...style, font: 'bold', color: layout.colors.primary });
    doc.save().moveTo(c.left, headerY + 12).lineTo(c.right, headerY + 12).lineWidth(0.5).strokeColor(layout.colors.rule).stroke().restore();
    doc.save().moveTo(c.left, footerY - 6).lineTo(c.right, footerY - 6).lineWidth(0.5).strokeColor(layout.colors.rule).stroke().restore();
    const page = t(ctx, 'pageNumber', { n: i + 1, total: count });
    const pageWidth = c.textWidth(page, { ...style, font: 'bold' }) + 1;
    oneLine(c, page, c.right - pageWidth, footerY, pageWidth, { ...style, font: 'bold' }, 'right');
    oneLine(c, footLeft, c.left, footerY, c.width - pageWidth - 16, style);
  }
}

/** One line of text, shortened with an ellipsis to fit `width`. */
function oneLine(c: Canvas, value: string, x: number, y: number, width: number, style: TextStyle, align: 'left' | 'right' = 'left'): void {
  let shown = value;
  if (c.textWidth(shown, style) > width) {
    const chars = Array.from(value);
    let lo = 0;
    let hi = chars.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (c.textWidth(`${chars.slice(0, mid).join('')}…`, style) <= width) lo = mid;
      else hi = mid - 1;
    }
    shown = `${chars.slice(0, lo).join('').trimEnd()}…`;
  }
  c.textAt(shown, x, y, width + 2, { ...style, align });
}

// Opening a PKCS#12 takes ~20 ms; a process (or worker) signs with one or two identities.
const signers = new Map<string, PdfCmsSigner>();
function signerFor(identity: PdfSignerIdentity): PdfCmsSigner {
  const key = createHash('sha256').update(identity.p12).update('\0').update(identity.passphrase).digest('hex');
  let signer = signers.get(key);
  if (signer === undefined) {
    signer = new PdfCmsSigner(identity);
    if (signers.size >= 4) signers.clear();
    signers.set(key, signer);
  }
  return signer;
}

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
