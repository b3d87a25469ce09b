/**
 * The offline verifier never trusts a key the service did not publish, never reads an unbounded
 * JWKS, and never lets an untrusted value rewrite the terminal (reviewer's jwksfetch.ts, slow.ts,
 * ansi.jws).
 */
import { execFile } from 'node:child_process';
import { sign } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppError } from '../../src/errors.js';
import { canonicalJson, canonicalJsonBytes } from '../../src/util/canonical-json.js';
import { signReport, verifyReport } from '../../src/signing/jws.js';
import { loadReportKeyRing } from '../../src/signing/report-keys.js';
import type { KeyRing } from '../../src/signing/key-ring.js';
import { loadJwks, printableText, verifyReportOffline } from '../../src/signing/verify-offline.js';
import { REPORT_SCHEMA } from '../../src/reports/report.js';
import { checkpointPayloadBytes } from '../../src/audit/checkpoint.js';
import { exportManifestBytes } from '../../src/audit/export.js';
import { runVerifyCli } from '../support/verify-cli.js';
import { makeTempDir } from './helpers.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let ring: KeyRing<'report'>;
let attacker: KeyRing<'report'>;
const report = canonicalJsonBytes({ schema: REPORT_SCHEMA, reportId: 'rep-1', assessment: { id: 'asm-1', revision: 1 }, findings: [] });

beforeAll(async () => {
  tmp = await makeTempDir('verify-hardening-');
  ring = await loadReportKeyRing({ kind: 'directory', dir: join(tmp.dir, 'ring') });
  attacker = await loadReportKeyRing({ kind: 'directory', dir: join(tmp.dir, 'attacker') });
});
afterAll(async () => {
  await tmp.cleanup();
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; base: string; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const cli = runVerifyCli;

/** A detached JWS over `bytes` with exactly `headerJson` as protected header text. */
function jwsWithHeaderText(headerJson: string, bytes: Uint8Array, keyRing: KeyRing<'report'> = ring, encoded = Buffer.from(headerJson).toString('base64url')): string {
  const signature = sign(null, Buffer.concat([Buffer.from(`${encoded}.`), bytes]), keyRing.current.privateKey);
  return `${encoded}..${signature.toString('base64url')}`;
}

describe('loadJwks: where the keys come from', () => {
  it('refuses a JWKS URL that redirects (302 to an attacker key set): a tampered report is not VALID', async () => {
    const evil = JSON.stringify(attacker.jwks());
    const srv = await listen((req, res) => {
      if (req.url === '/.well-known/jwks.json') res.writeHead(302, { location: '/evil' }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(evil);
    });
    try {
      await expect(loadJwks(`${srv.base}/.well-known/jwks.json`)).rejects.toThrow(AppError);
      await expect(loadJwks(`${srv.base}/.well-known/jwks.json`)).rejects.toThrow(/redirect/);
      // End to end: a report signed by the attacker's key, the service's JWKS URL redirecting.
      const forged = join(tmp.dir, 'forged.json');
      const forgedJws = join(tmp.dir, 'forged.jws');
      await writeFile(forged, report);
      await writeFile(forgedJws, await signReport(report, attacker.current));
      const result = await cli([forged, forgedJws, '--jwks', `${srv.base}/.well-known/jwks.json`]);
      expect(result.code).toBe(2);
      expect(result.stdout).not.toContain('VALID');
    } finally {
      await srv.close();
    }
  });

  it('asks fetch not to follow redirects, and refuses a redirect response an injected fetch returns', async () => {
    const inits: RequestInit[] = [];
    const fake = ((_url: string, init: RequestInit) => {
      inits.push(init);
      return Promise.resolve(new Response(null, { status: 302, headers: { location: 'http://evil.example/jwks.json' } }));
    }) as unknown as typeof fetch;
    await expect(loadJwks('https://risk.example.org/.well-known/jwks.json', { fetch: fake })).rejects.toThrow(/redirect/);
    expect(inits[0]).toMatchObject({ redirect: 'error' });
  });

  it.each([
    ['plain http to another host', 'http://risk.example.org/.well-known/jwks.json'],
    ['plain http to a private address', 'http://10.0.0.1/jwks.json'],
    ['http to a host named like loopback', 'http://127.0.0.1.evil.example/jwks.json'],
    ['another scheme', 'ftp://risk.example.org/jwks.json'],
    ['credentials in the URL', 'https://user:pass@risk.example.org/jwks.json'],
  ])('refuses %s without fetching', async (_name, url) => {
    let calls = 0;
    const fake = (() => {
      calls += 1;
      return Promise.resolve(new Response('{"keys":[]}'));
    }) as unknown as typeof fetch;
    await expect(loadJwks(url, { fetch: fake })).rejects.toThrow(AppError);
    expect(calls).toBe(0);
  });

  it.each([['https://risk.example.org/.well-known/jwks.json'], ['http://127.0.0.1:1/jwks.json'], ['http://[::1]:1/jwks.json'], ['http://localhost:1/jwks.json'], ['HTTPS://risk.example.org/x']])('accepts %s', async (url) => {
    const fake = (() => Promise.resolve(new Response('{"keys":[]}'))) as unknown as typeof fetch;
    await expect(loadJwks(url, { fetch: fake })).resolves.toEqual({ keys: [] });
  });
});

describe('loadJwks: how much is read', () => {
  it('stops reading a JWKS body past 1 MiB instead of buffering it all', async () => {
    let written = 0;
    const chunk = Buffer.alloc(1 << 20, 0x20);
    const srv = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no Content-Length
      const write = (): void => {
        while (written < 100 * chunk.length && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', write);
            return;
          }
        }
        res.end();
      };
      write();
    });
    try {
      await expect(loadJwks(`${srv.base}/huge`)).rejects.toThrow(/larger than 1 MiB/);
      // Socket buffers hold a few MiB at most; without the cap all 100 MiB were read.
      expect(written).toBeLessThan(32 * chunk.length);
    } finally {
      await srv.close();
    }
  });

  it('refuses a declared Content-Length over 1 MiB before reading the body', async () => {
    let bodyRead = false;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          bodyRead = true;
          controller.enqueue(new Uint8Array(2 * 1024 * 1024));
          controller.close();
        },
      },
      { highWaterMark: 0 },
    );
    const fake = (() => Promise.resolve(new Response(body, { headers: { 'content-length': String(400 * 1024 * 1024) } }))) as unknown as typeof fetch;
    await expect(loadJwks('https://risk.example.org/jwks.json', { fetch: fake })).rejects.toThrow(/Content-Length/);
    expect(bodyRead).toBe(false);
  });

  it('makes a timeout while the body trickles in an input error (AppError, exit 2), not "invalid"', async () => {
    const srv = await listen((_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(timer));
    });
    try {
      const started = Date.now();
      const error: unknown = await loadJwks(`${srv.base}/slow`, { timeoutMs: 400 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect(Date.now() - started).toBeLessThan(5000);
      const report1 = join(tmp.dir, 'r1.json');
      const jws1 = join(tmp.dir, 'r1.jws');
      await writeFile(report1, report);
      await writeFile(jws1, await signReport(report, ring.current));
      // The CLI's default timeout is 10 s; what matters is the code for a body-read failure.
      const aborted = await listen((req, res) => {
        res.writeHead(200);
        res.write('{"keys":');
        setTimeout(() => req.socket.destroy(), 50);
      });
      try {
        const result = await cli([report1, jws1, '--jwks', `${aborted.base}/jwks.json`]);
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(/^error: cannot read the JWKS from /);
      } finally {
        await aborted.close();
      }
    } finally {
      await srv.close();
    }
  });

  it('refuses a device (/dev/zero) as a JWKS file without reading it', async () => {
    await expect(loadJwks('/dev/zero')).rejects.toThrow(/not a regular file/);
  });

  it('refuses a FIFO as a JWKS file without blocking on it', async () => {
    const fifo = join(tmp.dir, 'jwks.fifo');
    await promisify(execFile)('mkfifo', [fifo]);
    await expect(loadJwks(fifo)).rejects.toThrow(/not a regular file/);
  }, 5000);

  it('refuses a JWKS file over 1 MiB, and reads one just under', async () => {
    const big = join(tmp.dir, 'big.json');
    await writeFile(big, '');
    await truncate(big, 2 * 1024 * 1024 * 1024);
    await expect(loadJwks(big)).rejects.toThrow(/larger than 1 MiB/);
    const fits = join(tmp.dir, 'fits.json');
    const text = JSON.stringify(ring.jwks());
    await writeFile(fits, text + ' '.repeat(1024 * 1024 - text.length));
    await expect(loadJwks(fits)).resolves.toEqual(ring.jwks());
  });
});

describe('the report, signature and PDF files the CLI is given', () => {
  it('refuses a device, a FIFO and a file over the cap (exit 2), without reading them whole', async () => {
    const fifo = join(tmp.dir, 'report.fifo');
    await promisify(execFile)('mkfifo', [fifo]);
    const big = join(tmp.dir, 'big.report.json');
    await writeFile(big, '');
    await truncate(big, 2 * 1024 * 1024 * 1024);
    const jwksFile = join(tmp.dir, 'cli-jwks.json');
    await writeFile(jwksFile, JSON.stringify(ring.jwks()));
    for (const [file, message] of [['/dev/zero', /^error: the report file \/dev\/zero is not a regular file/], [fifo, /is not a regular file/], [big, /is larger than 64 MiB/]] as const) {
      const result = await cli([file, file, '--jwks', jwksFile]);
      expect([result.code, result.stderr]).toEqual([2, expect.stringMatching(message)]);
    }
    const pdf = await cli(['--pdf', '/dev/zero', '--jwks', jwksFile]);
    expect([pdf.code, pdf.stderr]).toEqual([2, expect.stringMatching(/the PDF file \/dev\/zero is not a regular file/)]);
  }, 10_000);
});

describe('verifyReport: only the header the service writes', () => {
  const kidOf = (): string => ring.current.kid;
  it('accepts the exact header', async () => {
    const jws = jwsWithHeaderText(canonicalJson({ alg: 'EdDSA', b64: false, crit: ['b64'], kid: kidOf() }), report);
    expect(jws).toBe(await signReport(report, ring.current));
    await expect(verifyReport(report, jws, ring.jwks())).resolves.toEqual({ valid: true, kid: kidOf() });
  });

  it.each([
    ['a duplicate member', () => `{"alg":"EdDSA","b64":false,"crit":["b64"],"kid":"${kidOf()}","kid":"${kidOf()}"}`],
    ['a duplicate alg (first one other)', () => `{"alg":"none","alg":"EdDSA","b64":false,"crit":["b64"],"kid":"${kidOf()}"}`],
    ['an extra member', () => `{"alg":"EdDSA","b64":false,"crit":["b64"],"kid":"${kidOf()}","typ":"JOSE"}`],
    ['an escaped member value', () => `{"alg":"Ed\\u0044SA","b64":false,"crit":["b64"],"kid":"${kidOf()}"}`],
    ['white space', () => `{"alg": "EdDSA","b64":false,"crit":["b64"],"kid":"${kidOf()}"}`],
    ['another member order', () => `{"kid":"${kidOf()}","alg":"EdDSA","b64":false,"crit":["b64"]}`],
  ])('refuses a header signed by the published key but with %s', async (_name, header) => {
    const result = await verifyReport(report, jwsWithHeaderText(header(), report), ring.jwks());
    expect(result).toMatchObject({ valid: false, code: 'bad-header' });
  });

  it('refuses a non-canonical base64url encoding of the exact header', async () => {
    const encoded = Buffer.from(canonicalJson({ alg: 'EdDSA', b64: false, crit: ['b64'], kid: ring.current.kid })).toString('base64url');
    // The last character carries unused low bits: another character decodes to the same bytes.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = encoded[encoded.length - 1]!;
    const twin = [...alphabet].find((c) => c !== last && Buffer.from(encoded.slice(0, -1) + c, 'base64url').equals(Buffer.from(encoded, 'base64url')));
    expect(twin).toBeDefined();
    const jws = jwsWithHeaderText('', report, ring, encoded.slice(0, -1) + twin!);
    expect(await verifyReport(report, jws, ring.jwks())).toMatchObject({ valid: false, code: 'bad-header' });
  });

  it('refuses a key set that carries a private key (d)', async () => {
    const d = (ring.current.privateKey.export({ format: 'jwk' }) as { d: string }).d;
    const jws = await signReport(report, ring.current);
    const leaked = { keys: [{ ...ring.current.publicJwk, d }] };
    const result = await verifyReport(report, jws, leaked);
    expect(result).toMatchObject({ valid: false, code: 'invalid-jwks' });
    expect(!result.valid && result.reason).toMatch(/private key/);
    const elsewhere = { keys: [...ring.jwks().keys, { ...attacker.current.publicJwk, d: 'AAAA' }] };
    expect(await verifyReport(report, jws, elsewhere)).toMatchObject({ valid: false, code: 'invalid-jwks' });
  });

  // Reviewer: `{"kty":"oct","k":"c2VjcmV0","kid":"oct1"}` added to the set, or "p"/"k" on the
  // Ed25519 key, still gave VALID: only `d` was looked for.
  it.each([
    ['a symmetric key added to the set', (): unknown => ({ keys: [...ring.jwks().keys, { kty: 'oct', k: 'c2VjcmV0', kid: 'oct1' }] }), /secret \(symmetric\) key \(member "k", kid oct1\)/],
    ['"p" on the Ed25519 key', (): unknown => ({ keys: [{ ...ring.current.publicJwk, p: 'AAAA' }] }), /private key material \(member "p", kid /],
    ['"k" on the Ed25519 key', (): unknown => ({ keys: [{ ...ring.current.publicJwk, k: 'AAAA' }] }), /\(member "k", kid /],
    ['"qi" on a key of another kid', (): unknown => ({ keys: [...ring.jwks().keys, { ...attacker.current.publicJwk, qi: 'AAAA' }] }), /private key material \(member "qi", kid /],
    ['"oth" on an RSA key without a kid', (): unknown => ({ keys: [...ring.jwks().keys, { kty: 'RSA', n: 'AAAA', e: 'AQAB', oth: [] }] }), /private key material \(member "oth"\)/],
  ])('refuses a key set with private or secret material: %s, saying so (offline and CLI)', async (_name, jwks, reason) => {
    const jws = await signReport(report, ring.current);
    const result = await verifyReportOffline(report, jws, jwks());
    expect(result).toMatchObject({ valid: false, code: 'invalid-jwks', reason: expect.stringMatching(reason) });
    const paths = { report: join(tmp.dir, 'secret.json'), jws: join(tmp.dir, 'secret.jws'), jwks: join(tmp.dir, 'secret-jwks.json') };
    await writeFile(paths.report, report);
    await writeFile(paths.jws, jws);
    await writeFile(paths.jwks, JSON.stringify(jwks()));
    const out = await cli([paths.report, paths.jws, '--jwks', paths.jwks, '--json']);
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ valid: false, code: 'invalid-jwks' });
  });
});

describe('verifyReportOffline: a genuine signature over something that is not a report', () => {
  // The report key also signs audit checkpoints and export manifests, with the same header:
  // their payload and JWS verified as a report (reviewer: `verify cp.json cp.jws` printed VALID).
  const head = { seq: 42, hash: 'a'.repeat(64), createdAt: '2026-12-01T00:00:00.000Z' };
  const manifest = { sha256: 'b'.repeat(64), scope: 'all' as const, fromSeq: 1, toSeq: 42, lines: 44 };
  const notReports: [string, () => Uint8Array, RegExp][] = [
    ['an audit checkpoint', () => checkpointPayloadBytes(head), /their schema is "hipaa-ai-risk\/audit-checkpoint\/1"; a report's is "hipaa-ai-risk\/report\/1"/],
    ['an audit export manifest', () => exportManifestBytes(manifest), /they have no "schema" \(their "type" is "audit-export"\)/],
    ['an object of another schema', () => canonicalJsonBytes({ schema: 'report@1', reportId: 'rep-1' }), /their schema is "report@1"/],
    ['an object whose schema is not a string', () => canonicalJsonBytes({ schema: ['hipaa-ai-risk/report/1'], reportId: 'rep-1' }), /their schema is another one/],
    ['a report nested one level down', () => canonicalJsonBytes({ report: { schema: REPORT_SCHEMA } }), /they have no "schema"/],
    ['a JSON array', () => canonicalJsonBytes([{ schema: REPORT_SCHEMA }]), /they are a JSON array, not an object/],
    ['a JSON string', () => canonicalJsonBytes(REPORT_SCHEMA), /they are JSON of type string, not an object/],
    ['JSON null', () => Buffer.from('null'), /they are JSON null, not an object/],
    ['bytes that are not JSON', () => Buffer.from('hipaa-ai-risk/report/1'), /they are not JSON/],
  ];

  it.each(notReports)('refuses %s with code not-a-report and a reason', async (_name, bytes, detail) => {
    const payload = bytes();
    const result = await verifyReportOffline(payload, await signReport(payload, ring.current), ring.jwks());
    expect(result).toMatchObject({ valid: false, code: 'not-a-report', reason: expect.stringMatching(detail) });
    expect(!result.valid && result.reason).toMatch(new RegExp(`^these bytes are not a report: .*the signature by key ${ring.current.kid} is genuine`));
  });

  it('checks the signature first: a forged or tampered checkpoint keeps its signature code', async () => {
    const payload = checkpointPayloadBytes(head);
    const jws = await signReport(payload, ring.current);
    expect(await verifyReportOffline(checkpointPayloadBytes({ ...head, seq: 43 }), jws, ring.jwks())).toMatchObject({ valid: false, code: 'bad-signature' });
    expect(await verifyReportOffline(payload, await signReport(payload, attacker.current), ring.jwks())).toMatchObject({ valid: false, code: 'unknown-kid' });
  });

  it('still accepts a report (schema hipaa-ai-risk/report/1), its stored JWS unchanged', async () => {
    const jws = await signReport(report, ring.current);
    expect(jws.split('.')[0]).toBe(Buffer.from(canonicalJson({ alg: 'EdDSA', b64: false, crit: ['b64'], kid: ring.current.kid })).toString('base64url'));
    await expect(verifyReportOffline(report, `${jws}\n`, ring.jwks())).resolves.toMatchObject({ valid: true, kid: ring.current.kid, identity: { reportId: 'rep-1' } });
  });

  it('hipaa-ai-risk verify cp.json cp.jws exits 1 with INVALID and the reason, never VALID', async () => {
    const payload = checkpointPayloadBytes(head);
    const paths = { report: join(tmp.dir, 'cp.json'), jws: join(tmp.dir, 'cp.jws'), jwks: join(tmp.dir, 'cp-jwks.json') };
    await writeFile(paths.report, payload);
    await writeFile(paths.jws, `${await signReport(payload, ring.current)}\n`);
    await writeFile(paths.jwks, JSON.stringify(ring.jwks()));
    const text = await cli([paths.report, paths.jws, '--jwks', paths.jwks]);
    expect(text.code).toBe(1);
    expect(text.stdout).toBe('');
    expect(text.stderr).toMatch(/^INVALID: these bytes are not a report: their schema is "hipaa-ai-risk\/audit-checkpoint\/1"/);
    expect(text.stderr).not.toMatch(/^VALID/m);
    const json = await cli([paths.report, paths.jws, '--jwks', paths.jwks, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, code: 'not-a-report' });
  });
});

describe('hipaa-ai-risk verify: an attached JWS', () => {
  it('answers attached-payload (exit 1) for a report-sized JWS with the report as its middle part', async () => {
    const big = canonicalJsonBytes({ schema: REPORT_SCHEMA, reportId: 'rep-big', findings: Array.from({ length: 2000 }, (_, i) => ({ citation: `164.312(b)-${i}`, rationale: 'x'.repeat(60) })) });
    const detached = await signReport(big, ring.current);
    const attached = detached.replace('..', `.${Buffer.from(big).toString('base64url')}.`);
    expect(attached.length).toBeGreaterThan(200_000);
    const paths = { report: join(tmp.dir, 'big.json'), jws: join(tmp.dir, 'attached.jws'), jwks: join(tmp.dir, 'attached-jwks.json') };
    await writeFile(paths.report, big);
    await writeFile(paths.jws, `${attached}\n`);
    await writeFile(paths.jwks, JSON.stringify(ring.jwks()));
    const json = await cli([paths.report, paths.jws, '--jwks', paths.jwks, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, code: 'attached-payload' });
    const text = await cli([paths.report, paths.jws, '--jwks', paths.jwks]);
    expect(text.stderr.split('\n')[0]).toBe('INVALID: the JWS carries a payload; a report signature must be detached (empty middle part)');
  });
});

describe('hipaa-ai-risk verify: untrusted text on the terminal', () => {
  // eslint-disable-next-line no-control-regex
  const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

  it('escapes a kid with terminal controls in an INVALID line (it cannot look VALID)', async () => {
    const kid = `x\r\u001b[2KVALID: the report is signed by key ${ring.current.kid}\u202e`;
    const jws = jwsWithHeaderText(canonicalJson({ alg: 'EdDSA', b64: false, crit: ['b64'], kid }), report, attacker);
    const paths = { report: join(tmp.dir, 'ansi.json'), jws: join(tmp.dir, 'ansi.jws'), jwks: join(tmp.dir, 'ansi-jwks.json') };
    await writeFile(paths.report, report);
    await writeFile(paths.jws, jws);
    await writeFile(paths.jwks, JSON.stringify(ring.jwks()));
    const result = await cli([paths.report, paths.jws, '--jwks', paths.jwks]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toMatch(CONTROL);
    expect(result.stderr.split('\n')[0]).toBe(`INVALID: key x\\u{D}\\u{1B}[2KVALID: the report is signed by key ${ring.current.kid}\\u{202E} is not in the key set`);
  });

  it('escapes report fields in the identity lines', async () => {
    const hostile = canonicalJsonBytes({ schema: REPORT_SCHEMA, reportId: 'r\u001b]0;owned\u0007', assessment: { id: 'a\u009b31m', revision: '1\r\nVALID' }, findings: [] });
    const paths = { report: join(tmp.dir, 'hostile.json'), jws: join(tmp.dir, 'hostile.jws'), jwks: join(tmp.dir, 'hostile-jwks.json') };
    await writeFile(paths.report, hostile);
    await writeFile(paths.jws, await signReport(hostile, ring.current));
    await writeFile(paths.jwks, JSON.stringify(ring.jwks()));
    const ok = await cli([paths.report, paths.jws, '--jwks', paths.jwks]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).not.toMatch(CONTROL);
    expect(ok.stdout).toContain('reportId:     r\\u{1B}]0;owned\\u{7}');
    expect(ok.stdout).toContain('revision:     1\\u{D}\\u{A}VALID');
    const otherJws = join(tmp.dir, 'other.jws');
    await writeFile(otherJws, await signReport(report, ring.current));
    const tampered = await cli([paths.report, otherJws, '--jwks', paths.jwks]);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).not.toMatch(CONTROL);
    expect(tampered.stderr).toContain('assessmentId: a\\u{9B}31m');
  });

  it('printableText keeps ordinary text and escapes C0, C1, DEL and bidi controls', () => {
    expect(printableText('Ambient scribe ✓ Αθήνα 🏥')).toBe('Ambient scribe ✓ Αθήνα 🏥');
    expect(printableText('\u0000\u001f\u007f\u0085\u061c\u200e\u202e\u2066')).toBe('\\u{0}\\u{1F}\\u{7F}\\u{85}\\u{61C}\\u{200E}\\u{202E}\\u{2066}');
  });
});
