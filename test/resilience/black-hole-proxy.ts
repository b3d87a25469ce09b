/**
 * A TCP proxy on loopback in front of PostgreSQL that can black-hole: unlike
 * test/support/tcp-proxy.ts (which refuses and resets, as a stopped server does), `blackHole()`
 * keeps every socket open and stops forwarding, and accepts new connections without answering
 * them, as a network partition or a failed-over address does. `heal()` forwards new connections
 * again; those open during the black hole stay silent (their server "vanished").
 */
import net from 'node:net';

export interface BlackHoleProxy {
  readonly port: number;
  /** Stops forwarding on every open connection and answers no new one (accepted, then silence). */
  blackHole(): void;
  /** Forwards new connections again; those open during the black hole stay silent. */
  heal(): void;
  close(): Promise<void>;
}

export async function startBlackHoleProxy(targetHost: string, targetPort: number): Promise<BlackHoleProxy> {
  let silent = false;
  const links = new Set<{ dead: boolean }>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined).on('close', () => sockets.delete(client));
    if (silent) {
      client.resume();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(upstream);
    const link = { dead: false };
    links.add(link);
    upstream.on('error', () => undefined);
    client.on('data', (d: Buffer) => void (link.dead || upstream.write(d)));
    upstream.on('data', (d: Buffer) => void (link.dead || client.write(d)));
    // The service closing its side ends the backend too; the backend's end reaches the service
    // only while the link is alive (a black hole reports nothing).
    client.on('close', () => (upstream.destroy(), links.delete(link)));
    upstream.on('close', () => (sockets.delete(upstream), link.dead || client.destroy()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    blackHole() {
      silent = true;
      for (const link of links) link.dead = true;
    },
    heal() {
      silent = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A black-hole proxy in front of the database at `url`, and the same URL through the proxy. */
export async function blackHoleProxyFor(url: string): Promise<{ proxy: BlackHoleProxy; url: string }> {
  const target = new URL(url);
  const proxy = await startBlackHoleProxy(target.hostname, Number(target.port || 5432));
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  return { proxy, url: proxied.toString() };
}
