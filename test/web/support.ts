/**
 * The real app (pages and API, as src/http/app.ts wires them) on a known port, over a fresh
 * database, with a few users.
 */
import type { ReportBuilder } from '../../src/assessments/report-builder.js';
import fs from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { SYSTEM_ACTOR } from '../../src/audit/record.js';
import { createAuditorGrant } from '../../src/auth/auditor-grants.js';
import { createOrganization } from '../../src/auth/organizations.js';
import { hashPassword } from '../../src/auth/passwords.js';
import type { Role } from '../../src/auth/permissions.js';
import { createUser } from '../../src/auth/users.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createApp } from '../../src/http/app.js';
import { closeSharedPdfPool } from '../../src/reports/pdf/pool.js';
import { closeSharedReportPool } from '../../src/assessments/report-builder.js';
import { listen, type RunningServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logging/logger.js';
import type { ReportKeyRing } from '../../src/signing/report-keys.js';
import { loadRotatableKeyRing } from '../../src/signing/rotatable.js';
import { testTokenKeyRing } from '../support/app.js';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from '../support/databases.js';
import { tempReportKeys, testPdfIdentity } from '../support/fixtures.js';

export const PASSWORD = 'correct horse battery staple 42';

export interface WebUsers {
  readonly officer: string;
  readonly auditor: string;
  readonly admin: string;
  readonly otherOfficer: string;
}

export interface WebApp {
  readonly url: string;
  readonly t: TestDatabase;
  readonly config: Config;
  readonly reportKeys: ReportKeyRing;
  readonly users: WebUsers;
  readonly orgs: { readonly main: string; readonly other: string };
  /** Moves the app's clock forward (session expiry tests). */
  advance(ms: number): void;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts the app with the pages, and creates: two organisations, an officer in each, an auditor
 * granted the main one, an admin. With `rotatableKeys`, the report-signing ring is a
 * RotatableKeyRing over a scratch key directory, as the embedded default is (the keys page can rotate it).
 */
export async function startWebApp(kind: DatabaseKind, env: Record<string, string> = {}, options: { rotatableKeys?: boolean; reportBuilder?: ReportBuilder } = {}): Promise<WebApp> {
  const t = await createTestDatabase(kind);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Idle connections kept longer than fetch's 4 s, as in test/support/app.ts (no ECONNRESET on a busy host).
  const config = loadConfig({ NODE_ENV: 'test', PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: url, LOG_LEVEL: 'warn', PASSWORD_HASH_COST: '10', KEEP_ALIVE_TIMEOUT_MS: '60000', ...env });
  let offset = 0;
  const clock = (): Date => new Date(Date.now() + offset);
  // WEB_TEST_LOG=1 shows the server's log lines (errors of pages included) on standard error.
  const logger = createLogger(config.logLevel, process.env.WEB_TEST_LOG ? process.stderr : new Writable({ write: (_c, _e, cb) => cb() }));
  const tokenKeys = await testTokenKeyRing();
  const reportKeys = options.rotatableKeys ? await loadRotatableKeyRing('report', {}, fs.mkdtempSync(path.join(os.tmpdir(), 'web-keys-'))) : await tempReportKeys();
  const app = createApp({ config, database: t.database, logger, tokenKeys, reportKeys, pdfSigner: await testPdfIdentity(), clock, strictTemplates: true, ...(options.reportBuilder ? { reportBuilder: options.reportBuilder } : {}) });
  const server: RunningServer = await listen(app, config);

  const db = t.database.db;
  const audit = { actor: SYSTEM_ACTOR, request: null, now: new Date() };
  const hash = await hashPassword(PASSWORD, 10);
  const made = await db.transaction().execute(async (trx) => {
    const main = await createOrganization(trx, { name: 'Riverside Health' }, audit);
    const other = await createOrganization(trx, { name: 'Other Clinic' }, audit);
    const user = (email: string, org: string, roles: Role[]) => createUser(trx, { email, name: null, organizationId: org, roles, passwordHash: hash }, audit);
    const officer = await user('officer@riverside.test', main.id, ['compliance_officer']);
    const auditor = await user('auditor@audit.test', other.id, ['auditor']);
    const admin = await user('admin@riverside.test', main.id, ['admin']);
    const otherOfficer = await user('officer@other.test', other.id, ['compliance_officer']);
    await createAuditorGrant(trx, { auditorId: auditor.id, organizationId: main.id }, audit);
    return { main: main.id, other: other.id, users: { officer: officer.email, auditor: auditor.email, admin: admin.email, otherOfficer: otherOfficer.email } };
  });
  return {
    url: server.url.replace('localhost', '127.0.0.1'),
    t,
    config,
    reportKeys,
    users: made.users,
    orgs: { main: made.main, other: made.other },
    advance(ms) {
      offset += ms;
    },
    async stop() {
      await server.stop(1000);
      // The PDF worker threads would keep an in-band jest run alive.
      await closeSharedPdfPool();
      await closeSharedReportPool();
      await t.drop();
    },
  };
}

/** A minimal cookie-keeping client over fetch, for server-side page tests (no browser). */
export class PageClient {
  private readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  private store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/max-age=0/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  dropCookie(name: string): void {
    this.cookies.delete(name);
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(this.base + path, { redirect: 'manual', headers: { cookie: this.cookieHeader(), ...headers } });
    this.store(res);
    return res;
  }

  async post(path: string, form: URLSearchParams | string, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(this.base + path, {
      method: 'POST',
      redirect: 'manual',
      body: typeof form === 'string' ? form : form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.base, cookie: this.cookieHeader(), ...headers },
    });
    this.store(res);
    return res;
  }

  /** The value of the first hidden `_csrf` field of a page. */
  static csrfOf(html: string): string {
    const m = /name="_csrf" value="([^"]+)"/.exec(html);
    if (!m) throw new Error('no _csrf field on the page');
    return m[1]!;
  }

  /**
   * The value of the hidden field `name` of the page's first form posting to `action`, or undefined
   * (e.g. the one-time `_once` of the forms that must not act twice, src/web/admin-routes.ts).
   */
  static hiddenOf(html: string, action: string, name: string): string | undefined {
    const start = html.indexOf(`action="${action}"`);
    if (start < 0) return undefined;
    const form = html.slice(start, html.indexOf('</form>', start));
    return new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(form)?.[1];
  }

  /** Signs in through the login form. */
  async login(email: string, password = PASSWORD): Promise<Response> {
    const page = await (await this.get('/login')).text();
    return this.post('/login', new URLSearchParams({ _csrf: PageClient.csrfOf(page), email, password, next: '/' }));
  }
}
