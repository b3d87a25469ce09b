/**
 * Natural ordering of citations, so `§164.308(a)(2)` sorts before `§164.308(a)(10)` and `(ii)` before `(iv)`.
 *
 * - Citations starting with `§` come first. Their part and section (`164.308`) compare numerically;
 *   then the parenthesised paragraph designators compare level by level following the CFR paragraph
 *   structure: level 1 lower-case letters, level 2 numbers, level 3 lower-case roman numerals (by value),
 *   level 4 upper-case letters. A citation sorts before its own sub-paragraphs (`(b)` < `(b)(1)`).
 * - Other identifiers (OWASP, NIST, project controls) follow, compared by natural string order in
 *   which digit runs compare as numbers.
 * The comparison is total and uses no locale.
 */
export function compareCitations(a: string, b: string): number {
  const ka = citationKey(a);
  const kb = citationKey(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const x = ka[i]!, y = kb[i]!;
    if (x !== y) {
      if (typeof x === 'number' && typeof y === 'number') return x - y;
      if (typeof x === 'number') return -1;
      if (typeof y === 'number') return 1;
      return x < y ? -1 : 1;
    }
  }
  if (ka.length !== kb.length) return ka.length - kb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

const keyCache = new Map<string, readonly (string | number)[]>();

function citationKey(c: string): readonly (string | number)[] {
  const cached = keyCache.get(c);
  if (cached) return cached;
  const m = /^§(\d+)\.(\d+)((?:\([^()]+\))*)(.*)$/.exec(c);
  let key: (string | number)[];
  if (m) {
    key = [0, Number(m[1]), Number(m[2])];
    const parts = [...m[3]!.matchAll(/\(([^()]+)\)/g)].map((x) => x[1]!);
    parts.forEach((p, depth) => key.push(paragraphValue(p, depth)));
    if (m[4]) key.push(m[4]);
  } else {
    key = [1, ...naturalTokens(c)];
  }
  keyCache.set(c, key);
  return key;
}

function paragraphValue(p: string, depth: number): number | string {
  if (/^\d+$/.test(p)) return Number(p);
  if (depth % 4 === 2 && /^[ivxlc]+$/.test(p)) return romanValue(p);
  if (/^[a-zA-Z]$/.test(p)) return p.toLowerCase().charCodeAt(0) - 96;
  return p;
}

function romanValue(s: string): number {
  const v: Record<string, number> = { i: 1, v: 5, x: 10, l: 50, c: 100 };
  let total = 0;
  for (let i = 0; i < s.length; i++) {
    const cur = v[s[i]!]!, next = v[s[i + 1] ?? ''] ?? 0;
    total += cur < next ? -cur : cur;
  }
  return total;
}

function naturalTokens(s: string): (string | number)[] {
  return (s.match(/\d+|\D+/g) ?? []).map((t) => (/^\d+$/.test(t) ? Number(t) : t));
}
