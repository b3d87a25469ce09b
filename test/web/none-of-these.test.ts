/**
 * A multiple-choice question that allows an empty selection has a "None of these" box on the
 * page: ticking it answers the question with no option (the API's []), which the page could not
 * say before (unticked boxes post nothing, so an empty selection read as "not answered": a
 * required one blocked the submission, an optional one gave not_assessed where the API gives not_met).
 */
import { DATABASE_KINDS } from '../support/databases.js';
import { answersToForm, example } from './helpers.js';
import { PageClient, startWebApp, type WebApp } from './support.js';

describe.each(DATABASE_KINDS)('"None of these" on the questionnaire page (%s)', (kind) => {
  let app: WebApp;
  let c: PageClient;
  beforeAll(async () => {
    app = await startWebApp(kind);
    c = new PageClient(app.url);
    await c.login(app.users.officer);
  });
  afterAll(async () => {
    await app?.stop();
  });

  const answersOf = async (title: string): Promise<Record<string, unknown>> =>
    (await app.t.database.raw.query<{ answers: Record<string, unknown> }>('SELECT r.answers FROM assessment_revisions r JOIN assessments a ON a.id = r.assessment_id WHERE a.title = $1 ORDER BY r.revision DESC LIMIT 1', [title]))[0]!.answers;

  it('submits a required question with no flow selected, stores [], and shows the box ticked again', async () => {
    const well = example('well-controlled');
    const answers = { ...well, 'uc.data_flows': [] };
    const page = await (await c.get('/assessments/new')).text();
    expect(page).toContain('value="__none__"');
    const csrf = PageClient.csrfOf(page);
    const res = await c.post('/assessments/new', answersToForm(answers, new URLSearchParams({ _csrf: csrf, title: 'No data flows', _action: 'submit' })));
    expect(res.status).toBe(303);
    expect((await answersOf('No data flows'))['uc.data_flows']).toEqual([]);
    const id = (await app.t.database.raw.query<{ id: string }>("SELECT id FROM assessments WHERE title = 'No data flows'"))[0]!.id;
    const edit = await (await c.get(`/assessments/${id}/edit`)).text();
    expect(edit).toMatch(/name="answers\[uc\.data_flows\]\[\]" value="__none__" checked/);
  });

  it('evaluates an optional empty selection as the API does (not met), and refuses "None" with options', async () => {
    const well = example('well-controlled');
    const answers = { ...well, 'ai.vendor_baa_terms': [] };
    const csrf = PageClient.csrfOf(await (await c.get('/assessments/new')).text());
    const res = await c.post('/assessments/new', answersToForm(answers, new URLSearchParams({ _csrf: csrf, title: 'No terms', _action: 'submit' })));
    expect(res.status).toBe(303);
    const report = (await app.t.database.raw.query<{ body: Buffer }>("SELECT p.bytes AS body FROM reports p JOIN assessments a ON a.id = p.assessment_id WHERE a.title = 'No terms'"))[0]!.body;
    const findings = (JSON.parse(Buffer.from(report).toString('utf8')) as { evaluation: { findings: { ruleId: string; status: string }[] } }).evaluation.findings;
    expect(findings.find((f) => f.ruleId === 'ai.baa_terms')!.status).toBe('not_met');

    const both = answersToForm({ ...well, 'ai.vendor_baa_terms': ['__none__', 'breach_reporting'] }, new URLSearchParams({ _csrf: csrf, title: 'Both', _action: 'draft' }));
    const refused = await c.post('/assessments/new', both);
    expect(refused.status).toBe(422);
    expect(await refused.text()).toContain('not both');
  });
});
