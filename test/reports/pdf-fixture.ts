/**
 * Builds the reports the PDF tests and the benchmark render: a real evaluation of an answers file,
 * wrapped in a `Report` whose names mix Latin accents, Greek, Cyrillic and HTML, signed with a
 * report key from a temporary directory. Also makes a PDF signing identity once per directory.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { evaluate } from '../../src/rules/index.js';
import { REPORT_SCHEMA, reportBytes } from '../../src/reports/report.js';
import type { Report } from '../../src/reports/report.js';
import { loadOrCreatePdfSigningIdentity, pdfIdentityDirectory } from '../../src/signing/pdf-cert.js';
import type { PdfSigningIdentity } from '../../src/signing/pdf-cert.js';
import { signReport } from '../../src/signing/jws.js';
import { loadReportKeyRing } from '../../src/signing/report-keys.js';
import type { PublicJwks } from '../../src/signing/key-ring.js';

export const ROOT = join(import.meta.dirname, '..', '..');
/** The project's poorly-controlled example (docs/examples), else this folder's own fixture. */
export const POORLY_CONTROLLED = existsSync(join(ROOT, 'docs', 'examples', 'poorly-controlled.json'))
  ? join(ROOT, 'docs', 'examples', 'poorly-controlled.json')
  : join(import.meta.dirname, 'fixtures', 'poorly-controlled.answers.json');
/** Answers whose free texts mix Latin accents, Greek and Cyrillic (this folder's fixture). */
export const MIXED_SCRIPT_ANSWERS = join(import.meta.dirname, 'fixtures', 'poorly-controlled.answers.json');

export const HOSTILE = {
  organization: 'Clínica São José · Θεραπευτήριο «Υγεία» · Больница №1',
  submitter: 'Zoë Ångström-Çelik <script>alert(1)</script>',
  title: 'Triage assistant — Ασθενής Пациент <script>alert(1)</script>',
};

/**
 * Text whose glyphs a thread's other reports also reach with other characters: the Latin
 * ligatures U+FB00–U+FB06 (DejaVu draws "fi" in "specification" with the glyph of U+FB01, and
 * "ff", "fl", "ffi", "ffl" likewise), a variation selector, a zero-width space, a combining mark,
 * characters DejaVu lacks (.notdef) and others outside the report's usual ones.
 */
export const LIGATURE_TEXT = 'Oﬃce ﬁnal ﬂow \ufb00 \ufb01 \ufb02 \ufb03 \ufb04 \ufb05 \ufb06 — ﬁ\ufe0f ﬂ\u200bﬀ e\u0301 \u2126 \u212a \u212b µ ‐ 😀 中文 שלום';

/**
 * Writes the mixed-script answers to `dir` with `text` appended to each free-text answer of more
 * than one word, and returns the file's path (for `buildFixtureReport`'s `answersFile`).
 */
export async function writeAnswersWithText(dir: string, text: string): Promise<string> {
  const input = JSON.parse(await readFile(MIXED_SCRIPT_ANSWERS, 'utf8')) as { questionnaireVersion: string; answers: Record<string, unknown> };
  for (const [key, value] of Object.entries(input.answers)) if (typeof value === 'string' && value.includes(' ')) input.answers[key] = `${value} ${text}`;
  const file = join(dir, 'answers-with-text.json');
  await writeFile(file, JSON.stringify(input));
  return file;
}

export interface FixtureReport {
  readonly report: Report;
  readonly bytes: Buffer;
  readonly jws: string;
  readonly jwks: PublicJwks;
}

/** Evaluates `answersFile` ({questionnaireVersion, answers}) and signs the report with a key under `keyDir`. */
export async function buildFixtureReport(options: { readonly keyDir: string; readonly answersFile?: string; readonly title?: string; readonly revision?: number }): Promise<FixtureReport> {
  const input = JSON.parse(await readFile(options.answersFile ?? POORLY_CONTROLLED, 'utf8')) as { questionnaireVersion: string; answers: unknown };
  const evaluation = await evaluate({ questionnaireVersion: input.questionnaireVersion, answers: input.answers });
  const ring = await loadReportKeyRing({ kind: 'directory', dir: options.keyDir });
  const report: Report = {
    schema: REPORT_SCHEMA,
    reportId: 'rpt_01JNQ8Z6V4W5X6Y7Z8A9B0C1D2',
    assessment: {
      id: 'asm_01JNQ8Y3T2S1R0Q9P8N7M6K5J4',
      title: options.title ?? HOSTILE.title,
      organization: { id: 'org_01JNQ8X0A1B2C3D4E5F6G7H8J9', name: HOSTILE.organization },
      revision: options.revision ?? 3,
      submittedBy: { id: 'usr_01JNQ8W9Z8Y7X6W5V4T3S2R1Q0', type: 'user', name: HOSTILE.submitter },
      submittedAt: '2025-03-04T05:06:07.000Z',
    },
    signing: { alg: 'EdDSA', kid: ring.current.kid, format: 'JWS detached, RFC 7797 unencoded payload' },
    evaluation,
  };
  const bytes = reportBytes(report);
  return { report, bytes, jws: await signReport(bytes, ring.current), jwks: ring.jwks() };
}

/**
 * The PDF signing identity under `dataDir` (created on first use; ~1 s for a 3072-bit key).
 * An ASCII organisation keeps the shared fixture fast and simple; non-Latin subjects are covered
 * by their own tests (pdf-cert.ts writes UTF8String names, and test/reports/pdf.test.ts signs and
 * verifies a report under one).
 */
export async function fixturePdfIdentity(dataDir: string): Promise<PdfSigningIdentity> {
  return loadOrCreatePdfSigningIdentity({ kind: 'directory', dir: pdfIdentityDirectory(dataDir), organization: 'Acme Health (test)' });
}
