import type { Request } from 'express';
import type { DeniedRequest } from '../audit/denied.js';
import type { AuditRequestContext } from '../audit/record.js';
import { isUuid } from '../auth/secrets.js';

/** The request facts an audit event records: request id, client IP (per `trust proxy`), user agent. */
export function auditRequestContext(req: Request): AuditRequestContext {
  return { id: req.id, ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null };
}

/** The route pattern a request matched (`/v1/assessments/:id`), or its path when none did. */
export function routeOf(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? req.baseUrl + path : req.path;
}

/**
 * Paths that name one resource, API and pages, with the target type its events use (the same as
 * the events of the action itself: src/assessments/service.ts, src/auth/*.ts). A report diff names
 * two reports and so no one target.
 */
const TARGET_PATHS: readonly (readonly [RegExp, string])[] = [
  [/^\/(?:v1\/)?assessments\/([^/]+)(?:\/|$)/, 'assessment'],
  [/^\/(?:v1\/)?reports\/([^/]+)(?:$|\/(?!diff(?:\/|$)))/, 'report'],
  [/^\/(?:v1|admin)\/users\/([^/]+)\/?$/, 'user'],
  [/^\/(?:v1\/api-clients|admin\/clients)\/([^/]+)(?:\/(?:rotate|revoke))?\/?$/, 'api_client'],
  [/^\/(?:v1\/auditor-grants|admin\/grants)\/([^/]+)(?:\/revoke)?\/?$/, 'auditor_grant'],
];

/**
 * The resource a request names in its path (`POST /v1/assessments/{id}/revisions`: the
 * assessment), as an audit event's target, or null. Only a well-formed id counts, in lower case as
 * the service issues ids (the database compares UUIDs in any case), so an event's target matches
 * the resource's own events and its trail. Whether the resource exists, or is in the caller's
 * organisation, is not checked: the target is what the request named. The event is in the
 * caller's organisation's trail (a 404 for another organisation's resource: the installation's,
 * src/audit/denied.ts), and a resource's trail reads only its own organisation's events.
 */
export function targetOfRequest(req: Request): { readonly type: string; readonly id: string } | null {
  const path = req.originalUrl.split('?', 1)[0]!;
  for (const [pattern, type] of TARGET_PATHS) {
    const id = pattern.exec(path)?.[1];
    if (id !== undefined) return isUuid(id) ? { type, id: id.toLowerCase() } : null;
  }
  return null;
}

/** What a denial or refusal of `req` records about the request itself (src/audit/denied.ts). */
export function deniedRequestFacts(req: Request): Pick<DeniedRequest, 'method' | 'route' | 'request' | 'target'> {
  return { method: req.method, route: routeOf(req), request: auditRequestContext(req), target: targetOfRequest(req) };
}
