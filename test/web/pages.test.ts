/**
 * Server-side page tests over plain fetch, on every database kind: headers (CSP nonce, no-store),
 * sign-in, CSRF, the questionnaire's draft / branching / validation / submit cycle, the session
 * expiry stash, escaping, tenancy, the auditor's and the administrator's pages.
 */
import { randomUUID } from 'node:crypto';
import { recordAuditEventAlone, SYSTEM_ACTOR } from '../../src/audit/record.js';
import { createApiClient } from '../../src/auth/api-clients.js';
import { verifyAuditExport } from '../../src/audit/verify-export.js';
import { clientToken } from '../auth/helpers.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { answersToForm, example, poorlyControlled } from './helpers.js';
import { PageClient, startWebApp, type WebApp } from './support.js';

const XSS = '<script>alert(1)</script>';

describe.each(DATABASE_KINDS)('pages (%s)', (kind) => {
  let app: WebApp;
  beforeAll(async () => {
    app = await startWebApp(kind);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('sends pages with a nonce CSP, no-store, and redirects anonymous visitors to /login', async () => {
    const c = new PageClient(app.url);
    const home = await c.get('/');
    expect(home.status).toBe(303);
    expect(home.headers.get('location')).toBe('/login?next=%2F');
    const login = await c.get('/login');
    expect(login.status).toBe(200);
    const csp = login.headers.get('content-security-policy')!;
    const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`script-src 'nonce-${nonce}'`);
    expect(csp).toContain(`style-src 'self' 'nonce-${nonce}'`);
    expect(csp).toContain("form-action 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("base-uri 'none'");
    expect(login.headers.get('cache-control')).toBe('no-store');
    const html = await login.text();
    expect(html).toContain(`nonce="${nonce}"`);
    expect(html).not.toMatch(/style="/);
    expect(html).not.toMatch(/<script>(?!alert)/);
    const again = await new PageClient(app.url).get('/login');
    expect(/'nonce-([^']+)'/.exec(again.headers.get('content-security-policy')!)![1]).not.toBe(nonce);
    const css = await c.get('/static/app.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');
  });

  it('refuses a wrong password, a missing sign-in token and a cross-site sign-in', async () => {
    const c = new PageClient(app.url);
    const page = await (await c.get('/login')).text();
    const csrf = PageClient.csrfOf(page);
    const wrong = await c.post('/login', new URLSearchParams({ _csrf: csrf, email: app.users.officer, password: 'nope-nope-nope', next: '/' }));
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('The e-mail address or the password is not right.');
    const noToken = await c.post('/login', new URLSearchParams({ email: app.users.officer, password: 'x', next: '/' }));
    expect(noToken.status).toBe(403);
    const cross = await c.post('/login', new URLSearchParams({ _csrf: csrf, email: app.users.officer, password: 'x' }), { origin: 'https://evil.example' });
    expect(cross.status).toBe(403);
    const ok = await c.post('/login', new URLSearchParams({ _csrf: csrf, email: app.users.officer, password: 'correct horse battery staple 42', next: '//evil.example/' }));
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/');
  });

  it('saves drafts, branches, validates, keeps what was typed, submits, and shows the result', async () => {
    const c = new PageClient(app.url);
    expect((await c.login(app.users.officer)).status).toBe(303);
    const dash = await c.get('/');
    expect(dash.status).toBe(200);
    expect(dash.headers.get('cache-control')).toBe('no-store');
    expect(await dash.text()).toMatch(/<span class="user-org"><bdi>Riverside Health<\/bdi> · Compliance officer<\/span>/);
    const newPage = await (await c.get('/assessments/new')).text();
    expect(newPage).toContain('id="q-uc.name"');
    const csrf = PageClient.csrfOf(newPage);
    // The follow-up about tools is hidden until the autonomy question says the AI acts through tools.
    expect(newPage).toMatch(/data-question="uc.tools_description" data-show-if="[^"]+" hidden/);

    // Without the CSRF token: nothing saved, the answers come back.
    const forged = await c.post('/assessments/new', answersToForm({ 'uc.name': 'Kept' }, new URLSearchParams({ title: 'No token', _action: 'draft' })));
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('value="Kept"');

    // A draft with a free text that looks like a script, and the gate of a branch.
    const first = answersToForm({ 'uc.name': XSS, 'uc.autonomy': 'acts_through_tools' }, new URLSearchParams({ _csrf: csrf, title: XSS, _action: 'update:use_case' }));
    const saved = await c.post('/assessments/new', first);
    expect(saved.status).toBe(303);
    const editUrl = saved.headers.get('location')!;
    expect(editUrl).toMatch(/^\/assessments\/[0-9a-f-]{36}\/edit\?updated=1#s-use_case$/);
    const id = /assessments\/([0-9a-f-]{36})/.exec(editUrl)![1]!;
    const edit = await (await c.get(editUrl.replace(/#.*$/, ''))).text();
    expect(edit).toContain('Draft saved as revision 1');
    expect(edit).toMatch(/data-question="uc.tools_description" data-show-if="[^"]+">/); // now shown
    expect(edit).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(edit).not.toContain(XSS);

    // A number that is not a number and a submit with required answers missing: 422, values kept.
    const bad = answersToForm({ 'uc.name': 'Scribe', 'uc.workforce_users': 'lots' }, new URLSearchParams({ _csrf: csrf, _action: 'submit' }));
    const invalid = await c.post(`/assessments/${id}/edit`, bad);
    expect(invalid.status).toBe(422);
    const invalidHtml = await invalid.text();
    expect(invalidHtml).toContain('class="error-summary"');
    expect(invalidHtml).toContain('href="#q-uc.workforce_users"');
    expect(invalidHtml).toContain('Must be a number.');
    expect(invalidHtml).toContain('value="lots"');
    expect(invalidHtml).toMatch(/aria-describedby="q-uc.workforce_users-help q-uc.workforce_users-error"/);

    // Submit the poorly-controlled example: a report, and its result page.
    const answers = { ...poorlyControlled(), 'uc.purpose': XSS };
    const submitted = await c.post(`/assessments/${id}/edit`, answersToForm(answers, new URLSearchParams({ _csrf: csrf, _action: 'submit' })));
    expect(submitted.status).toBe(303);
    const reportUrl = submitted.headers.get('location')!;
    expect(reportUrl).toMatch(/^\/reports\/[0-9a-f-]{36}\?submitted=1$/);
    const result = await (await c.get(reportUrl)).text();
    expect(result).toContain('class="heatmap"');
    expect(result).toContain('Findings by safeguard family');
    // AI rules' Required/Addressable is the product's classification, and the page says so.
    expect(result).toMatch(/AI-specific safeguards <span class="muted">AI guidance<\/span>[\s\S]*for these AI-specific safeguards they are this product's classification/);
    expect(result).toMatch(/Overall risk<\/h2>\s*<p class="overall-level">(High|Very high)</);
    expect(result).toContain('/download/pdf');
    expect(result).not.toContain(XSS);
    for (const path of ['/', `/assessments/${id}`]) {
      const html = await (await c.get(path)).text();
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).not.toContain(XSS);
    }
    const reportId = /\/reports\/([0-9a-f-]{36})/.exec(reportUrl)![1]!;
    const dl = await c.get(`/reports/${reportId}/download/json`);
    expect(dl.status).toBe(303);
    expect(dl.headers.get('location')).toBe(`/v1/reports/${reportId}`);

    // The other organisation's officer sees nothing of it.
    const other = new PageClient(app.url);
    await other.login(app.users.otherOfficer);
    expect((await other.get(`/reports/${reportId}`)).status).toBe(404);
    expect((await other.get(`/assessments/${id}/edit`)).status).toBe(404);
  });

  it('compares two reports of an assessment, and answers 404 for a report that is not one of them', async () => {
    const c = new PageClient(app.url);
    await c.login(app.users.officer);
    const csrf = PageClient.csrfOf(await (await c.get('/assessments/new')).text());
    const first = await c.post('/assessments/new', answersToForm(poorlyControlled(), new URLSearchParams({ _csrf: csrf, title: 'Compare me', _action: 'submit' })));
    expect(first.status).toBe(303);
    const r1 = /reports\/([0-9a-f-]{36})/.exec(first.headers.get('location')!)![1]!;
    const id = /\/assessments\/([0-9a-f-]{36})\/edit/.exec(await (await c.get(`/reports/${r1}`)).text())![1]!;
    const second = await c.post(`/assessments/${id}/edit`, answersToForm(example('well-controlled'), new URLSearchParams({ _csrf: csrf, _action: 'submit' })));
    expect(second.status).toBe(303);
    const r2 = /reports\/([0-9a-f-]{36})/.exec(second.headers.get('location')!)![1]!;

    const viewed = async (): Promise<unknown[]> =>
      (await app.t.database.raw.query<{ target_id: string; decision: unknown }>("SELECT target_id, decision FROM audit_events WHERE action = 'report.viewed' ORDER BY seq")).map((r) => [r.target_id, r.decision]);
    const before = (await viewed()).length;
    const both = await c.get(`/assessments/${id}/compare?from=${r1}&to=${r2}`);
    expect(both.status).toBe(200);
    expect(await both.text()).toMatch(/Revision 1 → revision 2 · \d+ findings changed/);
    // Both reports' findings were shown: one event each, as the API's diff records two downloads.
    const sha = async (r: string): Promise<string> => (await app.t.database.raw.query<{ sha256: string }>('SELECT sha256 FROM reports WHERE id = $1', [r]))[0]!.sha256;
    expect((await viewed()).slice(before)).toEqual([[r1, { page: 'compare', sha256: await sha(r1) }], [r2, { page: 'compare', sha256: await sha(r2) }]]);
    const unknown = await c.get(`/assessments/${id}/compare?from=00000000-0000-4000-8000-000000000000&to=${r2}`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('Page not found');
    expect((await c.get(`/assessments/${id}/compare?from=${r1}&from=${r2}`)).status).toBe(400);
  });

  it('keeps the answers of a form posted after the session ended, and restores them after sign-in', async () => {
    const c = new PageClient(app.url);
    await c.login(app.users.officer);
    const page = await (await c.get('/assessments/new')).text();
    const csrf = PageClient.csrfOf(page);
    app.advance(2 * 3600 * 1000); // past the idle timeout: refresh is refused
    try {
      const late = await c.post('/assessments/new', answersToForm({ 'uc.name': 'Typed before expiry', 'uc.domain': 'clinical' }, new URLSearchParams({ _csrf: csrf, title: 'Late', _action: 'draft' })));
      expect(late.status).toBe(401);
      const login = await late.text();
      expect(login).toContain('name="stash"');
      const stash = /name="stash" value="([^"]*)"/.exec(login)![1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'");
      const back = await c.post('/login', new URLSearchParams({ _csrf: PageClient.csrfOf(login), email: app.users.officer, password: 'correct horse battery staple 42', next: '/assessments/new', stash }));
      expect(back.status).toBe(200);
      const restored = await back.text();
      expect(restored).toContain('Your answers have been restored');
      expect(restored).toContain('value="Typed before expiry"');
      expect(restored).toMatch(/value="clinical" checked/);
      expect(restored).toContain('value="Late"');
    } finally {
      app.advance(-2 * 3600 * 1000);
    }
  });

  it('lets the auditor read granted reports, verify one, and read the audit trail, but not edit', async () => {
    const officer = new PageClient(app.url);
    await officer.login(app.users.officer);
    const csrf = PageClient.csrfOf(await (await officer.get('/assessments/new')).text());
    const made = await officer.post('/assessments/new', answersToForm(poorlyControlled(), new URLSearchParams({ _csrf: csrf, title: 'For the auditor', _action: 'submit' })));
    const reportId = /\/reports\/([0-9a-f-]{36})/.exec(made.headers.get('location')!)![1]!;
    const json = await officer.get(`/v1/reports/${reportId}`);
    expect(json.status).toBe(200);
    const bytes = await json.text();
    const jws = await (await officer.get(`/v1/reports/${reportId}/signature`)).text();

    const auditor = new PageClient(app.url);
    await auditor.login(app.users.auditor);
    const list = await (await auditor.get('/')).text();
    expect(list).toContain('For the auditor');
    expect(list).toContain('Riverside Health');
    const report = await auditor.get(`/reports/${reportId}`);
    expect(report.status).toBe(200);
    // Reading the findings on the page leaves the trace a download through the API does: who
    // (the auditor, of another organisation), which report, in the report's organisation's trail.
    const [view] = await app.t.database.raw.query<{ actor_id: string; actor_role: string; organization_id: string; target_type: string; target_id: string; decision: unknown }>(
      "SELECT actor_id, actor_role, organization_id, target_type, target_id, decision FROM audit_events WHERE action = 'report.viewed' ORDER BY seq DESC LIMIT 1",
    );
    const auditorId = (await app.t.database.raw.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [app.users.auditor]))[0]!.id;
    const reportRow = (await app.t.database.raw.query<{ sha256: string }>('SELECT sha256 FROM reports WHERE id = $1', [reportId]))[0]!;
    expect(view).toEqual({ actor_id: auditorId, actor_role: 'auditor', organization_id: app.orgs.main, target_type: 'report', target_id: reportId, decision: { page: 'result', sha256: reportRow.sha256 } });
    const reportHtml = await report.text();
    expect(reportHtml).not.toContain('>Revise<');
    const assessmentId = /\/assessments\/([0-9a-f-]{36})\/audit/.exec(reportHtml)![1]!;
    expect((await auditor.get(`/assessments/${assessmentId}/edit`)).status).toBe(403);
    const trail = await (await auditor.get(`/assessments/${assessmentId}/audit`)).text();
    expect(trail).toContain('assessment.created');
    const verifyPage = await (await auditor.get('/verify')).text();
    const vcsrf = PageClient.csrfOf(verifyPage);
    const valid = await (await auditor.post('/verify', new URLSearchParams({ _csrf: vcsrf, report: `${bytes}\r\n`, jws }))).text();
    expect(valid).toContain('Signature valid');
    const tampered = await (await auditor.post('/verify', new URLSearchParams({ _csrf: vcsrf, report: bytes.replace('"For the auditor"', '"For the auditer"'), jws }))).text();
    expect(tampered).toContain('Not valid');
    const chain = await auditor.post('/audit/verify', new URLSearchParams({ _csrf: vcsrf }));
    expect(await chain.text()).toContain('The chain is intact');

    // The trail leaves with its proof: the page's links, then the export verified offline
    // against the published keys, as `audit-verify-export` does.
    const chainPage = await (await auditor.get('/audit/verify')).text();
    expect(chainPage).toContain('href="/audit/export"');
    expect(chainPage).toContain('audit-verify-export audit-export.jsonl --jwks jwks.json');
    const hop = await auditor.get('/audit/export');
    expect([hop.status, hop.headers.get('location')]).toEqual([303, '/v1/audit/export']);
    const exported = await auditor.get('/v1/audit/export');
    expect([exported.status, exported.headers.get('content-disposition')]).toEqual([200, 'attachment; filename="audit-export.jsonl"']);
    const text = await exported.text();
    const jwks: unknown = await (await fetch(`${app.url}/.well-known/jwks.json`)).json();
    const verdict = await verifyAuditExport(text, jwks);
    expect(verdict).toMatchObject({ valid: true });
    expect(text).toContain('"assessment.created"');
    // The officer may not read the trail: no link, and the hop is a 403 page.
    expect((await officer.get('/audit/export')).status).toBe(403);
  });

  it('filters the dashboard by what its form sends, and refuses what it cannot send with a page naming the filter', async () => {
    const c = new PageClient(app.url);
    await c.login(app.users.officer);
    const csrf = PageClient.csrfOf(await (await c.get('/assessments/new')).text());
    const title = `Filter probe ${randomUUID()}`;
    expect((await c.post('/assessments/new', new URLSearchParams({ _csrf: csrf, title, _action: 'draft' }))).status).toBe(303);
    // The form's empty fields are no filter; a status filter keeps only its status (the row's
    // link holds the title; the search box echoes it anyway).
    const row = `"><bdi>${title}</bdi></a></th>`;
    expect(await (await c.get(`/?q=${encodeURIComponent(title)}&status=`)).text()).toContain(row);
    expect(await (await c.get(`/?q=${encodeURIComponent(title)}&status=draft`)).text()).toContain(row);
    expect(await (await c.get(`/?q=${encodeURIComponent(title)}&status=submitted`)).text()).not.toContain(row);
    for (const [query, named] of [['status=archived', 'status'], ['status=draft&status=submitted', 'status'], [`q=${'x'.repeat(201)}`, 'q'], ['cursor=zzz', 'cursor']] as const) {
      const res = await c.get(`/?${query}`);
      expect([query, res.status, await res.text()]).toEqual([query, 400, expect.stringContaining(named)]);
    }
  });

  it('shows the auditor the trail of the granted organisations, newest first, filtered and paged', async () => {
    const seqsOf = (html: string): number[] => [...html.matchAll(/<th scope="row">(\d+)<\/th>/g)].map((m) => Number(m[1]));
    // Another organisation's activity, which the auditor (granted Riverside only) must not see.
    const other = new PageClient(app.url);
    await other.login(app.users.otherOfficer);
    // 55 events of one actor in the granted organisation: more than a page.
    const actor = randomUUID();
    for (let i = 0; i < 55; i++) {
      await recordAuditEventAlone(app.t.database.db, { action: 'report.verified', outcome: 'success', actor: { type: 'user', id: actor, role: 'auditor', organizationId: app.orgs.main }, organizationId: app.orgs.main, decision: { valid: i % 2 === 0 } });
    }
    // A denial in the granted organisation: its officer opening the administration.
    const officer = new PageClient(app.url);
    await officer.login(app.users.officer);
    expect((await officer.get('/admin')).status).toBe(403);
    const auditor = new PageClient(app.url);
    await auditor.login(app.users.auditor);
    const all = await auditor.get('/audit');
    expect(all.status).toBe(200);
    const html = await all.text();
    expect(html).toContain('href="/audit/verify"');
    // Who acted, as a person reads it: the officer's e-mail address (the id in the title); an
    // actor id that is no user's stays an id.
    expect(html).toMatch(new RegExp(`<span title="[0-9a-f-]{36}"><bdi>${app.users.officer.replaceAll('.', '\\.')}</bdi></span>`));
    expect(html).toContain(`<code>${actor.slice(0, 8)}`);
    const seqs = seqsOf(html);
    expect(seqs.length).toBe(50);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    const orgs = await app.t.database.raw.query<{ organization_id: string | null }>('SELECT DISTINCT organization_id FROM audit_events WHERE seq = ANY($1::bigint[])', [seqs]);
    expect(orgs.map((o) => o.organization_id)).toEqual([app.orgs.main]);

    // One actor's events: a full page, then the rest through the "Older events" link, no overlap.
    const first = await (await auditor.get(`/audit?actor=${actor}`)).text();
    const firstSeqs = seqsOf(first);
    const next = /<a class="button" href="([^"]+)">Older events<\/a>/.exec(first)![1]!.replaceAll('&amp;', '&');
    expect(next).toContain(`actor=${actor}`);
    const rest = await (await auditor.get(next)).text();
    const restSeqs = seqsOf(rest);
    expect([firstSeqs.length, restSeqs.length, Math.min(...firstSeqs) > Math.max(...restSeqs)]).toEqual([50, 5, true]);
    expect(rest).not.toContain('Older events');
    // "Until" a day includes the day; the day before holds none of them.
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    expect(seqsOf(await (await auditor.get(`/audit?actor=${actor}&from=${today}&to=${today}`)).text())).toHaveLength(50);
    expect(await (await auditor.get(`/audit?actor=${actor}&to=${yesterday}`)).text()).toContain('No events.');
    // An actor by e-mail address, as a person types it: the officer's events, the same as by the
    // officer's id, which the actor's link on each row filters by; an address no user has: none.
    const officerId = new RegExp(`<a href="/audit\\?actor=([0-9a-f-]{36})"><span title="[0-9a-f-]{36}"><bdi>${app.users.officer.replaceAll('.', '\\.')}</bdi></span></a>`).exec(html)![1]!;
    const byId = seqsOf(await (await auditor.get(`/audit?actor=${officerId}`)).text());
    expect(byId.length).toBeGreaterThan(0);
    expect(seqsOf(await (await auditor.get(`/audit?actor=${encodeURIComponent(` ${app.users.officer.toUpperCase()} `)}`)).text())).toEqual(byId);
    const nobody = await auditor.get(`/audit?actor=${encodeURIComponent('nobody@example.org')}`);
    expect([nobody.status, await nobody.text()]).toEqual([200, expect.stringContaining('No events.')]);
    // The form's empty fields are no filter; outcome and action filter.
    const denied = await (await auditor.get('/audit?outcome=denied&action=request.denied&from=&to=&actor=')).text();
    const deniedSeqs = seqsOf(denied);
    expect(deniedSeqs.length).toBeGreaterThan(0);
    const rows = await app.t.database.raw.query<{ action: string; outcome: string }>('SELECT DISTINCT action, outcome FROM audit_events WHERE seq = ANY($1::bigint[])', [deniedSeqs]);
    expect(rows).toEqual([{ action: 'request.denied', outcome: 'denied' }]);
    // What the form cannot send is a 400 page naming the filter; the trail is not the officer's to read.
    for (const bad of ['outcome=maybe', 'action=nope', 'from=2026-13-01', 'cursor=zzz', 'outcome=success&outcome=error']) {
      expect([bad, (await auditor.get(`/audit?${bad}`)).status]).toEqual([bad, 400]);
    }
    expect((await officer.get('/audit')).status).toBe(403);
    expect(await (await officer.get('/')).text()).not.toContain('href="/audit"');
  });

  it('answers what cannot be read on the way to a page with an error page that says what it was', async () => {
    const c = new PageClient(app.url);
    const cases: [string, Promise<Response>, number, string][] = [
      ['a path whose %-escapes do not decode', c.get('/assessments/%zz', { accept: 'text/html' }), 400, 'The address holds a %-escape that does not decode to UTF-8 text'],
      ['a form that is not urlencoded', c.post('/assessments/new', 'title=x', { 'content-type': 'text/plain' }), 415, 'Forms must be posted as application/x-www-form-urlencoded'],
      ['a form over the body limit', c.post('/assessments/new', `title=${'x'.repeat(app.config.bodyLimitBytes + 10)}`), 413, 'The form is larger than this service accepts.'],
    ];
    for (const [what, pending, status, detail] of cases) {
      const res = await pending;
      expect([what, res.status, res.headers.get('content-type')]).toEqual([what, status, expect.stringContaining('text/html')]);
      expect([what, await res.text()]).toEqual([what, expect.stringContaining(detail)]);
    }
  });

  it('records what it refuses and denies in the audit trail, with who and which fields, before the page is sent', async () => {
    type Newest = { action: string; outcome: string; actor_id: string | null; target: string | null; decision: Record<string, unknown> };
    // The target as `type/id` (what the request named in its path), or null.
    const newest = async (): Promise<Newest> => {
      const [row] = await app.t.database.raw.query<Newest>("SELECT action, outcome, actor_id, target_type || '/' || target_id AS target, decision FROM audit_events ORDER BY seq DESC LIMIT 1");
      return row!;
    };
    const idOf = async (email: string): Promise<string> => (await app.t.database.raw.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [email]))[0]!.id;
    const officerId = await idOf(app.users.officer);
    const c = new PageClient(app.url);
    await c.login(app.users.officer);
    const csrf = PageClient.csrfOf(await (await c.get('/assessments/new')).text());

    // A questionnaire that fails validation: 422, re-shown, recorded with the failing field.
    expect((await c.post('/assessments/new', new URLSearchParams({ _csrf: csrf, title: '', _action: 'draft' }))).status).toBe(422);
    expect(await newest()).toEqual({ action: 'request.refused', outcome: 'error', actor_id: officerId, target: null, decision: { status: 422, method: 'POST', route: '/assessments/new', reason: 'validation-failed', pointers: ['/title'] } });
    // A form over the body limit, refused before any handler ran: the session's user is named.
    expect((await c.post('/assessments/new', `_csrf=${csrf}&title=${'x'.repeat(app.config.bodyLimitBytes + 10)}`)).status).toBe(413);
    expect(await newest()).toMatchObject({ action: 'request.refused', actor_id: officerId, decision: { status: 413, reason: 'payload-too-large' } });
    // A post from another site's page: denied.
    expect((await c.post('/assessments/new', new URLSearchParams({ _csrf: csrf, title: 'x' }), { origin: 'https://evil.example' })).status).toBe(403);
    expect(await newest()).toMatchObject({ action: 'request.denied', outcome: 'denied', decision: { status: 403, route: '/assessments/new', reason: 'cross_origin' } });

    // A report of another organisation, opened by address: 404, recorded as the API's is.
    const created = await c.post('/assessments/new', answersToForm(example('well-controlled'), new URLSearchParams({ _csrf: csrf, title: 'Refusals', _action: 'submit' })));
    const reportId = /\/reports\/([0-9a-f-]{36})/.exec(created.headers.get('location')!)![1]!;
    const other = new PageClient(app.url);
    await other.login(app.users.otherOfficer);
    expect((await other.get(`/reports/${reportId}`)).status).toBe(404);
    expect(await newest()).toEqual({ action: 'request.denied', outcome: 'denied', actor_id: await idOf(app.users.otherOfficer), target: `report/${reportId}`, decision: { status: 404, method: 'GET', route: '/reports/:id', reason: 'resource of another organisation' } });

    // A revision refused for its answers names the assessment, so the assessment's own trail
    // shows who tried what and why, beside what was done.
    const assessmentId = /\/assessments\/([0-9a-f-]{36})\/edit/.exec(await (await c.get(`/reports/${reportId}`)).text())![1]!;
    const refusedEdit = await c.post(`/assessments/${assessmentId}/edit`, answersToForm({ 'uc.workforce_users': 'lots' }, new URLSearchParams({ _csrf: csrf, _action: 'submit' })));
    expect(refusedEdit.status).toBe(422);
    expect(await newest()).toMatchObject({ action: 'request.refused', actor_id: officerId, target: `assessment/${assessmentId}`, decision: { status: 422, route: '/assessments/:id/edit' } });
    const auditor = new PageClient(app.url);
    await auditor.login(app.users.auditor);
    const trail = await (await auditor.get(`/assessments/${assessmentId}/audit`)).text();
    expect(trail.indexOf('request.refused')).toBeGreaterThan(trail.indexOf('assessment.created'));

    // An API client's token on a page, beside a session cookie: the token wins, and pages are
    // for people: 403, recorded as a denial by that client.
    const made = await app.t.database.db.transaction().execute((trx) => createApiClient(trx, { name: 'Page prober', organizationId: app.orgs.main, scopes: ['assessments:read'] }, { actor: SYSTEM_ACTOR, request: null, now: new Date() }));
    const bearer = await clientToken(app, { id: made.client.id, secret: made.clientSecret });
    const probe = await c.get('/', { authorization: `Bearer ${bearer}` });
    expect(probe.status).toBe(403);
    expect(await newest()).toEqual({ action: 'request.denied', outcome: 'denied', actor_id: made.client.id, target: null, decision: { status: 403, method: 'GET', route: '/', reason: 'pages_need_a_user' } });

    // A sign-in form without a password: refused, anonymous, never the e-mail or password.
    const anonymous = new PageClient(app.url);
    const token = PageClient.csrfOf(await (await anonymous.get('/login')).text());
    expect((await anonymous.post('/login', new URLSearchParams({ _csrf: token, email: app.users.officer, password: '' }))).status).toBe(422);
    expect(await newest()).toEqual({ action: 'request.refused', outcome: 'error', actor_id: null, target: null, decision: { status: 422, method: 'POST', route: '/login', reason: 'validation-failed', pointers: ['/password'] } });
  });

  it('lets the administrator manage users, API clients and grants, and shows the keys', async () => {
    const c = new PageClient(app.url);
    await c.login(app.users.admin);
    const home = await c.get('/');
    expect(home.status).toBe(303);
    expect(home.headers.get('location')).toBe('/admin');
    const usersPage = await (await c.get('/admin/users')).text();
    const csrf = PageClient.csrfOf(usersPage);
    const created = await c.post('/admin/users', new URLSearchParams([['_csrf', csrf], ['email', 'new.auditor@audit.test'], ['organizationId', app.orgs.other], ['roles', 'auditor']]));
    expect(created.status).toBe(201);
    expect(await created.text()).toMatch(/One-time password[^<]*<code class="secret">[A-Za-z0-9_-]{24}<\/code>/);
    const dup = await c.post('/admin/users', new URLSearchParams([['_csrf', csrf], ['email', 'new.auditor@audit.test'], ['organizationId', app.orgs.other], ['roles', 'auditor']]));
    expect(dup.status).toBe(409);
    // The newest refusal: the page shown again with the form records its list as read (`admin.read`) too.
    const newest = async (): Promise<unknown> => (await app.t.database.raw.query<{ decision: unknown }>("SELECT decision FROM audit_events WHERE action = 'request.refused' ORDER BY seq DESC LIMIT 1"))[0]!.decision;
    expect(await newest()).toMatchObject({ status: 409, route: '/admin/users' });
    // A form refused for a field: the page shows why, the trail records which field.
    const unnamed = await c.post('/admin/organizations', new URLSearchParams([['_csrf', csrf], ['name', '  ']]));
    expect([unnamed.status, await unnamed.text()]).toEqual([422, expect.stringContaining('Give the organisation a name')]);
    expect(await newest()).toEqual({ status: 422, method: 'POST', route: '/admin/organizations', reason: 'validation-failed', pointers: ['/name'] });
    const once = PageClient.hiddenOf(await (await c.get('/admin/clients')).text(), '/admin/clients', '_once')!;
    const client = await c.post('/admin/clients', new URLSearchParams([['_csrf', csrf], ['_once', once], ['name', 'EHR integration'], ['organizationId', app.orgs.main], ['scopes', 'assessments:read']]));
    expect(client.status).toBe(201);
    expect(await client.text()).toMatch(/harc_[A-Za-z0-9_-]{43}/);
    const keys = await (await c.get('/admin/keys')).text();
    expect(keys).toContain(app.reportKeys.current.kid);
    expect((await c.get('/admin/grants')).status).toBe(200);
  });
});

describe('errors raised before a page handler (the app-wide checks and limiters)', () => {
  let app: WebApp;
  beforeAll(async () => {
    app = await startWebApp('pglite', { RATE_LIMIT_LOGIN: '2' });
  });
  afterAll(async () => {
    await app?.stop();
  });
  const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'; // what browsers send

  it('are an HTML page for a browser (the sign-in limit: 429 with Retry-After), problem+json for anything else', async () => {
    // The embedded default counts in memory, a window per client from its first hit.
    const c = new PageClient(app.url);
    const csrf = PageClient.csrfOf(await (await c.get('/login')).text());
    const form = new URLSearchParams({ _csrf: csrf, email: app.users.officer, password: 'not-the-password', next: '/' });
    for (let i = 0; i < 2; i++) expect((await c.post('/login', form, { accept: HTML })).status).toBe(401);
    const limited = await c.post('/login', form, { accept: HTML });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toContain('text/html');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('content-security-policy')).toMatch(/script-src 'nonce-[^']+'/);
    expect(limited.headers.get('cache-control')).toBe('no-store');
    const html = await limited.text();
    expect(html).toContain('Too many attempts');
    expect(html).toContain('the login limit is 2 per 60 s');
    // An API client posting to the same form is told in problem+json.
    const asApi = await c.post('/login', form, { accept: 'application/json' });
    expect(asApi.status).toBe(429);
    expect(asApi.headers.get('content-type')).toContain('application/problem+json');
  });

  it('are an HTML page for a refused query string on a page, and stay problem+json on the API', async () => {
    const page = await fetch(`${app.url}/?q=%00`, { headers: { accept: HTML } });
    expect(page.status).toBe(400);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('The query parameter q contains a NUL character (U+0000)');
    const api = await fetch(`${app.url}/v1/assessments?q=%00`, { headers: { accept: HTML } });
    expect(api.status).toBe(400);
    expect(api.headers.get('content-type')).toContain('application/problem+json');
  });

  it('make an address that is no page a 404 page for a browser, and keep the API\'s 404 and 405 problem+json', async () => {
    const page = await fetch(`${app.url}/assessments/new/nothing-here`, { headers: { accept: HTML } });
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('Page not found');
    expect(html).toContain('There is no page at this address.');
    expect((await fetch(`${app.url}/assessments/new/nothing-here`)).headers.get('content-type')).toContain('application/problem+json');
    // A %-escape the router cannot decode: express's own 400, as a page too (it was problem+json).
    const undecodable = await fetch(`${app.url}/assessments/%zz/edit`, { headers: { accept: HTML } });
    expect(undecodable.status).toBe(400);
    expect(undecodable.headers.get('content-type')).toContain('text/html');
    expect(await undecodable.text()).toContain('The address holds a %-escape that does not decode to UTF-8 text');
    const undecodableApi = await fetch(`${app.url}/v1/reports/%zz`, { headers: { accept: HTML } });
    expect(undecodableApi.status).toBe(400);
    expect(((await undecodableApi.json()) as { detail: string }).detail).toBe('The address holds a %-escape that does not decode to UTF-8 text');
    for (const [method, path, status] of [['GET', '/v1/nothing-here', 404], ['DELETE', '/v1/assessments', 405]] as const) {
      const res = await fetch(`${app.url}${path}`, { method, headers: { accept: HTML } });
      expect([path, res.status, res.headers.get('content-type')]).toEqual([path, status, expect.stringContaining('application/problem+json')]);
    }
  });
});
