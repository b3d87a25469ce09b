/**
 * GET /v1/audit/export: the `audit.exported` event records the range the export states and how
 * many events' content it holds; a `fromSeq` after the checkpoint the export ends on is a 400
 * before anything is signed or recorded; the export is never cached.
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { verifyAuditExport } from '../../src/audit/verify-export.js';
import { clientToken, login, seedClient, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';

const PROBLEM = 'https://hipaa-ai-risk.dev/problems/';

interface Header {
  type: 'header';
  fromSeq: number;
  toSeq: number;
}

describe.each(DATABASE_KINDS)('the audit export record on %s', (kind) => {
  let app: TestApp;
  let auditor: Credentials;
  let admin: Credentials;
  const well = example('well-controlled');

  beforeAll(async () => {
    app = await startTestApp(kind);
    const org = await seedOrganization(app, `Export clinic ${kind}`);
    const otherOrg = await seedOrganization(app, `Export other ${kind}`);
    auditor = { kind: 'session', session: await login(app, (await seedUser(app, org, ['auditor'], { grants: [org] })).email) };
    admin = { kind: 'session', session: await login(app, (await seedUser(app, org, ['admin'])).email) };
    // Events of both organisations, so the auditor's export holds events and links.
    for (const [o, title] of [[org, 'Mine'], [otherOrg, 'Theirs'], [org, 'Mine again']] as const) {
      const token = await clientToken(app, await seedClient(app, o, ['assessments:write']));
      expect((await send(app, 'POST', '/v1/assessments', { kind: 'bearer', token }, { title, ...well })).status).toBe(201);
    }
  });
  afterAll(async () => {
    await app.stop();
  });

  // An export signs the head (checkpointSeq); events follow that no checkpoint covers yet.
  let checkpointSeq = 0;
  beforeAll(async () => {
    await send(app, 'GET', '/v1/audit/export', admin);
    checkpointSeq = (await app.t.database.db.selectFrom('audit_checkpoints').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow()).seq;
    // Events after that checkpoint, none of them checkpointed.
    const org = await seedOrganization(app, `Export later ${kind}`);
    const token = await clientToken(app, await seedClient(app, org, ['assessments:write']));
    for (let i = 0; i < 3; i++) await send(app, 'POST', '/v1/assessments', { kind: 'bearer', token }, { title: `Later ${i}`, ...well });
  });

  const lastExported = async (): Promise<Record<string, unknown>> =>
    (await app.t.database.db.selectFrom('audit_events').select('decision').where('action', '=', 'audit.exported').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow()).decision as Record<string, unknown>;
  const rows = async (table: 'audit_events' | 'audit_checkpoints'): Promise<number> => Number((await app.t.database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  async function exportOf(who: Credentials, query = ''): Promise<{ header: Header; events: number; links: number; res: Response }> {
    const res = await send(app, 'GET', `/v1/audit/export${query}`, who);
    expect(res.status).toBe(200);
    const text = await res.text();
    const header = JSON.parse(text.split('\n')[0]!) as Header;
    const verified = await verifyAuditExport(text, await (await fetch(`${app.url}/.well-known/jwks.json`)).json());
    expect(verified.valid).toBe(true);
    const lines = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { type: string });
    return { header, events: lines.filter((l) => l.type === 'event').length, links: lines.filter((l) => l.type === 'link').length, res };
  }

  it('records the exported range and the number of event lines, for an auditor (events and links)', async () => {
    const { header, events, links } = await exportOf(auditor);
    expect(links).toBeGreaterThan(0);
    expect(events).toBeGreaterThan(0);
    expect(await lastExported()).toEqual({ fromSeq: header.fromSeq, toSeq: header.toSeq, events });
  });

  it('records the exported range and count for an administrator, and for a given fromSeq and toSeq', async () => {
    const all = await exportOf(admin);
    expect(all.header.fromSeq).toBe(1);
    expect(all.links).toBe(0);
    expect(await lastExported()).toEqual({ fromSeq: 1, toSeq: all.header.toSeq, events: all.events });
    expect(all.events).toBe(all.header.toSeq);

    const part = await exportOf(admin, `?fromSeq=3&toSeq=${all.header.toSeq}`);
    expect(part.header).toMatchObject({ fromSeq: 3, toSeq: all.header.toSeq });
    expect(await lastExported()).toEqual({ fromSeq: 3, toSeq: all.header.toSeq, events: all.header.toSeq - 2 });
    expect(part.events).toBe(all.header.toSeq - 2);
  });

  it.each([
    ['a fromSeq after the head', () => '?fromSeq=999999999999999'],
    ['a fromSeq after the last checkpoint at or before toSeq', () => `?fromSeq=${checkpointSeq + 1}&toSeq=${checkpointSeq + 2}`],
  ])('refuses %s with a 400 naming fromSeq, signing and recording nothing', async (_name, query) => {
    const before = [await rows('audit_events'), await rows('audit_checkpoints')];
    const res = await send(app, 'GET', `/v1/audit/export${query()}`, auditor);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as { type: string; detail: string; pointer?: string };
    expect(problem.type).toBe(`${PROBLEM}bad-request`);
    expect(problem.detail).toContain('query parameter fromSeq');
    expect(problem.pointer).toBe('/fromSeq');
    expect([await rows('audit_events'), await rows('audit_checkpoints')]).toEqual(before);
  });
  it('sends Cache-Control: no-store with the export', async () => {
    const { res } = await exportOf(auditor);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});
