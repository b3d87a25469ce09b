import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Says once, at the top of every run, which databases the database tests run on; and gives the
// run its own temporary directory (TMPDIR, inherited by the test workers, so everything they put
// under os.tmpdir(): key rings, data directories, PDFs) for global-teardown.js to remove.
export default function globalSetup() {
  const kinds = process.env.TEST_DATABASE_URL ? 'PGlite and PostgreSQL (TEST_DATABASE_URL)' : 'PGlite only (set TEST_DATABASE_URL to add PostgreSQL)';
  process.stdout.write(`\nDatabase tests run on: ${kinds}\n`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hipaa-ai-risk-test-'));
  process.env.HIPAA_AI_RISK_TEST_TMP = root;
  process.env.TMPDIR = root;
}
