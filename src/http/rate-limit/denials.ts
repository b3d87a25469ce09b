/**
 * Hands 429s to the audit trail's bounded recorder (src/audit/denied.ts) without letting a flood
 * of rejected requests become a flood of database writes: each instance forwards at most
 * `limitPerMinute + 1` rejections per client IP and minute (enough for recordDenied to record
 * its quota and mark the window as overflowing, so a summary event follows), with a few in
 * flight at a time, and never delays the 429 itself. What it does not forward is counted in
 * `audit_denials_unforwarded_total`, so the audit summary's `suppressed` count is a lower bound
 * under a flood and the metric holds the rest.
 */
import type { Request } from 'express';
import { recordDenied } from '../../audit/denied.js';
import type { AuditActor } from '../../audit/record.js';
import type { Database } from '../../db/database.js';
import type { Logger } from '../../logging/logger.js';
import { deniedRequestFacts } from '../audit-context.js';

const ANONYMOUS: AuditActor = { type: 'anonymous', id: null, role: null, organizationId: null };
/** Distinct IPs tracked per minute per instance; beyond, rejections are only counted. */
const MAX_TRACKED = 10_000;
const MAX_IN_FLIGHT = 4;

export interface DenialForwarderOptions {
  readonly database: Pick<Database, 'db'>;
  readonly logger: Logger;
  readonly limitPerMinute: number;
  /** The audit actor of a request (the principal, when authenticated); default anonymous. */
  readonly actorOf?: (req: Request) => AuditActor | undefined;
  /** Called for every rejection not forwarded to the audit trail. */
  readonly onUnforwarded?: () => void;
  readonly clock?: () => Date;
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

  return {
    forward(req, limiter) {
      const now = clock();
      const m = Math.floor(now.getTime() / 60_000);
      if (m !== minute) {
        minute = m;
        counts.clear();
      }
      const ip = req.ip ?? 'unknown';
      const seen = counts.get(ip) ?? 0;
      if (seen > options.limitPerMinute || pending.size >= MAX_IN_FLIGHT || (seen === 0 && counts.size >= MAX_TRACKED)) {
        options.onUnforwarded?.();
        return;
      }
      counts.set(ip, seen + 1);
      const write = recordDenied(
        options.database.db,
        { status: 429, ...deniedRequestFacts(req), reason: `rate_limited:${limiter}`, actor: options.actorOf?.(req) ?? ANONYMOUS },
        { limitPerMinute: options.limitPerMinute, now },
      ).catch((err: unknown) => {
        options.logger.error({ err, reqId: req.id }, 'could not record a rate-limited request in the audit trail');
      });
      pending.add(write);
      void write.finally(() => pending.delete(write));
    },
    async drain() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}
