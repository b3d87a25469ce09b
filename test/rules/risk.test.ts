import { compareCitations, ESCALATION_THRESHOLD, likelihoodInputs, overallRisk, RISK_LEVELS, TABLE_G5, TABLE_I2, threeLevel } from '../../src/rules/index.js';
import type { FindingStatus, RiskLevel } from '../../src/rules/index.js';

const abbrev: Record<string, RiskLevel> = { VL: 'very_low', L: 'low', M: 'moderate', H: 'high', VH: 'very_high' };
/** The tables exactly as printed in REFERENCE.md §5: rows VH..VL, columns VL..VH. */
const G5 = ['L M H VH VH', 'L M M H VH', 'L L M M H', 'VL L L M M', 'VL VL L L L'];
const I2 = ['VL L M H VH', 'VL L M H VH', 'VL L M M H', 'VL L L L M', 'VL VL VL L L'];
const rows: RiskLevel[] = ['very_high', 'high', 'moderate', 'low', 'very_low'];
const rank = (l: RiskLevel): number => RISK_LEVELS.indexOf(l);

describe('NIST SP 800-30 tables', () => {
  it.each([
    ['G-5', TABLE_G5, G5],
    ['I-2', TABLE_I2, I2],
  ] as const)('table %s matches the reference cell by cell', (_name, table, printed) => {
    rows.forEach((row, r) => {
      const cells = printed[r]!.split(' ').map((a) => abbrev[a]!);
      RISK_LEVELS.forEach((col, c) => expect(table[row][col]).toBe(cells[c]));
    });
  });

  it('both tables are monotone in both inputs (what makes the risk model monotone)', () => {
    for (const table of [TABLE_G5, TABLE_I2]) {
      for (const a of RISK_LEVELS) for (const b of RISK_LEVELS) for (const a2 of RISK_LEVELS) for (const b2 of RISK_LEVELS) {
        if (rank(a2) >= rank(a) && rank(b2) >= rank(b)) expect(rank(table[a2][b2])).toBeGreaterThanOrEqual(rank(table[a][b]));
      }
    }
  });

  it('derives the three-level HHS view', () => {
    expect(RISK_LEVELS.map(threeLevel)).toEqual(['low', 'low', 'moderate', 'high', 'high']);
  });
});

describe('likelihood by status', () => {
  const order: FindingStatus[] = ['not_met', 'rationale_documented', 'alternative_implemented', 'met'];
  it('never increases as the status improves, for every inherent pair', () => {
    for (const t of RISK_LEVELS) for (const a of RISK_LEVELS) {
      const inputs = order.map((s) => likelihoodInputs(s, { threatInitiation: t, adverseImpact: a }));
      for (let i = 1; i < inputs.length; i++) {
        expect(rank(inputs[i]!.threatInitiation)).toBeLessThanOrEqual(rank(inputs[i - 1]!.threatInitiation));
        expect(rank(inputs[i]!.adverseImpact)).toBeLessThanOrEqual(rank(inputs[i - 1]!.adverseImpact));
      }
      expect(likelihoodInputs('not_assessed', { threatInitiation: t, adverseImpact: a })).toEqual(likelihoodInputs('not_met', { threatInitiation: t, adverseImpact: a }));
    }
  });

  it('gives met findings a very low or low risk at any impact', () => {
    const i = likelihoodInputs('met', { threatInitiation: 'very_high', adverseImpact: 'very_high' });
    const overall = TABLE_G5[i.threatInitiation][i.adverseImpact];
    expect(RISK_LEVELS.map((impact) => TABLE_I2[overall][impact])).toEqual(['very_low', 'very_low', 'very_low', 'low', 'low']);
  });
});

describe('overall risk', () => {
  it('is the maximum finding risk, escalated one level when many findings are high or above', () => {
    expect(overallRisk([]).overall).toBe('very_low');
    expect(overallRisk(['low', 'moderate', 'very_low']).overall).toBe('moderate');
    const justBelow = Array<RiskLevel>(ESCALATION_THRESHOLD - 1).fill('high');
    expect(overallRisk(justBelow)).toEqual({ overall: 'high', max: 'high', highOrAbove: ESCALATION_THRESHOLD - 1, escalated: false });
    expect(overallRisk([...justBelow, 'high'])).toEqual({ overall: 'very_high', max: 'high', highOrAbove: ESCALATION_THRESHOLD, escalated: true });
    expect(overallRisk([...justBelow, 'very_high']).escalated).toBe(false);
  });
});

describe('citation order', () => {
  it('sorts citations naturally, § citations first', () => {
    const sorted = [
      'OWASP-LLM-2025:LLM10',
      '§164.308(a)(10)',
      '§164.308(a)(2)',
      '§170.315(b)(11)',
      '§164.312(a)(2)(iv)',
      '§164.312(a)(2)(iii)',
      '§164.312(a)(2)(ii)',
      'NIST-AI-RMF-1.0:MAP',
      '§164.308(a)(1)(ii)(B)',
      '§164.308(a)(1)(ii)(A)',
      '§164.308(b)(3)',
      '§92.210',
      '§164.316(a)',
      'OWASP-LLM-2025:LLM02',
      '§164.308(a)(1)(i)',
      '§164.310(d)(2)(iv)',
      '§164.310(d)(2)(ix)',
    ].sort(compareCitations);
    expect(sorted).toEqual([
      '§92.210',
      '§164.308(a)(1)(i)',
      '§164.308(a)(1)(ii)(A)',
      '§164.308(a)(1)(ii)(B)',
      '§164.308(a)(2)',
      '§164.308(a)(10)',
      '§164.308(b)(3)',
      '§164.310(d)(2)(iv)',
      '§164.310(d)(2)(ix)',
      '§164.312(a)(2)(ii)',
      '§164.312(a)(2)(iii)',
      '§164.312(a)(2)(iv)',
      '§164.316(a)',
      '§170.315(b)(11)',
      'NIST-AI-RMF-1.0:MAP',
      'OWASP-LLM-2025:LLM02',
      'OWASP-LLM-2025:LLM10',
    ]);
  });
});
