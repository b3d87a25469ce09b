/** The methodology (scales, NIST SP 800-30 tables, sources) and the verification instructions. */
import { formatUtcDateTime, groupHex } from '../format.js';
import { RISK_LEVELS, textList } from '../layout.js';
import type { RiskLevel } from '../layout.js';
import { TABLE_G5, TABLE_I2 } from '../../../rules/risk.js';
import { levelBadge, startSection, t } from '../context.js';
import type { RenderContext } from '../context.js';
import { tint } from './summary.js';

/** JWKS path on the issuing service. */
export const JWKS_PATH = '/.well-known/jwks.json';
/** Where the service publishes its PDF signing certificate and its SHA-256, for `verify --pdf-cert-sha256` (src/http/routes/assessments.ts). */
export const PDF_CERT_PATH = '/.well-known/pdf-signing-certificate.json';

/** Draws the methodology section. */
export function drawMethodology(ctx: RenderContext): void {
  const { canvas: c, layout, model } = ctx;
  const sizes = layout.fontSizes;
  const heading = t(ctx, 'methodology.heading');
  startSection(ctx, heading, 1);
  c.heading(heading, 1);
  for (const p of textList(layout, 'methodology.paragraphs')) c.paragraph(p, { size: sizes.body, lineGap: 2.4 }, { gap: 8 });

  c.heading(t(ctx, 'methodology.scale'), 3, 120);
  const cols = (name: string): string => t(ctx, `methodology.scaleColumns.${name}`);
  c.table(
    [{ header: cols('level'), width: 84 }, { header: cols('values'), width: 96 }, { header: cols('meaning'), width: '*' }],
    [...layout.riskLevels].reverse().map((l) => ({
      cells: [
        { badges: [levelBadge(ctx, l.code)] },
        { lines: [{ text: `${l.range}  (${l.short})`, size: sizes.table }] },
        { lines: [{ text: t(ctx, `methodology.scaleMeanings.${l.code}`), size: sizes.table }] },
      ],
    })),
  );

  const gridW = (c.width - 30) / 2;
  const gridH = 150;
  c.ensure(gridH + 10);
  const top = c.y;
  drawLookup(ctx, c.left, top, gridW, t(ctx, 'methodology.g5'), t(ctx, 'methodology.g5Rows'), t(ctx, 'methodology.g5Columns'), TABLE_G5);
  drawLookup(ctx, c.left + gridW + 30, top, gridW, t(ctx, 'methodology.i2'), t(ctx, 'methodology.i2Rows'), t(ctx, 'methodology.i2Columns'), TABLE_I2);
  c.y = top + gridH + 8;

  c.heading(t(ctx, 'methodology.sources'), 3, 60);
  c.paragraph(t(ctx, 'methodology.versionsIntro'), { size: sizes.body }, { gap: 4 });
  c.keyValues(
    model.versions.map((v) => ({ label: t(ctx, `cover.fields.${v.label}`), value: v.sha256 === undefined ? v.value : `${v.value}  (SHA-256 ${groupHex(v.sha256)})` })),
    100,
  );
  c.y += 4;
  const sources = model.sources.length > 0 ? model.sources : textList(layout, 'methodology.defaultSources');
  for (const s of sources) c.paragraph(`•  ${s}`, { size: sizes.table }, { gap: 3, x: c.left + 6 });
}

/** Draws a NIST lookup table (the rules' own, so the page shows exactly what was applied). */
function drawLookup(ctx: RenderContext, x: number, y: number, width: number, title: string, rowsLabel: string, colsLabel: string, table: Readonly<Record<RiskLevel, Readonly<Record<RiskLevel, RiskLevel>>>>): void {
  const { canvas: c, layout } = ctx;
  const sizes = layout.fontSizes;
  c.textAt(title, x, y, width, { font: 'bold', size: sizes.h3 - 1, color: layout.colors.primary });
  const labelW = 26;
  const cellW = (width - labelW) / 5;
  const cellH = 17;
  const colsY = y + 16;
  c.textAt(`${colsLabel} →`, x + labelW, colsY, width - labelW, { size: sizes.small - 0.5, color: layout.colors.muted });
  const headY = colsY + 11;
  RISK_LEVELS.forEach((l, i) => {
    c.textAt(ctx.layout.riskLevels[i]!.short, x + labelW + i * cellW, headY, cellW, { font: 'bold', size: sizes.small, align: 'center' });
    void l;
  });
  const gy = headY + 11;
  [...RISK_LEVELS].reverse().forEach((row, r) => {
    const ri = RISK_LEVELS.indexOf(row);
    const cells = table[row];
    c.textAt(ctx.layout.riskLevels[ri]!.short, x, gy + r * cellH + 4.5, labelW - 4, { font: 'bold', size: sizes.small, align: 'right' });
    RISK_LEVELS.forEach((col, ci) => {
      const value = cells[col];
      const style = ctx.layout.riskLevels.find((l) => l.code === value)!;
      c.rect(x + labelW + ci * cellW, gy + r * cellH, cellW, cellH, tint(style.fill, 0.85));
      c.textAt(style.short, x + labelW + ci * cellW, gy + r * cellH + 4.5, cellW, { font: 'bold', size: sizes.small, color: style.text, align: 'center' });
    });
  });
  const doc = c.doc;
  doc.save().lineWidth(1).strokeColor('#FFFFFF');
  for (let i = 1; i < 5; i++) {
    doc.moveTo(x + labelW + i * cellW, gy).lineTo(x + labelW + i * cellW, gy + 5 * cellH);
    doc.moveTo(x + labelW, gy + i * cellH).lineTo(x + width, gy + i * cellH);
  }
  doc.stroke().restore();
  c.textAt(`↑ ${rowsLabel}`, x, gy + 5 * cellH + 4, width, { size: sizes.small - 0.5, color: layout.colors.muted });
}

/** Draws the verification section: how to check the PDF signature and the embedded JSON + JWS. */
export function drawVerification(ctx: RenderContext): void {
  const { canvas: c, layout, model } = ctx;
  const sizes = layout.fontSizes;
  const body = { size: sizes.body, lineGap: 2.4 };
  const heading = t(ctx, 'verification.heading');
  startSection(ctx, heading, 1);
  c.heading(heading, 1);
  c.paragraph(t(ctx, 'verification.intro'), body, { gap: 10 });

  c.heading(t(ctx, 'verification.pdfHeading'), 2, 80);
  c.paragraph(t(ctx, 'verification.pdfText', { signingTime: formatUtcDateTime(ctx.signingTime) }), body);
  c.code(t(ctx, 'verification.pdfCommand'));
  c.paragraph(t(ctx, 'verification.pdfExpect'), body, { gap: 10 });

  c.heading(t(ctx, 'verification.jsonHeading'), 2, 80);
  c.paragraph(t(ctx, 'verification.jsonText', { jwksPath: JWKS_PATH }), body);
  c.code(t(ctx, 'verification.extractCommand'));
  c.code(t(ctx, 'verification.verifyCommand', { jwksPath: JWKS_PATH }));
  c.paragraph(t(ctx, 'verification.pdfVerifyText', { certPath: PDF_CERT_PATH }), body);
  c.code(t(ctx, 'verification.pdfVerifyCommand', { certPath: PDF_CERT_PATH }));
  c.paragraph(t(ctx, 'verification.jsonExpect'), body, { gap: 10 });

  c.heading(t(ctx, 'verification.valuesHeading'), 2, 80);
  const v = (name: string): string => t(ctx, `verification.values.${name}`);
  c.keyValues(
    [
      { label: v('reportSha256'), value: ctx.reportSha256, mono: true },
      { label: v('kid'), value: model.signing.kid, mono: true },
      { label: v('reportId'), value: model.reportId, mono: true },
      { label: v('jwksPath'), value: JWKS_PATH, mono: true },
      { label: v('certPath'), value: PDF_CERT_PATH, mono: true },
      { label: v('embedded'), value: t(ctx, 'verification.embeddedValue') },
    ],
    130,
  );
}
