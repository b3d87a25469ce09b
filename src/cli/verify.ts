/**
 * `hipaa-ai-risk verify <report.json> <report.jws> --jwks <file-or-url> [--json]`
 *
 * Offline verification for auditors: no database, no server of ours. Exit code 0 when the
 * signature is valid (the report's identity is printed), 1 when it is not (with the reason),
 * 2 on a usage or input error.
 */
import { parseArgs } from 'node:util';
import { loadJwks, verifyReportOffline } from '../signing/verify-offline.js';
import type { OfflineVerification, ReportIdentity } from '../signing/verify-offline.js';
import { EXIT, HELP_OPTION, parseCommandArgs, readInputFile, runIfMain } from './main.js';
import type { CliCommand } from './main.js';

const HELP = `usage: hipaa-ai-risk verify <report.json> <report.jws> --jwks <file-or-url> [--json]
       hipaa-ai-risk verify --pdf <report.pdf> --jwks <file-or-url> [--json]

Checks that <report.json> is byte for byte the report that was signed by <report.jws> (a detached
JWS, RFC 7515 + RFC 7797) with a key published in the JWKS (a file, or the service's
https://<host>/.well-known/jwks.json).

  --jwks <file-or-url>  the published public keys (required)
  --pdf <report.pdf>    verify a PDF instead: its PDF signature covers the whole file, and the
                        report JSON and JWS embedded in it verify against the JWKS
  --json                print the result as one JSON object
  -h, --help            this text

Exit codes: 0 valid, 1 invalid (reason on stderr), 2 usage or input error.
`;

/**
 * The `verify` command. Guarantees: exit code 0 only when the JWS is a valid EdDSA signature over
 * the report file's exact bytes by a key in the given JWKS.
 */
export const verifyCommand: CliCommand = async (argv, io) => {
  const parsed = parseCommandArgs(
    () => parseArgs({ args: [...argv], options: { jwks: { type: 'string' }, pdf: { type: 'string' }, json: { type: 'boolean', default: false }, help: HELP_OPTION }, allowPositionals: true, strict: true }),
    HELP,
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (values.pdf !== undefined) {
    if (positionals.length > 0 || values.jwks === undefined) {
      io.stderr.write(HELP);
      return EXIT.usage;
    }
    const pdfBytes = await readInputFile(values.pdf, 'PDF');
    const jwks = await loadJwks(values.jwks);
    const { verifyPdfOffline, pdfVerificationLines } = await import('../reports/pdf/verify-pdf.js');
    const result = await verifyPdfOffline(pdfBytes, jwks);
    if (values.json) io.stdout.write(`${JSON.stringify(result)}\n`);
    else (result.valid ? io.stdout : io.stderr).write(`${pdfVerificationLines(result).join('\n')}\n`);
    return result.valid ? EXIT.ok : EXIT.failed;
  }
  const [reportPath, jwsPath, ...extra] = positionals;
  if (reportPath === undefined || jwsPath === undefined || extra.length > 0 || values.jwks === undefined) {
    io.stderr.write(HELP);
    return EXIT.usage;
  }

  const reportBytes = await readInputFile(reportPath, 'report');
  const jwsText = (await readInputFile(jwsPath, 'signature')).toString('utf8');
  const jwks = await loadJwks(values.jwks);
  const result = await verifyReportOffline(reportBytes, jwsText, jwks);

  if (values.json) {
    io.stdout.write(`${JSON.stringify(jsonResult(result))}\n`);
  } else if (result.valid) {
    io.stdout.write(`VALID: the report is signed by key ${result.kid}\n${identityLines(result.identity, result.kid)}`);
  } else {
    io.stderr.write(`INVALID: ${result.reason}\n`);
    if (result.hint !== undefined) io.stderr.write(`hint: ${result.hint}\n`);
    io.stderr.write(identityLines(result.identity, undefined));
  }
  return result.valid ? EXIT.ok : EXIT.failed;
};

function identityLines(identity: ReportIdentity, kid: string | undefined): string {
  const rows: [string, string | number | undefined][] = [
    ['reportId', identity.reportId],
    ['assessmentId', identity.assessmentId],
    ['revision', identity.revision],
    ['kid', kid],
    ['sha256', identity.sha256],
  ];
  return rows
    .filter(([name, value]) => value !== undefined || name !== 'kid')
    .map(([name, value]) => `  ${`${name}:`.padEnd(14)}${value === undefined ? '(not in report)' : String(value)}\n`)
    .join('');
}

function jsonResult(result: OfflineVerification): Record<string, unknown> {
  return result.valid
    ? { valid: true, kid: result.kid, ...result.identity }
    : { valid: false, code: result.code, reason: result.reason, ...(result.hint === undefined ? {} : { hint: result.hint }), ...result.identity };
}

runIfMain(import.meta.url, verifyCommand);
