/**
 * Slow clients are cut off: a client that sends its headers too slowly gets a 408 and a closed
 * socket once HEADERS_TIMEOUT_MS has passed (checked 4× per timeout, not every 30 s as Node's
 * default would). Small timeouts keep the test under 3 s.
 */
import net from 'node:net';
import express from 'express';
import { listen } from '../../src/http/server.js';
import { loadConfig } from '../../src/config/index.js';

const testConfig = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', ...env });

describe('slow clients', () => {
  it('cuts off a client that trickles its headers past HEADERS_TIMEOUT_MS', async () => {
    const config = testConfig({ HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000' });
    const app = express();
    app.get('/', (_req, res) => res.json({ ok: true }));
    const server = await listen(app, config);
    try {
      const start = Date.now();
      const result = await new Promise<{ data: string; ms: number }>((resolve, reject) => {
        const socket = net.connect(server.port, '127.0.0.1');
        let data = '';
        let n = 0;
        const trickle = setInterval(() => {
          if (!socket.destroyed) socket.write(`X-Slow-${n++}: ${'a'.repeat(10)}\r\n`);
        }, 150);
        socket.on('connect', () => socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n'));
        socket.on('data', (chunk) => {
          data += chunk.toString();
        });
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearInterval(trickle);
          resolve({ data, ms: Date.now() - start });
        });
        setTimeout(() => {
          clearInterval(trickle);
          socket.destroy();
          reject(new Error('the server never cut the slow client off'));
        }, 2900).unref();
      });
      expect(result.data).toMatch(/^HTTP\/1\.1 408 /);
      expect(result.ms).toBeGreaterThanOrEqual(900);
      expect(result.ms).toBeLessThan(2000); // 1.25 × 1000 ms plus scheduling slack; Node's default check would take up to 31 s
    } finally {
      await server.stop(100);
    }
  });

  it('still serves a client that sends its headers in time', async () => {
    const config = testConfig({ HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000' });
    const app = express();
    app.get('/', (_req, res) => res.json({ ok: true }));
    const server = await listen(app, config);
    try {
      expect((await fetch(`${server.url}/`)).status).toBe(200);
    } finally {
      await server.stop(100);
    }
  });
});
