/**
 * The first administrator (src/auth/bootstrap.ts) and `npm run create-admin`, on both databases.
 */
import { bootstrapFirstAdmin, EMBEDDED_ADMIN_EMAIL } from '../../src/auth/bootstrap.js';
import { createAdminCommand } from '../../src/cli/create-admin.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { login, send } from './helpers.js';

function sink(): { write(text: string): void; text: string } {
  return {
    text: '',
    write(text: string) {
      this.text += text;
    },
  };
}

describe.each(DATABASE_KINDS)('first administrator on %s', (kind) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(kind);
  });
  afterAll(async () => {
    await app.stop();
  });

  it('in the embedded default, creates admin@localhost with a generated password printed once, admin + compliance officer of a first organisation', async () => {
    const embedded = { ...app.config, databaseUrl: undefined };
    const out = sink();
    const first = await bootstrapFirstAdmin(app.t.database.db, embedded, out);
    expect(first).toEqual({ created: true, email: EMBEDDED_ADMIN_EMAIL, generated: true });
    const password = /Password:\s+(\S+)/.exec(out.text)?.[1];
    expect(password).toBeDefined();
    expect(out.text).toContain(app.config.publicUrl);
    expect(out.text).toMatch(/shown ONCE/);
    // Nothing again on the next start.
    const again = sink();
    expect(await bootstrapFirstAdmin(app.t.database.db, embedded, again)).toEqual({ created: false });
    expect(again.text).toBe('');
    // The printed password signs in, and the account can run the whole flow.
    const session = await login(app, EMBEDDED_ADMIN_EMAIL, String(password));
    const me = (await (await send(app, 'GET', '/v1/me', { kind: 'session', session })).json()) as { roles: string[]; organization: { name: string } };
    expect(me.roles).toEqual(['compliance_officer', 'admin']);
    expect(me.organization.name).toBe('My organisation');
    // Nothing of the password reached the log or the audit trail.
    expect(app.logs()).not.toContain(password);
    const events = await app.t.database.db.selectFrom('audit_events').select('decision_canonical').execute();
    expect(JSON.stringify(events)).not.toContain(password);
  });

  it('with ADMIN_EMAIL/ADMIN_PASSWORD, checks the password policy; on PostgreSQL with neither, only warns', async () => {
    await app.t.database.db.deleteFrom('auth_refresh_tokens').execute();
    await app.t.database.db.deleteFrom('auth_sessions').execute();
    await app.t.database.db.deleteFrom('users').execute();
    const weak = loadConfig({ NODE_ENV: 'test', ADMIN_EMAIL: 'boss@example.org', ADMIN_PASSWORD: 'password1234', PASSWORD_HASH_COST: '10' });
    await expect(bootstrapFirstAdmin(app.t.database.db, weak, sink())).rejects.toThrow(ConfigError);
    const warnings: string[] = [];
    const pg = loadConfig({ NODE_ENV: 'test', DATABASE_URL: 'postgres://x@127.0.0.1/x', PASSWORD_HASH_COST: '10' });
    expect(await bootstrapFirstAdmin(app.t.database.db, pg, sink(), (m) => warnings.push(m))).toEqual({ created: false });
    expect(warnings.join()).toMatch(/create-admin/);
    const good = loadConfig({ NODE_ENV: 'test', ADMIN_EMAIL: 'Boss@Example.org', ADMIN_PASSWORD: 'violet-Lantern-orbit-93', PASSWORD_HASH_COST: '10' });
    const out = sink();
    expect(await bootstrapFirstAdmin(app.t.database.db, good, out)).toEqual({ created: true, email: 'boss@example.org', generated: false });
    expect(out.text).toBe('');
    await login(app, 'boss@example.org', 'violet-Lantern-orbit-93');
  });

  it('create-admin adds an administrator (PostgreSQL) or refuses bad input', async () => {
    const out = sink();
    const err = sink();
    const io = { stdout: out, stderr: err, env: { NODE_ENV: 'test', PASSWORD_HASH_COST: '10', ...(app.t.url ? { DATABASE_URL: app.t.url } : { DATA_DIR: '/nonexistent-not-used' }) } };
    expect(await createAdminCommand(['--email'], io)).toBe(2);
    if (!app.t.url) return; // the embedded database of a data directory is exercised by the service start
    expect(await createAdminCommand(['--email', 'ops@example.org', '--organization', 'Ops'], io)).toBe(0);
    const password = /Password \(shown once[^)]*\): (\S+)/.exec(out.text)?.[1];
    expect(password).toBeDefined();
    await login(app, 'ops@example.org', String(password));
    expect(await createAdminCommand(['--email', 'ops@example.org'], { ...io, env: { ...io.env, ADMIN_PASSWORD: 'short' } })).toBe(2);
    expect(err.text).toMatch(/at least 12/);
  });
});
