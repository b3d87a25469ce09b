import { Router } from 'express';
import type { Database } from '../db/database.js';
import { migrationStatus } from '../db/migrate.js';
import { AppError } from '../errors.js';

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `GET /healthz`: the process is alive (no dependencies). `GET /readyz`: the database answers
 * within 2 s and every migration is applied; otherwise 503, so a load balancer stops routing here.
 */
export function healthRoutes(database: Database): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    let status: Awaited<ReturnType<typeof migrationStatus>>;
    try {
      await withTimeout(database.ping(), 2000);
      status = await withTimeout(migrationStatus(database), 2000);
    } catch {
      throw new AppError('service-unavailable', 'The database is not reachable', { headers: { 'Retry-After': '5' } });
    }
    if (!status.current) {
      throw new AppError('service-unavailable', `Database migrations are not current (${status.applied} of ${status.expected} applied)`, { headers: { 'Retry-After': '5' } });
    }
    res.json({ status: 'ready', database: database.kind, migrations: { applied: status.applied, expected: status.expected } });
  });
  return router;
}
