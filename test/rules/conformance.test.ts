import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate, FINDING_STATUSES } from '../../src/rules/index.js';
import type { EvaluationResult, FindingStatus, RiskLevel, RulesetRef } from '../../src/rules/index.js';

interface Case {
  name: string;
  description: string;
  questionnaireVersion: string;
  rulesets?: RulesetRef[];
  answers: Record<string, unknown>;
  expected: { overallRisk: RiskLevel; findings: Record<string, FindingStatus> };
}

const dir = join(import.meta.dirname, '..', 'cases');
const cases: [string, Case][] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as Case]);
const results = new Map<string, EvaluationResult>();

describe('conformance cases (test/cases/*.json)', () => {
  it('has at least 12 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });

  it.each(cases)('%s', async (_file, c) => {
    const r = await evaluate({ questionnaireVersion: c.questionnaireVersion, answers: c.answers, ...(c.rulesets ? { rulesets: c.rulesets } : {}) });
    results.set(c.name, r);
    const actual = Object.fromEntries(Object.keys(c.expected.findings).map((citation) => [citation, r.findings.find((f) => f.citation === citation)?.status ?? 'missing']));
    expect({ overallRisk: r.summary.overallRisk, findings: actual }).toEqual(c.expected);
    expect(r.errors).toEqual([]);
  });

  it('together cover every status value and both applicability gates, open and closed', () => {
    const seen = new Set<FindingStatus>();
    for (const [, c] of cases) for (const s of Object.values(c.expected.findings)) seen.add(s);
    expect([...seen].sort()).toEqual([...FINDING_STATUSES].sort());
    const statusesOf = (citation: string): Set<FindingStatus> => new Set(cases.map(([, c]) => c.expected.findings[citation]).filter((s): s is FindingStatus => s !== undefined));
    for (const gated of ['§164.308(a)(4)(ii)(A)', '§164.314(b)(2)(i)']) {
      const s = statusesOf(gated);
      expect(s.has('not_applicable')).toBe(true);
      expect([...s].some((x) => x !== 'not_applicable')).toBe(true);
    }
    expect(results.size).toBe(cases.length);
  });
});
