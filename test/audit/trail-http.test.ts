import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { verifyAuditExport } from '../../src/audit/verify-export.js';
import { RotatableKeyRing } from '../../src/signing/rotatable.js';
import { loadReportKeyRing } from '../../src/signing/report-keys.js';
import { clientToken, login, PASSWORD, postJson, seedClient, seedOrganization, seedUser, send, type Credentials } from '../auth/helpers.js';
import { canonicalJson } from '../../src/util/canonical-json.js';
import { sha256Hex } from '../../src/util/hash.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface Event {
  seq: number;
  action: string;
  outcome: string;
  organizationId: string | null;
  actor: { type: string; id: string | null; role: string | null; organizationId: string | null };
  target: { type: string; id: string } | null;
  inputSha256: string | null;
  decision: Record<string, unknown>;
  request: { id: string | null; ip: string | null; userAgent: string | null };
}

describe.each(DATABASE_KINDS)('the audit trail over HTTP on %s', (kind) => {
  let app: TestApp;
  let org: string;
  let officer: Credentials;
  let officerId: string;
  let officerEmail: string;
  let auditor: Credentials;
  let admin: Credentials;
  let integrator: Credentials;
  const poorly = example('poorly-controlled');
  const well = example('well-controlled');

  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trail-keys-'));
    const reportKeys = new RotatableKeyRing(await loadReportKeyRing({ kind: 'directory', dir }), dir);
    app = await startTestApp(kind, {}, { reportKeys });
    org = await seedOrganization(app, `Trail clinic ${kind}`);
    const o = await seedUser(app, org, ['compliance_officer']);
    officerId = o.id;
    officerEmail = o.email;
    officer = { kind: 'session', session: await login(app, o.email) };
    auditor = { kind: 'session', session: await login(app, (await seedUser(app, org, ['auditor'], { grants: [org] })).email) };
    admin = { kind: 'session', session: await login(app, (await seedUser(app, org, ['admin'])).email) };
    integrator = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['assessments:write', 'assessments:read', 'reports:read'])) };
  });
  afterAll(async () => {
    await app.stop();
  });

  it('records a scripted session, every action with actor, input hash, decision and outcome, and verifies', async () => {
    // a failed login, submissions, a revision, downloads, a denied request, a key rotation
    expect((await postJson(app, '/v1/auth/login', { email: 'nobody@example.org', password: PASSWORD })).status).toBe(401);
    const created = (await (await send(app, 'POST', '/v1/assessments', officer, { title: 'Trail scribe', ...poorly }, { 'user-agent': 'trail-test/1.0' })).json()) as { assessment: { id: string }; revision: { answersSha256: string }; report: { id: string } };
    const revised = (await (await send(app, 'POST', `/v1/assessments/${created.assessment.id}/revisions`, integrator, { answers: well.answers })).json()) as { report: { id: string }; revision: { answersSha256: string } };
    expect((await send(app, 'GET', `/v1/reports/${created.report.id}`, auditor)).status).toBe(200);
    expect((await send(app, 'GET', `/v1/reports/${created.report.id}/signature`, auditor)).status).toBe(200);
    expect((await send(app, 'GET', '/v1/users', officer)).status).toBe(403);
    const rotate = await send(app, 'POST', '/v1/keys/rotate', admin, { purpose: 'report' });
    expect(rotate.status).toBe(201);
    const { kid, previousKid } = (await rotate.json()) as { kid: string; previousKid: string };
    expect(kid).not.toBe(previousKid);

    const res = await send(app, 'GET', '/v1/audit/events?limit=1000', auditor);
    expect(res.status).toBe(200);
    const events = ((await res.json()) as { items: Event[] }).items;
    const find = (action: string, pred: (e: Event) => boolean = () => true): Event => {
      const e = events.find((x) => x.action === action && pred(x));
      if (!e) throw new Error(`no ${action} event in ${events.map((x) => x.action).join(', ')}`);
      return e;
    };
    const creation = find('assessment.created', (e) => e.target?.id === created.assessment.id);
    expect(creation).toMatchObject({ outcome: 'success', actor: { type: 'user', id: officerId, organizationId: org }, inputSha256: created.revision.answersSha256, request: { userAgent: 'trail-test/1.0' } });
    expect(creation.decision).toMatchObject({ revision: 1, reportId: created.report.id, questionnaireVersion: '1' });
    expect(['high', 'very_high']).toContain(creation.decision.overallRisk);
    expect(find('assessment.revised')).toMatchObject({ actor: { type: 'client' }, inputSha256: revised.revision.answersSha256, decision: { revision: 2 } });
    expect(find('report.downloaded', (e) => e.decision.format === 'json')).toMatchObject({ target: { type: 'report', id: created.report.id }, actor: { role: 'auditor' } });
    expect(find('report.downloaded', (e) => e.decision.format === 'signature').outcome).toBe('success');
    expect(find('request.denied', (e) => e.decision.status === 403)).toMatchObject({ outcome: 'denied', actor: { id: officerId } });
    expect(find('auth.login.succeeded').outcome).toBe('success');
    expect(events.every((e) => e.organizationId === org)).toBe(true);

    const all = await app.t.database.db.selectFrom('audit_events').select(['action', 'outcome', 'actor_id', 'decision']).execute();
    expect(all.some((e) => e.action === 'auth.login.failed' && e.outcome === 'denied')).toBe(true);
    expect(all.some((e) => e.action === 'key.rotated' && (e.decision as { kid: string }).kid === kid)).toBe(true);
    expect(JSON.stringify(all)).not.toContain(PASSWORD);

    const trail = (await (await send(app, 'GET', `/v1/assessments/${created.assessment.id}/audit`, auditor)).json()) as { items: Event[] };
    expect(trail.items.map((e) => e.action)).toEqual(expect.arrayContaining(['assessment.created', 'assessment.revised', 'report.downloaded']));

    const checkpoint = await send(app, 'POST', '/v1/audit/checkpoints', admin, {});
    expect(checkpoint.status).toBe(201);
    // Logged too, a copy outside the database: its anchor is what `audit-verify --anchor` takes.
    const signed = (await checkpoint.json()) as { seq: number; hash: string; jws: string };
    const logged = app.logs().split('\n').filter((l) => l.includes('"msg":"audit checkpoint signed"')).map((l) => JSON.parse(l) as { anchor: string; auditCheckpoint: { seq: number; jws: string } });
    expect(logged.at(-1)).toMatchObject({ anchor: `${signed.seq}:${signed.hash}`, auditCheckpoint: { seq: signed.seq, jws: signed.jws } });
    const verify = (await (await send(app, 'GET', '/v1/audit/verify', auditor)).json()) as { valid: boolean; checkedEvents: number; checkedCheckpoints: number };
    expect(verify).toMatchObject({ valid: true, checkedCheckpoints: 1 });
    expect(verify.checkedEvents).toBeGreaterThan(10);
    // The logged anchor checks out; one past the end of the chain, or with another hash, does not.
    const anchored = async (anchor: string): Promise<{ status: number; body: { valid?: boolean; brokenAt?: number; reason?: string } }> => {
      const res = await send(app, 'GET', `/v1/audit/verify?anchor=${anchor}`, auditor);
      return { status: res.status, body: (await res.json()) as { valid?: boolean } };
    };
    expect(await anchored(`${signed.seq}:${signed.hash}`)).toMatchObject({ status: 200, body: { valid: true } });
    expect(await anchored(`${signed.seq}:${signed.hash},99999:${signed.hash}`)).toMatchObject({ status: 200, body: { valid: false, reason: expect.stringContaining('before the anchor kept for event 99999: events were removed') } });
    expect(await anchored(`${signed.seq}:${'f'.repeat(64)}`)).toMatchObject({ status: 200, body: { valid: false, brokenAt: signed.seq, reason: expect.stringContaining('the chain was rewritten') } });
    for (const bad of ['x', `${signed.seq}:${signed.hash},`, Array.from({ length: 21 }, () => `${signed.seq}:${signed.hash}`).join(',')]) {
      const refused = await send(app, 'GET', `/v1/audit/verify?anchor=${bad}`, auditor);
      expect([refused.status, ((await refused.json()) as { errors?: { pointer: string }[] }).errors?.[0]?.pointer]).toEqual([400, '/anchor']);
    }
  });

  it('exports the organisation trail as JSON Lines with a chain proof that verifies offline', async () => {
    const res = await send(app, 'GET', '/v1/audit/export', auditor);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/jsonl');
    const text = await res.text();
    const jwks = await (await fetch(`${app.url}/.well-known/jwks.json`)).json();
    const result = await verifyAuditExport(text, jwks);
    expect(result).toMatchObject({ valid: true });
    expect(result.events).toBeGreaterThan(5);
    // Change one character of an exported event: the offline check fails there.
    const lines = text.split('\n');
    const i = lines.findIndex((l) => l.includes('"assessment.created"'));
    lines[i] = lines[i]!.replace('"success"', '"error"');
    expect((await verifyAuditExport(lines.join('\n'), jwks)).valid).toBe(false);
    // Without its signed checkpoint, the export is only self-consistent: refused.
    const unsigned = text.split('\n').filter((l) => !l.includes('"type":"checkpoint"')).join('\n');
    expect(await verifyAuditExport(unsigned, jwks)).toMatchObject({ valid: false, reason: expect.stringContaining('no signed checkpoint') });
    // Drop a line: the gap is found.
    const dropped = text.split('\n').filter((_, n) => n !== 3).join('\n');
    expect((await verifyAuditExport(dropped, jwks)).valid).toBe(false);
  });

  it('refuses an empty export range before signing or recording anything', async () => {
    const count = async (): Promise<number> => Number((await app.t.database.db.selectFrom('audit_checkpoints').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    const res = await send(app, 'GET', '/v1/audit/export?fromSeq=5&toSeq=2', auditor);
    expect(res.status).toBe(400);
    expect((await res.json()) as Record<string, unknown>).toMatchObject({ pointer: '/fromSeq', detail: 'The range is empty: fromSeq 5 is after toSeq 2' });
    expect(await count()).toBe(before);
  });

  it('records a refused state-changing request: who, the input hash, the problem and the failing fields; never a body with a password', async () => {
    const trail = async (): Promise<Event[]> => ((await (await send(app, 'GET', '/v1/audit/events?limit=1000', auditor)).json()) as { items: Event[] }).items;
    const before = (await trail()).length;
    const clientId = (await (await send(app, 'GET', '/v1/me', integrator)).json()) as { id: string };
    // Answers that fail the questionnaire: the client, the field, the hash of what was sent.
    const body = { title: 'Refused', questionnaireVersion: '1', answers: { ...well.answers, 'uc.autonomy': 'telepathy' } };
    expect((await send(app, 'POST', '/v1/assessments', integrator, body)).status).toBe(422);
    // A body that is not JSON, from the same client: identified although no route authenticated it.
    const malformed = await fetch(`${app.url}/v1/assessments`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${(integrator as { token: string }).token}` }, body: '{"title": ' });
    expect(malformed.status).toBe(400);
    // An Idempotency-Key reused with another body: the officer, by session.
    expect((await send(app, 'POST', '/v1/assessments', officer, { title: 'Keyed', ...well }, { 'Idempotency-Key': `refusal-${kind}` })).status).toBe(201);
    expect((await send(app, 'POST', '/v1/assessments', officer, { title: 'Other', ...well }, { 'Idempotency-Key': `refusal-${kind}` })).status).toBe(409);
    // A body that is not JSON from a browser session, whose CSRF header is missing: still the
    // officer's (the token is read for the record, not checked), and no CSRF denial besides.
    const deniedBefore = await app.t.database.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('n')).where('action', '=', 'request.denied').executeTakeFirstOrThrow();
    const fromCookie = await fetch(`${app.url}/v1/assessments`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: (officer as { session: { cookie: string } }).session.cookie }, body: '[' });
    expect(fromCookie.status).toBe(400);
    const deniedAfter = await app.t.database.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('n')).where('action', '=', 'request.denied').executeTakeFirstOrThrow();
    expect(Number(deniedAfter.n)).toBe(Number(deniedBefore.n));
    // A reading refused (unknown query parameter) changes nothing and is not an action.
    expect((await send(app, 'GET', '/v1/assessments?nope=1', integrator)).status).toBe(400);
    const added = (await trail()).slice(before).filter((e) => e.action === 'request.refused');
    expect(added.map((e) => [e.outcome, e.actor.type, e.actor.id, e.decision])).toEqual([
      ['error', 'client', clientId.id, { status: 422, method: 'POST', route: '/v1/assessments', reason: 'validation-failed', pointers: ['/answers/uc.autonomy'] }],
      ['error', 'client', clientId.id, { status: 400, method: 'POST', route: '/v1/assessments', reason: 'malformed-json', pointers: [''] }],
      ['error', 'user', officerId, { status: 409, method: 'POST', route: '/v1/assessments', reason: 'idempotency-key-reused', pointers: [''] }],
      ['error', 'user', officerId, { status: 400, method: 'POST', route: '/v1/assessments', reason: 'malformed-json', pointers: [''] }],
    ]);
    expect(added[0]!.inputSha256).toBe(sha256Hex(canonicalJson(body)));
    expect(added[1]!.inputSha256).toBeNull();
    expect(added[0]!.organizationId).toBe(org);
    // A field name with a lone surrogate: refused (422, not a 500), recorded with U+FFFD in its place.
    expect((await send(app, 'POST', '/v1/assessments', integrator, { title: 'x', questionnaireVersion: '1', answers: { '\ud800x': true } })).status).toBe(422);
    expect((await trail()).filter((e) => e.action === 'request.refused').at(-1)!.decision.pointers).toEqual(['/answers/\ufffdx']);
    // A sign-in refused for its body: anonymous, and no hash of a body that holds a password.
    expect((await postJson(app, '/v1/auth/login', { email: 'x@example.org', password: 'p', extra: 1 })).status).toBe(422);
    const login = (await app.t.database.db.selectFrom('audit_events').select(['decision', 'input_sha256', 'actor_type']).where('action', '=', 'request.refused').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow());
    expect(login).toMatchObject({ actor_type: 'anonymous', input_sha256: null, decision: { status: 422, route: '/v1/auth/login', reason: 'validation-failed' } });
  });

  it('names the resource a refused or denied request was for, so its own trail shows the attempt, and never in another organisation', async () => {
    const created = (await (await send(app, 'POST', '/v1/assessments', officer, { title: 'Target probe', ...poorly })).json()) as { assessment: { id: string }; report: { id: string } };
    const id = created.assessment.id;
    const before = (await app.t.database.db.selectFrom('audit_events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirstOrThrow()).seq;
    const bearer = (integrator as { token: string }).token;
    const notJson = (path: string): Promise<Response> => fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body: '{' });
    // Answers that fail the questionnaire; a body that is not JSON, to the id in upper case
    // (refused before any route ran); a role that may not revise.
    expect((await send(app, 'POST', `/v1/assessments/${id}/revisions`, integrator, { answers: { ...well.answers, 'uc.autonomy': 'telepathy' } })).status).toBe(422);
    expect((await notJson(`/v1/assessments/${id.toUpperCase()}/revisions`)).status).toBe(400);
    expect((await send(app, 'POST', `/v1/assessments/${id}/revisions`, auditor, { answers: well.answers })).status).toBe(403);
    // What names no resource: a path without a well-formed id, and a diff of two reports.
    expect((await notJson('/v1/assessments/not-an-id/revisions')).status).toBe(400);
    // An administrator's change of a user refused for its body names the user.
    expect((await send(app, 'PATCH', `/v1/users/${officerId}`, admin, { roles: ['wizard'] })).status).toBe(422);
    // Another organisation's officer, at this organisation's assessment and report: 404s, recorded
    // in the installation's trail (no organisation), where neither organisation's readers see them.
    const otherOrg = await seedOrganization(app, `Target other ${kind}`);
    const stranger = { kind: 'session', session: await login(app, (await seedUser(app, otherOrg, ['compliance_officer'])).email) } as Credentials;
    expect((await send(app, 'POST', `/v1/assessments/${id}/revisions`, stranger, { answers: well.answers })).status).toBe(404);
    expect((await send(app, 'GET', `/v1/reports/${created.report.id}/signature`, stranger)).status).toBe(404);
    expect((await send(app, 'GET', `/v1/reports/${created.report.id}/diff/${created.report.id}`, stranger)).status).toBe(404);

    const rows = await app.t.database.db.selectFrom('audit_events').select(['action', 'organization_id', 'target_type', 'target_id', 'decision']).where('seq', '>', Number(before)).where('action', 'like', 'request.%').orderBy('seq').execute();
    expect(rows.map((r) => [r.action, (r.decision as { status: number }).status, r.organization_id === org ? 'this' : r.organization_id === null ? 'installation' : 'other', r.target_type === null ? null : `${r.target_type}/${r.target_id}`])).toEqual([
      ['request.refused', 422, 'this', `assessment/${id}`],
      ['request.refused', 400, 'this', `assessment/${id}`],
      ['request.denied', 403, 'this', `assessment/${id}`],
      ['request.refused', 400, 'this', null],
      ['request.refused', 422, 'this', `user/${officerId}`],
      ['request.denied', 404, 'installation', `assessment/${id}`],
      ['request.denied', 404, 'installation', `report/${created.report.id}`],
      ['request.denied', 404, 'installation', null],
    ]);
    // The assessment's trail: its creation and this organisation's three attempts, not the stranger's.
    const trail = ((await (await send(app, 'GET', `/v1/assessments/${id}/audit`, auditor)).json()) as { items: Event[] }).items;
    expect(trail.filter((e) => e.action.startsWith('request.')).map((e) => [e.action, e.decision.status, e.organizationId])).toEqual([
      ['request.refused', 422, org],
      ['request.refused', 400, org],
      ['request.denied', 403, org],
    ]);
    expect(trail[0]!.action).toBe('assessment.created');
  });

  it('filters the trail by actor, action, outcome, target and time, pages it by cursor, and refuses filters it cannot read', async () => {
    // Events of several kinds: a creation by the officer, a denial of the officer, a revision by
    // the integrator.
    const created = (await (await send(app, 'POST', '/v1/assessments', officer, { title: 'Filter probe', ...poorly })).json()) as { assessment: { id: string } };
    expect((await send(app, 'GET', '/v1/users', officer)).status).toBe(403);
    expect((await send(app, 'POST', `/v1/assessments/${created.assessment.id}/revisions`, integrator, { answers: well.answers })).status).toBe(201);
    type Page = { items: (Event & { occurredAt: string })[]; nextCursor: string | null };
    const get = async (query: string): Promise<Page> => {
      const res = await send(app, 'GET', `/v1/audit/events?${query}`, auditor);
      expect([query, res.status]).toEqual([query, 200]);
      return (await res.json()) as Page;
    };
    const all = (await get('limit=1000')).items;
    expect(all.length).toBeGreaterThan(5);
    const seqs = (items: readonly Event[]): number[] => items.map((e) => e.seq);
    // Each filter gives exactly the events of the whole trail that match it, oldest first.
    const cases: [string, (e: Event & { occurredAt: string }) => boolean][] = [
      [`actor=${officerId}`, (e) => e.actor.id === officerId],
      // A user's e-mail address, in any case and with spaces around it, stands for the user's id.
      [`actor=${encodeURIComponent(` ${officerEmail.toUpperCase()} `)}`, (e) => e.actor.id === officerId],
      ['action=assessment.revised', (e) => e.action === 'assessment.revised'],
      ['outcome=denied', (e) => e.outcome === 'denied'],
      [`targetType=assessment&targetId=${created.assessment.id}`, (e) => e.target?.type === 'assessment' && e.target.id === created.assessment.id],
      [`actor=${officerId}&outcome=denied`, (e) => e.actor.id === officerId && e.outcome === 'denied'],
    ];
    const middle = all[Math.floor(all.length / 2)]!.occurredAt;
    cases.push([`from=${encodeURIComponent(middle)}`, (e) => e.occurredAt >= middle], [`to=${encodeURIComponent(middle)}`, (e) => e.occurredAt < middle]);
    // Each read of the trail is recorded (`audit.read`), after `all`: only those may follow it.
    const last = all.at(-1)!.seq;
    for (const [query, keep] of cases) {
      const expected = seqs(all.filter(keep));
      expect([query, expected.length > 0]).toEqual([query, true]);
      const got = (await get(`limit=1000&${query}`)).items;
      expect([query, seqs(got.filter((e) => e.seq <= last))]).toEqual([query, expected]);
      expect([query, got.filter((e) => e.seq > last && e.action !== 'audit.read')]).toEqual([query, []]);
    }
    // An address no user has matches nothing (and says nothing more).
    expect(await get('actor=nobody%40example.org')).toEqual({ items: [], nextCursor: null });
    // Pages of 2 through the cursor: the whole trail, in order, nothing twice.
    const paged: number[] = [];
    const pagedItems: Event[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await get(`limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      expect(page.items.length).toBeLessThanOrEqual(2);
      paged.push(...seqs(page.items));
      cursor = page.nextCursor;
      pagedItems.push(...page.items);
    } while (cursor !== null);
    // The reads recorded since `all` (this paging's among them) come after it, and only they do.
    expect(paged.filter((seq) => seq <= last)).toEqual(seqs(all));
    expect(pagedItems.filter((e) => e.seq > last && e.action !== 'audit.read')).toEqual([]);
    expect(paged).toEqual([...new Set(paged)].sort((a, b) => a - b));
    // What cannot be read is a 400 naming the parameter.
    for (const [query, pointer] of [['outcome=maybe', '/outcome'], ['limit=0', '/limit'], ['limit=1001', '/limit'], ['from=yesterday', '/from'], ['cursor=zzz', '/cursor'], [`actor=${'x'.repeat(201)}`, '/actor']] as const) {
      const res = await send(app, 'GET', `/v1/audit/events?${query}`, auditor);
      const body = (await res.json()) as { errors?: { pointer: string }[] };
      expect([query, res.status, body.errors?.map((e) => e.pointer)]).toEqual([query, 400, expect.arrayContaining([pointer])]);
    }
  });

  it('refuses the trail to roles without audit access, and another organisation sees none of it', async () => {
    expect((await send(app, 'GET', '/v1/audit/events', officer)).status).toBe(403);
    expect((await send(app, 'GET', '/v1/audit/verify', integrator)).status).toBe(403);
    const otherOrg = await seedOrganization(app, `Trail other ${kind}`);
    const outsider = { kind: 'session', session: await login(app, (await seedUser(app, otherOrg, ['auditor'], { grants: [otherOrg] })).email) } as Credentials;
    const items = ((await (await send(app, 'GET', '/v1/audit/events?limit=1000', outsider)).json()) as { items: Event[] }).items;
    expect(items.every((e) => e.organizationId === otherOrg)).toBe(true);
    const first = await app.t.database.db.selectFrom('assessments').select('id').where('organization_id', '=', org).executeTakeFirstOrThrow();
    expect((await send(app, 'GET', `/v1/assessments/${first.id}/audit`, outsider)).status).toBe(404);
    // A 404 for another organisation's resource is a denial, recorded (bounded) in the
    // installation's trail; a 404 for an id that exists nowhere is not. Were it in the outsider's
    // organisation's trail, that organisation's readers could tell which ids exist elsewhere.
    expect((await send(app, 'GET', `/v1/assessments/00000000-0000-4000-8000-000000000000/audit`, outsider)).status).toBe(404);
    const denials = await app.t.database.db.selectFrom('audit_events').select(['decision', 'outcome', 'organization_id']).where('action', '=', 'request.denied').where('actor_organization_id', '=', otherOrg).execute();
    const notFound = denials.filter((d) => (d.decision as { status: number }).status === 404);
    expect(notFound).toHaveLength(1);
    expect(notFound[0]).toMatchObject({ outcome: 'denied', organization_id: null, decision: { route: '/v1/assessments/:id/audit', reason: 'resource of another organisation' } });
    const seen = async (who: Credentials): Promise<Event[]> => ((await (await send(app, 'GET', `/v1/audit/events?limit=1000&targetId=${first.id}&action=request.denied`, who)).json()) as { items: Event[] }).items;
    expect(await seen(outsider)).toEqual([]);
    expect((await seen(admin)).map((e) => [e.organizationId, e.actor.organizationId])).toContainEqual([null, otherOrg]);
  });
});
