import { availableParallelism } from 'node:os';
import path from 'node:path';
import { assertProductionDatabase, loadConfig, ConfigError } from '../src/config/index.js';

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

  describe('the database in production', () => {
    const production = { NODE_ENV: 'production', PUBLIC_URL: 'https://risk.example.org' };
    const refusal = (env: Record<string, string>): unknown => {
      try {
        assertProductionDatabase(loadConfig(env));
      } catch (err) {
        return err;
      }
      return undefined;
    };

    it('refuses the embedded database under NODE_ENV=production, naming DATABASE_URL and the opt-in', () => {
      const error = refusal(production);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('DATABASE_URL');
      expect((error as ConfigError).message).toMatch(/^Invalid configuration: DATABASE_URL must be set in production/);
      expect((error as ConfigError).message).toContain('ALLOW_EMBEDDED_DATABASE=true');
      expect(refusal({ ...production, ALLOW_EMBEDDED_DATABASE: 'false' })).toBeInstanceOf(ConfigError);
    });

    it('accepts PostgreSQL, or the embedded database chosen with ALLOW_EMBEDDED_DATABASE=true; development and tests are unaffected', () => {
      expect(refusal({ ...production, DATABASE_URL: 'postgres://app@db/hipaa' })).toBeUndefined();
      expect(refusal({ ...production, ALLOW_EMBEDDED_DATABASE: 'true' })).toBeUndefined();
      expect(loadConfig({ ...production, ALLOW_EMBEDDED_DATABASE: 'true' }).allowEmbeddedDatabase).toBe(true);
      expect(loadConfig({}).allowEmbeddedDatabase).toBe(false);
      expect(refusal({})).toBeUndefined();
      expect(refusal({ NODE_ENV: 'test' })).toBeUndefined();
    });

    it('accepts only true or false for ALLOW_EMBEDDED_DATABASE', () => {
      expect(() => loadConfig({ ALLOW_EMBEDDED_DATABASE: 'yes' })).toThrow(/^Invalid configuration: ALLOW_EMBEDDED_DATABASE /);
    });
  });
});
