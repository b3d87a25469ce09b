/**
 * `hipaa-ai-risk verify <report.json> <report.jws> --jwks <file-or-url> [--json]`
 * `hipaa-ai-risk verify --pdf <report.pdf> --jwks <file-or-url> [--pdf-cert-sha256 <hex>] [--json]`
 *
 * Offline verification for auditors: no database, no server of ours. Exit code 0 when the
 * signature is valid (the report's identity is printed), 1 when it is not (with the reason),
 * 2 on a usage or input error (a JWKS that cannot be fetched or read included), 3 for a PDF whose
 * embedded report is valid and whose PDF signature is intact but whose signing certificate was
 * not pinned (--pdf-cert-sha256): the PDF's pages are then not proven to be the issuer's.
 * Every untrusted value printed (reason, hint, kid, report fields) has its control and
 * bidirectional characters escaped, so it cannot rewrite the terminal line.
 */
import { parseArgs } from 'node:util';
import { loadJwks, printableText, verifyReportOffline } from '../signing/verify-offline.js';
import type { OfflineVerification, ReportIdentity } from '../signing/verify-offline.js';
import { EXIT, HELP_OPTION, parseCommandArgs, readInputFile, runIfMain } from './main.js';
import type { CliCommand } from './main.js';

const HELP = `usage: hipaa-ai-risk verify <report.json> <report.jws> --jwks <file-or-url> [--json]
       hipaa-ai-risk verify --pdf <report.pdf> --jwks <file-or-url> [--pdf-cert-sha256 <hex>] [--json]

Checks that <report.json> is byte for byte the report that was signed by <report.jws> (a detached
JWS, RFC 7515 + RFC 7797) with a key published in the JWKS (a file, or the service's
https://<host>/.well-known/jwks.json), and that it is a report: an audit checkpoint or audit
export manifest signed with the same key is refused (code not-a-report).

  --jwks <file-or-url>     the published public keys (required): a regular file of at most
                           1 MiB, or an https URL (http only for 127.0.0.1, ::1, localhost);
                           redirects are refused
  --pdf <report.pdf>       verify a PDF instead: its PDF signature covers the whole file, and the
                           report JSON and JWS embedded in it verify against the JWKS
  --pdf-cert-sha256 <hex>  with --pdf: the SHA-256 fingerprint of the issuer's PDF signing
                           certificate (DER), as the issuer publishes it; may be repeated. Without
                           it the PDF's pages are not proven to be the issuer's (exit code 3)
  --json                   print the result as one JSON object
  -h, --help               this text

Exit codes: 0 valid, 1 invalid (reason on stderr), 2 usage or input error,
3 (--pdf only) signer not verified: the embedded report is valid and the PDF intact, but no
  --pdf-cert-sha256 was given, so whoever signed the PDF may have rendered its pages.
`;

/** Exit code of `verify --pdf` without a pinned certificate (see HELP). */
export const EXIT_PDF_SIGNER_NOT_VERIFIED = 3;

/**
 * The `verify` command. Guarantees: exit code 0 only when the JWS is a valid EdDSA signature over
 * the report file's exact bytes by a key in the given JWKS and those bytes are a report (a JSON
 * object whose `schema` is REPORT_SCHEMA; see `verifyReportOffline`).
 */
export const verifyCommand: CliCommand = async (argv, io) => {
  const parsed = parseCommandArgs(
    () => parseArgs({ args: [...argv], options: { jwks: { type: 'string' }, pdf: { type: 'string' }, 'pdf-cert-sha256': { type: 'string', multiple: true }, json: { type: 'boolean', default: false }, help: HELP_OPTION }, allowPositionals: true, strict: true }),
    HELP,
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const pins = values['pdf-cert-sha256'] ?? [];
  if (values.pdf !== undefined) {
    if (positionals.length > 0 || values.jwks === undefined) {
      io.stderr.write(HELP);
      return EXIT.usage;
    }
    const { verifyPdfOffline, pdfVerificationLines, parseCertificateFingerprint } = await import('../reports/pdf/verify-pdf.js');
    const badPin = pins.find((pin) => parseCertificateFingerprint(pin) === undefined);
    if (badPin !== undefined) {
      io.stderr.write(`--pdf-cert-sha256 ${printableText(badPin)} is not a SHA-256 fingerprint (64 hex digits, ":" allowed)\n\n${HELP}`);
      return EXIT.usage;
    }
    const pdfBytes = await readInputFile(values.pdf, 'PDF');
    const jwks = await loadJwks(values.jwks);
    const result = await verifyPdfOffline(pdfBytes, jwks, { pdfCertSha256: pins });
    if (values.json) io.stdout.write(`${JSON.stringify(result)}\n`);
    else (result.valid ? io.stdout : io.stderr).write(`${pdfVerificationLines(result).join('\n')}\n`);
    if (result.valid) return EXIT.ok;
    return result.code === 'pdf-signer-not-verified' ? EXIT_PDF_SIGNER_NOT_VERIFIED : EXIT.failed;
  }
  if (pins.length > 0) {
    io.stderr.write(`--pdf-cert-sha256 goes with --pdf\n\n${HELP}`);
    return EXIT.usage;
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
    io.stdout.write(`VALID: the report is signed by key ${printableText(result.kid)}\n${identityLines(result.identity, result.kid)}`);
  } else {
    io.stderr.write(`INVALID: ${printableText(result.reason)}\n`);
    if (result.hint !== undefined) io.stderr.write(`hint: ${printableText(result.hint)}\n`);
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
    // The values come from the report file and the JWS: shown escaped, never as terminal controls.
    .map(([name, value]) => `  ${`${name}:`.padEnd(14)}${value === undefined ? '(not in report)' : printableText(String(value))}\n`)
    .join('');
}

function jsonResult(result: OfflineVerification): Record<string, unknown> {
  return result.valid
    ? { valid: true, kid: result.kid, ...result.identity }
    : { valid: false, code: result.code, reason: result.reason, ...(result.hint === undefined ? {} : { hint: result.hint }), ...result.identity };
}

runIfMain(import.meta.url, verifyCommand);
