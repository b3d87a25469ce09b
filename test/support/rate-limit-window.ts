/**
 * The SQL rate-limit store counts in fixed windows aligned to the epoch on the database's clock
 * (src/http/rate-limit/sql-store.ts): a test that spends a quota and then expects a 429 fails
 * when a window boundary falls between its requests. The databases of the tests run on this
 * machine, so its clock is theirs.
 */
const DEFAULT_WINDOW_MS = 60_000;

/**
 * Resolves once at least `needMs` remain in the current window of `windowMs`, waiting for the
 * next window to begin if fewer do (at most `needMs`).
 */
export async function roomInWindow(needMs: number, windowMs = DEFAULT_WINDOW_MS): Promise<void> {
  if (needMs >= windowMs) throw new Error(`a window of ${windowMs} ms cannot hold ${needMs} ms`);
  const left = windowMs - (Date.now() % windowMs);
  if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}
