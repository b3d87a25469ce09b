import fc from 'fast-check';
import { canonicalJson } from '../../src/util/canonical-json.js';

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
