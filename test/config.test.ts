import { availableParallelism } from 'node:os';
import path from 'node:path';
import { loadConfig, ConfigError } from '../src/config/index.js';

describe('configuration loader', () => {
  it('gives the embedded defaults with no environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 3000, host: '127.0.0.1', databaseUrl: undefined, dataDir: path.resolve('./data'), trustProxy: false, bodyLimitBytes: 1048576 });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ TRUST_PROXY: 'true' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '10.0.0.1, evil host' }, 'TRUST_PROXY'],
    [{ ADMIN_EMAIL: 'a@b.c' }, 'ADMIN_PASSWORD'],
    [{ NODE_ENV: 'production', PUBLIC_URL: 'http://risk.example.org' }, 'PUBLIC_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ])('rejects %j naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration: ${variable} `));
  });

  it('runs cores − 1 report workers, at least 2, unless REPORT_WORKERS says otherwise (0: the event loop)', () => {
    expect(loadConfig({}).reportWorkers).toBe(Math.max(2, availableParallelism() - 1));
    expect(loadConfig({ REPORT_WORKERS: '0' }).reportWorkers).toBe(0);
    expect(loadConfig({ REPORT_WORKERS: '1' }).reportWorkers).toBe(1);
    expect(() => loadConfig({ REPORT_WORKERS: '-1' })).toThrow(/REPORT_WORKERS/);
  });

  it('accepts both loopback names as the browser origin after npm start, and only PUBLIC_URL otherwise', () => {
    expect(loadConfig({}).allowedOrigins).toEqual(['http://localhost:3000', 'http://127.0.0.1:3000', 'http://[::1]:3000']);
    expect(loadConfig({ PUBLIC_URL: 'http://127.0.0.1:8080', PORT: '8080' }).allowedOrigins).toEqual(['http://127.0.0.1:8080', 'http://localhost:8080', 'http://[::1]:8080']);
    expect(loadConfig({ PUBLIC_URL: 'https://risk.example.org' }).allowedOrigins).toEqual(['https://risk.example.org']);
    expect(loadConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://risk.example.org' }).allowedOrigins).toEqual(['https://risk.example.org']);
  });

  it('accepts a hop count or addresses for TRUST_PROXY, never true', () => {
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toEqual(['loopback', '10.0.0.0/8']);
  });
});
