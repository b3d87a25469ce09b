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

  it('.env.example documents every variable the config loader reads', () => {
    const loader = fs.readFileSync(path.join(ROOT, 'src/config/index.ts'), 'utf8');
    const read = new Set([...loader.matchAll(/\(env, '([A-Z_]+)'/g)].map((m) => m[1]!));
    const example = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]!));
    expect(read.size).toBeGreaterThan(10);
    for (const name of read) expect(documented).toContain(name);
  });

  it('docs/deployment.md covers what an operator needs', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/deployment.md'), 'utf8');
    for (const topic of ['TRUST_PROXY', '/readyz', 'RATE_LIMIT_STORE', 'METRICS_TOKEN', 'DB_POOL_MAX', 'max_connections', 'DB_STATEMENT_TIMEOUT_MS', 'HEADERS_TIMEOUT_MS', 'BODY_LIMIT_BYTES', '164.316(b)(2)(i)', 'pg_dump', 'REPORT_SIGNING_KEY_FILE', 'TOKEN_SIGNING_KEY_FILE', 'PDF_SIGNING_P12_FILE']) {
      expect(doc).toContain(topic);
    }
  });
});
