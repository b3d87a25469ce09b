import { PROBLEM_BASE_URI, PROBLEM_TYPES, type ProblemCode } from '../../errors.js';
import { OPENAPI_METHODS } from './paths.js';

export interface OpenApiFragment {
  readonly paths: Record<string, unknown>;
  readonly schemas?: Record<string, unknown>;
  readonly tags?: readonly { name: string; description: string }[];
}

/**
 * The problem+json responses of an operation, keyed by status. Codes that share a status (403:
 * `forbidden` and `csrf-token-invalid`; 400: `malformed-json` and `bad-request`) are listed together
 * under it, each with its type, instead of the last one replacing the others.
 */
export function problem(...codes: ProblemCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of codes) {
    const status = PROBLEM_TYPES[code].status;
    const listed = byStatus.get(status) ?? [];
    if (!listed.includes(code)) listed.push(code);
    byStatus.set(status, listed);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, listed]) => [
      String(status),
      {
        description: listed.map((code) => `${PROBLEM_TYPES[code].title} (type …/problems/${code})`).join('; or '),
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      },
    ]),
  );
}

const problemSchema = {
  type: 'object',
  description: `RFC 9457 problem details. \`type\` is ${PROBLEM_BASE_URI}<code> and never changes for a given error.`,
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    requestId: { type: 'string' },
    pointer: { type: 'string', description: 'JSON pointer (RFC 6901) of the first failing field' },
    errors: { type: 'array', items: { type: 'object', required: ['pointer', 'detail'], properties: { pointer: { type: 'string' }, detail: { type: 'string' } } } },
  },
};

/** Every operation may answer 400 to a query parameter it does not take (src/http/query.ts); those that list no 400 get it. */
function withQueryCheck(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(item).map(([method, operation]) => {
      const responses = (operation as { responses?: Record<string, unknown> }).responses;
      if (!OPENAPI_METHODS.has(method) || responses === undefined || '400' in responses) return [method, operation];
      const badRequest = { description: `A query parameter this operation does not take (type …/problems/bad-request)`, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
      return [method, { ...(operation as object), responses: { ...responses, '400': badRequest } }];
    }),
  );
}

function stripIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripIds);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== '$id').map(([k, v]) => [k, stripIds(v)]));
  }
  return value;
}

/**
 * The OpenAPI 3.1 document, assembled from the fragments each feature exports next to its
 * routes. Request schemas are the same objects the routes validate with (one source of truth).
 */
export function buildOpenApi(publicUrl: string, version: string, fragments: readonly OpenApiFragment[]): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = { Problem: problemSchema };
  const tags: { name: string; description: string }[] = [];
  for (const f of fragments) {
    for (const [path, item] of Object.entries(f.paths)) paths[path] = { ...((paths[path]) ?? {}), ...withQueryCheck(item as Record<string, unknown>) };
    Object.assign(schemas, f.schemas ?? {});
    tags.push(...(f.tags ?? []));
  }
  return stripIds({
    openapi: '3.1.0',
    info: {
      title: 'HIPAA AI Risk API',
      version,
      description:
        'Assess the HIPAA Security Rule risk of an AI use case: submit questionnaire answers, get a deterministic, signed report (JSON with a detached Ed25519 JWS, and a signed PDF/A-3b). Errors are RFC 9457 problem+json; a query parameter an operation does not list is refused with 400, so a misspelt filter never returns an unfiltered list. Browser sessions use httpOnly cookies plus an `X-CSRF-Token` header on state-changing requests; integrators use OAuth 2.0 client credentials (`POST /v1/oauth/token`) and a bearer token.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    // Relative: resolved against the address the document was loaded from (OpenAPI 3.1 §4.8.5),
    // so "Try it out" at /docs calls the same origin whether it was opened as localhost,
    // 127.0.0.1 or a proxy's name (the docs' CSP allows connect-src 'self' only).
    servers: [{ url: '/', description: `This service, at the address this document was loaded from (its public URL: ${publicUrl})` }],
    tags,
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    components: {
      schemas,
      securitySchemes: {
        bearerToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access token from POST /v1/oauth/token (client credentials).' },
        cookieSession: {
          type: 'apiKey',
          in: 'cookie',
          name: '__Host-hipaa_access',
          description:
            'Set by POST /v1/auth/login; state-changing requests also need X-CSRF-Token. The cookie is `__Host-hipaa_access` (Secure) whenever cookies are secure, always in production; outside production with a plain-http loopback PUBLIC_URL (http://localhost, http://127.0.0.1 or http://[::1], the `npm start` default) it is `hipaa_access`, without `Secure` and the `__Host-` prefix (docs/auth.md §cookies).',
        },
      },
    },
  }) as Record<string, unknown>;
}
