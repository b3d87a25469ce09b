import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './support/process.js';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  volumes?: string[];
  stop_grace_period?: string;
}

const REPLICAS = ['app1', 'app2'] as const;

describe('deployment files', () => {
  const text = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
  // Compose resolves YAML merge keys (`<<: *app`); so must we.
  const compose = parse(text, { merge: true }) as { services: Record<string, Service>; secrets: Record<string, { file: string }> };

  it('docker-compose runs PostgreSQL and two replicas of the service with healthchecks', () => {
    expect(compose.services.postgres?.image).toMatch(/^postgres:1[5-9]/);
    expect(compose.services.postgres?.healthcheck?.test.length).toBeGreaterThan(0);
    // The image is Debian's (glibc), so the allocator settings of docs/deployment.md §10 apply;
    // compose passes environment values as strings.
    expect(compose.services.postgres?.image).toMatch(/-bookworm$/);
    expect(compose.services.postgres?.environment).toMatchObject({ MALLOC_MMAP_THRESHOLD_: '4194304', MALLOC_TRIM_THRESHOLD_: '16777216', MALLOC_TOP_PAD_: '4194304' });
    for (const name of REPLICAS) {
      const app = compose.services[name];
      expect(app?.build).toBe('.');
      expect(app?.healthcheck?.test.join(' ')).toContain('/readyz');
      expect(app?.depends_on?.migrate?.condition).toBe('service_completed_successfully');
    }
  });

  it('the replicas connect as the least-privileged role and migrations run as the owner', () => {
    for (const name of REPLICAS) expect(compose.services[name]?.command?.join(' ')).toContain('hipaa_app_login');
    expect(compose.services.migrate?.command?.join(' ')).toContain('hipaa_owner');
    const init = fs.readFileSync(path.join(ROOT, 'docs/deploy/initdb/10-roles.sh'), 'utf8');
    expect(init).toContain('IN ROLE hipaa_app');
  });

  it('the replicas sit behind one reverse proxy: only it is published, X-Forwarded-For has one trusted hop, counters are shared', () => {
    const proxy = compose.services.proxy;
    expect(proxy?.image).toMatch(/^caddy:2/);
    expect(proxy?.volumes?.join(' ')).toContain('./docs/deploy/Caddyfile:/etc/caddy/Caddyfile');
    for (const name of REPLICAS) expect(proxy?.depends_on?.[name]?.condition).toBe('service_healthy');
    const caddyfile = fs.readFileSync(path.join(ROOT, 'docs/deploy/Caddyfile'), 'utf8');
    expect(caddyfile).toMatch(/reverse_proxy app1:3000 app2:3000/);
    expect(caddyfile).toMatch(/health_uri \/readyz/);
    expect(caddyfile).not.toMatch(/^\s*trusted_proxies/m); // Caddy then replaces a client-sent X-Forwarded-For
    expect(caddyfile).toMatch(/@metrics path \/metrics/);
    for (const name of REPLICAS) {
      const app = compose.services[name]!;
      expect(app.ports ?? []).toEqual([]);
      expect(app.environment?.TRUST_PROXY).toBe('1');
      expect(app.environment?.RATE_LIMIT_STORE).toBe('postgres');
      // Keys come from secrets: replicas must sign and verify with the same keys.
      expect(app.environment?.REPORT_SIGNING_KEY_FILE).toMatch(/^\/run\/secrets\//);
      expect(app.environment?.TOKEN_SIGNING_KEY_FILE).toMatch(/^\/run\/secrets\//);
      expect(app.environment?.METRICS_TOKEN_FILE).toMatch(/^\/run\/secrets\//);
    }
  });

  it('no secret value is written in the compose file: every password comes from a secret file', () => {
    expect(text).not.toMatch(/PASSWORD:\s*\S+/);
    expect(text).not.toMatch(/(PASSPHRASE|TOKEN|KEY):\s*(?!\/run\/secrets\/)\S+/);
    for (const [, secret] of Object.entries(compose.secrets)) expect(secret.file).toMatch(/^\.\/secrets\//);
    for (const service of Object.values(compose.services)) for (const s of service.secrets ?? []) expect(compose.secrets[s]).toBeDefined();
    expect(fs.readFileSync(path.join(ROOT, '.gitignore'), 'utf8')).toMatch(/^secrets\/$/m);
  });

  it('the Dockerfile is multi-stage and runs as a non-root user', () => {
    const docker = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(docker.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(docker).toMatch(/^USER node$/m);
    expect(docker).toMatch(/npm ci/);
  });

  it('the Docker build runs only the install scripts package.json allowScripts allows (its npm 10 ignores allowScripts)', () => {
    const docker = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
    const installs = [...docker.matchAll(/\bnpm (?:ci|install|i)\b[^&\n]*/g)].map((m) => m[0]);
    expect(installs.length).toBeGreaterThan(0);
    for (const install of installs) expect(install).toContain('--ignore-scripts');
    // The packages given to `npm rebuild` are computed from allowScripts: run that computation.
    const script = /npm rebuild \$\(node -e "([^"]+)"\)/.exec(docker)?.[1];
    expect(script).toBeDefined();
    const allowScripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { allowScripts: Record<string, boolean> }).allowScripts;
    const rebuilt = execFileSync(process.execPath, ['-e', script!], { cwd: ROOT, encoding: 'utf8' }).trim().split(' ');
    expect(rebuilt.sort()).toEqual(Object.keys(allowScripts).filter((k) => allowScripts[k]).sort());
    expect(rebuilt).not.toContain('@scarf/scarf');
    expect(allowScripts['@scarf/scarf']).toBe(false);
  });

  it('health checks use the configured PORT, and compose gives a shutdown longer grace than SHUTDOWN_TIMEOUT_MS', () => {
    const docker = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const healthcheck = /^HEALTHCHECK[\s\S]*?CMD (.*)$/m.exec(docker)?.[1] ?? '';
    expect(healthcheck).toContain('process.env.PORT');
    expect(healthcheck).not.toContain(':3000/');
    for (const name of REPLICAS) {
      const app = compose.services[name]!;
      expect(app.healthcheck?.test.join(' ')).toContain('process.env.PORT');
      expect(app.healthcheck?.test.join(' ')).not.toContain(':3000/');
      // SHUTDOWN_TIMEOUT_MS (10 s by default) + the 5 s after which src/main.ts exits anyway.
      const grace = /^(\d+)s$/.exec(app.stop_grace_period ?? '');
      expect(Number(grace?.[1])).toBeGreaterThan(15);
    }
  });

  it('.env.example documents every variable the config loader reads', () => {
    const loader = fs.readFileSync(path.join(ROOT, 'src/config/index.ts'), 'utf8');
    const read = new Set([...loader.matchAll(/\(env, '([A-Z_]+)'/g)].map((m) => m[1]!));
    const example = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]!));
    expect(read.size).toBeGreaterThan(10);
    for (const name of read) expect(documented).toContain(name);
  });

  it('.env.example documents every environment variable read anywhere under src/', () => {
    const example = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
    const read = new Map<string, string>(); // variable -> first file reading it
    const unresolved: string[] = [];
    for (const file of sourceFiles(path.join(ROOT, 'src'))) {
      const text = fs.readFileSync(file, 'utf8');
      const rel = path.relative(ROOT, file);
      const add = (name: string): void => void (read.has(name) || read.set(name, rel));
      // env.NAME, io.env.NAME, process.env.NAME, options.env?.NAME
      for (const m of text.matchAll(/\benv\??\.([A-Z][A-Z0-9_]*)\b/g)) add(m[1]!);
      // env['NAME'], env["NAME"], env[`NAME`]
      for (const m of text.matchAll(/\benv\??\.?\[\s*(['"`])([A-Z][A-Z0-9_]*)\1\s*\]/g)) add(m[2]!);
      // validating readers called with the environment: str(env, 'NAME'), int(e, 'NAME', …)
      for (const m of text.matchAll(/\(\s*(?:[\w.]+\.)?(?:env|e)\s*,\s*'([A-Z][A-Z0-9_]*)'/g)) add(m[1]!);
      // env[`${prefix}_SUFFIX`]: every upper-case literal the prefix variable is assigned
      for (const m of text.matchAll(/\benv\??\.?\[\s*`\$\{(\w+)\}([A-Z0-9_]*)`\s*\]/g)) {
        const assignment = new RegExp(`\\b(?:const|let)\\s+${m[1]}\\s*=([^;]*);`).exec(text);
        const prefixes = assignment ? [...assignment[1]!.matchAll(/'([A-Z][A-Z0-9_]*)'/g)].map((p) => p[1]!) : [];
        if (prefixes.length === 0) unresolved.push(`${rel}: ${m[0]}`);
        for (const prefix of prefixes) add(`${prefix}${m[2]}`);
      }
      // Any other computed name is a read this test cannot check: fail so that it gets looked at.
      // Allowed: `env[name]` inside a validating reader `function x(env: Env, name: string, …)`,
      // whose callers the pattern above matches.
      const reader = /function \w+\(env: Env, name: string\b/.test(text);
      for (const m of text.matchAll(/\benv\??\.?\[\s*(?!['"`])(\w+)\s*\]/g)) {
        if (!(reader && m[1] === 'name')) unresolved.push(`${rel}: ${m[0]}`);
      }
    }
    expect(unresolved).toEqual([]);
    // The signing variables (src/signing/) are read outside the config loader.
    for (const name of ['REPORT_SIGNING_KEY', 'REPORT_SIGNING_KEY_FILE', 'REPORT_SIGNING_RETIRED_JWKS_FILE', 'TOKEN_SIGNING_KEY', 'TOKEN_SIGNING_KEY_FILE', 'TOKEN_SIGNING_RETIRED_JWKS_FILE', 'PDF_SIGNING_P12_FILE', 'PDF_SIGNING_P12_PASSPHRASE', 'PDF_SIGNING_P12_PASSPHRASE_FILE', 'PDF_SIGNING_ORGANIZATION']) {
      expect(read.get(name)).toMatch(/^src\/signing\//);
    }
    expect(read.size).toBeGreaterThan(40);
    const missing = [...read].filter(([name]) => !documented.has(name)).map(([name, file]) => `${name} (${file})`);
    expect(missing).toEqual([]);
  });

  it('.env.example says truthfully how the variables are set: nothing loads a .env file into the service', () => {
    const example = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');
    expect(example).not.toMatch(/copy (it )?to \.env/i);
    expect(example).toMatch(/reads no \.env file/);
    const sources = sourceFiles(path.join(ROOT, 'src')).map((f) => fs.readFileSync(f, 'utf8'));
    expect(sources.some((t) => /dotenv|loadEnvFile|--env-file/.test(t))).toBe(false);
  });

  it('PostgreSQL is healthy only once it accepts TCP connections (not the init-time socket-only server)', () => {
    const test = compose.services.postgres!.healthcheck!.test.join(' ');
    expect(test).toMatch(/pg_isready\b.*-h 127\.0\.0\.1\b/);
    expect(test).toMatch(/-d hipaa\b/);
    expect(compose.services.migrate?.depends_on?.postgres?.condition).toBe('service_healthy');
  });

  it('recommends URL-safe secrets: openssl rand -hex, never -base64 (passwords go into connection URLs as they are)', () => {
    for (const file of ['docker-compose.yml', 'docs/deployment.md', '.env.example']) {
      const t = fs.readFileSync(path.join(ROOT, file), 'utf8');
      expect(t).not.toMatch(/openssl rand -base64/);
    }
    expect(text).toMatch(/openssl rand -hex 32 > secrets\/db_app_password/);
    expect(fs.readFileSync(path.join(ROOT, 'docs/deployment.md'), 'utf8')).toMatch(/openssl rand -hex 32/);
  });

  it('the init script gives the owner no CREATEROLE and puts no password on a command line', () => {
    const init = fs.readFileSync(path.join(ROOT, 'docs/deploy/initdb/10-roles.sh'), 'utf8');
    const code = init
      .split('\n')
      .filter((l) => !/^\s*#/.test(l))
      .join('\n');
    expect(code).toMatch(/CREATE ROLE hipaa_owner LOGIN PASSWORD :'owner_pw';/);
    expect(code).not.toMatch(/CREATEROLE|SUPERUSER|CREATEDB|BYPASSRLS|REPLICATION/i);
    // No `-v name=value` / `--set`/`--variable` carrying a secret, no secret in a shell variable
    // expanded into a command's arguments.
    expect(code).not.toMatch(/(?:-v|--set|--variable)\s*\w*(?:pw|pass\w*)=/i);
    expect(code).not.toMatch(/\$\(cat \/run\/secrets/);
    expect(code).toMatch(/\\set owner_pw `cat \/run\/secrets\/db_owner_password`/);
    expect(code).toMatch(/\\set app_pw `cat \/run\/secrets\/db_app_password`/);
    // the here-document is quoted, so the shell expands nothing inside it
    expect(code).toMatch(/<<'SQL'/);
  });

  it('.dockerignore keeps secrets and local data out of the build context', () => {
    const ignore = fs
      .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim().replace(/\/$/, ''));
    for (const entry of ['secrets', 'data', '.env', 'node_modules']) expect(ignore).toContain(entry);
  });

  it('docs/deployment.md covers what an operator needs', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/deployment.md'), 'utf8');
    for (const topic of ['TRUST_PROXY', '/readyz', 'RATE_LIMIT_STORE', 'METRICS_TOKEN', 'DB_POOL_MAX', 'max_connections', 'DB_STATEMENT_TIMEOUT_MS', 'HEADERS_TIMEOUT_MS', 'BODY_LIMIT_BYTES', '164.316(b)(2)(i)', 'pg_dump', 'REPORT_SIGNING_KEY_FILE', 'TOKEN_SIGNING_KEY_FILE', 'PDF_SIGNING_P12_FILE']) {
      expect(doc).toContain(topic);
    }
    // 45 CFR 164.316(b)(2)(i): six years from creation or from when it last was in effect, whichever is later.
    expect(doc.replace(/\s+/g, ' ')).toMatch(/six years\*\* from the date of its creation or the date when it last was in effect, whichever is later/);
  });

  it('docs/deployment.md says role names are cluster-wide: one PostgreSQL cluster per environment', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/deployment.md'), 'utf8').replace(/\s+/g, ' ');
    expect(doc).toMatch(/\*\*One PostgreSQL cluster per environment\.\*\* Roles belong to the whole cluster/);
    expect(doc).toMatch(/stop_grace_period/);
  });

  it('docs and compose say how the container user (uid 1000) reads bind-mounted secrets, and how to run commands in the image', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/deployment.md'), 'utf8');
    // The mode documented for *_FILE secrets is one the service reads; key files in its own data
    // directory must be owner-only (src/signing/secret-files.ts assertOwnerOnly).
    expect(doc).toMatch(/chown 1000:1000 secrets\/report_signing_key/);
    expect(doc).toMatch(/chmod 600 secrets\/report_signing_key/);
    expect(doc).toMatch(/must stay `0600`/);
    // The image has no src/*.ts, bin/ or tsx: the compiled command, not `npm run create-admin`.
    expect(doc).toContain('node dist/cli/create-admin.js --email');
    expect(text).toContain('node dist/cli/create-admin.js --email');
    // Caddy's SITE_ADDRESS and the service's PUBLIC_URL must change together.
    const header = text.slice(0, text.indexOf('\nname:'));
    expect(header).toMatch(/SITE_ADDRESS[^]*PUBLIC_URL[^]*cross-site/);
    expect(doc).toContain('ALLOW_EMBEDDED_DATABASE');
  });
});

/** Every .ts file under `dir`. */
function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => path.join(e.parentPath, e.name));
}
