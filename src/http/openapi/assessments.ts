import { AUDIT_OUTCOMES } from '../../audit/query.js';
import { CreateAssessmentBody, EvaluateBody, ReportRequestBody, ReviseAssessmentBody, VerifyBody } from '../schemas/assessments.js';
import { ReportDiff } from '../schemas/reports.js';
import { RotateKeyBody } from '../routes/keys.js';
import { problem } from './document.js';
import { exampleAnswers, exampleQuestionnaireVersion } from './examples.js';

/** OpenAPI fragment of the assessment API: the request schemas are the ones the routes validate with. */
const auth = [{ cookieSession: [] }, { bearerToken: [] }];
const idParam = (name: string, description: string): Record<string, unknown> => ({ name, in: 'path', required: true, schema: { type: 'string', format: 'uuid' }, description });
const idempotencyKeyHeader = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description: 'Makes a retried submission safe: 1–200 characters of A–Z a–z 0–9 . _ : - (another value is 400, type …/problems/bad-request).',
  schema: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._:-]+$' },
};
const UPPER_BOUND = 'A date alone (`2026-12-07`) includes that whole day, UTC; a date-time (`2026-12-07T08:00:00Z`) is exclusive, that moment not included.';
const LOWER_BOUND = 'Inclusive: a date alone (`2026-12-07`) is that day\'s first moment, UTC.';
const json = (schema: unknown, example?: unknown): Record<string, unknown> => ({ content: { 'application/json': { schema, ...(example !== undefined ? { example } : {}) } } });

// Complete answers (docs/examples/well-controlled.json): every published request example is one
// the server accepts (test/api/openapi-examples.test.ts).
const answers = { ...exampleAnswers };

export const assessmentPaths: Record<string, unknown> = {
  '/v1/questionnaires': {
    get: { tags: ['Reference'], summary: 'Questionnaire versions (the current one marked)', security: auth, responses: { '200': { description: '`current` and `items`' }, ...problem('unauthenticated') } },
  },
  '/v1/questionnaires/{version}': {
    get: {
      tags: ['Reference'],
      summary: 'A questionnaire definition: sections, questions (types, options with protectiveness ranks, help, citations, branching) and its JSON Schema',
      security: auth,
      parameters: [{ name: 'version', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { '200': { description: 'The definition' }, ...problem('not-found', 'unauthenticated') },
    },
  },
  '/v1/rulesets': {
    get: { tags: ['Reference'], summary: 'Every ruleset version with its SHA-256 and status (current, proposed, superseded)', security: auth, responses: { '200': { description: '`items`' }, ...problem('unauthenticated') } },
  },
  '/v1/rulesets/{id}/{version}': {
    get: {
      tags: ['Reference'],
      summary: 'A ruleset version: metadata, hash and its rules as data',
      description: '`sha256` is the SHA-256 of the RFC 8785 canonical JSON of `data` without its `status`: the status changes when a newer version is published, the version\'s identity does not.',
      security: auth,
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, { name: 'version', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { '200': { description: 'The ruleset' }, ...problem('not-found', 'unauthenticated') },
    },
  },
  '/v1/evaluate': {
    post: {
      tags: ['Assessments'],
      summary: 'Evaluate answers without storing anything (dry run)',
      description: 'Returns the evaluation result as RFC 8785 canonical JSON. Stricter rate limit. Scope `evaluate`.',
      security: auth,
      requestBody: { required: true, ...json(EvaluateBody, { questionnaireVersion: exampleQuestionnaireVersion, answers }) },
      responses: { '200': { description: 'The evaluation result', ...json({ $ref: '#/components/schemas/EvaluationResult' }) }, ...problem('validation-failed', 'malformed-json', 'unsupported-media-type', 'payload-too-large', 'unauthenticated', 'forbidden', 'csrf-token-invalid', 'rate-limited') },
    },
  },
  '/v1/assessments': {
    post: {
      tags: ['Assessments'],
      summary: 'Create an assessment: revision 1 and its signed report',
      description: 'Honours `Idempotency-Key`: the same key and body return the original result (200, `Idempotent-Replayed: true`); the same key with another body is 409.',
      security: auth,
      parameters: [idempotencyKeyHeader],
      requestBody: { required: true, ...json(CreateAssessmentBody, { title: 'Discharge summary drafting', questionnaireVersion: exampleQuestionnaireVersion, answers }) },
      responses: {
        '201': { description: 'Created; `Location` names the assessment', ...json({ $ref: '#/components/schemas/SubmissionResult' }) },
        '200': { description: 'Idempotent replay of an earlier identical request', ...json({ $ref: '#/components/schemas/SubmissionResult' }) },
        ...problem('validation-failed', 'malformed-json', 'bad-request', 'unsupported-media-type', 'payload-too-large', 'idempotency-key-reused', 'unauthenticated', 'forbidden', 'csrf-token-invalid', 'rate-limited'),
      },
    },
    get: {
      tags: ['Assessments'],
      summary: 'List assessments (newest first, keyset pagination)',
      description: 'Each read is recorded in your organisation\'s audit trail (`assessment.listed`: the filters given and how many items were sent).',
      security: auth,
      parameters: [
        { name: 'status', in: 'query', schema: { enum: ['draft', 'submitted'] }, description: 'The status of the latest revision: an assessment whose revision 1 was submitted and revision 2 is a draft matches `draft` only.' },
        {
          name: 'overallRisk',
          in: 'query',
          schema: { enum: ['very_low', 'low', 'moderate', 'high', 'very_high'] },
          description:
            'The overall risk of the latest revision (the item\'s `overallRisk`: the first report of the newest revision that has one, so a draft revision keeps its predecessor\'s risk; re-evaluations under other ruleset versions do not count). An assessment first submitted `very_high` and revised to `low` matches `low`, no longer `very_high`.',
        },
        { name: 'createdFrom', in: 'query', schema: { type: 'string', anyOf: [{ format: 'date' }, { format: 'date-time' }] }, description: `Created at or after. ${LOWER_BOUND}` },
        { name: 'createdTo', in: 'query', schema: { type: 'string', anyOf: [{ format: 'date' }, { format: 'date-time' }] }, description: `Created before. ${UPPER_BOUND}` },
        { name: 'q', in: 'query', schema: { type: 'string', maxLength: 200 }, description: 'text the title contains; up to 200 characters (code points, as the title\'s: an emoji is one)' },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
        { name: 'cursor', in: 'query', schema: { type: 'string' }, description: '`nextCursor` of the previous page' },
      ],
      responses: { '200': { description: 'A page', ...json({ type: 'object', properties: { items: { type: 'array' }, nextCursor: { type: ['string', 'null'] } } }) }, ...problem('bad-request', 'unauthenticated', 'forbidden') },
    },
  },
  '/v1/assessments/{id}': {
    get: { tags: ['Assessments'], summary: 'An assessment with its revisions and reports', description: 'Each read is recorded in the assessment\'s audit trail (`assessment.read`, target the assessment).', security: auth, parameters: [idParam('id', 'assessment id')], responses: { '200': { description: 'The assessment' }, ...problem('not-found', 'unauthenticated', 'forbidden') } },
  },
  '/v1/assessments/{id}/revisions': {
    post: {
      tags: ['Assessments'],
      summary: 'Save a new revision (n+1, gap-free) and its signed report',
      description:
        'Honours `Idempotency-Key`, scoped to the assessment: the same key and body return the original revision and report (200, `Idempotent-Replayed: true`); the same key with another body is 409 (type …/problems/idempotency-key-reused); concurrent requests with one key add one revision. Retry a submission cut off by a 503 or a dropped connection with the same key.',
      security: auth,
      parameters: [idParam('id', 'assessment id'), idempotencyKeyHeader],
      requestBody: { required: true, ...json(ReviseAssessmentBody, { answers }) },
      responses: {
        '201': { description: 'The new revision and its report; `Location` names the revision', ...json({ $ref: '#/components/schemas/SubmissionResult' }) },
        '200': { description: 'Idempotent replay of an earlier identical request: the original revision and report', ...json({ $ref: '#/components/schemas/SubmissionResult' }) },
        ...problem('validation-failed', 'malformed-json', 'bad-request', 'unsupported-media-type', 'payload-too-large', 'not-found', 'idempotency-key-reused', 'unauthenticated', 'forbidden', 'csrf-token-invalid', 'rate-limited'),
      },
    },
  },
  '/v1/assessments/{id}/revisions/{n}': {
    get: {
      tags: ['Assessments'],
      summary: 'The answers of one revision, as submitted',
      description: 'Each read is recorded in the assessment\'s audit trail (`assessment.revision_read`, target the assessment, decision the revision number).',
      security: auth,
      parameters: [idParam('id', 'assessment id'), { name: 'n', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
      responses: { '200': { description: 'questionnaireVersion and answers' }, ...problem('not-found', 'unauthenticated', 'forbidden') },
    },
  },
  '/v1/assessments/{id}/revisions/{n}/reports': {
    post: {
      tags: ['Assessments'],
      summary: 'Evaluate a stored revision under other ruleset versions',
      description:
        'The same revision under the same ruleset versions returns the existing report (200, same bytes); otherwise 201. A draft revision has no report: 409 (type …/problems/conflict, detail "revision n is a draft; submit it first"), nothing stored; submit its answers as a new revision first.',
      security: auth,
      parameters: [idParam('id', 'assessment id'), { name: 'n', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
      requestBody: { required: false, ...json(ReportRequestBody, { rulesets: [{ id: 'hipaa-security', version: '1.0.0' }] }) },
      responses: {
        '201': { description: 'A new report' },
        '200': { description: 'The existing report' },
        ...problem('validation-failed', 'malformed-json', 'unsupported-media-type', 'payload-too-large', 'not-found', 'unauthenticated', 'forbidden', 'csrf-token-invalid', 'rate-limited'),
        '409': { description: 'The revision is a draft: submit it first (type …/problems/conflict); nothing is stored', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    },
  },
  '/v1/reports/{id}': {
    get: {
      tags: ['Reports'],
      summary: 'The signed report: the stored canonical JSON bytes exactly',
      description: '`ETag` is the SHA-256 of the bytes; `Cache-Control: no-store` (nothing is kept in a browser or proxy cache), and a client that keeps the bytes itself revalidates with `If-None-Match` (304). Verify with the detached JWS from `/signature` and the keys at `/.well-known/jwks.json`.',
      security: auth,
      parameters: [idParam('id', 'report id')],
      responses: { '200': { description: 'Report JSON (RFC 8785)', ...json({ $ref: '#/components/schemas/Report' }) }, '304': { description: 'Not modified' }, ...problem('not-found', 'unauthenticated', 'forbidden') },
    },
  },
  '/v1/reports/{id}/signature': {
    get: {
      tags: ['Reports'],
      summary: 'The detached JWS (RFC 7515 + RFC 7797, EdDSA)',
      description: '`ETag` is the SHA-256 of the JWS; `Cache-Control: no-store`; `If-None-Match` revalidates (304).',
      security: auth,
      parameters: [idParam('id', 'report id')],
      responses: { '200': { description: 'Compact JWS with an empty payload part', content: { 'application/jose': { schema: { type: 'string' } } } }, '304': { description: 'Not modified' }, ...problem('not-found', 'unauthenticated', 'forbidden') },
    },
  },
  '/v1/reports/{id}/pdf': {
    get: {
      tags: ['Reports'],
      summary: 'The signed PDF/A-3b report (embeds the JSON and its JWS)',
      description: '`ETag` is the SHA-256 of the PDF; `Cache-Control: no-store`; `If-None-Match` revalidates (304).',
      security: auth,
      parameters: [idParam('id', 'report id')],
      responses: { '200': { description: 'PDF', content: { 'application/pdf': { schema: { type: 'string', format: 'binary' } } } }, '304': { description: 'Not modified' }, ...problem('not-found', 'unauthenticated', 'forbidden') },
    },
  },
  '/v1/reports/{a}/diff/{b}': {
    get: {
      tags: ['Reports'],
      summary: 'Findings whose status or risk changed between two reports',
      description:
        'Any two reports you may read: two revisions of one assessment, a revision re-evaluated under other ruleset versions, or two assessments. Each side names its report, assessment, revision and ruleset versions, and `sameAssessment` says whether both are of one assessment. Recorded as a download of each report (`report.downloaded`, format `diff`).',
      security: auth,
      parameters: [idParam('a', 'from report'), idParam('b', 'to report')],
      responses: { '200': { description: 'The diff', ...json({ $ref: '#/components/schemas/ReportDiff' }) }, ...problem('not-found', 'unauthenticated', 'forbidden') },
    },
  },
  '/v1/verify': {
    post: {
      tags: ['Reports'],
      summary: 'Verify report bytes and a JWS against the keys this service published',
      security: auth,
      requestBody: { required: true, ...json(VerifyBody) },
      responses: { '200': { description: '`valid`, the key id or the reason, and the report identity' }, ...problem('validation-failed', 'malformed-json', 'unsupported-media-type', 'payload-too-large', 'unauthenticated', 'forbidden', 'csrf-token-invalid') },
    },
  },
  '/.well-known/jwks.json': {
    get: { tags: ['Reports'], summary: 'Every report-signing public key ever used, current first', security: [], responses: { '200': { description: 'JWKS (RFC 7517)' } } },
  },
  '/.well-known/pdf-signing-certificate.json': {
    get: {
      tags: ['Reports'],
      summary: 'The certificate that signs the PDFs, to pin when verifying a PDF',
      description: 'A PDF\'s own signature proves only that its bytes match the certificate it carries; `npx hipaa-ai-risk verify --pdf report.pdf --jwks jwks.json --pdf-cert-sha256 <sha256>` trusts the PDF only when its signing certificate has this SHA-256 (of the DER certificate, lower-case hex).',
      security: [],
      responses: { '200': { description: 'The certificate', content: { 'application/json': { schema: { type: 'object', required: ['sha256', 'subject', 'notBefore', 'notAfter', 'selfSigned', 'certificatePem'], properties: { sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' }, subject: { type: 'string' }, notBefore: { type: 'string', format: 'date-time' }, notAfter: { type: 'string', format: 'date-time' }, selfSigned: { type: 'boolean' }, certificatePem: { type: 'string' } } } } } } },
    },
  },
};

export const assessmentSchemas: Record<string, unknown> = {
  CreateAssessmentBody,
  ReviseAssessmentBody,
  ReportRequestBody,
  EvaluateBody,
  VerifyBody,
  ReportDiff,
  SubmissionResult: {
    type: 'object',
    required: ['assessment', 'revision', 'report', 'replayed'],
    properties: {
      assessment: { type: 'object', properties: { id: { type: 'string', format: 'uuid' }, organizationId: { type: 'string' }, title: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' } } },
      revision: { type: 'object', properties: { revision: { type: 'integer' }, status: { enum: ['draft', 'submitted'] }, questionnaireVersion: { type: 'string' }, answersSha256: { type: 'string' }, submittedAt: { type: 'string', format: 'date-time' } } },
      report: { type: ['object', 'null'], properties: { id: { type: 'string', format: 'uuid' }, sha256: { type: 'string' }, kid: { type: 'string' }, overallRisk: { type: 'string' }, rulesets: { type: 'array' }, summary: { type: 'object' } } },
      replayed: { type: 'boolean' },
    },
  },
  Report: {
    type: 'object',
    description: 'See docs/evaluation-format.md. `schema` is hipaa-ai-risk/report/1; `evaluation` is the evaluation result.',
    required: ['schema', 'reportId', 'assessment', 'signing', 'evaluation'],
    properties: { schema: { const: 'hipaa-ai-risk/report/1' }, reportId: { type: 'string' }, assessment: { type: 'object' }, signing: { type: 'object' }, evaluation: { $ref: '#/components/schemas/EvaluationResult' } },
  },
  EvaluationResult: {
    type: 'object',
    description: 'See docs/evaluation-format.md; `schema` is hipaa-ai-risk/evaluation/1.',
    required: ['schema', 'questionnaire', 'rulesets', 'engine', 'answersSha256', 'summary', 'findings', 'errors'],
    properties: { schema: { const: 'hipaa-ai-risk/evaluation/1' }, findings: { type: 'array' }, summary: { type: 'object' } },
  },
};

const listParams = [
  { name: 'from', in: 'query', schema: { type: 'string', anyOf: [{ format: 'date' }, { format: 'date-time' }] }, description: `Events at or after. ${LOWER_BOUND}` },
  { name: 'to', in: 'query', schema: { type: 'string', anyOf: [{ format: 'date' }, { format: 'date-time' }] }, description: `Events before. ${UPPER_BOUND}` },
  { name: 'actor', in: 'query', schema: { type: 'string', maxLength: 200 }, description: "the actor's id (a user or an API client), or a user's e-mail address in any case; an address no user has matches no event" },
  { name: 'action', in: 'query', schema: { type: 'string' }, description: 'e.g. assessment.created; an action the service does not have is a 400 at `/action`' },
  { name: 'targetType', in: 'query', schema: { type: 'string' } },
  { name: 'targetId', in: 'query', schema: { type: 'string' } },
  { name: 'outcome', in: 'query', schema: { enum: [...AUDIT_OUTCOMES] } },
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
  { name: 'cursor', in: 'query', schema: { type: 'string' } },
];

/** OpenAPI fragment of the audit trail and key routes. */
export const auditPaths: Record<string, unknown> = {
  '/v1/audit/events': {
    get: { tags: ['Audit'], summary: 'Audit events of the organisations you may read, oldest first', description: 'Each read is recorded in your organisation\'s trail after the page is read (`audit.read`, view `events`, with the filters given and how many events were sent): the next read shows it.', security: auth, parameters: listParams, responses: { '200': { description: 'A page of events with their hashes; `nextCursor`' }, ...problem('bad-request', 'unauthenticated', 'forbidden') } },
  },
  '/v1/assessments/{id}/audit': {
    get: {
      tags: ['Audit'],
      summary: 'The audit trail of one assessment and its reports, oldest first (keyset pagination)',
      description: 'Pages of at most `limit` events; while `nextCursor` is not null, pass it as `cursor` for the next page (pages never overlap or skip an event). Each read is recorded in the assessment\'s trail after the page is read (`audit.read`, view `assessment`).',
      security: auth,
      parameters: [
        idParam('id', 'assessment id'),
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 1000 } },
        { name: 'cursor', in: 'query', schema: { type: 'string' }, description: '`nextCursor` of the previous page' },
      ],
      responses: {
        '200': { description: '`assessmentId`, `items` (events with their hashes) and `nextCursor` (null on the last page)', ...json({ type: 'object', required: ['assessmentId', 'items', 'nextCursor'], properties: { assessmentId: { type: 'string', format: 'uuid' }, items: { type: 'array' }, nextCursor: { type: ['string', 'null'] } } }) },
        ...problem('bad-request', 'not-found', 'unauthenticated', 'forbidden'),
      },
    },
  },
  '/v1/audit/export': {
    get: {
      tags: ['Audit'],
      summary: 'Export the trail as JSON Lines with its chain proof',
      description: 'Lines: a header, then per event an `event` (your organisations) or a `link` (seq and hashes only), then the signed checkpoints in range, and last a `signature` line: a detached Ed25519 JWS (report-signing key) over the SHA-256 of every byte before it with the scope, range and line count, so no line can be changed, added, dropped or forged (a `link` line included). Verify offline with `npx hipaa-ai-risk audit-verify-export export.jsonl --jwks jwks.json`. `Cache-Control: no-store`. Recorded as `audit.exported` with the range (`fromSeq`, `toSeq`, as in the header) and the number of `event` lines (`events`).',
      security: auth,
      parameters: [
        { name: 'fromSeq', in: 'query', description: 'First event of the range (default: your organisations\' first); not after `toSeq`, nor after the signed checkpoint the export ends on (400 at `/fromSeq`)', schema: { type: 'integer', minimum: 1 } },
        {
          name: 'toSeq',
          in: 'query',
          description:
            'The range ends on the last signed checkpoint at or before it (default, and for a toSeq at or after the head: the head, signed first). Checkpoints are signed only of the head, so a toSeq before the first checkpoint has none to end on: 400 at `/toSeq`, before anything is signed or recorded, saying the least toSeq that can be exported.',
          schema: { type: 'integer', minimum: 1 },
        },
      ],
      responses: { '200': { description: 'JSON Lines', content: { 'application/jsonl': { schema: { type: 'string' } } } }, ...problem('bad-request', 'conflict', 'unauthenticated', 'forbidden') },
    },
  },
  '/v1/audit/verify': {
    get: {
      tags: ['Audit'],
      summary: 'Walk the hash chain and the signed checkpoints',
      description: 'With `anchor`, also checks chain heads kept outside the database (the `anchor` of each "audit checkpoint signed" log line, or a checkpoint of an earlier export): the event at each `seq` must exist with that hash, so a tail deleted with its checkpoints, or a chain rewritten up to an anchor, is reported. Recorded as `audit.verified`.',
      security: auth,
      parameters: [{ name: 'anchor', in: 'query', required: false, schema: { type: 'string', pattern: '^[1-9][0-9]{0,14}:[0-9a-f]{64}(,[1-9][0-9]{0,14}:[0-9a-f]{64}){0,19}$' }, description: 'up to 20 `seq:hash` pairs, comma-separated' }],
      responses: { '200': { description: '`valid`, events and checkpoints checked, or the first broken sequence number and why' }, ...problem('bad-request', 'unauthenticated', 'forbidden') },
    },
  },
  '/v1/audit/checkpoints': {
    post: { tags: ['Audit'], summary: 'Sign the current chain head now (admin)', security: auth, responses: { '201': { description: 'The checkpoint: seq, hash, payload, JWS' }, ...problem('conflict', 'unauthenticated', 'forbidden', 'csrf-token-invalid') } },
  },
  '/v1/keys': {
    get: { tags: ['Keys'], summary: 'Every published signing key (admin)', description: 'Recorded as `admin.read` (resource `keys`).', security: auth, responses: { '200': { description: 'kid, purpose, first seen, current' }, ...problem('unauthenticated', 'forbidden') } },
  },
  '/v1/keys/rotate': {
    post: {
      tags: ['Keys'],
      summary: 'Add a new current report or token signing key (admin, embedded key directory only)',
      security: auth,
      requestBody: { required: true, ...json(RotateKeyBody, { purpose: 'report' }) },
      responses: { '201': { description: 'The new kid and the previous one' }, ...problem('conflict', 'validation-failed', 'malformed-json', 'unsupported-media-type', 'payload-too-large', 'unauthenticated', 'forbidden', 'csrf-token-invalid') },
    },
  },
};
