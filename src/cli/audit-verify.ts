/**
 * `npm run audit:verify` / `hipaa-ai-risk audit-verify [--json]`: walks the audit hash chain and the
 * signed checkpoints in the configured database (DATABASE_URL, else the embedded one under
 * DATA_DIR) and reports valid, or the first broken sequence number and why. Exit 0 valid, 1 not.
 *
 * `hipaa-ai-risk audit-verify-export <export.jsonl> --jwks <file-or-url> [--json]`: the same for a
 * JSON Lines export (GET /v1/audit/export), offline, with no database.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/index.js';
import { openDatabase } from '../db/database.js';
import { verifyAuditChain } from '../audit/verify.js';
import { verifyAuditExport } from '../audit/verify-export.js';
import { reportJwks } from '../assessments/keys.js';
import { loadReportKeyRingFromEnv } from '../signing/report-keys.js';
import { loadJwks } from '../signing/verify-offline.js';
import { EXIT, runIfMain, type CliCommand } from './main.js';

export const auditVerifyCommand: CliCommand = async (argv, io) => {
  const { values } = parseArgs({ args: [...argv], options: { json: { type: 'boolean', default: false } }, strict: true });
  const config = loadConfig(io.env);
  const database = config.databaseUrl !== undefined
    ? await openDatabase({ kind: 'postgres', connectionString: config.databaseUrl, poolMax: 2 })
    : await openDatabase({ kind: 'pglite', dataDir: config.dataDir });
  try {
    const ring = await loadReportKeyRingFromEnv(io.env, config.dataDir);
    const result = await verifyAuditChain(database.db, reportJwks(ring));
    if (values.json) io.stdout.write(JSON.stringify(result) + '\n');
    else if (result.valid) io.stdout.write(`audit trail valid: ${result.checkedEvents} events, ${result.checkedCheckpoints} signed checkpoints, head ${result.head ? `${result.head.seq} ${result.head.hash}` : '(empty)'}\n`);
    else io.stderr.write(`audit trail BROKEN at event ${result.brokenAt}: ${result.reason}\n`);
    return result.valid ? EXIT.ok : EXIT.failed;
  } finally {
    await database.close();
  }
};

export const auditVerifyExportCommand: CliCommand = async (argv, io) => {
  const { values, positionals } = parseArgs({ args: [...argv], options: { jwks: { type: 'string' }, json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
  if (positionals.length !== 1 || values.jwks === undefined) {
    io.stderr.write('usage: hipaa-ai-risk audit-verify-export <export.jsonl> --jwks <file-or-url> [--json]\n');
    return EXIT.usage;
  }
  const text = await readFile(positionals[0]!, 'utf8');
  const result = await verifyAuditExport(text, await loadJwks(values.jwks));
  if (values.json) io.stdout.write(JSON.stringify(result) + '\n');
  else if (result.valid) io.stdout.write(`audit export valid: events ${result.fromSeq}–${result.toSeq} (${result.events} with content, ${result.links} links of other organisations), ${result.checkpoints} signed checkpoints\n`);
  else io.stderr.write(`audit export BROKEN at event ${result.brokenAt}: ${result.reason}\n`);
  return result.valid ? EXIT.ok : EXIT.failed;
};

runIfMain(import.meta.url, auditVerifyCommand);
