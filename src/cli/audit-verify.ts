/**
 * `npm run audit:verify` / `hipaa-ai-risk audit-verify [--json]`: walks the audit hash chain and the
 * signed checkpoints in the configured database (DATABASE_URL, else the embedded one under
 * DATA_DIR) and reports valid, or the first broken sequence number and why. Exit 0 valid, 1 not.
 *
 * `hipaa-ai-risk audit-verify-export <export.jsonl> --jwks <file-or-url> [--json]`: the same for a
 * JSON Lines export (GET /v1/audit/export), offline, with no database.
 */
import { constants as bufferConstants } from 'node:buffer';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/index.js';
import { NoEmbeddedDatabaseError, openDatabase, type Database } from '../db/database.js';
import { migrationStatus } from '../db/migrate.js';
import { parseAnchor, verifyAuditChain, type ChainAnchor, type ChainVerification } from '../audit/verify.js';
import { verifyAuditExport } from '../audit/verify-export.js';
import { reportJwks } from '../assessments/keys.js';
import { NoKeysError } from '../signing/key-ring.js';
import { loadReportKeyRingFromEnv, type ReportKeyRing } from '../signing/report-keys.js';
import { loadJwks, printableText } from '../signing/verify-offline.js';
import { EXIT, HELP_OPTION, parseCommandArgs, readInputFile, runIfMain, type CliCommand } from './main.js';

const HELP = `usage: hipaa-ai-risk audit-verify [--anchor <seq>:<hash>]... [--json]      (also: npm run audit:verify)

Walks the audit trail's hash chain and its signed checkpoints in the configured database
(DATABASE_URL, else the embedded one under DATA_DIR, default ./data), with the report-signing
keys of the configuration (REPORT_SIGNING_KEY[_FILE], else the key directory under DATA_DIR).
Reads only: it creates no database and no key, and fails (exit 1) when the embedded database or
the migrated schema is not there, or when there are signed checkpoints and no report-signing key.

  --anchor <seq>:<hash>  a chain head kept outside the database: the "anchor" of an
                         "audit checkpoint signed" log line, or a checkpoint of an export.
                         The event at <seq> must exist with that hash (repeatable)
  --json                 print the result as one JSON object
  -h, --help             this text

Exit codes: 0 valid, 1 broken (the first broken event and why, on stderr) or not readable,
2 usage error.
`;

const EXPORT_HELP = `usage: hipaa-ai-risk audit-verify-export <export.jsonl> --jwks <file-or-url> [--json]

Checks an audit trail export (GET /v1/audit/export, JSON Lines) offline, with no database: every
event's hash, the links between them, a checkpoint on the last event, and the export's own
signature (its last line, over every byte before it: the range and the link lines of other
organisations), each signed by a key in the JWKS (a file, or the service's
https://<host>/.well-known/jwks.json). Pass the file exactly as downloaded.

  --jwks <file-or-url>  the published public keys (required)
  --json                print the result as one JSON object
  -h, --help            this text

Exit codes: 0 valid, 1 broken (where and why, on stderr), 2 usage or input error.
`;

export const auditVerifyCommand: CliCommand = async (argv, io) => {
  const parsed = parseCommandArgs(() => parseArgs({ args: [...argv], options: { anchor: { type: 'string', multiple: true }, json: { type: 'boolean', default: false }, help: HELP_OPTION }, strict: true }), HELP, io);
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const anchors: ChainAnchor[] = [];
  for (const text of values.anchor ?? []) {
    const anchor = parseAnchor(text);
    if (anchor === null) {
      io.stderr.write(`--anchor must be <seq>:<hash> (a sequence number, a colon and 64 lower-case hex digits), not ${printableText(text.slice(0, 100))}\n`);
      return EXIT.usage;
    }
    anchors.push(anchor);
  }
  const config = loadConfig(io.env);
  // Read only: opens an existing database (never creates the embedded one) and loads the keys
  // without creating a first one: a new key or an empty database would only make a wrong
  // DATA_DIR look like a broken or empty trail.
  let database: Database;
  try {
    database = config.databaseUrl !== undefined
      ? await openDatabase({ kind: 'postgres', connectionString: config.databaseUrl, poolMax: 2 })
      : await openDatabase({ kind: 'pglite', dataDir: config.dataDir, existing: true });
  } catch (error) {
    if (!(error instanceof NoEmbeddedDatabaseError)) throw error;
    io.stderr.write(`error: ${error.message}: point DATA_DIR at the service's data directory, or DATABASE_URL at its PostgreSQL database\n`);
    return EXIT.failed;
  }
  try {
    const where = config.databaseUrl !== undefined ? 'the database at DATABASE_URL' : `the embedded database in ${path.resolve(config.dataDir)}`;
    const status = await migrationStatus(database);
    if (status.applied === 0) {
      io.stderr.write(`error: ${where} is not migrated (it holds no audit trail): point ${config.databaseUrl !== undefined ? 'DATABASE_URL' : 'DATA_DIR'} at the service's database, or run \`npm run migrate\` first\n`);
      return EXIT.failed;
    }
    if (status.problem !== undefined) {
      // Not the trail's concern (its hashes and signatures are checked below), but worth knowing.
      io.stderr.write(`warning: ${status.problem}\n`);
    } else if (!status.current) {
      io.stderr.write(`error: ${where} is not fully migrated (${status.applied} of ${status.expected} migrations applied): run \`npm run migrate\` first\n`);
      return EXIT.failed;
    }
    const result = await verifyWithKeys(database, () => loadReportKeyRingFromEnv(io.env, config.dataDir, { create: false }), anchors);
    if (values.json) io.stdout.write(JSON.stringify(result) + '\n');
    else if (result.valid) io.stdout.write(`audit trail valid: ${result.checkedEvents} events, ${result.checkedCheckpoints} signed checkpoints, head ${result.head ? `${result.head.seq} ${result.head.hash}` : '(empty)'}\n`);
    else io.stderr.write(`audit trail BROKEN at event ${result.brokenAt}: ${result.reason}\n`);
    return result.valid ? EXIT.ok : EXIT.failed;
  } finally {
    await database.close();
  }
};

/**
 * Verifies the chain with the configured report-signing keys, loaded read only. Keys are needed
 * only for signed checkpoints: a trail without any verifies without them, and a trail with
 * checkpoints but no keys (a wrong DATA_DIR) throws the loader's NoKeysError rather than report
 * the checkpoints' signatures as invalid. Also when a checkpoint is signed while the walk runs.
 */
async function verifyWithKeys(database: Database, loadRing: () => Promise<ReportKeyRing>, anchors: readonly ChainAnchor[]): Promise<ChainVerification> {
  let ring: ReportKeyRing;
  try {
    ring = await loadRing();
  } catch (error) {
    if (!(error instanceof NoKeysError)) throw error;
    if (await hasCheckpoints(database)) throw error;
    const result = await verifyAuditChain(database.db, { keys: [] }, 1000, anchors);
    if (!result.valid && (await hasCheckpoints(database))) throw error;
    return result;
  }
  return verifyAuditChain(database.db, reportJwks(ring), 1000, anchors);
}

async function hasCheckpoints(database: Database): Promise<boolean> {
  return (await database.db.selectFrom('audit_checkpoints').select('id').limit(1).execute()).length > 0;
}

export const auditVerifyExportCommand: CliCommand = async (argv, io) => {
  const parsed = parseCommandArgs(
    () => parseArgs({ args: [...argv], options: { jwks: { type: 'string' }, json: { type: 'boolean', default: false }, help: HELP_OPTION }, allowPositionals: true, strict: true }),
    EXPORT_HELP,
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || values.jwks === undefined) {
    io.stderr.write(EXPORT_HELP);
    return EXIT.usage;
  }
  // The bytes as downloaded: the export's signature covers them exactly.
  // An export of years of events may be large: only what a Buffer can hold.
  const bytes = await readInputFile(positionals[0]!, 'export', bufferConstants.MAX_LENGTH);
  const result = await verifyAuditExport(bytes, await loadJwks(values.jwks));
  if (values.json) io.stdout.write(JSON.stringify(result) + '\n');
  else if (result.valid) io.stdout.write(`audit export valid: events ${result.fromSeq}–${result.toSeq} (${result.events} with content, ${result.links} links of other organisations), ${result.checkpoints} signed checkpoints, export signed by ${result.signedBy}\n`);
  else io.stderr.write(`audit export BROKEN${result.brokenAt === null ? '' : ` at event ${result.brokenAt}`}: ${result.reason}\n`);
  return result.valid ? EXIT.ok : EXIT.failed;
};

runIfMain(import.meta.url, auditVerifyCommand);
