/**
 * The pages in a real browser (Debian's Chromium through playwright-core), against a real server
 * on PGlite: a compliance officer signs in, fills the poorly-controlled example through the form
 * (a branch and a validation error on the way), saves a draft, resumes, submits, reads the
 * findings, downloads; an auditor verifies the report; an administrator opens the admin pages; a
 * user changes their own password.
 * A free text of `<script>alert(1)</script>` must show as text everywhere and never run. axe-core
 * checks each main page; screenshots of the main pages go to a scratch directory, or to
 * docs/screenshots/ with SCREENSHOTS_DIR=docs/screenshots.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { SYSTEM_ACTOR } from '../../src/audit/record.js';
import { verifyAuditExport } from '../../src/audit/verify-export.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { secretSha256 } from '../../src/auth/secrets.js';
import { createUser } from '../../src/auth/users.js';
import { answersToForm, example, poorlyControlled, ROOT } from './helpers.js';
import { PASSWORD, startWebApp, type WebApp } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
const HAS_CHROMIUM = fs.existsSync(CHROMIUM);
const XSS = '<script>alert(1)</script>';
/**
 * Where screenshots go: a scratch directory, so that `npm test` leaves the checkout as it found
 * it; `SCREENSHOTS_DIR=docs/screenshots` refreshes the documentation's images.
 */
const SHOTS = process.env.SCREENSHOTS_DIR ? path.resolve(ROOT, process.env.SCREENSHOTS_DIR) : path.join(os.tmpdir(), 'hipaa-ai-risk-screenshots');
const AXE = path.join(ROOT, 'node_modules/axe-core/axe.min.js');
const ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

if (!HAS_CHROMIUM) {
  it('runs the browser tests', () => {
    process.stdout.write(`Chromium not found at ${CHROMIUM}: browser tests skipped\n`);
  });
} else {
  describe('pages in a real browser', () => {
    let app: WebApp;
    let browser: Browser;
    const dialogs: string[] = [];
    const cspErrors: string[] = [];
    const state: { reportId?: string; assessmentId?: string } = {};

    async function newContext(): Promise<BrowserContext> {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: app.url, acceptDownloads: true });
      context.setDefaultTimeout(10_000);
      context.on('page', watch);
      return context;
    }

    function watch(page: Page): void {
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to (execute|apply|load)/i.test(m.text())) cspErrors.push(m.text());
      });
    }

    /** Runs axe on the URL in a twin context that bypasses CSP (to inject axe), with the same cookies. */
    async function axe(from: BrowserContext, url: string): Promise<void> {
      const twin = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: app.url, bypassCSP: true, storageState: await from.storageState() });
      try {
        const page = await twin.newPage();
        await page.goto(url);
        await page.addScriptTag({ path: AXE });
        const violations = await page.evaluate<AxeViolation[]>('axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations)');
        const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact ?? ''}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
        expect({ url, serious }).toEqual({ url, serious: [] });
      } finally {
        await twin.close();
      }
    }

    async function shot(page: Page, name: string): Promise<void> {
      fs.mkdirSync(SHOTS, { recursive: true });
      const file = path.join(SHOTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: false });
      expect(fs.statSync(file).size).toBeLessThan(400 * 1024);
    }

    async function signIn(page: Page, email: string): Promise<void> {
      await page.goto('/login');
      await page.getByLabel('E-mail address').fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((u) => !u.pathname.startsWith('/login'));
    }

    /** Fills answers in the order the questions appear, so every gate is set before its follow-ups. */
    async function fillAnswers(page: Page, answers: Record<string, unknown>): Promise<void> {
      const order = [...(await page.content()).matchAll(/data-question="([^"]+)"/g)].map((m) => m[1]!);
      const ids = Object.keys(answers).sort((a, b) => order.indexOf(a) - order.indexOf(b));
      for (const id of ids) {
        const value = answers[id];
        if (Array.isArray(value)) {
          const boxes = page.locator(`input[name="answers[${id}][]"]`);
          const count = await boxes.count();
          for (let i = 0; i < count; i++) {
            const box = boxes.nth(i);
            const want = value.map(String).includes((await box.getAttribute('value')) ?? '');
            if ((await box.isChecked()) !== want) await box.setChecked(want);
          }
        } else if (await page.locator(`input[type=radio][name="answers[${id}]"]`).count()) {
          await page.locator(`input[type=radio][name="answers[${id}]"][value="${String(value)}"]`).check();
        } else {
          await page.locator(`[name="answers[${id}]"]`).fill(String(value));
        }
      }
    }

    beforeAll(async () => {
      app = await startWebApp('pglite');
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    });
    afterAll(async () => {
      await browser?.close();
      await app?.stop();
      expect(dialogs).toEqual([]);
      expect(cspErrors).toEqual([]);
    });

    /** Creates an assessment through the form, server side (same cookies and CSRF token as the page). */
    async function postAssessment(page: Page, title: string, answers: Record<string, unknown>, action: 'draft' | 'submit'): Promise<string> {
      const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
      const form = answersToForm(answers, new URLSearchParams({ _csrf: csrf, title, _action: action }));
      const res = await page.request.post('/assessments/new', { data: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', origin: app.url }, maxRedirects: 0 });
      expect(res.status()).toBe(303);
      return res.headers().location!;
    }

    it('a compliance officer fills, saves, resumes, submits and reads the result', async () => {
      const context = await newContext();
      const page = await context.newPage();
      await page.goto('/');
      await expect(page.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
      await shot(page, 'login');
      await axe(context, '/login');
      await signIn(page, app.users.officer);
      // Two earlier assessments, so the dashboard has something to show.
      await postAssessment(page, 'Ambient scribe in primary care', example('well-controlled'), 'submit');
      await postAssessment(page, 'Prior authorization assistant', { 'uc.name': 'Prior authorization assistant', 'uc.domain': 'administrative' }, 'draft');

      await page.goto('/');
      await page.getByRole('link', { name: 'Start an assessment' }).first().click();
      await page.waitForURL('**/assessments/new');
      await page.getByLabel('Title').fill('Patient messaging agent');

      // Branching, live: the follow-up on tools appears when the AI acts through tools.
      const tools = page.locator('[data-question="uc.tools_description"]');
      await expect(tools.isHidden()).resolves.toBe(true);
      await page.locator('input[name="answers[uc.autonomy]"][value="acts_through_tools"]').check();
      await expect(tools.isVisible()).resolves.toBe(true);

      // A validation error from the server: nothing typed is lost, the summary links to the field.
      await page.locator('[name="answers[uc.purpose]"]').fill(XSS);
      await page.locator('[name="answers[uc.workforce_users]"]').fill('lots');
      await page.getByRole('button', { name: 'Save draft' }).click();
      await page.waitForSelector('.error-summary');
      await shot(page, 'questionnaire-errors');
      await expect(page.locator('[name="answers[uc.purpose]"]').inputValue()).resolves.toBe(XSS);
      await expect(page.getByLabel('Title').inputValue()).resolves.toBe('Patient messaging agent');
      await expect(tools.isVisible()).resolves.toBe(true);
      await page.locator('.error-summary a[href="#q-uc.workforce_users"]').click();
      await expect(page.evaluate('document.activeElement && document.activeElement.id')).resolves.toBe('q-uc.workforce_users');
      await page.locator('[name="answers[uc.workforce_users]"]').fill('250');

      // Fill the poorly-controlled example through the form, save a draft.
      await fillAnswers(page, { ...poorlyControlled(), 'uc.purpose': XSS });
      await page.getByRole('button', { name: 'Save draft' }).click();
      await page.waitForURL(/\/assessments\/[0-9a-f-]{36}\/edit\?saved=1/);
      await expect(page.getByText(/Draft saved as revision 1/).isVisible()).resolves.toBe(true);

      // Resume from the dashboard: the answers are there.
      await page.goto('/');
      await shot(page, 'dashboard');
      await axe(context, '/');
      await page.getByRole('link', { name: 'Continue Patient messaging agent' }).click();
      await page.waitForURL(/\/edit$/);
      await expect(page.locator('[name="answers[uc.purpose]"]').inputValue()).resolves.toBe(XSS);
      await expect(page.locator('input[name="answers[uc.autonomy]"][value="acts_through_tools"]').isChecked()).resolves.toBe(true);
      await page.evaluate('document.getElementById("s-administrative").scrollIntoView()');
      await shot(page, 'questionnaire');
      await axe(context, page.url());

      // Submit: the result.
      await page.getByRole('button', { name: 'Submit for evaluation' }).click();
      await page.waitForURL(/\/reports\/[0-9a-f-]{36}\?submitted=1/);
      const reportId = /reports\/([0-9a-f-]{36})/.exec(page.url())![1]!;
      await expect(page.locator('.overall-level').textContent()).resolves.toMatch(/High|Very high/);
      await expect(page.getByRole('heading', { name: 'Findings by safeguard family' }).isVisible()).resolves.toBe(true);
      await expect(page.locator('.heatmap td').count()).resolves.toBe(25);
      await shot(page, 'result');
      await axe(context, `/reports/${reportId}`);

      // Downloads: JSON, signature and PDF through the links.
      const json = await page.request.get(`/reports/${reportId}/download/json`);
      expect(json.status()).toBe(200);
      expect(JSON.parse(await json.text()).reportId).toBe(reportId);
      expect((await page.request.get(`/reports/${reportId}/download/signature`)).status()).toBe(200);
      const pdfHref = await page.locator('a[data-download="pdf"]').getAttribute('href');
      expect(pdfHref).toBe(`/reports/${reportId}/download/pdf`);
      const pdf = await page.request.get(pdfHref!);
      expect(pdf.status()).toBe(200);
      expect(pdf.headers()['content-type']).toContain('application/pdf');
      expect((await pdf.body()).subarray(0, 5).toString()).toBe('%PDF-');

      // Revise and compare.
      await page.getByRole('link', { name: 'Revise' }).click();
      await page.waitForURL(/\/edit$/);
      await page.locator('input[name="answers[sec.308.a_1_ii_a.risk_analysis]"][value="implemented"]').check();
      await page.getByRole('button', { name: 'Submit for evaluation' }).click();
      await page.waitForURL(/\/reports\/[0-9a-f-]{36}\?submitted=1/);
      await page.getByRole('link', { name: 'Compare with previous' }).click();
      await page.waitForURL(/\/compare\?/);
      await expect(page.getByText('§164.308(a)(1)(ii)(A)').first().isVisible()).resolves.toBe(true);
      await axe(context, page.url());

      // A free text that is a script, as a title and an answer: text on every page, never run.
      await page.goto('/assessments/new');
      const xss = await postAssessment(page, XSS, { ...poorlyControlled(), 'uc.name': XSS, 'uc.purpose': XSS }, 'submit');
      state.reportId = /reports\/([0-9a-f-]{36})/.exec(xss)![1]!;
      await page.goto(xss);
      await expect(page.getByRole('heading', { level: 1, name: XSS }).isVisible()).resolves.toBe(true);
      state.assessmentId = /\/assessments\/([0-9a-f-]{36})\/edit/.exec(await page.content())![1]!;
      for (const url of ['/', `/assessments/${state.assessmentId}`, `/assessments/${state.assessmentId}/edit`]) {
        await page.goto(url);
        await expect(page.getByText(XSS).first().isVisible()).resolves.toBe(true);
      }
      await expect(page.locator('[name="answers[uc.purpose]"]').inputValue()).resolves.toBe(XSS);
      await context.close();
      // The whole journey (123 questions, axe scans, screenshots, a first PDF render with the
      // worker pool starting) took 40–56 s on a slow 2-core host: more than the default 60 s
      // leaves room for.
    }, 180_000);

    it('an auditor reads the report, verifies it from files and reads the audit trail', async () => {
      const context = await newContext();
      const page = await context.newPage();
      await signIn(page, app.users.auditor);
      await expect(page.getByRole('heading', { name: 'Reports for audit' }).isVisible()).resolves.toBe(true);
      await expect(page.getByText(XSS).first().isVisible()).resolves.toBe(true);
      await page.goto(`/reports/${state.reportId!}`);
      await expect(page.getByRole('link', { name: 'Revise' }).count()).resolves.toBe(0);
      const bytes = await (await page.request.get(`/v1/reports/${state.reportId!}`)).body();
      const jws = await (await page.request.get(`/v1/reports/${state.reportId!}/signature`)).body();

      await page.goto('/verify');
      await page.locator('#report-file').setInputFiles({ name: 'report.json', mimeType: 'application/json', buffer: bytes });
      await page.locator('#jws-file').setInputFiles({ name: 'report.jws', mimeType: 'application/jose', buffer: jws });
      await page.waitForFunction('document.getElementById("jws").value !== "" && document.getElementById("report").value !== ""');
      await page.getByRole('button', { name: 'Verify' }).click();
      await expect(page.getByRole('heading', { name: /Signature valid/ }).isVisible()).resolves.toBe(true);
      await expect(page.getByText(XSS).first().isVisible()).resolves.toBe(true);
      await shot(page, 'auditor-verify');
      await axe(context, '/verify');

      await page.goto(`/assessments/${state.assessmentId!}/audit`);
      await expect(page.getByText('assessment.created').first().isVisible()).resolves.toBe(true);
      await expect(page.getByRole('heading', { level: 1, name: `Audit trail: ${XSS}` }).isVisible()).resolves.toBe(true);
      await axe(context, page.url());

      // The organisations' whole trail, newest first, filtered by the form.
      await page.getByRole('link', { name: 'Audit trail' }).click();
      await page.waitForURL('**/audit');
      await page.getByLabel('Action').selectOption('assessment.created');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL('**/audit?*action=assessment.created*');
      await expect(page.getByRole('cell', { name: 'assessment.created' }).first().isVisible()).resolves.toBe(true);
      await expect(page.getByRole('cell', { name: 'auth.login.succeeded' }).count()).resolves.toBe(0);
      await axe(context, page.url());

      // The trail, downloaded by a click as a file, proves itself against the published keys.
      await page.getByRole('link', { name: 'Audit chain' }).click();
      await page.waitForURL('**/audit/verify');
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download the audit trail (JSON Lines)' }).click()]);
      expect(download.suggestedFilename()).toBe('audit-export.jsonl');
      const exported = fs.readFileSync(await download.path(), 'utf8');
      const jwks = (await (await page.request.get('/.well-known/jwks.json')).json()) as unknown;
      await expect(verifyAuditExport(exported, jwks)).resolves.toMatchObject({ valid: true });
      await axe(context, '/audit/verify');
      await context.close();
    });

    it('an administrator manages users and reads the keys', async () => {
      const context = await newContext();
      const page = await context.newPage();
      await signIn(page, app.users.admin);
      await page.waitForURL('**/admin');
      await page.getByRole('link', { name: 'Users', exact: true }).click();
      await page.getByLabel('E-mail address').fill('new.officer@riverside.test');
      await page.getByRole('button', { name: 'Create user' }).click();
      await expect(page.getByText(/One-time password/).isVisible()).resolves.toBe(true);
      await shot(page, 'admin');
      await axe(context, '/admin/users');
      await axe(context, '/admin/clients');
      await axe(context, '/admin/keys');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL('**/login?signed_out=1');
      await context.close();
    });

    it('changes one\'s own password from the header\'s link (a mismatched confirmation first), then signs in with it', async () => {
      // A user of its own: the other tests sign in with PASSWORD.
      const email = 'changing.officer@riverside.test';
      const passwordHash = await hashPassword(PASSWORD, 10);
      await app.t.database.db.transaction().execute((trx) => createUser(trx, { email, name: null, organizationId: app.orgs.main, roles: ['compliance_officer'], passwordHash }, { actor: SYSTEM_ACTOR, request: null, now: new Date() }));
      const context = await newContext();
      const page = await context.newPage();
      await signIn(page, email);
      await page.getByRole('link', { name: 'Change password' }).click();
      await page.waitForURL('**/account/password');
      await axe(context, '/account/password');
      const chosen = 'violet-Harbour-lantern-1131';
      const fill = async (confirm: string): Promise<void> => {
        await page.getByLabel('Current password').fill(PASSWORD);
        await page.getByLabel('New password', { exact: true }).fill(chosen);
        await page.getByLabel('Confirm the new password').fill(confirm);
        await page.getByRole('button', { name: 'Change password' }).click();
      };
      await fill(`${chosen}!`);
      await expect(page.locator('#p-confirm-error').textContent()).resolves.toContain('does not match');
      await expect(page.locator('.error-summary a[href="#p-confirm"]').count()).resolves.toBe(1);
      // Nothing typed comes back.
      await expect(page.inputValue('#p-current')).resolves.toBe('');
      await fill(chosen);
      await page.waitForURL('**/account/password?done=1');
      await expect(page.getByText('Your password was changed; your other sessions were signed out.').isVisible()).resolves.toBe(true);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL('**/login?signed_out=1');
      await page.getByLabel('E-mail address').fill(email);
      await page.getByLabel('Password').fill(chosen);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((u) => !u.pathname.startsWith('/login'));
      await context.close();
    });

    it('answers a reload of "Create client" and "Rotate secret" with "already done", never a second client or rotation', async () => {
      // Its own context: the confirmations asked before rotating are expected here, and accepted.
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: app.url });
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      const confirms: string[] = [];
      page.on('dialog', (d) => {
        confirms.push(d.message());
        void d.accept();
      });
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to (execute|apply|load)/i.test(m.text())) cspErrors.push(m.text());
      });
      await signIn(page, app.users.admin);
      const rowsNamed = (name: string) => page.locator('tbody tr th', { hasText: name }).count();
      await page.goto('/admin/clients');
      await page.getByLabel('Name').fill('Reloaded integration');
      await page.getByLabel('reports:read').check();
      const created = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Create client' }).click()]);
      expect(created[0].status()).toBe(201);
      const secret = (await page.locator('code.secret').textContent())!;
      expect(secret).toMatch(/^harc_/);

      const reloaded = await page.reload();
      expect([reloaded?.request().method(), reloaded?.status()]).toEqual(['POST', 409]);
      await expect(page.getByText(/This form was already sent/).isVisible()).resolves.toBe(true);
      await expect(page.locator('code.secret').count()).resolves.toBe(0);
      await expect(rowsNamed('Reloaded integration')).resolves.toBe(1);

      await page.goto('/admin/clients');
      const row = page.locator('tbody tr', { hasText: 'Reloaded integration' });
      const rotated = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), row.getByRole('button', { name: /Rotate secret/ }).click()]);
      expect(rotated[0].status()).toBe(200);
      expect(confirms).toEqual(['Rotate the secret of Reloaded integration? The old secret and its tokens stop working at once.']);
      const newSecret = (await page.locator('code.secret').textContent())!;
      expect(newSecret).not.toBe(secret);

      const again = await page.reload();
      expect([again?.request().method(), again?.status()]).toEqual(['POST', 409]);
      await expect(page.getByText(/The secret of Reloaded integration was already rotated/).isVisible()).resolves.toBe(true);
      await expect(page.locator('code.secret').count()).resolves.toBe(0);
      // One rotation: the secret the page showed is the one stored.
      const stored = await app.t.database.db.selectFrom('api_clients').select('secret_sha256').where('name', '=', 'Reloaded integration').executeTakeFirstOrThrow();
      expect(stored.secret_sha256).toBe(secretSha256(newSecret));
      await context.close();
    });

    it('keeps every page within a 320 px wide screen', async () => {
      const measure = async (page: Page, url: string): Promise<{ url: string; scrollWidth: number }> => {
        await page.goto(url);
        return { url, scrollWidth: await page.evaluate<number>('document.documentElement.scrollWidth') };
      };
      const narrow = async (email: string, urls: string[]): Promise<void> => {
        const context = await browser.newContext({ viewport: { width: 320, height: 640 }, baseURL: app.url });
        context.setDefaultTimeout(10_000);
        const page = await context.newPage();
        watch(page);
        await signIn(page, email);
        for (const url of urls) {
          const m = await measure(page, url);
          expect(m).toEqual({ url, scrollWidth: expect.any(Number) });
          expect({ url, fits: m.scrollWidth <= 320 + 1 }).toEqual({ url, fits: true });
        }
        await context.close();
      };
      await narrow(app.users.officer, ['/assessments/new', `/reports/${state.reportId!}`, `/assessments/${state.assessmentId!}`, '/', '/account/password']);
      await narrow(app.users.admin, ['/admin', '/admin/users', '/admin/clients', '/admin/grants', '/admin/keys']);
    });

    it('saves a draft on Enter in a field of the questionnaire, and keeps the focused field above the action bar', async () => {
      const context = await newContext();
      const page = await context.newPage();
      await signIn(page, app.users.officer);
      await page.goto('/assessments/new');
      await page.getByLabel('Title').fill('Enter key');
      await page.locator('[name="answers[uc.name]"]').fill('Scribe');
      await page.locator('[name="answers[uc.name]"]').press('Enter');
      await page.waitForURL(/\/assessments\/[0-9a-f-]{36}\/edit\?saved=1$/);
      await expect(page.getByText(/Draft saved as revision 1/).isVisible()).resolves.toBe(true);

      // Tabbing through the form, on a desktop and on a phone: the field with focus is never under
      // the sticky action bar.
      const hidden: string[] = [];
      for (const viewport of [{ width: 1280, height: 800 }, { width: 320, height: 640 }]) {
        await page.setViewportSize(viewport);
        await page.locator('[name="answers[uc.name]"]').focus();
        for (let i = 0; i < 40; i++) {
          await page.keyboard.press('Tab');
          const where = await page.evaluate<{ id: string; inBar: boolean; bottom: number; barTop: number }>(`(() => {
            const el = document.activeElement;
            const r = el.getBoundingClientRect();
            return { id: el.id || el.tagName, inBar: el.closest('.action-bar') !== null, bottom: r.bottom, barTop: document.querySelector('.action-bar-inner').getBoundingClientRect().top };
          })()`);
          if (!where.inBar && where.bottom > where.barTop) hidden.push(`${viewport.width} px, ${where.id}: bottom ${where.bottom} > bar ${where.barTop}`);
        }
      }
      expect(hidden).toEqual([]);
      await context.close();
    });

    it('works without JavaScript: branching by "Update questions"', async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: app.url, javaScriptEnabled: false });
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      watch(page);
      await signIn(page, app.users.officer);
      await page.goto('/assessments/new');
      await page.getByLabel('Title').fill('No script');
      await page.locator('input[name="answers[uc.autonomy]"][value="acts_through_tools"]').check();
      await expect(page.locator('[data-question="uc.tools_description"]').isHidden()).resolves.toBe(true);
      await page.locator('#s-use_case').getByRole('button', { name: 'Update questions' }).click();
      await page.waitForURL(/updated=1/);
      await expect(page.locator('[data-question="uc.tools_description"]').isVisible()).resolves.toBe(true);
      await context.close();
    });
  });
}
