import type { EvaluationResult } from '../rules/types.js';
import { canonicalJsonBytes } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';

/** The report format version. Bump on any change of shape; never change the meaning of a field. */
export const REPORT_SCHEMA = 'hipaa-ai-risk/report/1';

/**
 * A signed report: the evaluation result wrapped with the identity of what was assessed and of
 * the key that signs it. The only timestamp is the revision's submission time, taken from the
 * stored revision, so regenerating a report from its stored revision gives the same bytes.
 */
export interface Report {
  readonly schema: typeof REPORT_SCHEMA;
  readonly reportId: string;
  readonly assessment: {
    readonly id: string;
    readonly title: string;
    readonly organization: { readonly id: string; readonly name: string };
    readonly revision: number;
    readonly submittedBy: { readonly id: string; readonly type: 'user' | 'client'; readonly name: string };
    /** ISO 8601 UTC, from the stored revision. */
    readonly submittedAt: string;
  };
  readonly signing: { readonly alg: 'EdDSA'; readonly kid: string; readonly format: 'JWS detached, RFC 7797 unencoded payload' };
  readonly evaluation: EvaluationResult;
}

/** The exact bytes that are stored, hashed and signed: RFC 8785 canonical JSON of the report. */
export function reportBytes(report: Report): Buffer {
  return canonicalJsonBytes(report);
}

/** Lower-case hex SHA-256 of the report bytes: the report's ETag and its identity in the PDF. */
export function reportSha256(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}
