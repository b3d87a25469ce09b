/**
 * Bounded recording of denied requests (401, 403, 404, 429: `request.denied`, outcome `denied`)
 * of refused ones (a state-changing request answered 400, 409, 413, 415 or 422, which changed
 * nothing: `request.refused`, outcome `error`) and of failed ones (an internal error, 500, or no
 * capacity left, 503: `request.failed`, outcome `error`) in the audit trail.
 *
 * Every denial must leave a trace, but an attacker must not be able to grow the trail (or the
 * audit chain's serialised writes) without bound. Denials are counted per key = (client IP,
 * status) and per minute in `audit_denial_windows`:
 * - the first `limitPerMinute` denials of a window are recorded one by one (`request.denied`);
 * - the rest only increment the counter;
 * - when the window is over, one summary event records how many were suppressed
 *   (`suppressed`, `suppressedSince` = the window's start in Unix seconds; method and route "*").
 *   The summary is written by the next denial of the same key in a later window, or by
 *   `flushDenialWindows` (run every minute by the service), whichever comes first.
 * Closed windows are then deleted (the counters are not history; the events are).
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../db/schema.js';
import { recordAuditEvent, type AuditActor, type AuditRequestContext } from './record.js';

/** Statuses of denials (who may not), and of refusals (what could not be done as sent). */
export type DeniedStatus = 401 | 403 | 404 | 429;
export type RefusedStatus = 400 | 409 | 413 | 415 | 422;
/**
 * A request the service failed: an internal error (500), or a refusal for want of capacity (503:
 * too many submissions waiting for a report worker). It changed nothing, but who tried what is kept.
 */
export type FailedStatus = 500 | 503;
const FAILED_STATUSES: ReadonlySet<number> = new Set<FailedStatus>([500, 503]);
const REFUSED_STATUSES: ReadonlySet<number> = new Set<RefusedStatus>([400, 409, 413, 415, 422]);
const DENIED_STATUSES: ReadonlySet<number> = new Set<DeniedStatus>([401, 403, 404, 429]);

/** Whether a status is one `recordDenied` records as a refusal. */
export function isRefusedStatus(status: number): status is RefusedStatus {
  return REFUSED_STATUSES.has(status);
}

export interface DeniedRequest {
  readonly status: DeniedStatus | RefusedStatus | FailedStatus;
  readonly method: string;
  /** The route pattern or path (no query string). */
  readonly route: string;
  readonly reason: string | null;
  readonly actor: AuditActor;
  readonly request: AuditRequestContext;
  /**
   * Whose trail the event is in (default: the actor's organisation). A 404 for another
   * organisation's resource goes in the installation's (null): in the actor's own trail, which its
   * auditors, administrators and API clients with audit access read, it would tell them that the
   * id exists elsewhere, since a 404 for an id that exists nowhere records nothing.
   */
  readonly organizationId?: string | null;
  /** The resource the request named in its path, if any (src/http/audit-context.ts). */
  readonly target?: { readonly type: string; readonly id: string } | null;
  /** Refusals: the JSON pointers of the failing fields (at most 10 kept). */
  readonly pointers?: readonly string[];
  /** Refusals: SHA-256 of the request's input (its canonical JSON body), when there is one. */
  readonly inputSha256?: string | null;
}

/**
 * A caller-chosen string (a field name in a pointer, a path) as an event can hold it: at most 500
 * characters, lone surrogates and NUL replaced by U+FFFD (RFC 8785 and PostgreSQL text refuse them).
 */
function storable(text: string): string {
  return text.slice(0, 500).toWellFormed().replaceAll('\u0000', '\uFFFD');
}

/** The action and outcome an event of this status is recorded with. */
function kindOf(status: DeniedStatus | RefusedStatus | FailedStatus): { action: 'request.denied'; outcome: 'denied' } | { action: 'request.refused' | 'request.failed'; outcome: 'error' } {
  if (FAILED_STATUSES.has(status)) return { action: 'request.failed', outcome: 'error' };
  return isRefusedStatus(status) ? { action: 'request.refused', outcome: 'error' } : { action: 'request.denied', outcome: 'denied' };
}

export interface DenialOptions {
  /** Events recorded per (IP, status) and minute before suppressing. */
  readonly limitPerMinute: number;
  readonly now?: Date;
}

const WINDOW_MS = 60_000;

function windowStart(now: Date): Date {
  return new Date(Math.floor(now.getTime() / WINDOW_MS) * WINDOW_MS);
}

function keyOf(ip: string | null, status: number): string {
  return `${ip ?? 'unknown'}|${status}`;
}

function statusOfKey(key: string): DeniedStatus | RefusedStatus | FailedStatus | undefined {
  const s = Number(key.slice(key.lastIndexOf('|') + 1));
  return DENIED_STATUSES.has(s) || REFUSED_STATUSES.has(s) || FAILED_STATUSES.has(s) ? (s as DeniedStatus | RefusedStatus | FailedStatus) : undefined;
}

async function summarise(trx: Transaction<DB>, closed: readonly { key: string; window_start: Date; count: number }[], limit: number, now: Date): Promise<number> {
  let written = 0;
  for (const w of closed) {
    const status = statusOfKey(w.key);
    if (w.count <= limit || status === undefined) continue;
    const ip = w.key.slice(0, w.key.lastIndexOf('|'));
    await recordAuditEvent(
      trx,
      {
        ...kindOf(status),
        actor: { type: 'anonymous', id: null, role: null, organizationId: null },
        organizationId: null,
        request: { id: null, ip: ip === 'unknown' ? null : ip, userAgent: null },
        decision: { status, method: '*', route: '*', reason: 'suppressed', suppressed: w.count - limit, suppressedSince: Math.floor(new Date(w.window_start).getTime() / 1000) },
      },
      now,
    );
    written++;
  }
  return written;
}

/**
 * Records one denied request, bounded as described above. Guarantees: at most `limitPerMinute`
 * detailed events per (IP, status) and minute, plus one summary per window that overflowed; the
 * counter update and any event commit together. Runs in its own transaction (a denial changes
 * nothing else). Returns whether this denial got its own event.
 */
export async function recordDenied(db: Kysely<DB>, denial: DeniedRequest, options: DenialOptions): Promise<'recorded' | 'suppressed'> {
  const now = options.now ?? new Date();
  const start = windowStart(now);
  const key = keyOf(denial.request.ip, denial.status);
  return db.transaction().execute(async (trx) => {
    const closed = await trx.deleteFrom('audit_denial_windows').where('key', '=', key).where('window_start', '<', start).returning(['key', 'window_start', 'count']).execute();
    await summarise(trx, closed, options.limitPerMinute, now);
    const row = await trx
      .insertInto('audit_denial_windows')
      .values({ key, window_start: start, count: 1 })
      .onConflict((oc) => oc.columns(['key', 'window_start']).doUpdateSet({ count: sql<number>`audit_denial_windows.count + 1` }))
      .returning('count')
      .executeTakeFirstOrThrow();
    if (row.count > options.limitPerMinute) return 'suppressed';
    await recordAuditEvent(
      trx,
      {
        ...kindOf(denial.status),
        actor: denial.actor,
        organizationId: denial.organizationId !== undefined ? denial.organizationId : denial.actor.organizationId,
        request: denial.request,
        target: denial.target ?? null,
        ...(denial.inputSha256 ? { inputSha256: denial.inputSha256 } : {}),
        decision: {
          status: denial.status,
          method: denial.method.slice(0, 16),
          route: storable(denial.route),
          reason: denial.reason === null ? null : storable(denial.reason),
          ...(denial.pointers !== undefined && isRefusedStatus(denial.status) ? { pointers: denial.pointers.slice(0, 10).map(storable) } : {}),
        },
      },
      now,
    );
    return 'recorded';
  });
}

/**
 * Closes every window that ended before `now`: writes the summary of each that overflowed and
 * deletes them all. Guarantees: each overflowing window is summarised exactly once, even with
 * several instances flushing concurrently (rows are claimed by DELETE … RETURNING).
 * Returns the number of summary events written.
 */
export async function flushDenialWindows(db: Kysely<DB>, options: DenialOptions): Promise<number> {
  const now = options.now ?? new Date();
  return db.transaction().execute(async (trx) => {
    const closed = await trx.deleteFrom('audit_denial_windows').where('window_start', '<', windowStart(now)).returning(['key', 'window_start', 'count']).execute();
    closed.sort((a, b) => new Date(a.window_start).getTime() - new Date(b.window_start).getTime() || a.key.localeCompare(b.key));
    return summarise(trx, closed, options.limitPerMinute, now);
  });
}
