import canonicalize from 'canonicalize';

/**
 * Serialises a value as RFC 8785 (JSON Canonicalization Scheme) text.
 *
 * Guarantees: object keys sorted by UTF-16 code units, no whitespace, ECMAScript number
 * formatting; the same value gives the same string in any process, time zone or locale.
 * Throws on what RFC 8785 cannot represent (NaN, ±Infinity, lone surrogates, cycles) and on a
 * top-level value JSON drops (undefined, a function).
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalised as JSON');
  return text;
}

/** RFC 8785 canonical JSON as UTF-8 bytes: what gets hashed and signed. */
export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
