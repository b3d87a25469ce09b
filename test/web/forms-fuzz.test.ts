/**
 * The forms, like the API (test/http/fuzz.test.ts), answer nothing a browser can send with a
 * 500: every form the pages render (found by reading the pages as an officer, an auditor and an
 * administrator) is posted with fields changed, dropped, repeated or added, with bracketed and
 * prototype names, or with a body that is not a form; the pages are fetched with random ids and
 * query strings. Every answer is below 500, and every error an HTML page. Every post leaves its
 * trace in the audit trail, as the API's requests do: one that succeeded an event of what it did,
 * one refused (400, 409, 413, 415, 422) a `request.refused` event, one denied (403) a
 * `request.denied` event.
 */
import fc from 'fast-check';
import { DATABASE_KINDS } from '../support/databases.js';
import { answersToForm, example } from './helpers.js';
import { PageClient, startWebApp, type WebApp } from './support.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
/** What a browser sends: errors outside the page handlers are negotiated (pageErrors). */
const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

interface Form {
  readonly client: number;
  readonly action: string;
  readonly fields: readonly (readonly [string, string])[];
}

const decode = (s: string): string => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The post forms of a page with their fields' names and values (inputs, selected options, text areas). */
function formsOf(html: string, client: number): Form[] {
  const forms: Form[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const attrs = m[1]!;
    if (!/method="post"/i.test(attrs)) continue;
    const action = decode(/action="([^"]*)"/.exec(attrs)?.[1] ?? '');
    if (action === '' || action === '/logout') continue;
    const fields: [string, string][] = [];
    for (const input of m[2]!.matchAll(/<input\b([^>]*)>/g)) {
      const name = /name="([^"]*)"/.exec(input[1]!)?.[1];
      if (name === undefined) continue;
      const checkable = /type="(checkbox|radio)"/.test(input[1]!);
      if (checkable && !/\bchecked\b/.test(input[1]!)) continue;
      fields.push([decode(name), decode(/value="([^"]*)"/.exec(input[1]!)?.[1] ?? '')]);
    }
    for (const area of m[2]!.matchAll(/<textarea\b[^>]*name="([^"]*)"[^>]*>([\s\S]*?)<\/textarea>/g)) fields.push([decode(area[1]!), decode(area[2]!)]);
    for (const select of m[2]!.matchAll(/<select\b[^>]*name="([^"]*)"[^>]*>([\s\S]*?)<\/select>/g)) {
      const option = /<option\b[^>]*value="([^"]*)"[^>]*\bselected\b/.exec(select[2]!) ?? /<option\b[^>]*value="([^"]*)"/.exec(select[2]!);
      if (option) fields.push([decode(select[1]!), decode(option[1]!)]);
    }
    for (const button of m[2]!.matchAll(/<button\b[^>]*name="([^"]*)"[^>]*value="([^"]*)"/g)) fields.push([decode(button[1]!), decode(button[2]!)]);
    forms.push({ client, action, fields });
  }
  return forms;
}

describe.each(DATABASE_KINDS)('generated form posts on %s', (kind) => {
  let app: WebApp;
  let clients: PageClient[];
  let forms: Form[];
  let pages: string[];

  beforeAll(async () => {
    // Every denial and refusal its own event (none summarised), so that each post can be checked.
    app = await startWebApp(kind, { AUDIT_DENIED_PER_MINUTE: '10000' });
    clients = [new PageClient(app.url), new PageClient(app.url), new PageClient(app.url)];
    expect((await clients[0]!.login(app.users.officer)).status).toBe(303);
    expect((await clients[1]!.login(app.users.auditor)).status).toBe(303);
    expect((await clients[2]!.login(app.users.admin)).status).toBe(303);
    // One submitted assessment, so that its pages and forms exist.
    const officer = clients[0]!;
    const csrf = PageClient.csrfOf(await (await officer.get('/assessments/new')).text());
    const created = await officer.post('/assessments/new', answersToForm(example('well-controlled'), new URLSearchParams({ _csrf: csrf, title: 'Fuzzed', _action: 'submit' })));
    expect(created.status).toBe(303);
    // The submission leads to its report's page, which links to its assessment.
    const report = /^\/reports\/([0-9a-f-]{36})/.exec(created.headers.get('location')!)![1]!;
    const assessment = /\/assessments\/([0-9a-f-]{36})/.exec(await (await officer.get(`/reports/${report}`)).text())![1]!;
    pages = ['/', '/assessments/new', `/assessments/${assessment}`, `/assessments/${assessment}/edit`, `/assessments/${assessment}/compare`, `/assessments/${assessment}/audit`, `/reports/${report}`, '/verify', '/audit/verify', '/admin', '/admin/users', '/admin/organizations', '/admin/clients', '/admin/grants', '/admin/keys', '/account/password'];
    forms = [];
    for (let client = 0; client < clients.length; client++) {
      for (const page of pages) {
        const res = await clients[client]!.get(page);
        if (res.status === 200) forms.push(...formsOf(await res.text(), client));
      }
    }
    // The officer's questionnaire, the verify forms and the administration's forms at least.
    expect(new Set(forms.map((f) => f.action.replace(/[0-9a-f-]{36}/g, ':id'))).size).toBeGreaterThan(8);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it(`answers ${RUNS} generated form posts and page views below 500, errors as HTML`, async () => {
    const value = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom('', 'on', 'true', '-1', '1e400', 'x'.repeat(20_000), '__proto__', 'admin', 'very_high'));
    const name = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'answers[__proto__]', 'answers[uc.name][]', 'answers[][x]', 'answers[a][b][c]', '_action', '_csrf', 'roles[]', 'title'));
    const edit = fc.oneof(
      fc.tuple(fc.constant('set' as const), fc.nat(), value),
      fc.tuple(fc.constant('drop' as const), fc.nat(), fc.constant('')),
      fc.tuple(fc.constant('repeat' as const), fc.nat(), value),
      fc.tuple(fc.constant('add' as const), name, value),
    );
    const post = fc.record({
      form: fc.nat(),
      edits: fc.array(edit, { maxLength: 4 }),
      body: fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) }),
      type: fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded', 'application/json', 'text/plain'),
    });
    const view = fc.record({ client: fc.nat(2), page: fc.nat(), id: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 40 }).map(encodeURIComponent), fc.constantFrom('%zz', '00000000-0000-0000-0000-000000000000')), query: fc.oneof(fc.constant(''), fc.array(fc.tuple(fc.constantFrom('q', 'status', 'cursor', 'from', 'to', 'next', 'done', 'saved'), fc.string({ maxLength: 20 })), { maxLength: 3 }).map((pairs) => new URLSearchParams(pairs).toString())) });
    const trail = async (): Promise<{ events: number; last: string | undefined }> => {
      const [row] = await app.t.database.raw.query<{ events: number; last: string | null }>('SELECT (SELECT count(*) FROM audit_events)::int AS events, (SELECT action FROM audit_events ORDER BY seq DESC LIMIT 1) AS last');
      return { events: row!.events, last: row!.last ?? undefined };
    };
    const seen = new Map<number, number>();
    const check = async (res: Response, what: string): Promise<void> => {
      const text = await res.text();
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      if (res.status >= 500) throw new Error(`${what} answered ${res.status}: ${text.slice(0, 300)}`);
      if (res.status >= 400) expect(res.headers.get('content-type')).toContain('text/html');
    };
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 3, arbitrary: post.map((p) => ({ post: p })) }, { weight: 1, arbitrary: view.map((v) => ({ view: v })) }), async (r) => {
        if ('view' in r) {
          const page = pages[r.view.page % pages.length]!;
          const path = r.view.id === undefined ? page : page.replace(/[0-9a-f-]{36}/, r.view.id);
          await check(await clients[r.view.client]!.get(`${path}${r.view.query ? `?${r.view.query}` : ''}`, BROWSER), `GET ${path}`);
          return;
        }
        const form = forms[r.post.form % forms.length]!;
        const fields = form.fields.map(([k, v]) => [k, v] as [string, string]);
        for (const [op, at, v] of r.post.edits) {
          // The sign-in token stays (its checks have their own tests), or every post would stop there.
          const editable = fields.flatMap(([k], index) => (k === '_csrf' ? [] : [index]));
          const i = typeof at === 'number' && editable.length > 0 ? editable[at % editable.length]! : -1;
          if (op === 'set' && fields[i]) fields[i] = [fields[i][0], v];
          if (op === 'drop' && fields[i]) fields.splice(i, 1);
          if (op === 'repeat' && fields[i]) fields.push([fields[i][0], v]);
          if (op === 'add') fields.push([at, v]);
        }
        const body = r.post.body ?? new URLSearchParams(fields).toString();
        const before = await trail();
        const res = await clients[form.client]!.post(form.action, body, { ...BROWSER, 'content-type': r.post.type });
        await check(res, `POST ${form.action}`);
        // What the post left in the audit trail: the newest event's action, as the status calls for.
        const after = await trail();
        const expected = res.status < 400 ? 'an event' : [400, 409, 413, 415, 422].includes(res.status) ? 'request.refused' : res.status === 403 ? 'request.denied' : 'anything';
        const got = after.events === before.events ? 'nothing' : expected === 'an event' ? 'an event' : after.last;
        if (expected !== 'anything') expect([`POST ${form.action} ${res.status}`, got]).toEqual([`POST ${form.action} ${res.status}`, expected]);
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261207), endOnFailure: true },
    );
    if (process.env.FUZZ_RUNS) process.stdout.write(`statuses: ${JSON.stringify(Object.fromEntries(seen))}\n`);
    expect([...seen.keys()].some((status) => status < 400)).toBe(true);
  }, 180_000);
});
