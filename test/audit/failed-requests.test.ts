/**
 * Over real HTTP, on every database kind: a request the service fails (500) leaves a trace in the
 * audit trail (`request.failed`: who, what route and target, the error's kind, never its message),
 * through the API and the pages; a PDF download is recorded only once the PDF exists, with the
 * PDF's own hash, so a render that fails is not recorded as a download.
 */
import { DATABASE_KINDS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { example, testPdfIdentity } from '../support/fixtures.js';
import { sha256Hex } from '../../src/util/hash.js';
import { clientToken, seedClient, seedOrganization, send, type Credentials } from '../auth/helpers.js';
import { PageClient, startWebApp, type WebApp } from '../web/support.js';
import { answersToForm, poorlyControlled } from '../web/helpers.js';
import { auditEventsAfter, auditHead } from '../support/audit-events.js';
import { createReportPool, workerReportBuilder } from '../../src/assessments/report-builder.js';



describe.each(DATABASE_KINDS)('failed requests and PDF downloads in the audit trail (%s)', (kind) => {
  let good: TestApp;
  let broken: TestApp;
  let goodClient: { id: string; creds: Credentials };
  let brokenClient: { id: string; creds: Credentials };
  let org: string;

  const setUp = async (app: TestApp): Promise<{ id: string; creds: Credentials }> => {
    org = await seedOrganization(app, `Failures ${kind}`);
    const c = await seedClient(app, org, ['assessments:read', 'assessments:write', 'reports:read']);
    return { id: c.id, creds: { kind: 'bearer', token: await clientToken(app, c) } };
  };
  const submit = async (app: TestApp, creds: Credentials): Promise<string> => {
    const res = await send(app, 'POST', '/v1/assessments', creds, { title: 'PDF trail', ...example('poorly-controlled') });
    expect(res.status).toBe(201);
    return ((await res.json()) as { report: { id: string } }).report.id;
  };

  beforeAll(async () => {
    good = await startTestApp(kind);
    goodClient = await setUp(good);
    // A PDF signing identity whose PKCS#12 cannot be opened: every render fails (500).
    broken = await startTestApp(kind, {}, { pdfSigner: { ...(await testPdfIdentity()), p12: Buffer.from('not a PKCS#12 file') } });
    brokenClient = await setUp(broken);
  });
  afterAll(async () => {
    await good?.stop();
    await broken?.stop();
  });

  it('records a PDF download with the hash of the PDF sent, and the report\'s', async () => {
    const reportId = await submit(good, goodClient.creds);
    const before = await auditHead(good.t.database);
    const res = await send(good, 'GET', `/v1/reports/${reportId}/pdf`, goodClient.creds);
    expect(res.status).toBe(200);
    const pdf = Buffer.from(await res.arrayBuffer());
    const reportSha256 = (await good.t.database.db.selectFrom('reports').select('sha256').where('id', '=', reportId).executeTakeFirstOrThrow()).sha256;
    expect(await auditEventsAfter(good.t.database, before)).toEqual([
      expect.objectContaining({ action: 'report.downloaded', outcome: 'success', actor_id: goodClient.id, target_id: reportId, decision: { format: 'pdf', sha256: reportSha256, pdfSha256: sha256Hex(pdf) } }),
    ]);
  });

  it('records a PDF render that fails as a failed request, not as a download', async () => {
    const reportId = await submit(broken, brokenClient.creds);
    const before = await auditHead(broken.t.database);
    const res = await send(broken, 'GET', `/v1/reports/${reportId}/pdf`, brokenClient.creds);
    expect(res.status).toBe(500);
    const body = (await res.json()) as { type: string };
    expect(body.type).toContain('internal-error');
    const events = await auditEventsAfter(broken.t.database, before);
    expect(events).toEqual([
      expect.objectContaining({
        action: 'request.failed',
        outcome: 'error',
        actor_type: 'client',
        actor_id: brokenClient.id,
        organization_id: org,
        target_type: 'report',
        target_id: reportId,
        decision: { status: 500, method: 'GET', route: '/v1/reports/:id/pdf', reason: expect.stringMatching(/^[A-Za-z0-9_.-]+$/) },
      }),
    ]);
    // The error's message stays in the log, not in the trail.
    expect(JSON.stringify(events)).not.toContain('PKCS#12');
  });
});

describe.each(DATABASE_KINDS)('a failed page in the audit trail (%s)', (kind) => {
  let app: WebApp;
  afterAll(async () => {
    await app?.stop();
  });

  it('records a page the service failed, with the signed-in user, before the error page is sent', async () => {
    app = await startWebApp(kind);
    const c = new PageClient(app.url);
    expect((await c.login(app.users.officer)).status).toBe(303);
    const csrf = PageClient.csrfOf(await (await c.get('/assessments/new')).text());
    const created = await c.post('/assessments/new', answersToForm(poorlyControlled(), new URLSearchParams({ _csrf: csrf, title: 'Failing page', _action: 'submit' })));
    expect(created.status).toBe(303);
    const reportId = /^\/reports\/([0-9a-f-]{36})/.exec(created.headers.get('location')!)![1]!;
    const assessmentId = (await app.t.database.db.selectFrom('reports').select('assessment_id').where('id', '=', reportId).executeTakeFirstOrThrow()).assessment_id;
    const officerId = (await app.t.database.db.selectFrom('users').select('id').where('email', '=', app.users.officer).executeTakeFirstOrThrow()).id;
    // The overview reads the reports table: without it, the page fails (42P01, an internal error).
    await app.t.database.raw.query('ALTER TABLE reports RENAME TO reports_away');
    try {
      const before = await auditHead(app.t.database);
      const page = await c.get(`/assessments/${assessmentId}`);
      expect(page.status).toBe(500);
      expect(await page.text()).toContain('Something went wrong');
      expect(await auditEventsAfter(app.t.database, before)).toEqual([
        expect.objectContaining({ action: 'request.failed', outcome: 'error', actor_id: officerId, organization_id: app.orgs.main, target_type: 'assessment', target_id: assessmentId, decision: { status: 500, method: 'GET', route: '/assessments/:id', reason: '42P01' } }),
      ]);
    } finally {
      await app.t.database.raw.query('ALTER TABLE reports_away RENAME TO reports');
    }
  });
});

describe.each(DATABASE_KINDS)('a submission refused for want of a report worker (%s)', (kind) => {
  let app: TestApp;
  let client: { id: string; creds: Credentials };
  let org: string;

  beforeAll(async () => {
    // A real pool of report workers, shut down before the request: every build is refused with
    // the pool's own 503 (`service-unavailable`), as when its queue is full.
    const pool = createReportPool({ size: 1 });
    await pool.close();
    app = await startTestApp(kind, {}, { reportBuilder: workerReportBuilder(() => pool) });
    org = await seedOrganization(app, `No capacity ${kind}`);
    const c = await seedClient(app, org, ['assessments:read', 'assessments:write', 'reports:read']);
    client = { id: c.id, creds: { kind: 'bearer', token: await clientToken(app, c) } };
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('records the 503 as a failed request by the client, and stores no assessment', async () => {
    const before = await auditHead(app.t.database);
    const res = await send(app, 'POST', '/v1/assessments', client.creds, { title: 'No worker', ...example('poorly-controlled') });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as { type: string }).type).toContain('service-unavailable');
    expect(await auditEventsAfter(app.t.database, before)).toEqual([
      expect.objectContaining({ action: 'request.failed', outcome: 'error', actor_type: 'client', actor_id: client.id, organization_id: org, decision: { status: 503, method: 'POST', route: '/v1/assessments', reason: 'service-unavailable' } }),
    ]);
    const stored = await app.t.database.db.selectFrom('assessments').select('id').where('title', '=', 'No worker').execute();
    expect(stored).toEqual([]);
  });
});

describe.each(DATABASE_KINDS)('a page refused for want of a report worker (%s)', (kind) => {
  let app: WebApp;
  afterAll(async () => {
    await app?.stop();
  });

  it('answers the questionnaire\'s submission with a 503 page and Retry-After, recorded as a failed request, storing nothing', async () => {
    const pool = createReportPool({ size: 1 });
    await pool.close();
    app = await startWebApp(kind, {}, { reportBuilder: workerReportBuilder(() => pool) });
    const c = new PageClient(app.url);
    expect((await c.login(app.users.officer)).status).toBe(303);
    const officerId = (await app.t.database.db.selectFrom('users').select('id').where('email', '=', app.users.officer).executeTakeFirstOrThrow()).id;
    const csrf = PageClient.csrfOf(await (await c.get('/assessments/new')).text());
    const before = await auditHead(app.t.database);
    const res = await c.post('/assessments/new', answersToForm(poorlyControlled(), new URLSearchParams({ _csrf: csrf, title: 'Busy page', _action: 'submit' })));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.text()).toContain('The service is busy');
    expect(await auditEventsAfter(app.t.database, before)).toEqual([
      expect.objectContaining({ action: 'request.failed', outcome: 'error', actor_id: officerId, decision: expect.objectContaining({ status: 503, method: 'POST', route: '/assessments/new', reason: 'service-unavailable' }) }),
    ]);
    expect(await app.t.database.db.selectFrom('assessments').select('id').where('title', '=', 'Busy page').execute()).toEqual([]);
  });
});
