import type { KeyObject } from 'node:crypto';
import { AppError } from '../errors.js';
import { keySourceFromEnv, loadKeyRing, rotateKeyDirectory, type KeyPurpose, type KeyRing, type PublicJwks, type PublishedKey, type CurrentSigningKey } from './key-ring.js';

/**
 * A key ring that can rotate while the service runs. It reads like any ring (its `current` is
 * whatever key is current now); `rotate()` adds a new current key to the key directory and swaps
 * the ring in, so the next signature uses the new key while every older public key stays in
 * `all`/`jwks()`. Rings from a secrets manager (PEM in the environment or a file) do not rotate
 * here: they rotate where the secret lives, and the service picks the new key up at restart.
 */
export class RotatableKeyRing<P extends KeyPurpose> implements KeyRing<P> {
  #inner: KeyRing<P>;
  readonly #directory: string | null;

  constructor(inner: KeyRing<P>, directory: string | null) {
    this.#inner = inner;
    this.#directory = directory;
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

  /** Adds a new current key; throws a 409 AppError for keys managed outside the service. */
  async rotate(): Promise<KeyRing<P>> {
    if (this.#directory === null) {
      throw new AppError('conflict', `The ${this.purpose}-signing key comes from a secrets manager (${this.source}); rotate it there and restart the service`);
    }
    this.#inner = await rotateKeyDirectory(this.purpose, this.#directory);
    return this.#inner;
  }
}

/** Loads the ring configured by the environment (or the embedded key directory) as a rotatable ring. */
export async function loadRotatableKeyRing<P extends KeyPurpose>(purpose: P, env: Readonly<Record<string, string | undefined>>, dataDir: string): Promise<RotatableKeyRing<P>> {
  const source = await keySourceFromEnv(purpose, env, dataDir);
  return new RotatableKeyRing(await loadKeyRing(purpose, source), source.kind === 'directory' ? source.dir : null);
}
