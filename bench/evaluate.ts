/**
 * Evaluations per second on one core: the full `evaluate()` (validation, facts, both current rulesets,
 * three-valued reasons, risk, summary, answers hash) next to a bare json-rules-engine run of the same
 * rules and contexts on the same facts, in the same process.
 *
 *   npx tsx bench/evaluate.ts [seconds-per-measurement]      (npm run bench:evaluate)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate, evaluationToCanonicalJson, getRuleset, currentRulesets } from '../src/rules/index.js';
import { answersToFacts } from '../src/rules/evaluate.js';
import { buildEngine } from '../src/rules/engine.js';
import { validateAnswers } from '../src/questionnaire/index.js';

const seconds = Number(process.argv[2] ?? 3);
const example = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'docs', 'examples', 'poorly-controlled.json'), 'utf8')) as { questionnaireVersion: string; answers: Record<string, unknown> };

async function measure(label: string, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 300; i++) await fn(); // warm-up
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < seconds * 1000) {
    await fn();
    n++;
  }
  const rate = n / ((performance.now() - start) / 1000);
  process.stdout.write(`${label.padEnd(58)} ${rate.toFixed(0).padStart(7)} /s   (${(1000 / rate).toFixed(3)} ms each)\n`);
  return rate;
}

const refs = currentRulesets();
const datas = refs.map((r) => getRuleset(r.id, r.version)!.data);
const ruleCount = datas.reduce((n, d) => n + d.rules.length, 0);
const contextCount = datas.reduce((n, d) => n + d.contexts.length, 0);
// The same engines evaluate() uses (one engine rule per rule, one for all contexts), run bare.
const engines = datas.map((d) => buildEngine(d));
const validated = validateAnswers(example.questionnaireVersion, example.answers);
if (!validated.ok) throw new Error('example answers are invalid');
const facts = answersToFacts(validated.answers);

process.stdout.write(`rulesets: ${refs.map((r) => `${r.id}@${r.version}`).join(', ')}: ${ruleCount} rules and ${contextCount} contexts (${ruleCount + datas.length} engine rules)\n`);
process.stdout.write(`node ${process.version}, one core, ${seconds} s per measurement, answers: docs/examples/poorly-controlled.json\n`);
const bare = await measure('bare json-rules-engine run (same rules, same facts)', async () => {
  for (const e of engines) await e.run(facts);
});
const full = await measure('evaluate() (validate + engine + findings + summary)', () => evaluate(example));
await measure('evaluate() + canonical JSON serialisation', async () => evaluationToCanonicalJson(await evaluate(example)));
process.stdout.write(`full / bare: ${(full / bare).toFixed(2)}; target >= 2000 full evaluations/s: ${full >= 2000 ? 'met' : 'MISSED'}\n`);
