/**
 * Hands 429s to the audit trail's bounded recorder (src/audit/denied.ts) without letting a flood
 * of rejected requests become a flood of database writes: each instance forwards at most
 * `limitPerMinute + 1` rejections per client IP and minute (enough for recordDenied to record
 * its quota and mark the window as overflowing, so a summary event follows), with a few in
 * flight at a time (the rest wait in a bounded queue), and never delays the 429 itself. Beyond an
 * IP's quota the per-IP window's summary counts the flood (a lower bound). What is not forwarded
 * for any other reason (the queue or the table of IPs is full) is counted in
 * `audit_denials_unforwarded_total` and recorded as one summary event a minute (`reason:
 * "unforwarded"`, `suppressed`: how many), so no 429 leaves no trace at all. Before, a burst of
 * 429s from more than four addresses at once lost all but four without any event.
 */
import type { Request } from 'express';
import { recordDenied } from '../../audit/denied.js';
import { recordAuditEventAlone, type AuditActor } from '../../audit/record.js';
import type { Database } from '../../db/database.js';
import type { Logger } from '../../logging/logger.js';
import { deniedRequestFacts } from '../audit-context.js';

const ANONYMOUS: AuditActor = { type: 'anonymous', id: null, role: null, organizationId: null };
/** Distinct IPs tracked per minute per instance; beyond, rejections are only counted. */
const MAX_TRACKED = 10_000;
const MAX_IN_FLIGHT = 4;
/** Rejections waiting for a write; beyond, they are counted and summarised instead. */
const MAX_QUEUED = 5_000;

export interface DenialForwarderOptions {
  readonly database: Pick<Database, 'db'>;
  readonly logger: Logger;
  readonly limitPerMinute: number;
  /** The audit actor of a request (the principal, when authenticated); default anonymous. */
  readonly actorOf?: (req: Request) => AuditActor | undefined;
  /** Called for every rejection not forwarded to the audit trail. */
  readonly onUnforwarded?: () => void;
  readonly clock?: () => Date;
  /** Rejections that may wait for a write (default 5,000); beyond, they are only counted and summarised. */
  readonly maxQueued?: number;
}

/** Forwards 429s to the audit trail, bounded as described in this module's comment. */
export interface DenialForwarder {
  forward(req: Request, limiter: string): void;
  /** Resolves when every forwarded denial is written (tests, shutdown). */
  drain(): Promise<void>;
}

/**
 * Creates the forwarder. Guarantees: `forward` returns at once and never throws; at most
 * `limitPerMinute + 1` calls to recordDenied per IP, minute and instance, at most 4 at a time;
 * a failed write is logged, never retried.
 */
export function createDenialForwarder(options: DenialForwarderOptions): DenialForwarder {
  const clock = options.clock ?? (() => new Date());
  let minute = -1;
  const counts = new Map<string, number>();
  const pending = new Set<Promise<unknown>>();
  const queue: (() => Promise<unknown>)[] = [];
  /** Rejections not forwarded since `unforwardedSince` (epoch seconds), for the summary event. */
  let unforwarded = 0;
  let unforwardedSince = 0;

  const start = (job: () => Promise<unknown>): void => {
    const write = job().catch((err: unknown) => {
      options.logger.error({ err }, 'could not record a rate-limited request in the audit trail');
    });
    pending.add(write);
    void write.finally(() => {
      pending.delete(write);
      const next = queue.shift();
      if (next) start(next);
    });
  };
  const submit = (job: () => Promise<unknown>): void => {
    if (pending.size < MAX_IN_FLIGHT) start(job);
    else queue.push(job);
  };
  /** Writes the summary of what was not forwarded (one event), when there is any. */
  const summariseUnforwarded = (now: Date): void => {
    if (unforwarded === 0) return;
    const suppressed = unforwarded;
    const since = unforwardedSince;
    unforwarded = 0;
    submit(() =>
      recordAuditEventAlone(options.database.db, {
        action: 'request.denied',
        outcome: 'denied',
        actor: ANONYMOUS,
        organizationId: null,
        request: { id: null, ip: null, userAgent: null },
        decision: { status: 429, method: '*', route: '*', reason: 'unforwarded', suppressed, suppressedSince: since },
      }, now),
    );
  };

  return {
    forward(req, limiter) {
      const now = clock();
      const m = Math.floor(now.getTime() / 60_000);
      if (m !== minute) {
        summariseUnforwarded(now);
        minute = m;
        counts.clear();
      }
      const ip = req.ip ?? 'unknown';
      const seen = counts.get(ip) ?? 0;
      // Past the IP's quota: recordDenied has marked its window as overflowing; its summary counts the flood.
      if (seen > options.limitPerMinute) {
        options.onUnforwarded?.();
        return;
      }
      if (queue.length >= (options.maxQueued ?? MAX_QUEUED) || (seen === 0 && counts.size >= MAX_TRACKED)) {
        options.onUnforwarded?.();
        if (unforwarded === 0) {
          unforwardedSince = Math.floor(now.getTime() / 1000);
          // Written at the end of the minute even if no further rejection comes to trigger it.
          setTimeout(() => summariseUnforwarded(clock()), (m + 1) * 60_000 - now.getTime() + 50).unref();
        }
        unforwarded += 1;
        return;
      }
      counts.set(ip, seen + 1);
      const denial = { status: 429 as const, ...deniedRequestFacts(req), reason: `rate_limited:${limiter}`, actor: options.actorOf?.(req) ?? ANONYMOUS };
      submit(() => recordDenied(options.database.db, denial, { limitPerMinute: options.limitPerMinute, now }));
    },
    async drain() {
      summariseUnforwarded(clock());
      while (pending.size > 0 || queue.length > 0) await Promise.all([...pending]);
    },
  };
}
