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
   * closed at once), and after `timeoutMs` closes whatever is still open. Resolves only once
   * every request handler has ended its response too, even one whose client already went away,
   * so what the handlers use (the database) can be closed next; or at `timeoutMs` at the latest,
   * with the handlers still at work counted in `unfinished`.
   */
  stop(timeoutMs: number): Promise<StopResult>;
}

/** What `stop()` waited for: handlers that ended their response in time, and those still at work. */
export interface StopResult {
  readonly drained: number;
  readonly unfinished: number;
}

interface HandlerCount {
  readonly listener: http.RequestListener;
  active(): number;
  /** Resolves true once no handler is at work, false if some still are after `timeoutMs`. */
  idle(timeoutMs: number): Promise<boolean>;
}

/**
 * How long after its client went away a response still unended stops counting as a handler at
 * work: far longer than any handler takes (their database statements time out after 15 s by
 * default), short enough that an abandoned one soon stops holding up shutdowns.
 */
const ABANDONED_RESPONSE_MS = 60_000;

/**
 * Counts request handlers at work: from a request's arrival until the app ends (or destroys) its
 * response. Sockets do not tell: once a client goes away `server.close()` stops waiting for its
 * request while the handler runs on, and when the handler answers, Node emits neither 'finish'
 * nor the end callback on the closed socket (checked on Node 20); hence the wrapped `res.end` and
 * `res.destroy`. A response left unended after its client went away (a cancelled static file,
 * an export that stops writing) stops counting `abandonAfterMs` later, so it cannot hold up all
 * later shutdowns.
 */
function countHandlers(app: http.RequestListener, abandonAfterMs: number): HandlerCount {
  let active = 0;
  const waiters = new Set<() => void>();
  const listener: http.RequestListener = (req, res) => {
    active++;
    let counted = true;
    const done = (): void => {
      if (!counted) return;
      counted = false;
      active--;
      if (active === 0) for (const wake of waiters) wake();
    };
    const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse;
    const destroy = res.destroy.bind(res);
    res.end = ((...args: unknown[]) => {
      try {
        return end(...args);
      } finally {
        done();
      }
    }) as typeof res.end;
    res.destroy = (error?: Error) => {
      try {
        return destroy(error);
      } finally {
        done();
      }
    };
    res.once('close', () => {
      if (counted) setTimeout(done, abandonAfterMs).unref();
    });
    app(req, res);
  };
  return {
    listener,
    active: () => active,
    idle(timeoutMs) {
      if (active === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const settle = (drained: boolean): void => {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(drained);
        };
        const wake = (): void => settle(true);
        const timer = setTimeout(() => settle(false), timeoutMs);
        waiters.add(wake);
      });
    },
  };
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
  const handlers = countHandlers(app, ABANDONED_RESPONSE_MS);
  const server = http.createServer(
    { requestTimeout: config.requestTimeoutMs, headersTimeout: config.headersTimeoutMs, keepAliveTimeout: config.keepAliveTimeoutMs, connectionsCheckingInterval },
    handlers.listener,
  );
  const { port, url } = await bind(server, config.port, config.host);
  return {
    server,
    port,
    url,
    async stop(timeoutMs: number): Promise<StopResult> {
      const deadline = Date.now() + timeoutMs;
      const atStop = handlers.active();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      // The sockets are closed; handlers whose client went away may still be at work.
      await handlers.idle(Math.max(0, deadline - Date.now()));
      const unfinished = handlers.active();
      return { drained: Math.max(0, atStop - unfinished), unfinished };
    },
  };
}
