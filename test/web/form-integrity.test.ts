/**
 * The questionnaire form never stores less, or other, than what was typed: a single-valued field
 * posted twice, a number a double cannot hold as typed, a NUL character in one answer, and a title
 * of emoji are each answered at the field (422, the form shown again with every value, nothing
 * stored) or saved whole; never a silent partial save, never a 400 that loses the whole form.
 */
import { readNumber } from '../../src/web/questionnaire-form.js';
import { CURRENT_QUESTIONNAIRE_VERSION, validateAnswers, type Question } from '../../src/questionnaire/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { PageClient, startWebApp, type WebApp } from './support.js';

describe.each(DATABASE_KINDS)('the questionnaire form keeps what was typed (%s)', (kind) => {
  let app: WebApp;
  let c: PageClient;
  let csrf: string;

  /** How many assessments carry this title, and how many revisions they have. */
  const stored = async (title: string): Promise<{ assessments: number; revisions: number }> => {
    const [row] = await app.t.database.raw.query<{ assessments: number; revisions: number }>(
      'SELECT (SELECT count(*) FROM assessments WHERE title = $1)::int AS assessments, (SELECT count(*) FROM assessment_revisions r JOIN assessments a ON a.id = r.assessment_id WHERE a.title = $1)::int AS revisions',
      [title],
    );
    return row!;
  };
  /** The newest audit event. */
  const newest = async (): Promise<{ action: string; decision: Record<string, unknown> }> => {
    const [row] = await app.t.database.raw.query<{ action: string; decision: Record<string, unknown> }>('SELECT action, decision FROM audit_events ORDER BY seq DESC LIMIT 1');
    return row!;
  };
  const form = (fields: [string, string][]): URLSearchParams => new URLSearchParams([['_csrf', csrf], ...fields]);
  /** A draft with a title and one answer; its edit address. */
  const draft = async (title: string, fields: [string, string][] = [['answers[uc.name]', 'Scribe']]): Promise<string> => {
    const res = await c.post('/assessments/new', form([['title', title], ...fields, ['_action', 'draft']]));
    expect(res.status).toBe(303);
    return res.headers.get('location')!.replace(/\?.*$/, '');
  };

  beforeAll(async () => {
    app = await startWebApp(kind, { AUDIT_DENIED_PER_MINUTE: '10000' });
    c = new PageClient(app.url);
    expect((await c.login(app.users.officer)).status).toBe(303);
    csrf = PageClient.csrfOf(await (await c.get('/assessments/new')).text());
  });
  afterAll(async () => {
    await app?.stop();
  });

  describe('a field posted more than once', () => {
    it('refuses a repeated answer at its field (422), shows every value, and stores nothing', async () => {
      const res = await c.post('/assessments/new', form([['title', 'Repeat test'], ['answers[uc.name]', 'First'], ['answers[uc.name]', 'Second'], ['answers[uc.purpose]', 'Kept purpose'], ['_action', 'draft']]));
      expect(res.status).toBe(422);
      const html = await res.text();
      expect(html).toContain('href="#q-uc.name"');
      expect(html).toMatch(/id="q-uc.name-error"><span class="visually-hidden">Error: <\/span>Give one value: the form sent 2 values \(“First”, “Second”\)\./);
      expect(html).toContain('value="First"');
      expect(html).toContain('Kept purpose');
      expect(html).toContain('value="Repeat test"');
      expect(await stored('Repeat test')).toEqual({ assessments: 0, revisions: 0 });
      expect(await newest()).toMatchObject({ action: 'request.refused', decision: { status: 422, reason: 'validation-failed', pointers: ['/answers/uc.name'] } });
    });

    it('refuses an answer posted as a nested field, and a repeated choice of a radio group', async () => {
      const nested = await c.post('/assessments/new', form([['title', 'Nested test'], ['answers[uc.name][x]', 'Deep'], ['_action', 'draft']]));
      expect(nested.status).toBe(422);
      expect(await nested.text()).toContain('Give one value: the form sent a structured value instead of text.');
      const radio = await c.post('/assessments/new', form([['title', 'Nested test'], ['answers[uc.autonomy]', 'suggests_only'], ['answers[uc.autonomy]', 'acts_through_tools'], ['_action', 'draft']]));
      expect(radio.status).toBe(422);
      const html = await radio.text();
      expect(html).toContain('href="#q-uc.autonomy"');
      expect(html).toContain('(“suggests_only”, “acts_through_tools”)');
      expect(await stored('Nested test')).toEqual({ assessments: 0, revisions: 0 });
    });

    it('shows a missing title and the missing answers of a submission in one round', async () => {
      const res = await c.post('/assessments/new', form([['title', ''], ['answers[uc.name]', 'One round'], ['_action', 'submit']]));
      expect(res.status).toBe(422);
      const html = await res.text();
      expect(html).toContain('Give the assessment a title');
      // Exactly what the submission would have refused once the title was given.
      const checked = validateAnswers(CURRENT_QUESTIONNAIRE_VERSION, { 'uc.name': 'One round' });
      expect(checked.ok).toBe(false);
      const missing = checked.ok ? [] : checked.errors.map((e) => e.pointer.slice('/answers/'.length));
      expect(missing.length).toBeGreaterThan(3);
      for (const id of missing) expect([id, html.includes(`href="#q-${id}"`)]).toEqual([id, true]);
      // A draft requires no answer: only the title.
      const draft = await (await c.post('/assessments/new', form([['title', ''], ['answers[uc.name]', 'One round'], ['_action', 'draft']]))).text();
      expect(draft).toContain('Give the assessment a title');
      expect(draft).not.toContain(`href="#q-${missing[0]!}"`);
      expect(await stored('')).toEqual({ assessments: 0, revisions: 0 });
    });

    it('refuses a repeated title (422 at the title), with the values shown', async () => {
      const res = await c.post('/assessments/new', form([['title', 'Title A'], ['title', 'Title B'], ['answers[uc.name]', 'Scribe'], ['_action', 'draft']]));
      expect(res.status).toBe(422);
      const html = await res.text();
      expect(html).toContain('href="#title"');
      expect(html).toContain('Give one title: the form sent 2 values (“Title A”, “Title B”).');
      expect(html).not.toContain('Give the assessment a title');
      expect(html).toMatch(/id="title" name="title" value="Title A"/);
      expect(html).toContain('value="Scribe"');
      expect((await stored('Title A')).assessments + (await stored('Title B')).assessments).toBe(0);
    });

    it('refuses a repeated answer on the edit form, and adds no revision', async () => {
      const edit = await draft('Repeat edit');
      const res = await c.post(edit, form([['answers[uc.name]', 'One'], ['answers[uc.name]', 'Two'], ['_action', 'draft']]));
      expect(res.status).toBe(422);
      expect(await res.text()).toContain('(“One”, “Two”)');
      expect(await stored('Repeat edit')).toEqual({ assessments: 1, revisions: 1 });
    });

    it('still saves every option of a checkbox group', async () => {
      const edit = await draft('Checkbox test', [['answers[uc.users][]', 'clinicians'], ['answers[uc.users][]', 'nurses_allied_health']]);
      const html = await (await c.get(edit)).text();
      expect(html).toMatch(/id="q-uc.users" name="answers\[uc.users\]\[\]" value="clinicians" checked/);
      expect(html).toMatch(/name="answers\[uc.users\]\[\]" value="nurses_allied_health" checked/);
      expect(html).not.toMatch(/value="researchers" checked/);
    });
  });

  describe('numbers', () => {
    const post = async (title: string, value: string): Promise<{ status: number; html: string }> => {
      const res = await c.post('/assessments/new', form([['title', title], ['answers[uc.workforce_users]', value], ['_action', 'draft']]));
      return { status: res.status, html: await res.text() };
    };

    it('refuses a fraction for a whole-number question instead of rounding it away', async () => {
      for (const [i, value] of [`0.${'0'.repeat(400)}1`, '1.0000000000000000001', '2.5'].entries()) {
        const { status, html } = await post(`Fraction ${i}`, value);
        expect([value, status]).toEqual([value, 422]);
        expect(html).toContain('href="#q-uc.workforce_users"');
        expect(html).toContain('Must be a whole number (no decimal places).');
        expect(html).toContain(`value="${value}"`);
        expect(await stored(`Fraction ${i}`)).toEqual({ assessments: 0, revisions: 0 });
      }
    });

    it('gives the range message for an integer too large for a double, not "Must be integer"', async () => {
      const huge = '9'.repeat(400);
      const { status, html } = await post('Huge', huge);
      expect(status).toBe(422);
      expect(html).toContain('Must be &lt;= 10000000.');
      expect(html).not.toContain('Must be integer');
      expect(html).toContain(`value="${huge}"`);
      const negative = await post('Huge', '-12345678901234567890');
      expect(negative.status).toBe(422);
      expect(negative.html).toContain('Must be &gt;= 0.');
      expect(await stored('Huge')).toEqual({ assessments: 0, revisions: 0 });
    });

    it('saves a whole number as typed (and a zero fraction as the same number)', async () => {
      for (const [value, shown] of [['1234', '1234'], ['12.000', '12'], ['007', '7']] as const) {
        const res = await c.post('/assessments/new', form([['title', `Whole ${value}`], ['answers[uc.workforce_users]', value], ['_action', 'draft']]));
        expect([value, res.status]).toEqual([value, 303]);
        const html = await (await c.get(res.headers.get('location')!.replace(/\?.*$/, ''))).text();
        expect(html).toMatch(new RegExp(`id="q-uc.workforce_users" name="answers\\[uc.workforce_users\\]" value="${shown}"`));
      }
    });
  });

  describe('a NUL character (U+0000)', () => {
    it('in one answer is an error at that answer (422), every value shown without it, nothing stored', async () => {
      const res = await c.post('/assessments/new', form([['title', 'Nul test'], ['answers[uc.name]', 'Scr\u0000ibe'], ['answers[uc.purpose]', 'Drafts notes'], ['answers[uc.users][]', 'clinicians'], ['_action', 'draft']]));
      expect(res.status).toBe(422);
      expect(res.headers.get('content-type')).toContain('text/html');
      const html = await res.text();
      expect(html).not.toContain('\u0000');
      expect(html).toContain('href="#q-uc.name"');
      expect(html).toMatch(/id="q-uc.name-error"><span class="visually-hidden">Error: <\/span>Contained a NUL character \(U\+0000\)/);
      expect(html).toContain('value="Scribe"');
      expect(html).toContain('Drafts notes');
      expect(html).toMatch(/value="clinicians" checked/);
      expect(html).toContain('value="Nul test"');
      expect(await stored('Nul test')).toEqual({ assessments: 0, revisions: 0 });
      expect(await newest()).toMatchObject({ action: 'request.refused', decision: { status: 422, pointers: ['/answers/uc.name'] } });
    });

    it('in the title is an error at the title, and in a checkbox value at its group', async () => {
      const title = await c.post('/assessments/new', form([['title', 'Nul\u0000 title'], ['answers[uc.name]', 'Scribe'], ['_action', 'draft']]));
      expect(title.status).toBe(422);
      const html = await title.text();
      expect(html).toContain('href="#title"');
      expect(html).toContain('The title contained a NUL character (U+0000)');
      expect(html).toMatch(/id="title" name="title" value="Nul title"/);
      expect(await stored('Nul title')).toEqual({ assessments: 0, revisions: 0 });
      const option = await c.post('/assessments/new', form([['title', 'Nul option'], ['answers[uc.users][]', 'clini\u0000cians'], ['_action', 'draft']]));
      expect(option.status).toBe(422);
      expect(await option.text()).toContain('href="#q-uc.users"');
      expect(await stored('Nul option')).toEqual({ assessments: 0, revisions: 0 });
    });

    it('in an answer on the edit form is an error there, and adds no revision', async () => {
      const edit = await draft('Nul edit');
      const res = await c.post(edit, form([['answers[uc.name]', 'Scribe'], ['answers[uc.purpose]', 'a\u0000b'], ['_action', 'submit']]));
      expect(res.status).toBe(422);
      const html = await res.text();
      expect(html).toContain('href="#q-uc.purpose"');
      expect(html).toContain('>ab</textarea>');
      expect(await stored('Nul edit')).toEqual({ assessments: 1, revisions: 1 });
    });

    it('outside the answers and the title is still a 400 for the whole form', async () => {
      const res = await c.post('/assessments/new', form([['title', 'Nul action'], ['answers[uc.name]', 'Scribe'], ['_action', 'dra\u0000ft']]));
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('A form field contains a NUL character (U+0000)');
      expect(await stored('Nul action')).toEqual({ assessments: 0, revisions: 0 });
    });
  });

  describe('the title length', () => {
    it('counts code points as the API does: 150 emoji are saved, 201 are refused', async () => {
      const emoji = '\u{1F600}'.repeat(150);
      const ok = await c.post('/assessments/new', form([['title', emoji], ['_action', 'draft']]));
      expect(ok.status).toBe(303);
      expect(await stored(emoji)).toEqual({ assessments: 1, revisions: 1 });
      const long = '\u{1F600}'.repeat(201);
      const refused = await c.post('/assessments/new', form([['title', long], ['_action', 'draft']]));
      expect(refused.status).toBe(422);
      expect(await refused.text()).toContain('The title must be at most 200 characters');
    });

    it('limits the dashboard search field to what the server accepts', async () => {
      const html = await (await c.get('/')).text();
      expect(html).toMatch(/<input type="search" id="q" name="q" value="" maxlength="200">/);
      expect((await c.get(`/?q=${'x'.repeat(201)}`)).status).toBe(400);
    });
  });
});

describe('readNumber (a decimal question)', () => {
  const decimal = { id: 'x.rate', type: 'number', minimum: 0, maximum: 1000000 } as unknown as Question;
  it.each([
    ['0.1', 0.1],
    ['12.50', 12.5],
    ['999999.999', 999999.999],
    ['-0', 0],
  ])('takes %s as %d', (text, value) => {
    expect(readNumber({ ...decimal, minimum: -1 }, text)).toEqual({ value });
  });
  const PRECISION = 'has more digits than can be stored exactly: round it (at most 15 significant digits)';
  it.each([
    ['0.(400 zeros)1', `0.${'0'.repeat(400)}1`, PRECISION],
    ['1.0000000000000000001', '1.0000000000000000001', PRECISION],
    ['a 400-digit decimal', `1${'0'.repeat(400)}.5`, 'must be <= 1000000'],
    ['1000000.5', '1000000.5', 'must be <= 1000000'],
    ['-0.5', '-0.5', 'must be >= 0'],
    ['1e3', '1e3', 'must be a number'],
  ])('refuses %s', (_label, text, detail) => {
    expect(readNumber(decimal, text)).toEqual({ detail });
  });
});
