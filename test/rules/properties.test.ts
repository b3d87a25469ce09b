import fc from 'fast-check';
import { AppError } from '../../src/errors.js';
import { getQuestionnaire, validateAnswers } from '../../src/questionnaire/index.js';
import type { Questionnaire } from '../../src/questionnaire/index.js';
import {
  currentRulesets,
  evaluate,
  evaluationToCanonicalJson,
  FAMILIES,
  FINDING_STATUSES,
  getRuleset,
  RISK_LEVELS,
  SPEC_TYPES,
  TABLE_G5,
  TABLE_I2,
} from '../../src/rules/index.js';
import type { EvaluationResult, RiskLevel } from '../../src/rules/index.js';
import { applyChange, moreProtectiveChanges, reordered, validAnswersArb } from './arbitraries.js';

const questionnaire: Questionnaire = getQuestionnaire('1')!;
const answersArb = validAnswersArb(questionnaire);
const rank = (l: RiskLevel): number => RISK_LEVELS.indexOf(l);
const run = (answers: unknown): Promise<EvaluationResult> => evaluate({ questionnaireVersion: '1', answers });
const allCitations = currentRulesets()
  .flatMap((r) => getRuleset(r.id, r.version)!.data.rules.map((x) => x.citation))
  .sort();

/** Everything that would be wrong with a finding: out-of-vocabulary values, table mismatches, a met that rests on unknowns. */
function problemsOf(f: EvaluationResult['findings'][number]): string[] {
  const p: string[] = [];
  if (!FINDING_STATUSES.includes(f.status)) p.push(`${f.citation}: status ${f.status}`);
  if (!FAMILIES.includes(f.family)) p.push(`${f.citation}: family ${f.family}`);
  if (!SPEC_TYPES.includes(f.type)) p.push(`${f.citation}: type ${f.type}`);
  for (const l of [f.risk, f.likelihood.threatInitiation, f.likelihood.adverseImpact, f.likelihood.overall, f.impact.base, f.impact.level]) {
    if (!RISK_LEVELS.includes(l)) p.push(`${f.citation}: level ${l}`);
  }
  if (f.likelihood.overall !== TABLE_G5[f.likelihood.threatInitiation][f.likelihood.adverseImpact]) p.push(`${f.citation}: G-5 mismatch`);
  if (f.risk !== TABLE_I2[f.likelihood.overall][f.impact.level]) p.push(`${f.citation}: I-2 mismatch`);
  if (f.status === 'met') {
    // fail closed: a met finding rests only on known, true requirement conditions, and carries a low risk at most
    if (!f.reasons.conditions.filter((r) => r.role === 'requirement').every((r) => r.result === true)) p.push(`${f.citation}: met on unknown or false conditions`);
    if (rank(f.risk) > rank('low')) p.push(`${f.citation}: met with risk ${f.risk}`);
  }
  if (f.status === 'not_applicable' && f.risk !== 'very_low') p.push(`${f.citation}: not_applicable with risk ${f.risk}`);
  if (f.error !== null && f.status !== 'not_assessed') p.push(`${f.citation}: error without not_assessed`);
  return p;
}

describe('generated answers', () => {
  it('are valid by construction (the generator and the validator agree)', () => {
    fc.assert(
      fc.property(answersArb, (answers) => {
        const v = validateAnswers('1', answers);
        if (!v.ok) throw new Error(JSON.stringify(v.errors));
      }),
      { numRuns: 150 },
    );
  });
});

describe('evaluation of random valid answers', () => {
  it('never throws, is deterministic and order-independent, covers every citation once, uses only defined values', async () => {
    await fc.assert(
      fc.asyncProperty(answersArb, async (answers) => {
        const a = await run(answers);
        const b = await run(answers);
        const c = await run(reordered(answers));
        const text = evaluationToCanonicalJson(a);
        expect(evaluationToCanonicalJson(b)).toBe(text);
        expect(evaluationToCanonicalJson(c)).toBe(text);

        expect(a.findings.map((f) => f.citation).sort()).toEqual(allCitations);
        expect(a.errors).toEqual([]);
        expect(a.findings.flatMap(problemsOf)).toEqual([]);
        const counts = a.summary.counts.byStatus;
        expect(Object.values(counts).reduce((x, y) => x + y, 0)).toBe(a.findings.length);
        expect(RISK_LEVELS).toContain(a.summary.overallRisk);
      }),
      { numRuns: 60 },
    );
  });

  it('is monotone: a single more protective answer never raises the overall risk or any finding risk', async () => {
    await fc.assert(
      fc.asyncProperty(answersArb, fc.nat(), async (answers, pick) => {
        const changes = moreProtectiveChanges(questionnaire, answers);
        fc.pre(changes.length > 0);
        const base = await run(answers);
        // check a handful of variants per sample, chosen by `pick`, to keep the suite fast
        for (let k = 0; k < Math.min(4, changes.length); k++) {
          const change = changes[(pick + k * 7919) % changes.length]!;
          const better = await run(applyChange(questionnaire, answers, change));
          expect(rank(better.summary.overallRisk)).toBeLessThanOrEqual(rank(base.summary.overallRisk));
          const before = new Map(base.findings.map((f) => [f.citation, f.risk] as const));
          for (const f of better.findings) {
            if (rank(f.risk) > rank(before.get(f.citation)!)) {
              throw new Error(`${change.questionId} -> ${JSON.stringify(change.value)}: ${f.citation} rose from ${before.get(f.citation)!} to ${f.risk}`);
            }
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('invalid answers are rejected with field-level errors and never evaluated', () => {
  const corruptions: fc.Arbitrary<{ mutate: (a: Record<string, unknown>) => Record<string, unknown>; pointer: string }> = fc.oneof(
    fc.constantFrom('not.a.question', 'uc.unknown', 'sec.308.x', 'ai').map((k) => ({ mutate: (a: Record<string, unknown>) => ({ ...a, [k]: 'implemented' }), pointer: `/answers/${k}` })),
    fc.constantFrom(...questionnaire.questions.filter((q) => !q.showIf)).chain((q) =>
      fc
        .constantFrom<unknown>(12345, true, null, { a: 1 }, ['x'], 'definitely-not-an-option')
        .filter((v) => {
          if (q.type === 'yes_no') return typeof v !== 'boolean';
          if (q.type === 'number') return typeof v !== 'number';
          if (q.type === 'free_text') return typeof v !== 'string';
          if (q.type === 'multiple_choice') return !Array.isArray(v) || v.length > 0;
          return true;
        })
        .map((v) => ({ mutate: (a: Record<string, unknown>) => ({ ...a, [q.id]: v }), pointer: `/answers/${q.id}` })),
    ),
    fc.constantFrom('uc.name', 'uc.purpose').map((k) => ({ mutate: (a: Record<string, unknown>) => ({ ...a, [k]: 'x'.repeat(10_000) }), pointer: `/answers/${k}` })),
    fc.constantFrom('__proto__', 'constructor', 'prototype').map((k) => ({
      mutate: (a: Record<string, unknown>) => ({ ...a, ...(JSON.parse(`{"${k}": {"polluted": true}}`) as Record<string, unknown>) }),
      pointer: `/answers/${k}`,
    })),
  );

  it('names the field and refuses evaluation', async () => {
    await fc.assert(
      fc.asyncProperty(answersArb, corruptions, async (answers, corruption) => {
        const bad = corruption.mutate({ ...answers });
        const v = validateAnswers('1', bad);
        expect(v.ok).toBe(false);
        if (v.ok) return;
        // the pointer names the field, or an item of it (e.g. /answers/uc.org_type/0)
        const names = (p: string): boolean => p === corruption.pointer || p.startsWith(`${corruption.pointer}/`);
        expect(v.errors.some((e) => names(e.pointer))).toBe(true);
        let thrown: unknown;
        try {
          await run(bad);
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(AppError);
        expect((thrown as AppError).code).toBe('validation-failed');
        expect((thrown as AppError).errors.some((e) => names(e.pointer))).toBe(true);
        expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      }),
      { numRuns: 80 },
    );
  });
});
