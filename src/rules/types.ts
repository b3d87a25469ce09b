/**
 * Types of rulesets (data in `rules/`) and of the evaluation result (the stable, versioned output that
 * reports wrap and sign). Everything is readonly. The result format is documented in
 * docs/evaluation-format.md; its `schema` string changes whenever a field changes meaning.
 */

/** The five NIST SP 800-30 qualitative levels, lowest first. */
export type RiskLevel = 'very_low' | 'low' | 'moderate' | 'high' | 'very_high';

export const RISK_LEVELS: readonly RiskLevel[] = Object.freeze(['very_low', 'low', 'moderate', 'high', 'very_high']);

/** Finding status. */
export type FindingStatus = 'met' | 'not_met' | 'alternative_implemented' | 'rationale_documented' | 'not_applicable' | 'not_assessed';

export const FINDING_STATUSES: readonly FindingStatus[] = Object.freeze([
  'met',
  'alternative_implemented',
  'rationale_documented',
  'not_met',
  'not_assessed',
  'not_applicable',
]);

/** Safeguard family. */
export type Family = 'administrative' | 'physical' | 'technical' | 'organizational' | 'documentation' | 'ai';

export const FAMILIES: readonly Family[] = Object.freeze(['administrative', 'physical', 'technical', 'organizational', 'documentation', 'ai']);

/** Required or addressable (§164.306(d)). For AI rules: whether documented alternatives are accepted. */
export type SpecType = 'required' | 'addressable';

export const SPEC_TYPES: readonly SpecType[] = Object.freeze(['required', 'addressable']);

/** Lifecycle of a ruleset version. Exactly one version per ruleset id is `current`; `proposed` is never a default. */
export type RulesetStatus = 'current' | 'proposed' | 'superseded';

// ---------------------------------------------------------------- ruleset data (rules/*.json)

/** A leaf condition: json-rules-engine shape; `fact` is always `answers`, `path` a question id. */
export interface LeafCondition {
  readonly fact: 'answers';
  readonly path: string;
  readonly operator: ConditionOperator;
  readonly value: unknown;
}

/** The operators rulesets may use (a subset of json-rules-engine's defaults). */
export type ConditionOperator =
  | 'equal'
  | 'notEqual'
  | 'in'
  | 'notIn'
  | 'contains'
  | 'doesNotContain'
  | 'greaterThanInclusive'
  | 'lessThanInclusive'
  | 'greaterThan'
  | 'lessThan';

/** A condition tree: `all`/`any` of sub-conditions, or a leaf. `not` is not used (monotonicity). */
export type Condition = LeafCondition | { readonly all: readonly Condition[] } | { readonly any: readonly Condition[] };

export interface TopCondition {
  readonly all?: readonly Condition[];
  readonly any?: readonly Condition[];
}

export interface Source {
  readonly title: string;
  readonly url?: string;
}

/** A named condition over use-case facts: an applicability gate or an impact raiser. */
export interface RulesetContext {
  readonly id: string;
  readonly description: string;
  readonly conditions: TopCondition;
}

export interface ImpactRaise {
  readonly context: string;
  readonly levels: number;
}

export interface RuleData {
  readonly id: string;
  /** Exact citation as in the catalogue or the reference (e.g. `§164.312(a)(2)(iv)`), unique across rulesets. */
  readonly citation: string;
  /** Where a citation not in the catalogue or the reference comes from. */
  readonly citationSource?: string;
  readonly standard: string;
  readonly standardCitation: string | null;
  /** The implementation specification, or null for a standard without specifications. */
  readonly specification: string | null;
  readonly type: SpecType;
  readonly family: Family;
  /** Context that must hold for the rule to apply; otherwise the finding is `not_applicable`. */
  readonly appliesWhen?: string;
  /** The requirement: when true the safeguard is in place (status from `statusFrom`), when false `not_met`. */
  readonly conditions: TopCondition;
  /** Maps the primary question's answer to the compliant status when the requirement holds (default `met`). */
  readonly statusFrom?: { readonly question: string; readonly map: Readonly<Record<string, FindingStatus>> };
  /** Inherent likelihoods (NIST SP 800-30 Table G-5 inputs) when the safeguard is missing. */
  readonly likelihood: { readonly threatInitiation: RiskLevel; readonly adverseImpact: RiskLevel };
  /** Impact level: `base`, raised by `levels` for each context that holds, capped at very_high. */
  readonly impact: { readonly base: RiskLevel; readonly raise: readonly ImpactRaise[] };
  readonly remediation: string;
  readonly sources: readonly Source[];
}

export interface RulesetData {
  readonly $schema?: string;
  readonly id: string;
  readonly version: string;
  readonly title: string;
  readonly status: RulesetStatus;
  readonly questionnaireVersion: string;
  readonly description: string;
  readonly sources: readonly Source[];
  readonly contexts: readonly RulesetContext[];
  readonly rules: readonly RuleData[];
}

/** Ruleset metadata as listed by `listRulesets()`. */
export interface RulesetInfo {
  readonly id: string;
  readonly version: string;
  readonly title: string;
  readonly status: RulesetStatus;
  readonly questionnaireVersion: string;
  /** SHA-256 (hex) of the RFC 8785 canonical JSON of the ruleset file's content without `status`. */
  readonly sha256: string;
  readonly ruleCount: number;
}

/** A ruleset version: metadata and its rules as data. */
export interface Ruleset extends RulesetInfo {
  readonly data: RulesetData;
}

/** Identifies a ruleset version. */
export interface RulesetRef {
  readonly id: string;
  readonly version: string;
}

// ---------------------------------------------------------------- evaluation result

export const EVALUATION_SCHEMA = 'hipaa-ai-risk/evaluation/1';

/** Likelihood inputs and the overall likelihood from Table G-5. */
export interface LikelihoodAssessment {
  readonly threatInitiation: RiskLevel;
  readonly adverseImpact: RiskLevel;
  /** Table G-5 (threatInitiation row, adverseImpact column). */
  readonly overall: RiskLevel;
}

export interface ImpactAssessment {
  /** The rule's base impact level. */
  readonly base: RiskLevel;
  /** Contexts that held and raised the level, in rule order, with the levels each added. */
  readonly raisedBy: readonly ImpactRaise[];
  /** The level used in Table I-2 (very_low for not_applicable findings). */
  readonly level: RiskLevel;
}

/** One answer behind a finding. */
export interface AnswerReason {
  readonly questionId: string;
  readonly questionText: string;
  /** `answered`, `unanswered` (shown but not answered) or `hidden` (not shown because of branching). */
  readonly state: 'answered' | 'unanswered' | 'hidden';
  /** The answer given, or null when not answered. */
  readonly answer: string | number | boolean | readonly string[] | null;
}

/** One leaf condition behind a finding, with its three-valued result. */
export interface ConditionReason {
  /** `applicability` (the rule's gate), `requirement` (the rule's conditions) or `impact` (an impact raiser). */
  readonly role: 'applicability' | 'requirement' | 'impact';
  /** The context id for applicability and impact leaves; null for requirement leaves. */
  readonly context: string | null;
  readonly fact: string;
  readonly path: string;
  readonly operator: string;
  readonly value: unknown;
  /** true / false, or null when unknown (the question is shown but unanswered). */
  readonly result: boolean | null;
}

export interface Finding {
  readonly citation: string;
  readonly rulesetId: string;
  readonly rulesetVersion: string;
  readonly ruleId: string;
  readonly standard: string;
  readonly standardCitation: string | null;
  readonly specification: string | null;
  readonly type: SpecType;
  readonly family: Family;
  readonly status: FindingStatus;
  readonly likelihood: LikelihoodAssessment;
  readonly impact: ImpactAssessment;
  /** Table I-2 (likelihood.overall row, impact.level column). */
  readonly risk: RiskLevel;
  readonly reasons: { readonly answers: readonly AnswerReason[]; readonly conditions: readonly ConditionReason[] };
  readonly remediation: string;
  readonly sources: readonly Source[];
  /** Set when the rule failed to evaluate (status is then not_assessed); null otherwise. */
  readonly error: string | null;
}

/** A rule or context that failed to evaluate. Never dropped: its finding is not_assessed. */
export interface EvaluationError {
  readonly rulesetId: string;
  readonly rulesetVersion: string;
  /** Rule id, or `context:<id>` for a context. */
  readonly ruleId: string;
  readonly citation: string | null;
  readonly message: string;
}

export type CountsByStatus = Readonly<Record<FindingStatus, number>>;

export interface EvaluationSummary {
  /** Derived only from the findings; see docs/methodology.md "Overall risk". */
  readonly overallRisk: RiskLevel;
  /** The three-level view of the HHS SRA Tool: low (VL, L), moderate (M), high (H, VH). */
  readonly overallRiskThreeLevel: 'low' | 'moderate' | 'high';
  /** The highest finding risk. */
  readonly maxFindingRisk: RiskLevel;
  /** Number of findings at high or very_high. */
  readonly highOrAboveCount: number;
  /** True when the escalation rule raised the overall risk above maxFindingRisk. */
  readonly escalated: boolean;
  readonly findingCount: number;
  readonly errorCount: number;
  readonly counts: {
    readonly byStatus: CountsByStatus;
    readonly byFamily: Readonly<Record<Family, CountsByStatus & { readonly total: number }>>;
    readonly byType: Readonly<Record<SpecType, CountsByStatus & { readonly total: number }>>;
    readonly byRisk: Readonly<Record<RiskLevel, number>>;
  };
}

/**
 * A ruleset version as an evaluation names it. No `status`: whether the version is current is a
 * fact about the day, not about the version (src/rules/load.ts, rulesetIdentityContent).
 */
export interface EvaluationRulesetRef {
  readonly id: string;
  readonly version: string;
  readonly title: string;
  readonly sha256: string;
}

/** The evaluation result: deterministic, no timestamps, no random ids, no locale. */
export interface EvaluationResult {
  readonly schema: typeof EVALUATION_SCHEMA;
  readonly questionnaire: { readonly id: string; readonly version: string };
  readonly rulesets: readonly EvaluationRulesetRef[];
  readonly engine: { readonly name: string; readonly version: string };
  /** SHA-256 (hex) of the RFC 8785 canonical JSON of the validated, normalised answers. */
  readonly answersSha256: string;
  readonly summary: EvaluationSummary;
  /** Sorted by citation (see compareCitations), then ruleset id. */
  readonly findings: readonly Finding[];
  /** Sorted by ruleset id, version, rule id. */
  readonly errors: readonly EvaluationError[];
}
