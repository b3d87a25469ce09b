import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Config } from '../config/index.js';

export interface RunningServer {
  readonly server: http.Server;
  readonly port: number;
  readonly url: string;
  /**
   * Stops accepting connections, lets in-flight requests finish (idle keep-alive sockets are
   * closed at once), and after `timeoutMs` closes whatever is still open.
   */
  stop(timeoutMs: number): Promise<void>;
}

/**
 * Binds a server to `host:port` (0 = any free port) and resolves once it listens, with the port
 * it got and a URL to reach it (loopback for a wildcard address).
 */
export async function bind(server: http.Server, port: number, host: string): Promise<{ port: number; url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return { port: bound, url: `http://${shown === '0.0.0.0' || shown === '[::]' ? '127.0.0.1' : shown}:${bound}` };
}

/**
 * Listens with timeouts set against slow clients (request, headers, keep-alive). Node checks
 * the request and headers deadlines every `connectionsCheckingInterval` (30 s by default, which
 * would let a slow-headers client hold a socket up to 40 s with a 10 s HEADERS_TIMEOUT_MS): we
 * check every quarter of the headers timeout (at most 1 s), so a client is cut off within
 * 1.25 × its deadline.
 */
export async function listen(app: Express, config: Pick<Config, 'host' | 'port' | 'requestTimeoutMs' | 'headersTimeoutMs' | 'keepAliveTimeoutMs'>): Promise<RunningServer> {
  const connectionsCheckingInterval = Math.max(100, Math.min(1000, Math.floor(config.headersTimeoutMs / 4)));
  const server = http.createServer(
    { requestTimeout: config.requestTimeoutMs, headersTimeout: config.headersTimeoutMs, keepAliveTimeout: config.keepAliveTimeoutMs, connectionsCheckingInterval },
    app,
  );
  const { port, url } = await bind(server, config.port, config.host);
  return {
    server,
    port,
    url,
    stop(timeoutMs: number): Promise<void> {
      return new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
