/**
 * Formatting that never depends on the process: dates in UTC written out by hand (no
 * `toLocaleString`, no `Intl`, no time zone), numbers as plain integers.
 */

/**
 * `2025-03-04 05:06:07 UTC`. Guarantees: the same instant gives the same text in any time zone
 * or locale; throws `TypeError` on an invalid date.
 */
export function formatUtcDateTime(date: Date): string {
  assertValid(date);
  const iso = date.toISOString(); // always UTC, always this shape for years 0000–9999
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** Parses an ISO 8601 timestamp strictly enough for reports; throws `TypeError` if it is not one. */
export function parseIsoInstant(value: string): Date {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw new TypeError(`not an ISO 8601 timestamp with a zone: ${value}`);
  }
  const date = new Date(value);
  assertValid(date);
  return date;
}

/** First `head` characters of a long identifier followed by an ellipsis, e.g. a hash in a footer. */
export function shorten(value: string, head = 16): string {
  return value.length <= head + 1 ? value : `${value.slice(0, head)}…`;
}

/** Splits a hex hash into groups of 8 so it wraps cleanly and reads aloud: `a1b2c3d4 e5f6…`. */
export function groupHex(hex: string, size = 8): string {
  const groups: string[] = [];
  for (let i = 0; i < hex.length; i += size) groups.push(hex.slice(i, i + size));
  return groups.join(' ');
}

function assertValid(date: Date): void {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new TypeError('invalid date');
}
