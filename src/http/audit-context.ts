import type { Request } from 'express';
import type { AuditRequestContext } from '../audit/record.js';

/** The request facts an audit event records: request id, client IP (per `trust proxy`), user agent. */
export function auditRequestContext(req: Request): AuditRequestContext {
  return { id: req.id, ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null };
}
