import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Database } from '../../src/db/database.js';
import { loadReportKeyRing, type ReportKeyRing } from '../../src/signing/report-keys.js';
import { createSelfSignedPdfIdentity, identityFromP12, type PdfSigningIdentity } from '../../src/signing/pdf-cert.js';
import { ROOT } from './process.js';

export interface Example {
  readonly questionnaireVersion: string;
  readonly answers: Record<string, unknown>;
}

/** `docs/examples/<name>.json`: the README's example answers. */
export function example(name: 'poorly-controlled' | 'well-controlled'): Example {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples', `${name}.json`), 'utf8')) as Example;
}

/** A report-signing key ring in a fresh temporary directory. */
export function tempReportKeys(): Promise<ReportKeyRing> {
  return loadReportKeyRing({ kind: 'directory', dir: fs.mkdtempSync(path.join(os.tmpdir(), 'report-keys-')) });
}

/** Inserts an organisation row directly (domain tests that do not go through the admin API). */
export async function insertOrganization(database: Database, name: string): Promise<string> {
  const id = randomUUID();
  await database.raw.query('INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, now())', [id, name]);
  return id;
}

let pdfIdentity: Promise<PdfSigningIdentity> | undefined;

/** One self-signed PDF signing identity per test worker (RSA key generation takes ~0.3 s). */
export function testPdfIdentity(): Promise<PdfSigningIdentity> {
  const now = new Date(Date.UTC(2026, 0, 1));
  pdfIdentity ??= createSelfSignedPdfIdentity({ organization: 'Test Organisation', keyBits: 2048, now }).then((made) => identityFromP12(made.p12, made.passphrase, 'test', now));
  return pdfIdentity;
}
