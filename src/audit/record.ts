import type { Insertable, Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { AuditPendingTable, DB } from '../db/schema.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import { assertDecision, type AuditAction } from './events.js';

export const GENESIS_HASH = '0'.repeat(64);
/** Advisory lock key that serialises writers of the chain head; migration 0007 (audit_link) uses the same. */
const AUDIT_HEAD_LOCK = 73_116_403;

/** Takes the chain-head lock for the rest of the transaction: one writer of the head at a time. */
export async function lockAuditHead(trx: Transaction<DB>): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${AUDIT_HEAD_LOCK})`.execute(trx);
}

export interface AuditActor {
  readonly type: 'user' | 'client' | 'anonymous' | 'system';
  readonly id: string | null;
  readonly role: string | null;
  readonly organizationId: string | null;
}

export interface AuditRequestContext {
  readonly id: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
}

export interface AuditEventInput {
  readonly action: AuditAction;
  readonly outcome: 'success' | 'denied' | 'error';
  readonly actor: AuditActor;
  /** The organisation whose trail this event belongs to (filters, auditor access). */
  readonly organizationId: string | null;
  readonly target?: { readonly type: string; readonly id: string } | null;
  readonly request?: AuditRequestContext | null;
  /** SHA-256 (hex) of the action's input; the input itself stays where it is stored. */
  readonly inputSha256?: string | null;
  readonly decision: Record<string, unknown>;
}

/** The hashed content of an event: every stored field but the hash itself. */
export interface AuditEventContent {
  readonly seq: number;
  readonly occurredAt: string;
  readonly action: string;
  readonly outcome: string;
  readonly actor: AuditActor;
  readonly organizationId: string | null;
  readonly target: { readonly type: string; readonly id: string } | null;
  readonly request: AuditRequestContext;
  readonly inputSha256: string | null;
  readonly decision: unknown;
  readonly prevHash: string;
}

/** SHA-256 of the RFC 8785 canonical JSON of the content: the event's link in the chain. */
export function hashEventContent(content: AuditEventContent): string {
  return sha256Hex(canonicalJson(content));
}

export const SYSTEM_ACTOR: AuditActor = { type: 'system', id: null, role: null, organizationId: null };

function truncate(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  return value.length > max ? value.slice(0, max) : value;
}

/**
 * The event's RFC 8785 canonical JSON in three parts around the two values only the chain head
 * decides: `head + prevHash + mid + seq + tail` is `canonicalJson(content)`. The content is a flat
 * object with fixed ASCII keys, so its canonical form is the keys in code-unit order, each
 * followed by its value's canonical JSON; `prevHash` sorts just before `request` and `seq` just
 * after it, and both are written bare (a hex string's digits, an integer's decimal digits).
 */
export function splitCanonicalContent(content: Omit<AuditEventContent, 'seq' | 'prevHash'>): { head: string; mid: string; tail: string } {
  const member = (key: keyof AuditEventContent, value: unknown): string => `${JSON.stringify(key)}:${canonicalJson(value)}`;
  const head = [
    member('action', content.action),
    member('actor', content.actor),
    member('decision', content.decision),
    member('inputSha256', content.inputSha256),
    member('occurredAt', content.occurredAt),
    member('organizationId', content.organizationId),
    member('outcome', content.outcome),
  ].join(',');
  return {
    head: `{${head},"prevHash":"`,
    mid: `",${member('request', content.request)},"seq":`,
    tail: `,${member('target', content.target)}}`,
  };
}

/**
 * Records one event inside the caller's transaction, so the action and its event commit together
 * or not at all (a failure here fails the action). The event is stored unlinked in audit_pending;
 * when the transaction commits, the deferred trigger of migration 0007 takes the chain-head lock
 * (held until the commit completes, so concurrent transactions cannot fork the chain and commit in
 * sequence order), hashes the event onto the head and moves it into audit_events. Events of one
 * transaction are linked in the order they were recorded. The decision is validated against the
 * action's schema first.
 */
export async function recordAuditEvent(trx: Transaction<DB>, input: AuditEventInput, now: Date = new Date()): Promise<void> {
  await trx.insertInto('audit_pending').values(auditPendingRow(input, now)).execute();
}

/**
 * The audit_pending row of an event (what recordAuditEvent inserts), for a statement that inserts
 * it together with the rows of its action. Validates the decision against the action's schema.
 */
export function auditPendingRow(input: AuditEventInput, now: Date): Insertable<AuditPendingTable> {
  assertDecision(input.action, input.decision);
  const request: AuditRequestContext = {
    id: truncate(input.request?.id, 128),
    ip: truncate(input.request?.ip, 64),
    userAgent: truncate(input.request?.userAgent, 300),
  };
  const unlinked = {
    occurredAt: now.toISOString(),
    action: input.action,
    outcome: input.outcome,
    actor: input.actor,
    organizationId: input.organizationId,
    target: input.target ?? null,
    request,
    inputSha256: input.inputSha256 ?? null,
    decision: input.decision,
  };
  const parts = splitCanonicalContent(unlinked);
  return {
    occurred_at: now,
    action: input.action,
    outcome: input.outcome,
    actor_type: input.actor.type,
    actor_id: input.actor.id,
    actor_role: input.actor.role,
    actor_organization_id: input.actor.organizationId,
    organization_id: input.organizationId,
    target_type: unlinked.target?.type ?? null,
    target_id: unlinked.target?.id ?? null,
    request_id: request.id,
    source_ip: request.ip,
    user_agent: request.userAgent,
    input_sha256: unlinked.inputSha256,
    decision_canonical: canonicalJson(input.decision),
    canonical_head: parts.head,
    canonical_mid: parts.mid,
    canonical_tail: parts.tail,
  };
}

/** Records an event in its own transaction (for actions that change nothing else). */
export async function recordAuditEventAlone(db: Kysely<DB>, input: AuditEventInput, now?: Date): Promise<void> {
  return db.transaction().execute((trx) => recordAuditEvent(trx, input, now));
}
