import { Ajv, type ValidateFunction } from 'ajv';

/**
 * Every audit action and the JSON Schema of its `decision` (what the service decided). Validated
 * when an event is written and again when it is read. Add an action here before emitting it;
 * never change the meaning of an existing one (old events must keep validating).
 */
type Schema = Record<string, unknown>;

const str = { type: 'string', maxLength: 500 } as const;
const nullableStr = { type: ['string', 'null'], maxLength: 500 } as const;
const int = { type: 'integer', minimum: 0 } as const;
const strList = { type: 'array', items: str, maxItems: 100 } as const;

function obj(required: Record<string, unknown>, optional: Record<string, unknown> = {}): Schema {
  return { type: 'object', additionalProperties: false, required: Object.keys(required), properties: { ...required, ...optional } };
}

const readVia = { enum: ['api', 'page'] } as const;
const readFilters = { type: 'object', maxProperties: 20, additionalProperties: str } as const;

const rulesetRef = obj({ id: str, version: str, sha256: str });
const riskLevel = { enum: ['very_low', 'low', 'moderate', 'high', 'very_high'] } as const;
const evaluation = {
  rulesets: { type: 'array', items: rulesetRef, maxItems: 20 },
  questionnaireVersion: str,
  overallRisk: riskLevel,
  counts: { type: 'object', additionalProperties: int, maxProperties: 20 },
};
// A draft is validated and stored but not evaluated: no risk, no counts, no report.
const { overallRisk: _risk, counts: _counts, ...draftRequired } = evaluation;
const evaluationOptional = { overallRisk: riskLevel, counts: evaluation.counts };

export const AUDIT_ACTIONS = {
  // authentication
  'auth.login.succeeded': obj({ sessionId: str }, { roles: strList }),
  'auth.login.failed': obj({ reason: { enum: ['invalid_credentials', 'user_disabled', 'rate_limited', 'invalid_request'] } }, { emailSha256: str }),
  'auth.logout': obj({ sessionId: str }),
  'auth.refresh.succeeded': obj({ sessionId: str }),
  'auth.refresh.failed': obj({ reason: str }, { sessionId: str }),
  'auth.refresh.reused': obj({ sessionId: str, revoked: { type: 'boolean' } }),
  // A refresh token presented again within the reuse grace interval (two tabs refreshing at once): not revoked.
  'auth.refresh.concurrent': obj({ sessionId: str, reusedAfterMs: int }),
  'auth.session.revoked': obj({ sessionId: str, reason: str }),
  'oauth.token.issued': obj({ clientId: str, scopes: strList, expiresIn: int }),
  'oauth.token.denied': obj({ reason: str }, { clientId: str }),
  // administration
  'organization.created': obj({ name: str }),
  'user.created': obj({ email: str, roles: strList }, { organizationId: str }),
  'user.updated': obj({ changes: { type: 'object', maxProperties: 20 } }),
  'user.password_changed': obj({ userId: str }),
  'api_client.created': obj({ name: str, scopes: strList }),
  'api_client.secret_rotated': obj({ clientId: str }),
  'api_client.revoked': obj({ clientId: str }),
  'auditor_grant.created': obj({ auditorId: str, organizationId: str }),
  'auditor_grant.revoked': obj({ auditorId: str, organizationId: str }),
  'key.created': obj({ purpose: { enum: ['report', 'token', 'pdf'] }, kid: str }),
  'key.rotated': obj({ purpose: { enum: ['report', 'token', 'pdf'] }, kid: str }, { previousKid: nullableStr }),
  'config.changed': obj({ fingerprint: str, changed: strList }, { settings: { type: 'object', maxProperties: 200, additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } } }),
  // assessments and reports
  'evaluation.dry_run': obj(evaluation),
  'assessment.created': obj({ title: str, revision: int, reportId: nullableStr, ...draftRequired }, { idempotencyKey: str, draft: { type: 'boolean' }, ...evaluationOptional }),
  'assessment.revised': obj({ revision: int, reportId: nullableStr, ...draftRequired }, { idempotencyKey: str, draft: { type: 'boolean' }, ...evaluationOptional }),
  // A request answered with an earlier result, which changed nothing (since session 15): an
  // idempotent replay of a creation or revision (`kind` assessment/revision, the key sent), or a
  // report requested again under the same ruleset versions (`kind` report: the existing one).
  'submission.replayed': obj({ kind: { enum: ['assessment', 'revision', 'report'] }, revision: int, reportId: nullableStr }, { idempotencyKey: str }),
  // The stored answers of one revision read through the API (GET /v1/assessments/{id}/revisions/{n}).
  'assessment.revision_read': obj({ revision: int }, { questionnaireVersion: str }),
  'report.created': obj({ revision: int, reportId: str, sha256: str, kid: str, ...evaluation }, { reused: { type: 'boolean' } }),
  // `sha256`: the report's (its JSON bytes); `pdfSha256`: the PDF sent (since session 15).
  'report.downloaded': obj({ format: { enum: ['json', 'pdf', 'signature', 'diff', 'audit'] } }, { sha256: str, pdfSha256: str }),
  // A report's findings shown on a page (the result page, or a comparison of two reports, one
  // event per report), as the API's downloads are `report.downloaded`.
  'report.viewed': obj({ page: { enum: ['result', 'compare'] }, sha256: str }),
  'report.verified': obj({ valid: { type: 'boolean' } }, { kid: nullableStr, reason: nullableStr, reportId: nullableStr }),
  // Reads of what the service holds: who saw which list or record, recorded before the response
  // is sent, through the API (`via: 'api'`) or the pages (`via: 'page'`). `filters` are the
  // query's filters as given (the read's input), `returned` how many items were sent. A read of a
  // revision's answers, a report's download or view, has its own event above.
  'assessment.listed': obj({ via: readVia, returned: int }, { filters: readFilters }),
  'assessment.read': obj({ via: readVia, revisions: int }),
  'admin.read': obj({ via: readVia, resource: { enum: ['overview', 'organizations', 'users', 'user', 'api_clients', 'auditor_grants', 'keys'] }, returned: int }, { filters: readFilters }),
  // the trail itself
  'audit.checkpoint.created': obj({ seq: int, hash: str, kid: str }),
  'audit.verified': obj({ valid: { type: 'boolean' }, checkedEvents: int }, { brokenAt: { type: ['integer', 'null'] }, reason: nullableStr }),
  'audit.exported': obj({ events: int }, { fromSeq: int, toSeq: int }),
  // The trail read (a read like those above): every organisation's events the reader may audit
  // (`view: 'events'`), or one assessment's trail (`'assessment'`, target the assessment).
  'audit.read': obj({ via: readVia, view: { enum: ['events', 'assessment'] }, returned: int }, { filters: readFilters }),
  // denied requests (bounded: see recordDenied)
  // One event per denied request, up to a bound per (IP, status) and minute; beyond it a summary
  // (method and route "*") with `suppressed` = how many were not recorded, `suppressedSince` = the
  // window's start (Unix seconds). See src/audit/denied.ts.
  'request.denied': obj({ status: { enum: [401, 403, 404, 429] }, method: str, route: str }, { reason: nullableStr, suppressedSince: int, suppressed: int }),
  // Refused requests: a state-changing API request answered with a client error (invalid body,
  // conflict, unsupported or oversized body), which changed nothing. `reason` is the problem's
  // code, `pointers` the failing fields' JSON pointers; bounded and summarised like denials.
  'request.refused': obj({ status: { enum: [400, 409, 413, 415, 422] }, method: str, route: str }, { reason: nullableStr, pointers: { type: 'array', items: str, maxItems: 10 }, suppressedSince: int, suppressed: int }),
  // Failed requests (since session 15): a request the service answered with an internal error
  // (500), or, since session 17, refused for want of capacity (503: a worker pool's queue full or
  // the pool shut down), which changed nothing (its transaction rolled back). `reason`: the error's kind (never
  // its message, which may quote input); bounded and summarised like denials.
  'request.failed': obj({ status: { enum: [500, 503] }, method: str, route: str }, { reason: nullableStr, suppressedSince: int, suppressed: int }),
} as const satisfies Record<string, Schema>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
const validators = new Map<string, ValidateFunction>(Object.entries(AUDIT_ACTIONS).map(([action, schema]) => [action, ajv.compile(schema)]));

export function isAuditAction(action: string): action is AuditAction {
  return validators.has(action);
}

/** Throws if `decision` does not match the schema of `action` (or the action is unknown). */
export function assertDecision(action: string, decision: unknown): void {
  const validate = validators.get(action);
  if (!validate) throw new Error(`unknown audit action ${action}`);
  if (!validate(decision)) {
    const e = validate.errors?.[0];
    throw new Error(`audit decision for ${action} is invalid: ${e?.instancePath || '/'} ${e?.message ?? ''}`);
  }
}
