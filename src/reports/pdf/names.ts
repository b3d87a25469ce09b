/** Names of the files every report PDF embeds (kept apart so the verifier does not load pdfkit). */

/** The signed report: its exact canonical JSON bytes. */
export const EMBEDDED_REPORT_NAME = 'report.json';
/** The report's detached JWS. */
export const EMBEDDED_JWS_NAME = 'report.jws';
