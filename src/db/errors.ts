/**
 * Whether a database error is a unique violation (SQLSTATE 23505), on PostgreSQL and PGlite: a
 * concurrent insert won the race between a duplicate check and the insert. The transaction is
 * then aborted, so the caller must end it (throw) rather than go on.
 */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

const CONNECTING = Symbol('hipaa.connectionError');

/** Marks `err` as raised while a database connection was being opened (src/db/database.ts). */
export function markConnectionError(err: unknown): unknown {
  if (typeof err === 'object' && err !== null) (err as Record<symbol, boolean>)[CONNECTING] = true;
  return err;
}

/**
 * Whether opening a PostgreSQL connection failed (refused, unknown host, database or role, wrong
 * password, a database that accepts no connections, the connection timeout), here or in a cause:
 * the database is unavailable to this instance, whatever the SQLSTATE.
 */
export function isConnectionError(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as Record<symbol, unknown>)[CONNECTING] === true) return true;
  }
  return false;
}

/** A PostgreSQL URL as it may be shown: `host:port/database`, without user, password or parameters. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname !== '' ? u.hostname : (u.searchParams.get('host') ?? 'localhost');
    return `${host}:${u.port !== '' ? u.port : '5432'}/${decodeURIComponent(u.pathname.replace(/^\//, ''))}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** The first non-empty message of an error, its causes or (AggregateError) its parts. */
function reasonOf(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as { message?: unknown; code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof e.message === 'string' && e.message !== '') return e.message;
  if (Array.isArray(e.errors) && e.errors.length > 0) return e.errors.map(reasonOf).join('; ');
  if (e.cause !== undefined && e.cause !== err) return reasonOf(e.cause);
  return typeof e.code === 'string' ? e.code : 'unknown error';
}

/**
 * The service could not open a connection to its database at start (refused, unknown host,
 * database or role, wrong password): one line naming the variable and where it points, never
 * the credentials (src/main.ts prints it without a stack trace).
 */
export class DatabaseConnectError extends Error {
  constructor(variable: string, url: string, cause: unknown) {
    super(`cannot connect to the database of ${variable} (${describeDatabaseUrl(url)}): ${reasonOf(cause)}`, { cause });
    this.name = 'DatabaseConnectError';
  }
}
