import type { Request, Router } from 'express';
import type { Kysely } from 'kysely';
import { recordAuditEventAlone, type AuditActor } from '../audit/record.js';
import { actorOf as actorOfPrincipal } from '../auth/context.js';
import { AppError } from '../errors.js';
import { rolesPermitting, ROLE_REACH, type Action, type Principal } from '../auth/permissions.js';
import type { DB } from '../db/schema.js';
import { auditRequestContext } from './audit-context.js';

/**
 * The audit actor of a principal performing `action`: `actorOf(principal, action)`, the roles that
 * permit the action (null for an API client). For an action on a resource of `organizationId`,
 * only the roles among them that reach that organisation (`ROLE_REACH`): a compliance officer who
 * is also an auditor reads a granted organisation's report as auditor, their own as officer.
 */
export function auditActorOf(p: Principal, action: Action, organizationId?: string): AuditActor {
  const actor = actorOfPrincipal(p, action);
  if (organizationId === undefined || p.type !== 'user') return actor;
  const reaching = rolesPermitting(p, action).filter((role) => {
    const reach = ROLE_REACH[role];
    return reach === 'all' || (reach === 'own' ? organizationId === p.organizationId : p.grantedOrganizationIds.includes(organizationId));
  });
  return reaching.length > 0 ? { ...actor, role: reaching.join(' ') } : actor;
}

/** The audit actions of reads (src/audit/events.ts): what a user or client was shown. */
export type ReadAction = 'assessment.listed' | 'assessment.read' | 'audit.read' | 'admin.read';

export interface ReadEvent {
  readonly action: ReadAction;
  /** The permission the read was made under: the actor's roles are those that permit it. */
  readonly permission: Action;
  /**
   * The organisation whose record was read (its trail gets the event; the actor's roles are those
   * that reach it). Null for a read of the whole installation (an administration list of every
   * organisation): the installation's trail, which administrators alone read; in the reader's own,
   * its auditors and audit:read clients saw other organisations' ids and the installation's counts.
   * Omitted for a list of what the reader may reach (assessments, the trail): the reader's own.
   */
  readonly organizationId?: string | null;
  readonly target?: { readonly type: string; readonly id: string } | null;
  readonly decision: Record<string, unknown>;
}

/**
 * Records a read before its response is sent, in a transaction of its own: a reader who got the
 * response can rely on the event being in the trail, and a read whose event cannot be written
 * fails (500) instead of leaving no trace.
 */
export async function recordRead(db: Kysely<DB>, req: Request, principal: Principal, read: ReadEvent): Promise<void> {
  await recordAuditEventAlone(db, {
    action: read.action,
    outcome: 'success',
    actor: auditActorOf(principal, read.permission, read.organizationId ?? undefined),
    organizationId: read.organizationId === undefined ? principal.organizationId : read.organizationId,
    target: read.target ?? null,
    request: auditRequestContext(req),
    inputSha256: null,
    decision: read.decision,
  });
}

/**
 * A read's filters for its event: the ones given, as given (dates as ISO 8601), each cut to the
 * 500 characters an event's string holds, on a code-point boundary (half an emoji is a lone
 * surrogate, which the chain's canonical JSON refuses: the read answered 500); absent and empty
 * ones are left out. Omitted from the decision when none was given.
 */
export function readFilters(values: Readonly<Record<string, string | Date | undefined | null>>): { filters?: Record<string, string> } {
  const entries = Object.entries(values)
    .map(([k, v]): [string, string] => [k, v instanceof Date ? v.toISOString() : (v ?? '')])
    .filter(([, v]) => v !== '')
    .map(([k, v]): [string, string] => [k, v.length > 500 ? Array.from(v).slice(0, 500).join('').slice(0, 500).replace(/[\uD800-\uDBFF]$/, '') : v]);
  return entries.length === 0 ? {} : { filters: Object.fromEntries(entries) };
}

/**
 * Answers HEAD on `paths` with a 405 (`Allow: GET`), before authentication: for GET routes that
 * record what they send in the audit trail (a read, a download, an export) or do work first
 * (render a PDF, sign a checkpoint). Express answers a HEAD with the GET route, run in full and
 * its body dropped: the trail then held a download, a read or an export (with its checkpoint)
 * that delivered nothing, and a PDF was rendered for nobody. A HEAD answered with headers alone
 * would still need the lookups (a 404, an ETag that is the PDF's hash) or would state what it
 * did not check; refused, it records, renders and signs nothing. Register before the GET routes.
 */
export function refuseHead(router: Router, paths: readonly string[]): void {
  router.head([...paths], (req, _res, next) => {
    next(new AppError('method-not-allowed', `HEAD is not allowed on ${req.path}: a GET of it is recorded in the audit trail as what it sends, and a HEAD sends nothing; use GET`, { headers: { Allow: 'GET' } }));
  });
}
