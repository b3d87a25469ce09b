/** The rate-limit, metrics and timeout settings of the config loader. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/index.js';

describe('rate-limit and metrics configuration', () => {
  it('chooses the store from what is configured: redis, else postgres, else memory', () => {
    expect(loadConfig({}).rateLimit.store).toBe('memory');
    expect(loadConfig({ DATABASE_URL: 'postgres://x@db/h' }).rateLimit.store).toBe('postgres');
    expect(loadConfig({ DATABASE_URL: 'postgres://x@db/h', REDIS_URL: 'redis://r:6379' }).rateLimit.store).toBe('redis');
    expect(loadConfig({ DATABASE_URL: 'postgres://x@db/h', RATE_LIMIT_STORE: 'memory' }).rateLimit.store).toBe('memory');
  });

  it('has production defaults outside tests, and overridable limits', () => {
    expect(loadConfig({}).rateLimit).toEqual({ store: 'memory', windowMs: 60000, globalPerIp: 600, perPrincipal: 300, evaluate: 30, login: 10, storeTimeoutMs: 250 });
    expect(loadConfig({ NODE_ENV: 'test' }).rateLimit.login).toBe(1_000_000);
    expect(loadConfig({ RATE_LIMIT_LOGIN: '3', RATE_LIMIT_WINDOW_MS: '900000' }).rateLimit).toMatchObject({ login: 3, windowMs: 900000 });
  });

  it.each([
    [{ RATE_LIMIT_STORE: 'redis' }, 'RATE_LIMIT_STORE'],
    [{ RATE_LIMIT_STORE: 'mongo' }, 'RATE_LIMIT_STORE'],
    [{ RATE_LIMIT_LOGIN: '0' }, 'RATE_LIMIT_LOGIN'],
    [{ RATE_LIMIT_WINDOW_MS: '10' }, 'RATE_LIMIT_WINDOW_MS'],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN'],
    [{ METRICS_TOKEN: 'x'.repeat(40), METRICS_TOKEN_FILE: '/nonexistent' }, 'METRICS_TOKEN_FILE'],
    [{ METRICS_TOKEN_FILE: '/nonexistent/token' }, 'METRICS_TOKEN_FILE'],
    [{ METRICS_PORT: '0' }, 'METRICS_PORT'],
    [{ HEADERS_TIMEOUT_MS: '40000', REQUEST_TIMEOUT_MS: '30000' }, 'HEADERS_TIMEOUT_MS'],
    [{ TRUST_PROXY: 'true' }, 'TRUST_PROXY'],
    [{ HOST: '999.1.1.1' }, 'HOST'],
    [{ HOST: 'not a host' }, 'HOST'],
    [{ METRICS_PORT: '9464', METRICS_HOST: '10.0.0.256' }, 'METRICS_HOST'],
    [{ PORT: '9464', METRICS_PORT: '9464' }, 'METRICS_PORT'],
  ])('refuses %j naming %s', (env, variable) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
  });

  it('accepts IPv4 and IPv6 addresses and host names to listen on', () => {
    for (const host of ['0.0.0.0', '::', '::1', '10.1.2.3', 'localhost', 'app-1.internal']) expect(loadConfig({ HOST: host, METRICS_HOST: host }).host).toBe(host);
  });

  it('reads the metrics token from a file mounted by a secrets manager', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-')), 'token');
    fs.writeFileSync(file, `${'t'.repeat(40)}\n`);
    expect(loadConfig({ METRICS_TOKEN_FILE: file }).metrics).toEqual({ token: 't'.repeat(40), port: undefined, host: '127.0.0.1' });
    expect(loadConfig({ METRICS_PORT: '9464', METRICS_HOST: '10.0.0.5' }).metrics).toEqual({ token: undefined, port: 9464, host: '10.0.0.5' });
  });
});
