/**
 * `npx tsx bench/canonical-json.ts [seconds]`: milliseconds to serialise the poorly-controlled
 * example's evaluation (about 160 KB) as RFC 8785 canonical JSON with src/util/canonical-json.ts,
 * next to the `canonicalize` reference and to plain (unsorted) JSON.stringify as the floor; then
 * the same as UTF-8 bytes (what reports store and sign), with the CPU's system share, which is
 * where page faults show.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import { evaluate } from '../src/rules/index.js';
import { canonicalJson, canonicalJsonBytes } from '../src/util/canonical-json.js';

const seconds = Number(process.argv[2] ?? 2);
const input = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'docs', 'examples', 'poorly-controlled.json'), 'utf8')) as { questionnaireVersion: string; answers: unknown };
const result = await evaluate(input);
const expected = canonicalize(result)!;
const expectedBytes = Buffer.from(expected, 'utf8');
const runs: [string, () => string | Buffer | undefined][] = [
  ['canonicalJson (src/util/canonical-json.ts)', () => canonicalJson(result)],
  ['canonicalize (reference)', () => canonicalize(result)],
  ['JSON.stringify, unsorted (floor)', () => JSON.stringify(result)],
  ['bytes: canonicalJsonBytes', () => canonicalJsonBytes(result)],
  ['bytes: Buffer.from(canonicalJson)', () => Buffer.from(canonicalJson(result), 'utf8')],
];
process.stdout.write(`node ${process.version}, one core, value of ${expected.length} bytes\n`);
for (const [name, f] of runs) {
  for (let i = 0; i < 100; i++) f();
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  let n = 0;
  while (performance.now() - start < seconds * 1000) {
    f();
    n++;
  }
  const cpu = process.cpuUsage(cpu0);
  const out = f();
  const same = name.startsWith('JSON') ? '' : (Buffer.isBuffer(out) ? out.equals(expectedBytes) : out === expected) ? '  same bytes' : '  DIFFERENT BYTES';
  const perOp = (us: number): string => (us / 1000 / n).toFixed(3);
  process.stdout.write(`${name.padEnd(44)} ${((performance.now() - start) / n).toFixed(3)} ms  (CPU ${perOp(cpu.user + cpu.system)} ms, system ${perOp(cpu.system)} ms)${same}\n`);
}
