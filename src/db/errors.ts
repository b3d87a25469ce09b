/**
 * Whether a database error is a unique violation (SQLSTATE 23505), on PostgreSQL and PGlite: a
 * concurrent insert won the race between a duplicate check and the insert. The transaction is
 * then aborted, so the caller must end it (throw) rather than go on.
 */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}
