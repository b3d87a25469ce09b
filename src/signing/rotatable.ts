import type { KeyObject } from 'node:crypto';
import { AppError } from '../errors.js';
import { installKey, keyDirectoryListing, keySourceFromEnv, loadKeyRing, prepareKey, type KeyPurpose, type PreparedKey, type KeyRing, type PublicJwks, type PublishedKey, type CurrentSigningKey } from './key-ring.js';

/** How old a key directory listing may be before `refreshIfStale` reads it again. */
export const KEY_LISTING_MAX_AGE_MS = 1000;

/**
 * A key ring that can rotate while the service runs. It reads like any ring (its `current` is
 * whatever key is current now); `rotate()` adds a new current key to the key directory and swaps
 * the ring in, so the next signature uses the new key while every older public key stays in
 * `all`/`jwks()`. Rings from a secrets manager (PEM in the environment or a file) do not rotate
 * here: they rotate where the secret lives, and the service picks the new key up at restart.
 *
 * Several processes may share one key directory (instances on one volume, or the `keys` CLI
 * beside a running service). `refresh()` loads the directory again when its key files changed, so
 * a key another process added becomes this ring's current key and is published and trusted here
 * too. The service calls it before it signs with, publishes or trusts the ring's keys
 * (`withLatestKeys`, and the token resolver for an unknown `kid`), through `refreshIfStale`: at
 * most once per KEY_LISTING_MAX_AGE_MS, so a flood of unknown `kid`s costs one directory listing
 * a second.
 */
export class RotatableKeyRing<P extends KeyPurpose> implements KeyRing<P> {
  #inner: KeyRing<P>;
  readonly #directory: string | null;
  /** The key directory's listing the inner ring was loaded from (null: not a directory ring). */
  #listing: string | null;
  #listedAt = 0;
  #refreshing: Promise<boolean> | undefined;
  /** Called (not awaited) after `refresh()` swapped in a ring with a key another process added. */
  onReload: ((ring: KeyRing<P>) => Promise<void> | void) | undefined;
  /** Called when `refreshIfStale` could not read the directory (the ring in use stays). */
  onRefreshError: ((err: unknown) => void) | undefined;

  constructor(inner: KeyRing<P>, directory: string | null, listing: string | null = null) {
    this.#inner = inner;
    this.#directory = directory;
    this.#listing = listing;
    this.#listedAt = Date.now();
  }

  get purpose(): P {
    return this.#inner.purpose;
  }
  get source(): string {
    return this.#inner.source;
  }
  get current(): CurrentSigningKey {
    return this.#inner.current;
  }
  get all(): readonly PublishedKey[] {
    return this.#inner.all;
  }
  jwks(): PublicJwks {
    return this.#inner.jwks();
  }
  publicKey(kid: string): KeyObject | undefined {
    return this.#inner.publicKey(kid);
  }

  /** Whether `rotate()` can work here (keys in the embedded key directory). */
  get rotatable(): boolean {
    return this.#directory !== null;
  }

  /**
   * Adds a new current key; throws a 409 AppError for keys managed outside the service.
   *
   * `beforeInstall` runs with the new key's public part before its file is in the directory, so
   * no process can sign with the key before the caller has recorded it (in a transaction that
   * stays open until this returns: see `rotateAndRecord`). If it throws, nothing is written.
   */
  async rotate(beforeInstall?: (key: PreparedKey<P>) => Promise<void>): Promise<KeyRing<P>> {
    if (this.#directory === null) {
      throw new AppError('conflict', `The ${this.purpose}-signing key comes from a secrets manager (${this.source}); rotate it there and restart the service`);
    }
    const key = await prepareKey(this.purpose);
    await beforeInstall?.(key);
    // The listing is read before the ring: a key added in between is in the ring but not in the
    // listing, so the next refresh loads again (harmless), and none is ever missed.
    const listing = await keyDirectoryListing(this.#directory);
    this.#inner = await installKey(this.#directory, key);
    this.#listing = listing;
    this.#listedAt = Date.now();
    return this.#inner;
  }

  /**
   * Loads the key directory again if its key files changed since the ring was loaded. Returns
   * whether the ring changed. Concurrent calls share one reading. A directory that cannot be read
   * or holds a bad key file throws, and the ring in use stays as it was.
   */
  refresh(): Promise<boolean> {
    if (this.#directory === null) return Promise.resolve(false);
    this.#refreshing ??= this.#reload(this.#directory).finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /**
   * `refresh()` unless the directory was listed less than `maxAgeMs` ago. Never throws: an error
   * goes to `onRefreshError` and the ring in use stays (for request paths, which must not fail
   * because a directory listing did).
   */
  async refreshIfStale(maxAgeMs: number = KEY_LISTING_MAX_AGE_MS): Promise<boolean> {
    if (this.#directory === null || Date.now() - this.#listedAt < maxAgeMs) return false;
    try {
      return await this.refresh();
    } catch (err) {
      this.onRefreshError?.(err);
      return false;
    }
  }

  async #reload(directory: string): Promise<boolean> {
    this.#listedAt = Date.now();
    const listing = await keyDirectoryListing(directory);
    if (listing === this.#listing) return false;
    const ring = await loadKeyRing(this.purpose, { kind: 'directory', dir: directory });
    const changed = ring.current.kid !== this.#inner.current.kid || ring.all.length !== this.#inner.all.length;
    this.#inner = ring;
    this.#listing = listing;
    const hook = this.onReload;
    if (changed && hook !== undefined) {
      // Not awaited: the caller may hold a database transaction (on PGlite, the only connection)
      // that the hook's own writes would wait for.
      void Promise.resolve()
        .then(() => hook(ring))
        .catch((err: unknown) => this.onRefreshError?.(err));
    }
    return changed;
  }
}

/**
 * The ring, with a key directory's latest keys when it is a RotatableKeyRing (listed at most once
 * per KEY_LISTING_MAX_AGE_MS): call it before signing with the ring's current key, and before
 * publishing or trusting its public keys. Never throws (see `refreshIfStale`).
 */
export async function withLatestKeys<R extends KeyRing>(ring: R): Promise<R> {
  if (ring instanceof RotatableKeyRing) await ring.refreshIfStale();
  return ring;
}

/** Loads the ring configured by the environment (or the embedded key directory) as a rotatable ring. */
export async function loadRotatableKeyRing<P extends KeyPurpose>(purpose: P, env: Readonly<Record<string, string | undefined>>, dataDir: string): Promise<RotatableKeyRing<P>> {
  const source = await keySourceFromEnv(purpose, env, dataDir);
  if (source.kind !== 'directory') return new RotatableKeyRing(await loadKeyRing(purpose, source), null);
  // Listed before loading (see rotate()); loading creates the directory and its first key if needed.
  const listing = await keyDirectoryListing(source.dir).catch(() => null);
  return new RotatableKeyRing(await loadKeyRing(purpose, source), source.dir, listing);
}
