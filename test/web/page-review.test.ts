/**
 * Defects a reviewer found driving the pages, over real HTTP and the real database, on every
 * database kind: the dashboard's summary counts the organisation, not the page; titles with nothing
 * visible or an unclosed direction control are refused by the API and the form alike (stored ones
 * still show, isolated in `<bdi>`); a malformed number does not hide the other answers' errors; a
 * radio group in error marks its inputs invalid; the latest result stays linked when a draft
 * follows a submission; and Enter in the questionnaire saves a draft.
 */
import crypto from 'node:crypto';
import { DATABASE_KINDS } from '../support/databases.js';
import { answersToForm, poorlyControlled } from './helpers.js';
import { PageClient, startWebApp, type WebApp } from './support.js';

/** The dashboard's summary tiles, label → value. */
function statsOf(html: string): Record<string, number> {
  return Object.fromEntries([...html.matchAll(/<span class="stat-value">(\d+)<\/span><span class="stat-label">([^<]+)<\/span>/g)].map((m) => [m[2]!, Number(m[1])]));
}

/** The summary's links of a refused questionnaire, as their targets. */
function summaryTargets(html: string): string[] {
  const box = /<div class="error-summary"[^]*?<\/div>/.exec(html)?.[0] ?? '';
  return [...box.matchAll(/<a href="#([^"]*)">/g)].map((m) => m[1]!);
}

describe.each(DATABASE_KINDS)('pages after review (%s)', (kind) => {
  let app: WebApp;
  let officer: PageClient;
  let other: PageClient;
  beforeAll(async () => {
    // Enough room in the submission limit for the assessments the dashboard test creates.
    app = await startWebApp(kind, { RATE_LIMIT_EVALUATE: '1000' });
    officer = new PageClient(app.url);
    expect((await officer.login(app.users.officer)).status).toBe(303);
    other = new PageClient(app.url);
    expect((await other.login(app.users.otherOfficer)).status).toBe(303);
  });
  afterAll(async () => {
    await app?.stop();
  });

  const db = () => app.t.database.db;
  const csrf = async (c: PageClient, path = '/assessments/new'): Promise<string> => PageClient.csrfOf(await (await c.get(path)).text());
  /** Posts the new-assessment form; returns the response. */
  const create = async (c: PageClient, title: string, answers: Record<string, unknown>, action: 'draft' | 'submit'): Promise<Response> =>
    c.post('/assessments/new', answersToForm(answers, new URLSearchParams({ _csrf: await csrf(c), title, _action: action })));
  const idOf = (res: Response): string => /\/assessments\/([0-9a-f-]{36})\/edit/.exec(res.headers.get('location') ?? '')?.[1] ?? '';

  it('counts the whole organisation in the dashboard summary, with the filters, not the 25 assessments of the page', async () => {
    const submitted = await create(officer, 'Summary: high risk', poorlyControlled(), 'submit');
    expect(submitted.status).toBe(303);
    for (let i = 0; i < 26; i++) expect((await create(officer, `Summary draft ${i}`, { 'uc.name': `Draft ${i}` }, 'draft')).status).toBe(303);
    // Another organisation's assessments are not counted.
    expect((await create(other, 'Summary: elsewhere', { 'uc.name': 'x' }, 'draft')).status).toBe(303);

    const html = await (await officer.get('/')).text();
    expect([...html.matchAll(/<th scope="row" class="cell-title">/g)]).toHaveLength(25);
    expect(statsOf(html)).toEqual({ assessments: 27, 'drafts in progress': 26, submitted: 1, 'at high or very high risk': 1 });
    expect(html).toContain('aria-label="Summary of the organisation&#39;s assessments"');
    // The next page shows the same summary: it is the organisation's.
    const cursor = /href="\/\?cursor=([^"&]+)/.exec(html)![1]!;
    expect(statsOf(await (await officer.get(`/?cursor=${cursor}`)).text())).toEqual(statsOf(html));

    const drafts = await (await officer.get('/?status=draft&q=Summary')).text();
    expect(statsOf(drafts)).toEqual({ assessments: 26, 'drafts in progress': 26, submitted: 0, 'at high or very high risk': 0 });
    expect(drafts).toContain('aria-label="Summary of the assessments matching the filters"');
    expect(statsOf(await (await officer.get('/?q=high%20risk')).text())).toEqual({ assessments: 1, 'drafts in progress': 0, submitted: 1, 'at high or very high risk': 1 });
  });

  describe('titles', () => {
    const INVISIBLE = ['\u200b\u200b', '\u00a0\u2003', '\u2066\u2069', '\u00ad\ufeff', '\u200e \u200f'];
    const UNPAIRED = ['Scribe \u202e', 'Scribe \u2067RTL', '\u202cScribe', 'a\u2066b\u202cc\u2069', 'a\u202ab\u2069c\u202c'];
    const ACCEPTED = ['Scribe \u2067עברית\u2069', 'a\u202bb\u2066c\u2069d\u202c', 'Café \u200d👩‍⚕️'];

    const api = async (title: string): Promise<{ status: number; body: { errors?: { pointer: string; detail: string }[] } }> => {
      const res = await officer.post('/v1/assessments', JSON.stringify({ title, questionnaireVersion: '1', answers: { 'uc.name': 'x' }, draft: true }), { 'content-type': 'application/json', 'x-csrf-token': await csrf(officer, '/') });
      return { status: res.status, body: (await res.json()) as { errors?: { pointer: string; detail: string }[] } };
    };

    it.each([...INVISIBLE, ...UNPAIRED].map((t) => [JSON.stringify(t), t]))('refuses the title %s in the API (422 at /title) and in the form (422 at the field), storing nothing', async (_shown, title) => {
      const before = await db().selectFrom('assessments').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      const viaApi = await api(title);
      expect(viaApi.status).toBe(422);
      expect(viaApi.body.errors?.map((e) => e.pointer)).toEqual(['/title']);
      // The rule in words, not the regular expression behind it.
      expect(viaApi.body.errors?.[0]?.detail).toMatch(/^must (have a visible character|close each direction control in order)/);

      const viaForm = await create(officer, title, { 'uc.name': 'x' }, 'draft');
      expect(viaForm.status).toBe(422);
      const html = await viaForm.text();
      expect(summaryTargets(html)).toEqual(['title']);
      expect(html).toMatch(/<p class="field-error" id="title-error"><span class="visually-hidden">Error: <\/span>(Give the assessment a title|The title has a text-direction control that is not closed)/);
      expect(await db().selectFrom('assessments').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).toEqual(before);
    });

    it.each(ACCEPTED.map((t) => [JSON.stringify(t), t]))('takes the title %s in the API and in the form', async (_shown, title) => {
      expect((await api(title)).status).toBe(201);
      expect((await create(officer, title, { 'uc.name': 'x' }, 'draft')).status).toBe(303);
    });

    it('still shows a title stored before the rule, isolated in <bdi> wherever it appears', async () => {
      const made = await create(officer, 'Stored before the rule', { 'uc.name': 'x' }, 'draft');
      // A copy of it under a title the rule refuses, as stored before the rule (the tables are append-only).
      const id = crypto.randomUUID();
      const stored = 'Old \u202etitle';
      await app.t.database.raw.query('INSERT INTO assessments SELECT (jsonb_populate_record(NULL::assessments, to_jsonb(a) || jsonb_build_object(\'id\', $2::uuid, \'title\', $3::text))).* FROM assessments a WHERE a.id = $1', [idOf(made), id, stored]);
      await app.t.database.raw.query('INSERT INTO assessment_revisions SELECT (jsonb_populate_record(NULL::assessment_revisions, to_jsonb(r) || jsonb_build_object(\'assessment_id\', $2::uuid))).* FROM assessment_revisions r WHERE r.assessment_id = $1', [idOf(made), id]);
      for (const path of ['/?q=Old', `/assessments/${id}`, `/assessments/${id}/edit`]) {
        const res = await officer.get(path);
        expect(res.status).toBe(200);
        expect(await res.text()).toContain(`<bdi>${stored}</bdi>`);
      }
      expect(await (await officer.get(`/assessments/${id}`)).text()).toContain(`<h1><bdi>${stored}</bdi></h1>`);
    });
  });

  it('shows the errors of the other answers along with a malformed number, and marks a radio group in error', async () => {
    const res = await create(officer, 'Several errors', { 'uc.name': 'x', 'uc.workforce_users': 'lots', 'uc.domain': 'bogus' }, 'draft');
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(summaryTargets(html).sort()).toEqual(['q-uc.domain', 'q-uc.workforce_users']);
    // Every radio of the group in error is marked invalid, as the text inputs are.
    const radios = [...html.matchAll(/<input type="radio" [^>]*name="answers\[uc\.domain\]"[^>]*>/g)].map((m) => m[0]);
    expect(radios.length).toBeGreaterThan(1);
    for (const r of radios) expect(r).toContain(' aria-invalid="true"');
    expect(html).toMatch(/<input class="input-number" type="text" inputmode="decimal" id="q-uc\.workforce_users" [^>]*aria-invalid="true"/);
    const valid = [...html.matchAll(/<input type="radio" [^>]*name="answers\[uc\.autonomy\]"[^>]*>/g)].map((m) => m[0]);
    for (const r of valid) expect(r).not.toContain('aria-invalid');

    // On a submission, the required questions left out are listed too, the malformed one once.
    const submitted = await create(officer, 'Several errors', { 'uc.name': 'x', 'uc.workforce_users': 'lots' }, 'submit');
    expect(submitted.status).toBe(422);
    const targets = summaryTargets(await submitted.text());
    expect(targets).toContain('q-uc.domain');
    expect(targets.filter((t) => t === 'q-uc.workforce_users')).toHaveLength(1);
  });

  it('links the latest result when a draft follows a submitted revision, and captions the revisions', async () => {
    const made = await create(officer, 'Draft after submission', poorlyControlled(), 'submit');
    const reportId = /\/reports\/([0-9a-f-]{36})/.exec(made.headers.get('location')!)![1]!;
    const id = (await db().selectFrom('reports').select('assessment_id').where('id', '=', reportId).executeTakeFirstOrThrow()).assessment_id;
    const edit = `/assessments/${id}/edit`;
    const draft = await officer.post(edit, answersToForm(poorlyControlled(), new URLSearchParams({ _csrf: await csrf(officer, edit), _action: 'draft' })));
    expect(draft.status).toBe(303);
    const html = await (await officer.get(`/assessments/${id}`)).text();
    expect(html).toContain(`<a class="button" href="/reports/${reportId}">Latest result (revision 1)</a>`);
    expect(html).toContain('<caption class="visually-hidden">Revisions, newest first</caption>');
  });

  it('makes a visually hidden "Save draft" the questionnaire\'s default button (Enter in a field), before any "Update questions"', async () => {
    const html = await (await officer.get('/assessments/new')).text();
    const form = html.slice(html.indexOf('<form method="post" action="/assessments/new"'));
    const first = /<button\b[^>]*>[^<]*<\/button>/.exec(form)![0];
    expect(first).toBe('<button type="submit" name="_action" value="draft" class="visually-hidden" tabindex="-1" aria-hidden="true">Save draft</button>');
  });
});
