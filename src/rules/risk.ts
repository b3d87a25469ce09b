import type { FindingStatus, RiskLevel } from './types.js';
import { RISK_LEVELS } from './types.js';

/**
 * NIST SP 800-30 Rev. 1 lookups, exactly as in the reference (§5). Tables are looked up, never computed
 * as products. Rows and columns are in RISK_LEVELS order (very_low … very_high).
 */
const VL = 'very_low', L = 'low', M = 'moderate', H = 'high', VH = 'very_high';

/** Table G-5: [threat initiation likelihood][adverse impact likelihood] → overall likelihood. */
export const TABLE_G5: Readonly<Record<RiskLevel, Readonly<Record<RiskLevel, RiskLevel>>>> = Object.freeze({
  very_high: Object.freeze({ very_low: L, low: M, moderate: H, high: VH, very_high: VH }),
  high: Object.freeze({ very_low: L, low: M, moderate: M, high: H, very_high: VH }),
  moderate: Object.freeze({ very_low: L, low: L, moderate: M, high: M, very_high: H }),
  low: Object.freeze({ very_low: VL, low: L, moderate: L, high: M, very_high: M }),
  very_low: Object.freeze({ very_low: VL, low: VL, moderate: L, high: L, very_high: L }),
} satisfies Record<RiskLevel, Record<RiskLevel, RiskLevel>>);

/** Table I-2: [overall likelihood][impact] → risk. */
export const TABLE_I2: Readonly<Record<RiskLevel, Readonly<Record<RiskLevel, RiskLevel>>>> = Object.freeze({
  very_high: Object.freeze({ very_low: VL, low: L, moderate: M, high: H, very_high: VH }),
  high: Object.freeze({ very_low: VL, low: L, moderate: M, high: H, very_high: VH }),
  moderate: Object.freeze({ very_low: VL, low: L, moderate: M, high: M, very_high: H }),
  low: Object.freeze({ very_low: VL, low: L, moderate: L, high: L, very_high: M }),
  very_low: Object.freeze({ very_low: VL, low: VL, moderate: VL, high: L, very_high: L }),
} satisfies Record<RiskLevel, Record<RiskLevel, RiskLevel>>);

/** Index of a level, 0 (very_low) … 4 (very_high). */
export function levelIndex(level: RiskLevel): number {
  return RISK_LEVELS.indexOf(level);
}

/** The level `by` steps from `level`, clamped to very_low … very_high. */
export function shiftLevel(level: RiskLevel, by: number): RiskLevel {
  const i = Math.min(RISK_LEVELS.length - 1, Math.max(0, levelIndex(level) + by));
  return RISK_LEVELS[i]!;
}

/** The higher of two levels. */
export function maxLevel(a: RiskLevel, b: RiskLevel): RiskLevel {
  return levelIndex(a) >= levelIndex(b) ? a : b;
}

/**
 * The likelihood inputs used for a finding of a given status, from the rule's inherent inputs
 * (docs/methodology.md "Likelihood by status"):
 * - not_met, not_assessed: the rule's inherent threat-initiation and adverse-impact likelihoods;
 * - rationale_documented: adverse impact one level lower;
 * - alternative_implemented: adverse impact very_low (threat initiation unchanged);
 * - met, not_applicable: both very_low.
 * Each row is componentwise at most the row above it, and both tables are monotone, so a better status
 * never yields a higher risk.
 */
export function likelihoodInputs(status: FindingStatus, inherent: { threatInitiation: RiskLevel; adverseImpact: RiskLevel }): { threatInitiation: RiskLevel; adverseImpact: RiskLevel } {
  switch (status) {
    case 'not_met':
    case 'not_assessed':
      return { threatInitiation: inherent.threatInitiation, adverseImpact: inherent.adverseImpact };
    case 'rationale_documented':
      return { threatInitiation: inherent.threatInitiation, adverseImpact: shiftLevel(inherent.adverseImpact, -1) };
    case 'alternative_implemented':
      return { threatInitiation: inherent.threatInitiation, adverseImpact: VL };
    case 'met':
    case 'not_applicable':
      return { threatInitiation: VL, adverseImpact: VL };
  }
}

/** Number of findings at high or above from which the overall risk escalates one level. */
export const ESCALATION_THRESHOLD = 10;

/**
 * Overall risk of an assessment: the maximum finding risk; if at least ESCALATION_THRESHOLD findings are
 * high or very_high, one level higher (capped at very_high). Monotone: lowering any finding's risk can
 * lower neither the maximum nor the count, so it never raises the result.
 */
export function overallRisk(findingRisks: readonly RiskLevel[]): { overall: RiskLevel; max: RiskLevel; highOrAbove: number; escalated: boolean } {
  let max: RiskLevel = VL;
  let highOrAbove = 0;
  for (const r of findingRisks) {
    max = maxLevel(max, r);
    if (r === H || r === VH) highOrAbove++;
  }
  const escalate = highOrAbove >= ESCALATION_THRESHOLD;
  const overall = escalate ? shiftLevel(max, 1) : max;
  return { overall, max, highOrAbove, escalated: overall !== max };
}

/** HHS SRA Tool three-level view. */
export function threeLevel(level: RiskLevel): 'low' | 'moderate' | 'high' {
  return level === VL || level === L ? 'low' : level === M ? 'moderate' : 'high';
}
