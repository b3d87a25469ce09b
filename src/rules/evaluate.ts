import type { Engine, RuleResult } from 'json-rules-engine';
import { AppError, validationError } from '../errors.js';
import type { FieldError } from '../errors.js';
import { loadQuestionnaire } from '../questionnaire/load.js';
import type { Answers, Questionnaire } from '../questionnaire/types.js';
import { checkAnswers } from '../questionnaire/validate.js';
import { visibleQuestions } from '../questionnaire/visibility.js';
import { canonicalJson } from '../util/canonical-json.js';
import { firstUncleanString } from '../util/clean-strings.js';
import { sha256Hex } from '../util/hash.js';
import { compareCitations } from './citation-sort.js';
import { buildEngine, buildSingleEngine, ENGINE_INFO, itemName, parseItemName } from './engine.js';
import { leaves } from './lint.js';
import { key, loadRegistry } from './load.js';
import type { LoadedRuleset } from './load.js';
import { likelihoodInputs, overallRisk, shiftLevel, TABLE_G5, TABLE_I2, threeLevel } from './risk.js';
import type {
  AnswerReason,
  Condition,
  ConditionReason,
  CountsByStatus,
  EvaluationError,
  EvaluationResult,
  EvaluationRulesetRef,
  Family,
  Finding,
  FindingStatus,
  ImpactRaise,
  RiskLevel,
  RuleData,
  RulesetData,
  RulesetRef,
  SpecType,
  TopCondition,
} from './types.js';
import { EVALUATION_SCHEMA, FAMILIES, FINDING_STATUSES, RISK_LEVELS, SPEC_TYPES } from './types.js';

/** Input of {@link evaluate}. */
export interface EvaluateInput {
  readonly questionnaireVersion: string;
  readonly answers: unknown;
  /** Ruleset versions to evaluate under; default: the current version of every ruleset for the questionnaire version. */
  readonly rulesets?: readonly RulesetRef[];
}

/** A ruleset prepared for evaluation: its engine (built once) and per-rule lookups. */
export interface CompiledRuleset {
  readonly ref: EvaluationRulesetRef;
  readonly data: RulesetData;
  readonly engine: Engine;
  readonly isolated: Map<string, Engine>;
  /** Serialises runs of this ruleset's engines (see `exclusive`). */
  readonly lock: { tail: Promise<unknown> };
  readonly contextIndex: ReadonlyMap<string, number>;
  /** Per rule: the question ids of its status question, requirement and gate, in reason order. */
  readonly ruleQuestions: readonly (readonly string[])[];
  /** Per context: the question ids it reads. */
  readonly contextQuestions: readonly (readonly string[])[];
}

const compiledCache = new Map<string, CompiledRuleset>();

/**
 * Prepares a ruleset for evaluation. Rulesets from the registry are compiled once per process
 * (`compiledFor`); this is exported so tests can evaluate hand-made rulesets (e.g. a broken rule).
 */
export function compileRuleset(data: RulesetData, meta: { sha256: string; title?: string }): CompiledRuleset {
  const contextIndex = new Map(data.contexts.map((c, i) => [c.id, i] as const));
  const contextQuestions = data.contexts.map((ctx) => Object.freeze([...new Set(leaves(ctx.conditions).map((l) => l.path))]));
  const ruleQuestions = data.rules.map((r) => {
    const ids = new Set<string>();
    if (r.statusFrom) ids.add(r.statusFrom.question);
    for (const l of leaves(r.conditions)) ids.add(l.path);
    if (r.appliesWhen !== undefined) for (const q of contextQuestions[contextIndex.get(r.appliesWhen) ?? -1] ?? []) ids.add(q);
    return Object.freeze([...ids]);
  });
  return {
    ref: Object.freeze({ id: data.id, version: data.version, title: meta.title ?? data.title, sha256: meta.sha256 }),
    data,
    engine: buildEngine(data),
    isolated: new Map(),
    lock: { tail: Promise.resolve() },
    contextIndex,
    ruleQuestions,
    contextQuestions,
  };
}

function compiledFor(loaded: LoadedRuleset): CompiledRuleset {
  const k = key(loaded.id, loaded.version);
  let c = compiledCache.get(k);
  if (!c) {
    c = compileRuleset(loaded.data, { sha256: loaded.sha256, title: loaded.title });
    compiledCache.set(k, c);
  }
  return c;
}

/**
 * Evaluates answers under ruleset versions.
 *
 * Guarantees: answers are validated first (invalid answers throw `validationError` with `/answers/...`
 * pointers and are never evaluated); an unknown questionnaire version throws at `/questionnaireVersion`,
 * an unknown or mismatched ruleset at `/rulesets/<i>`. The result is deterministic: the same answers
 * and ruleset versions give byte-identical canonical JSON in any process, time zone or locale,
 * independent of the order in which the engine settles its promises. Every rule yields exactly one
 * finding; a rule that fails to evaluate is `not_assessed` with its error, never dropped.
 */
export async function evaluate(input: EvaluateInput): Promise<EvaluationResult> {
  if (input === null || typeof input !== 'object') throw new AppError('validation-failed', 'input must be an object', { pointer: '' });
  const version = input.questionnaireVersion;
  const questionnaire = typeof version === 'string' ? loadQuestionnaire(version) : undefined;
  if (!questionnaire) {
    // As the API's schema words a missing or mistyped field; an unknown version is named.
    const detail = version === undefined ? 'is required' : typeof version !== 'string' ? 'must be string' : `unknown questionnaire version ${JSON.stringify(version)}`;
    throw new AppError('validation-failed', detail, { pointer: '/questionnaireVersion', errors: [{ pointer: '/questionnaireVersion', detail }] });
  }
  const compiled = resolveRulesets(questionnaire.version, input.rulesets);
  const validated = checkAnswers(questionnaire, input.answers);
  if (!validated.ok) throw validationError(validated.errors);
  // A lone surrogate cannot be canonicalised (RFC 8785): refused with its pointer, as the HTTP
  // layer refuses it in any body, for callers that skip that layer (the assess CLI, the library).
  // NUL characters evaluate; only storing refuses them (the HTTP layer does).
  const unclean = firstUncleanString(validated.answers, '/answers', false);
  if (unclean) throw validationError([unclean]);
  return evaluateCompiled(questionnaire, validated.answers, compiled, validated.visible);
}

/**
 * The rulesets an evaluation of `questionnaireVersion` under `refs` uses (omitted: the current
 * ones), with their hashes, as the evaluation lists them; without evaluating anything. Throws the
 * same 422 as `evaluate` for an unusable list.
 */
export function resolveRulesetRefs(questionnaireVersion: string, refs: readonly RulesetRef[] | undefined): readonly EvaluationRulesetRef[] {
  return resolveRulesets(questionnaireVersion, refs).map((c) => c.ref);
}

function resolveRulesets(questionnaireVersion: string, refs: readonly RulesetRef[] | undefined): CompiledRuleset[] {
  const registry = loadRegistry();
  if (refs === undefined) {
    return [...registry.values()].filter((r) => r.status === 'current' && r.questionnaireVersion === questionnaireVersion).sort((a, b) => (a.id < b.id ? -1 : 1)).map(compiledFor);
  }
  const bad = (i: number | null, detail: string): AppError => {
    const pointer = i === null ? '/rulesets' : `/rulesets/${i}`;
    return new AppError('validation-failed', `${pointer}: ${detail}`, { pointer, errors: [{ pointer, detail }] });
  };
  const list: unknown = refs;
  if (!Array.isArray(list) || list.length === 0) throw bad(null, 'must be a non-empty array of {id, version}');
  const out: CompiledRuleset[] = [];
  const seenIds = new Set<string>();
  (list as unknown[]).forEach((item, i) => {
    if (!isRef(item)) throw bad(i, 'must be {id, version}');
    const ref = item;
    const loaded = registry.get(key(ref.id, ref.version));
    if (!loaded) throw bad(i, `unknown ruleset ${ref.id}@${ref.version}`);
    if (loaded.questionnaireVersion !== questionnaireVersion) throw bad(i, `ruleset ${ref.id}@${ref.version} evaluates questionnaire version ${loaded.questionnaireVersion}`);
    if (seenIds.has(ref.id)) throw bad(i, `ruleset ${ref.id} listed twice`);
    seenIds.add(ref.id);
    out.push(compiledFor(loaded));
  });
  const citations = new Map<string, string>();
  out.forEach((c) => {
    for (const r of c.data.rules) {
      const other = citations.get(r.citation);
      if (other) throw bad(out.indexOf(c), `ruleset ${c.data.id} and ${other} both cite ${r.citation}`);
      citations.set(r.citation, c.data.id);
    }
  });
  return out.sort((a, b) => (a.data.id < b.data.id ? -1 : 1));
}

// ------------------------------------------------------------------ evaluation proper

type K = 0 | 0.5 | 1; // Kleene truth: false, unknown, true (all = min, any = max)
type QState = 'answered' | 'unanswered' | 'hidden';

interface EvalState {
  readonly questionnaire: Questionnaire;
  readonly answers: Answers;
  readonly visible: ReadonlySet<string>;
}

function stateOf(s: EvalState, questionId: string): QState {
  if (!s.visible.has(questionId)) return 'hidden';
  return Object.hasOwn(s.answers, questionId) ? 'answered' : 'unanswered';
}

const idSegments = new Map<string, readonly string[]>();

/**
 * Facts, computed up front: the answers as a nested object addressed by dot paths (question ids).
 * Plain objects are safe here: ids are validated (no `__proto__`, `constructor`, `prototype` segment)
 * and the path resolver reads own properties only.
 */
export function answersToFacts(answers: Answers): { answers: Record<string, unknown> } {
  const root: Record<string, unknown> = {};
  for (const id in answers) {
    let segments = idSegments.get(id);
    if (!segments) {
      segments = id.split('.');
      idSegments.set(id, segments);
    }
    let node = root;
    const last = segments.length - 1;
    for (let i = 0; i < last; i++) {
      const s = segments[i]!;
      let next = node[s] as Record<string, unknown> | undefined;
      if (next === undefined) {
        next = {};
        node[s] = next;
      }
      node = next;
    }
    node[segments[last]!] = answers[id];
  }
  return { answers: root };
}

interface EngineOutcome {
  readonly results: (RuleResult | undefined)[];
  /** Per context, the engine's evaluated copy of its condition tree. */
  readonly contextNodes: (EngineNode | undefined)[];
  readonly errors: Map<string, string>;
}

/**
 * Runs `fn` after every earlier run on this ruleset's engines has settled. json-rules-engine keeps its
 * run status on the Engine: when one run finishes while another run's first step is still queued, the
 * second run sees the status "finished" and silently evaluates no rule at all (reproduced with 7.3.1).
 * Evaluation is CPU-bound on one thread, so serialising per engine costs no throughput.
 */
function exclusive<T>(c: CompiledRuleset, fn: () => Promise<T>): Promise<T> {
  const run = c.lock.tail.then(fn, fn);
  c.lock.tail = run.then(
    () => undefined,
    () => undefined,
  );
  return run;
}

function runEngine(c: CompiledRuleset, facts: object): Promise<EngineOutcome> {
  return exclusive(c, () => runEngineNow(c, facts));
}

async function runEngineNow(c: CompiledRuleset, facts: object): Promise<EngineOutcome> {
  const results: (RuleResult | undefined)[] = new Array<RuleResult | undefined>(c.data.rules.length);
  const contextNodes: (EngineNode | undefined)[] = new Array<EngineNode | undefined>(c.data.contexts.length);
  const errors = new Map<string, string>();
  const place = (r: RuleResult): void => {
    const item = parseItemName(r.name);
    if (!item) return;
    if (item.kind === 'rule') results[item.index] = r;
    else if (item.kind === 'context') contextNodes[item.index] = engineRoot(r);
    else engineRoot(r)?.any?.forEach((node, i) => (contextNodes[i] = node));
  };
  try {
    const out = await c.engine.run(facts);
    for (const r of out.results) place(r);
    for (const r of out.failureResults) place(r);
  } catch {
    // One rule broke the whole run: evaluate each rule and context on its own to isolate the failures.
    const items: { kind: 'rule' | 'context'; index: number }[] = [
      ...c.data.contexts.map((_, index) => ({ kind: 'context' as const, index })),
      ...c.data.rules.map((_, index) => ({ kind: 'rule' as const, index })),
    ];
    for (const item of items) {
      const name = itemName(item);
      let engine = c.isolated.get(name);
      if (!engine) {
        engine = buildSingleEngine(c.data, item);
        c.isolated.set(name, engine);
      }
      try {
        const out = await engine.run(facts);
        for (const r of [...out.results, ...out.failureResults]) place(r);
      } catch (e) {
        errors.set(name, e instanceof Error ? e.message : String(e));
      }
    }
  }
  return { results, contextNodes, errors };
}

interface EngineNode {
  readonly all?: readonly EngineNode[];
  readonly any?: readonly EngineNode[];
  readonly result?: unknown;
}

/** Three-valued evaluation of a data condition tree against the engine's evaluated copy of it. */
function kleene(
  node: TopCondition | Condition,
  en: EngineNode | undefined,
  role: 'requirement' | 'context',
  s: EvalState,
  out: { role: ConditionReason['role']; context: string | null; reasons: ConditionReason[] },
): K {
  if ('all' in node && node.all) {
    let v: K = 1;
    const children = node.all, engineChildren = en?.all;
    for (let i = 0; i < children.length; i++) {
      const r = kleene(children[i]!, engineChildren?.[i], role, s, out);
      if (r < v) v = r;
    }
    return v;
  }
  if ('any' in node && node.any) {
    let v: K = 0;
    const children = node.any, engineChildren = en?.any;
    for (let i = 0; i < children.length; i++) {
      const r = kleene(children[i]!, engineChildren?.[i], role, s, out);
      if (r > v) v = r;
    }
    return v;
  }
  const leaf = node as Extract<Condition, { fact: string }>;
  const state = stateOf(s, leaf.path);
  let v: K;
  if (state === 'hidden') v = role === 'requirement' ? 1 : 0;
  else if (state === 'unanswered') v = 0.5;
  else if (en?.result === true) v = 1;
  else if (en?.result === false) v = 0;
  else throw new Error(`condition on ${leaf.path} was not evaluated by the engine`);
  // Keys in code-unit order here and in the findings below: canonical JSON then keeps the objects
  // as they are instead of copying them sorted (src/util/canonical-json.ts, sortedForJson).
  out.reasons.push({ context: out.context, fact: leaf.fact, operator: leaf.operator, path: leaf.path, result: v === 0.5 ? null : v === 1, role: out.role, value: leaf.value });
  return v;
}

function engineRoot(r: RuleResult | undefined): EngineNode | undefined {
  return r?.conditions;
}

function isRef(x: unknown): x is RulesetRef {
  return x !== null && typeof x === 'object' && typeof (x as RulesetRef).id === 'string' && typeof (x as RulesetRef).version === 'string';
}

interface ContextValue {
  /** Kleene value; unknown (0.5) counts as holding (fail closed) wherever it is used. */
  readonly value: K;
  readonly holds: boolean;
  /** The context's leaves, as reasons with role `applicability` and with role `impact`. */
  readonly applicability: readonly ConditionReason[];
  readonly impact: readonly ConditionReason[];
}

/** Evaluates validated answers under compiled rulesets. Exported for tests of failure isolation. */
export async function evaluateCompiled(
  questionnaire: Questionnaire,
  answers: Answers,
  rulesets: readonly CompiledRuleset[],
  visible: ReadonlySet<string> = visibleQuestions(questionnaire, answers),
): Promise<EvaluationResult> {
  const s: EvalState = { questionnaire, answers, visible };
  const facts = answersToFacts(answers);
  const outcomes = await Promise.all(rulesets.map((c) => runEngine(c, facts)));
  const findings: Finding[] = [];
  const errors: EvaluationError[] = [];
  for (let ri = 0; ri < rulesets.length; ri++) {
    const c = rulesets[ri]!;
    const outcome = outcomes[ri]!;
    const contexts: ContextValue[] = [];
    for (let i = 0; i < c.data.contexts.length; i++) contexts.push(contextValue(c, i, s, outcome, errors));
    const rules = c.data.rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      const engineError = outcome.errors.size === 0 ? undefined : outcome.errors.get(itemName({ kind: 'rule', index: i }));
      const f = finding(c, rule, i, s, contexts, outcome.results[i], engineError);
      if (f.error !== null) errors.push({ rulesetId: c.data.id, rulesetVersion: c.data.version, ruleId: rule.id, citation: rule.citation, message: f.error });
      findings.push(f);
    }
  }
  findings.sort((a, b) => compareCitations(a.citation, b.citation) || (a.rulesetId < b.rulesetId ? -1 : a.rulesetId > b.rulesetId ? 1 : 0));
  errors.sort((a, b) => cmp(a.rulesetId, b.rulesetId) || cmp(a.rulesetVersion, b.rulesetVersion) || cmp(a.ruleId, b.ruleId));
  return {
    schema: EVALUATION_SCHEMA,
    questionnaire: { id: questionnaire.id, version: questionnaire.version },
    rulesets: rulesets.map((c) => c.ref),
    engine: ENGINE_INFO,
    answersSha256: sha256Hex(canonicalJson(answers)),
    summary: summarise(findings, errors.length),
    findings,
    errors,
  };
}

function contextValue(c: CompiledRuleset, i: number, s: EvalState, outcome: EngineOutcome, errors: EvaluationError[]): ContextValue {
  const ctx = c.data.contexts[i]!;
  const reasons: ConditionReason[] = [];
  const engineError = outcome.errors.size === 0 ? undefined : outcome.errors.get(itemName({ kind: 'context', index: i }));
  let value: K = 0.5;
  if (engineError !== undefined) {
    errors.push({ rulesetId: c.data.id, rulesetVersion: c.data.version, ruleId: `context:${ctx.id}`, citation: null, message: engineError });
  } else {
    try {
      value = kleene(ctx.conditions, outcome.contextNodes[i], 'context', s, { role: 'applicability', context: ctx.id, reasons });
    } catch (e) {
      errors.push({ rulesetId: c.data.id, rulesetVersion: c.data.version, ruleId: `context:${ctx.id}`, citation: null, message: e instanceof Error ? e.message : String(e) });
    }
  }
  const impact: ConditionReason[] = [];
  for (const r of reasons) impact.push({ context: r.context, fact: r.fact, operator: r.operator, path: r.path, result: r.result, role: 'impact', value: r.value });
  return { value, holds: value !== 0, applicability: reasons, impact };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function finding(
  c: CompiledRuleset,
  rule: RuleData,
  index: number,
  s: EvalState,
  contexts: readonly ContextValue[],
  result: RuleResult | undefined,
  engineError: string | undefined,
): Finding {
  const conditionReasons: ConditionReason[] = [];
  let status: FindingStatus;
  let error: string | null = null;

  const gate = rule.appliesWhen === undefined ? undefined : contexts[c.contextIndex.get(rule.appliesWhen)!]!;
  if (gate) for (const r of gate.applicability) conditionReasons.push(r);
  const primaryHidden = rule.statusFrom !== undefined && stateOf(s, rule.statusFrom.question) === 'hidden';
  if (gate && !gate.holds) {
    status = 'not_applicable';
  } else if (primaryHidden && gate !== undefined && gate.value === 0.5) {
    // An unknown gate counts as holding (fail closed); the rule's own question is then hidden only
    // because the gate question is unanswered, which makes the finding unknown, not inapplicable.
    status = 'not_assessed';
  } else if (primaryHidden) {
    status = 'not_applicable';
  } else if (engineError !== undefined) {
    status = 'not_assessed';
    error = engineError;
  } else {
    try {
      const v = kleene(rule.conditions, engineRoot(result), 'requirement', s, { role: 'requirement', context: null, reasons: conditionReasons });
      if (v === 0) status = 'not_met';
      else if (v === 0.5) status = 'not_assessed';
      else {
        const answer = rule.statusFrom ? s.answers[rule.statusFrom.question] : undefined;
        status = (rule.statusFrom && answer !== undefined ? rule.statusFrom.map[String(answer)] : undefined) ?? 'met';
      }
    } catch (e) {
      status = 'not_assessed';
      error = e instanceof Error ? e.message : String(e);
    }
  }

  const raisedBy: ImpactRaise[] = [];
  const questionIds = [...c.ruleQuestions[index]!];
  let impactLevel: RiskLevel = rule.impact.base;
  for (const raise of rule.impact.raise) {
    const ci = c.contextIndex.get(raise.context)!;
    const ctx = contexts[ci]!;
    if (!ctx.holds) continue;
    // only the contexts that raised the impact are reasons for it
    raisedBy.push(raise);
    impactLevel = shiftLevel(impactLevel, raise.levels);
    for (const r of ctx.impact) conditionReasons.push(r);
    for (const q of c.contextQuestions[ci]!) if (!questionIds.includes(q)) questionIds.push(q);
  }
  const notApplicable = status === 'not_applicable';
  const impact = { base: rule.impact.base, level: notApplicable ? ('very_low' as const) : impactLevel, raisedBy: notApplicable ? [] : raisedBy };
  const inputs = likelihoodInputs(status, rule.likelihood);
  const overall = TABLE_G5[inputs.threatInitiation][inputs.adverseImpact];
  const risk = TABLE_I2[overall][impact.level];

  const answerReasons: AnswerReason[] = [];
  for (const qid of questionIds) {
    const state = stateOf(s, qid);
    answerReasons.push({ answer: state === 'answered' ? s.answers[qid]! : null, questionId: qid, questionText: s.questionnaire.byId.get(qid)?.text ?? '', state });
  }

  return {
    citation: rule.citation,
    error,
    family: rule.family,
    impact,
    likelihood: { adverseImpact: inputs.adverseImpact, overall, threatInitiation: inputs.threatInitiation },
    reasons: { answers: answerReasons, conditions: conditionReasons },
    remediation: rule.remediation,
    risk,
    ruleId: rule.id,
    rulesetId: c.data.id,
    rulesetVersion: c.data.version,
    sources: rule.sources,
    specification: rule.specification,
    standard: rule.standard,
    standardCitation: rule.standardCitation,
    status,
    type: rule.type,
  };
}

function zeroStatus(): Record<FindingStatus, number> {
  const o = {} as Record<FindingStatus, number>;
  for (const st of FINDING_STATUSES) o[st] = 0;
  return o;
}

function summarise(findings: readonly Finding[], errorCount: number): EvaluationResult['summary'] {
  const byStatus = zeroStatus();
  const byFamily = {} as Record<Family, CountsByStatus & { total: number }>;
  for (const f of FAMILIES) byFamily[f] = { ...zeroStatus(), total: 0 };
  const byType = {} as Record<SpecType, CountsByStatus & { total: number }>;
  for (const t of SPEC_TYPES) byType[t] = { ...zeroStatus(), total: 0 };
  const byRisk = {} as Record<RiskLevel, number>;
  for (const l of RISK_LEVELS) byRisk[l] = 0;
  for (const f of findings) {
    byStatus[f.status]++;
    const fam = byFamily[f.family] as Record<FindingStatus | 'total', number>;
    fam[f.status]++;
    fam.total++;
    const ty = byType[f.type] as Record<FindingStatus | 'total', number>;
    ty[f.status]++;
    ty.total++;
    byRisk[f.risk]++;
  }
  const o = overallRisk(findings.map((f) => f.risk));
  return {
    overallRisk: o.overall,
    overallRiskThreeLevel: threeLevel(o.overall),
    maxFindingRisk: o.max,
    highOrAboveCount: o.highOrAbove,
    escalated: o.escalated,
    findingCount: findings.length,
    errorCount,
    counts: { byStatus, byFamily, byType, byRisk },
  };
}

/** The canonical JSON (RFC 8785) of an evaluation result: what reports hash and sign. */
export function evaluationToCanonicalJson(result: EvaluationResult): string {
  return canonicalJson(result);
}

export type { FieldError };
