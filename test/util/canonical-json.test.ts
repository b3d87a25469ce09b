import fs from 'node:fs';
import path from 'node:path';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { evaluate } from '../../src/rules/index.js';
import { canonicalJson, canonicalJsonBytes } from '../../src/util/canonical-json.js';

describe('canonical JSON (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and writes numbers the ECMAScript way', () => {
    expect(canonicalJson({ b: 1, a: [3, { d: 1e21, c: 0.1 }], '\u00e9': true, Z: null })).toBe('{"Z":null,"a":[3,{"c":0.1,"d":1e+21}],"b":1,"é":true}');
  });

  it.each([[NaN], [Infinity], [-Infinity]])('refuses %p', (n) => {
    expect(() => canonicalJson({ n })).toThrow();
  });

  it('is independent of key insertion order (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        return canonicalJson(obj) === canonicalJson(reversed) && canonicalJson(JSON.parse(canonicalJson(obj))) === canonicalJson(obj);
      }),
      { numRuns: 200 },
    );
  });
});

describe('canonical JSON: the fast serialiser gives the reference output', () => {
  // The reference: RFC 8785's algorithm as the `canonicalize` package implements it.
  const outcome = (f: () => string | undefined): { text?: string; threw?: true } => {
    try {
      return { text: f() };
    } catch {
      return { threw: true };
    }
  };
  // Code units that stress key order and escaping: ASCII, Latin-1, U+2028, quotes, controls,
  // astral characters (surrogate pairs) and lone surrogates, which RFC 8785 refuses.
  const unit = fc.oneof(
    fc.constantFrom('a', 'b', 'Z', '0', '1', '9', 'é', '\u2028', '"', '\\', '\n', '\u0000', '\u001f', '\u007f', '😀', '\ud800', '\udfff', '\\ud800'),
    fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  );
  const text = fc.string({ unit, maxLength: 6 });
  // Keys include array-index-like ones ("0", "10", "9"), which JS objects order numerically.
  const key = fc.oneof(text, fc.nat({ max: 20 }).map(String), fc.constantFrom('__proto__', 'constructor', 'toJSON_', ''));
  const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(-0, 1e21, 1e-7, 5e-324, Number.MAX_SAFE_INTEGER + 2, 0.1 + 0.2));
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), number, text, tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 5 }),
    object: fc.array(fc.tuple(key, fc.oneof(tie('value'), fc.constant(undefined))), { maxLength: 6 }).map((entries) => {
      const o: Record<string, unknown> = {};
      for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      return o;
    }),
  }));

  it('on generated values: the same text, or both refuse', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(outcome(() => canonicalJson(v))).toEqual(outcome(() => canonicalize(v)));
      }),
      { numRuns: 3000 },
    );
  });

  it('as bytes (written piece by piece) on generated values: the reference text in UTF-8, or both refuse', () => {
    const bytesOutcome = (f: () => Buffer | string | undefined): { hex?: string; threw?: true } => {
      try {
        const out = f();
        return { hex: Buffer.from(out as Buffer | string).toString('hex') };
      } catch {
        return { threw: true };
      }
    };
    // Wrapped three levels deep and beside other members, so that the pieces cover every level.
    const nested = fc.tuple(value, value).map(([a, b]) => ({ z: [a, { y: b, x: [a] }], a: b }));
    fc.assert(
      fc.property(fc.oneof(value, nested), (v) => {
        expect(bytesOutcome(() => canonicalJsonBytes(v))).toEqual(bytesOutcome(() => canonicalize(v)));
      }),
      { numRuns: 2000 },
    );
  });

  it('as bytes: values larger than the pieces and than the kept scratch buffer, one after another', () => {
    const wide = { list: Array.from({ length: 3000 }, (_, i) => ({ i, t: `é–${'x'.repeat(i % 50)}` })) };
    const bigLeaf = { a: { b: { c: { text: `😀${'y'.repeat(300_000)}` } } } };
    const huge = { rows: Array.from({ length: 40 }, (_, i) => ({ i, s: 'z'.repeat(150_000) })) }; // ≈ 6 MB
    for (const v of [wide, bigLeaf, huge, wide, { small: 1 }, [1, 'two'], 'text', 3, null]) {
      expect(canonicalJsonBytes(v).equals(Buffer.from(canonicalize(v)!, 'utf8'))).toBe(true);
    }
  });

  it.each(['poorly-controlled', 'well-controlled'])('on the evaluation of docs/examples/%s.json', async (name) => {
    const input = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../../docs/examples', `${name}.json`), 'utf8')) as { questionnaireVersion: string; answers: unknown };
    const result = await evaluate(input);
    const fast = canonicalJson(result);
    expect(fast.length).toBeGreaterThan(10_000);
    expect(fast).toBe(canonicalize(result));
    expect(canonicalJsonBytes(result).equals(Buffer.from(fast, 'utf8'))).toBe(true);
  });

  it('gives the reference output for values JSON.stringify alone would write differently', () => {
    class Point {
      constructor(readonly y: number, readonly x: number) {}
    }
    class Tagged {
      b = 1;
      a = 2;
      toJSON(): string {
        return 'tagged';
      }
    }
    const withOwnProto: Record<string, unknown> = { b: 1 };
    Object.defineProperty(withOwnProto, '__proto__', { value: { z: 1, a: 2 }, enumerable: true });
    let deep: unknown = 'leaf';
    for (let i = 0; i < 300; i++) deep = { k: deep, a: i };
    const cases: unknown[] = [
      { b: { d: 1, c: [{ f: 1, e: 2 }] }, a: null }, // unsorted at every level
      { 10: 'x', 9: 'y', a: 'z' }, // array-index keys, which objects order numerically
      withOwnProto,
      { toJSON: 'not a function', a: 1 },
      { when: new Date(Date.UTC(2026, 0, 2)), a: 1 }, // toJSON
      { p: new Point(2, 1) }, // a class instance
      { t: new Tagged() }, // toJSON on the prototype, keys out of order
      { n: Object.assign(Object.create(null) as object, { b: 1, a: 2 }) },
      { bytes: new Uint8Array([1, 2]) },
      [1, undefined, () => 1],
      { b: undefined, a: 1, c: [undefined] },
      { big: 1e21, small: 1e-7, neg: -0, frac: 0.1 + 0.2 },
      deep,
    ];
    for (const v of cases) expect(outcome(() => canonicalJson(v))).toEqual(outcome(() => canonicalize(v)));
    expect(canonicalJson(cases[0])).toBe('{"a":null,"b":{"c":[{"e":2,"f":1}],"d":1}}');
    expect(canonicalJson(cases[1])).toBe('{"10":"x","9":"y","a":"z"}');
  });

  it('refuses what RFC 8785 cannot represent, as the reference does', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    for (const bad of [{ s: 'x\ud800' }, { ['\udc00']: 1 }, { n: NaN }, [Infinity], cyclic, 10n]) {
      expect(() => canonicalize(bad)).toThrow();
      expect(() => canonicalJson(bad)).toThrow();
    }
    // The literal text of an escape is not a lone surrogate.
    expect(canonicalJson({ s: '\\ud800' })).toBe('{"s":"\\\\ud800"}');
    // Members JSON drops are dropped, not refused.
    expect(canonicalJson({ f: () => 1, u: undefined, k: 1 })).toBe('{"k":1}');
  });
});
