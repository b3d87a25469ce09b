import canonicalize from 'canonicalize';
import { configure } from 'safe-stable-stringify';

/**
 * The fast serialiser: safe-stable-stringify with sorted keys (its `>` comparison of strings is
 * the UTF-16 code-unit order RFC 8785 requires), numbers through String() (ECMAScript number
 * formatting, as RFC 8785 §3.2.2.3 specifies), strings through JSON.stringify's escaping, and
 * `strict` so that NaN, ±Infinity, BigInt, functions and symbols throw instead of turning into
 * null or vanishing. On the 158 KB report it took 0.83 ms against `canonicalize`'s 0.99 ms
 * (bench/canonical-json.ts prints both), and less garbage under load: with it, the service's CPU
 * per submission fell from 5.1 to 4.4–4.8 ms (bench/api).
 */
const stableStringify = configure({ deterministic: true, strict: true, circularValue: Error, bigint: false });

/**
 * Serialises a value as RFC 8785 (JSON Canonicalization Scheme) text.
 *
 * Guarantees: object keys sorted by UTF-16 code units, no whitespace, ECMAScript number
 * formatting; the same value gives the same string in any process, time zone or locale.
 * Throws on what RFC 8785 cannot represent (NaN, ±Infinity, lone surrogates, cycles) and on a
 * top-level value JSON drops (undefined, a function).
 *
 * The output is `canonicalize`'s (RFC 8785's reference algorithm) byte for byte:
 * test/util/canonical-json.test.ts compares the two on generated values. Three ways, fastest first:
 * - `sortedForJson` + `JSON.stringify` when every object on the way is a plain one without
 *   array-index keys, every value is JSON-exact and every string and key is well-formed UTF-16
 *   (see sortedForJson): JSON.stringify then writes RFC 8785's escaping and number formatting,
 *   and the keys are in order;
 * - the fast serialiser (safe-stable-stringify) for everything else;
 * - the reference where either could differ: a `\ud8..`–`\udf..` escape in the output means a
 *   lone surrogate (which RFC 8785 refuses and JSON.stringify escapes) or the literal text of one
 *   (`canonicalize` throws or agrees); whatever the fast serialiser refuses (NaN, ±Infinity,
 *   cycles, and in strict mode also function or symbol members, which JSON drops): `canonicalize`
 *   throws or gives the form.
 */
export function canonicalJson(value: unknown): string {
  const sorted = sortedForJson(value, 0);
  if (sorted !== NOT_EXACT) {
    // Every string and key on the way is well-formed UTF-16 (checked by sortedForJson), so the
    // output holds no lone-surrogate escape and needs no search (a search of the ~160 KB report,
    // a two-byte string, took 1 ms: two thirds of the whole serialisation).
    const text = JSON.stringify(sorted);
    if (text === undefined) throw new TypeError('value cannot be canonicalised as JSON');
    return text;
  }
  let text: string | undefined;
  try {
    text = stableStringify(value);
  } catch {
    return reference(value);
  }
  if (text === undefined) throw new TypeError('value cannot be canonicalised as JSON');
  if (text.includes('\\ud')) return reference(value);
  return text;
}

const NOT_EXACT: unique symbol = Symbol('not JSON-exact');
/** Keys that V8 orders before all others (array indices) or that an object literal cannot hold. */
const INDEX_LIKE = /^(?:0|[1-9][0-9]*)$/;
/** Deeper than this, the value goes to the fast serialiser (which also detects cycles). */
const MAX_DEPTH = 200;

/**
 * The value with every object's keys in UTF-16 code-unit order (objects already in order are
 * kept, others copied), or NOT_EXACT when JSON.stringify could write it differently from RFC 8785
 * or drop part of it: a non-plain object (Date, Map, class instance, typed array), a `toJSON`, a
 * function, symbol or bigint anywhere, a non-finite number, `undefined` in an array, an
 * array-index or `__proto__` key, a string or key with a lone surrogate, or nesting past
 * MAX_DEPTH. On the 158 KB report of docs/examples/poorly-controlled.json, with the evaluation's
 * own key order, this and JSON.stringify took 0.75 ms against 1.38 ms for safe-stable-stringify
 * (bench/canonical-json.ts prints both). On a slower host, with the lone-surrogate check moved
 * here from a search of the output: 0.76 ms, against 1.54 ms with the search and 1.18–1.28 ms for
 * `canonicalize`.
 */
function sortedForJson(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      // A lone surrogate: RFC 8785 refuses it, JSON.stringify would escape it.
      return value.isWellFormed() ? value : NOT_EXACT;
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : NOT_EXACT;
    case 'object': {
      if (value === null) return value;
      if (depth > MAX_DEPTH) return NOT_EXACT;
      if (Array.isArray(value)) {
        let copy: unknown[] | undefined;
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) return NOT_EXACT;
          const out = sortedForJson(item, depth + 1);
          if (out === NOT_EXACT) return NOT_EXACT;
          if (out !== item) (copy ??= value.slice())[i] = out;
        }
        return copy ?? value;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) return NOT_EXACT;
      const object = value as Record<string, unknown>;
      const keys = Object.keys(object);
      let inOrder = true;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const first = key.charCodeAt(0);
        if ((first <= 57 && first >= 48 && INDEX_LIKE.test(key)) || key === '__proto__' || key === 'toJSON' || !key.isWellFormed()) return NOT_EXACT;
        if (i > 0 && !(keys[i - 1]! < key)) inOrder = false;
      }
      if (!inOrder) keys.sort();
      let copy: Record<string, unknown> | undefined = inOrder ? undefined : {};
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const item = object[key];
        if (item === undefined) continue;
        const out = sortedForJson(item, depth + 1);
        if (out === NOT_EXACT) return NOT_EXACT;
        if (copy === undefined && out !== item) {
          copy = {};
          for (let j = 0; j < i; j++) if (object[keys[j]!] !== undefined) copy[keys[j]!] = object[keys[j]!];
        }
        if (copy !== undefined) copy[key] = out;
      }
      return copy ?? value;
    }
    default:
      // undefined at the top, function, symbol, bigint.
      return NOT_EXACT;
  }
}

function reference(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalised as JSON');
  return text;
}

/**
 * RFC 8785 canonical JSON as UTF-8 bytes: what gets hashed and signed. The same bytes as
 * `Buffer.from(canonicalJson(value))` (test/util/canonical-json.test.ts compares them).
 *
 * JSON.stringify returns a string of linked parts, which encoding must first copy into one flat
 * string; for a report of 160 KB that string is 316 KB (two bytes a character once one character
 * is past U+00FF), allocated in fresh pages of V8's large-object space. Those page faults cost
 * about as much as the serialisation itself on a VM. So the outer levels are written piece by
 * piece, each piece a small string, into one reused scratch buffer, and the bytes are copied out.
 */
export function canonicalJsonBytes(value: unknown): Buffer {
  const sorted = sortedForJson(value, 0);
  if (sorted === NOT_EXACT) return Buffer.from(canonicalJson(value), 'utf8');
  if (typeof sorted !== 'object' || sorted === null) return Buffer.from(JSON.stringify(sorted), 'utf8');
  const sink = new ScratchSink();
  writeSorted(sink, sorted, 0);
  return sink.take();
}

/** Levels written piece by piece: the report, its evaluation, its findings (then one finding each). */
const SPLIT_DEPTH = 3;

/** `JSON.stringify(value)` for a value sortedForJson returned, written in pieces down to SPLIT_DEPTH. */
function writeSorted(sink: ScratchSink, value: unknown, depth: number): void {
  if (depth >= SPLIT_DEPTH || typeof value !== 'object' || value === null) {
    sink.write(JSON.stringify(value));
    return;
  }
  if (Array.isArray(value)) {
    sink.write('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) sink.write(',');
      writeSorted(sink, value[i], depth + 1);
    }
    sink.write(']');
    return;
  }
  sink.write('{');
  let first = true;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    // JSON.stringify leaves out members whose value is undefined; sortedForJson refused the rest.
    if (item === undefined) continue;
    sink.write(first ? `${JSON.stringify(key)}:` : `,${JSON.stringify(key)}:`);
    first = false;
    writeSorted(sink, item, depth + 1);
  }
  sink.write('}');
}

/** A scratch buffer kept between calls (at most SCRATCH_KEEP bytes of it) and grown by doubling. */
let scratch: Buffer | undefined;
const SCRATCH_KEEP = 4 * 1024 * 1024;
/** Well under V8's 128 KB limit for an object in its young generation, even at two bytes a character. */
const PENDING_MAX = 16 * 1024;

class ScratchSink {
  private buffer: Buffer;
  private length = 0;

  constructor() {
    this.buffer = scratch ?? Buffer.allocUnsafeSlow(256 * 1024);
    scratch = undefined;
  }

  /** Text not yet encoded: pieces are joined up to PENDING_MAX characters, then encoded at once. */
  private pending = '';

  write(text: string): void {
    this.pending += text;
    if (this.pending.length >= PENDING_MAX) this.flush();
  }

  private flush(): void {
    const text = this.pending;
    this.pending = '';
    // A UTF-16 code unit takes at most 3 bytes of UTF-8.
    if (this.length + text.length * 3 > this.buffer.length) this.grow(this.length + text.length * 3);
    this.length += this.buffer.write(text, this.length, 'utf8');
  }

  private grow(needed: number): void {
    let size = this.buffer.length * 2;
    while (size < needed) size *= 2;
    const bigger = Buffer.allocUnsafeSlow(size);
    this.buffer.copy(bigger, 0, 0, this.length);
    this.buffer = bigger;
  }

  /** The bytes written, in a buffer of their own; the scratch buffer goes back for the next call. */
  take(): Buffer {
    this.flush();
    const out = Buffer.allocUnsafe(this.length);
    this.buffer.copy(out, 0, 0, this.length);
    if (this.buffer.length <= SCRATCH_KEEP) scratch = this.buffer;
    return out;
  }
}
