import type { Request } from 'express';
import type { AuditRequestContext } from '../audit/record.js';

/** The request facts an audit event records: request id, client IP (per `trust proxy`), user agent. */
export function auditRequestContext(req: Request): AuditRequestContext {
  return { id: req.id, ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null };
}

/** The route pattern a request matched (`/v1/assessments/:id`), or its path when none did. */
export function routeOf(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? req.baseUrl + path : req.path;
}
