import type { EvaluationResult } from '../rules/types.js';

/** Who acts: a person (session) or an API client (bearer token), always within one organisation. */
export interface Actor {
  readonly type: 'user' | 'client';
  readonly id: string;
  /** Shown in reports as the submitter: the user's email or the client's name. */
  readonly name: string;
  readonly role: string;
  readonly organizationId: string;
}

export interface RulesetRef {
  readonly id: string;
  readonly version: string;
}

/** What the assessment service needs from the rules module (an interface, so tests see the seam). */
export interface Evaluator {
  evaluate(input: { questionnaireVersion: string; answers: unknown; rulesets?: readonly RulesetRef[] }): Promise<EvaluationResult>;
  /**
   * Validates the answers of a draft: as for evaluation (types, options, unknown and hidden
   * questions, prototype-pollution keys), except that required questions may still be unanswered.
   * Throws a 422 AppError naming the fields.
   */
  validateDraft(input: { questionnaireVersion: string; answers: unknown }): void;
  /**
   * The rulesets evaluating `input` would use, with their hashes, without evaluating; throws the
   * 422 that `evaluate` would for an unusable list.
   */
  resolveRulesets(input: { questionnaireVersion: string; rulesets?: readonly RulesetRef[] }): readonly { readonly id: string; readonly version: string; readonly sha256: string }[];
  /** The exact canonical content of a ruleset version and its SHA-256, to store beside the report. */
  rulesetContent(ref: RulesetRef): { readonly sha256: string; readonly content: string };
}

export interface RequestMeta {
  readonly id: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
}

export type RiskLevel = 'very_low' | 'low' | 'moderate' | 'high' | 'very_high';
export const RISK_LEVELS: readonly RiskLevel[] = ['very_low', 'low', 'moderate', 'high', 'very_high'];
