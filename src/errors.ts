/**
 * The one error type of the service. Domain code throws it; the HTTP layer maps it to an
 * RFC 9457 problem+json response, the CLI to a message on standard error. Nothing else
 * reaches a client: any other error becomes a bare 500 with no internal detail.
 */

/** A field-level error: the JSON pointer of the failing field (RFC 6901) and why it failed. */
export interface FieldError {
  readonly pointer: string;
  readonly detail: string;
}

/** Stable problem types. The URI is `https://hipaa-ai-risk.dev/problems/<code>`; never rename a code. */
export const PROBLEM_TYPES = {
  'validation-failed': { status: 422, title: 'The request failed validation' },
  'malformed-json': { status: 400, title: 'The request body is not valid JSON' },
  'bad-request': { status: 400, title: 'Bad request' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'payload-too-large': { status: 413, title: 'Payload too large' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  unauthenticated: { status: 401, title: 'Authentication required' },
  forbidden: { status: 403, title: 'Forbidden' },
  conflict: { status: 409, title: 'Conflict' },
  'idempotency-key-reused': { status: 409, title: 'Idempotency key reused with another request' },
  'precondition-failed': { status: 412, title: 'Precondition failed' },
  'csrf-token-invalid': { status: 403, title: 'CSRF token missing or invalid' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  'service-unavailable': { status: 503, title: 'Service unavailable' },
  'internal-error': { status: 500, title: 'Internal server error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEM_TYPES;

export const PROBLEM_BASE_URI = 'https://hipaa-ai-risk.dev/problems/';

export class AppError extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly detail: string;
  readonly errors: readonly FieldError[];
  readonly pointer: string | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ProblemCode,
    detail: string,
    options: { errors?: readonly FieldError[]; pointer?: string; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = PROBLEM_TYPES[code].status;
    this.detail = detail;
    this.errors = options.errors ?? [];
    this.pointer = options.pointer ?? this.errors[0]?.pointer;
    this.headers = options.headers ?? {};
  }
}

/** A 422 carrying field-level errors, the first one's pointer promoted to `pointer`. */
export function validationError(errors: readonly FieldError[], detail?: string): AppError {
  const first = errors[0];
  const summary = detail ?? (first ? `${first.pointer || '/'}: ${first.detail}` : 'The request failed validation');
  return new AppError('validation-failed', errors.length > 1 ? `${summary} (and ${errors.length - 1} more)` : summary, { errors });
}
