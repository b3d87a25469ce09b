import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { createAjv } from '../questionnaire/ajv.js';
import type { OptionValue, Question, Questionnaire, ShowIf } from '../questionnaire/types.js';
import type { Catalogue } from './catalogue.js';
import { RULES_DIR } from './catalogue.js';
import type { Condition, FindingStatus, LeafCondition, RulesetData, TopCondition } from './types.js';

/**
 * The ruleset linter. Rulesets are data; this is what keeps them honest. `lintRuleset` returns a list of
 * problems (empty when clean); loading refuses a ruleset with problems, and a jest test runs it over
 * every file in `rules/`.
 *
 * Checks: the file matches `rules/ruleset.schema.json`; rule ids and citations are unique; every citation
 * is in the Security Rule catalogue or the reference citations, or the rule says where it comes from
 * (`citationSource`); a catalogue citation's standard, specification, type and family match the
 * catalogue; a `hipaa-security` ruleset has a rule for every catalogue citation; every condition names
 * an existing, non-informational question with values of the right type; contexts exist and are used;
 * `statusFrom` names a question of the requirement and maps its values in rank order; and monotonicity:
 * requirement conditions are upward-closed in option rank (a more protective answer never turns them
 * false) and context conditions downward-closed (a more protective answer never turns them true).
 */
export function lintRuleset(data: RulesetData, questionnaire: Questionnaire, catalogue: Catalogue): string[] {
  const problems: string[] = [];
  const validate = schemaValidator();
  if (!validate(data)) {
    for (const e of validate.errors ?? []) problems.push(`schema: ${e.instancePath || '/'} ${e.message ?? ''}`.trim());
    return problems;
  }
  const tag = `${data.id}@${data.version}`;
  if (data.questionnaireVersion !== questionnaire.version) problems.push(`${tag}: targets questionnaire ${data.questionnaireVersion}, linted against ${questionnaire.version}`);
  const catalogueBy = new Map(catalogue.entries.map((e) => [e.citation, e] as const));

  const contextIds = new Set<string>();
  const usedContexts = new Set<string>();
  for (const c of data.contexts) {
    if (contextIds.has(c.id)) problems.push(`${tag} context ${c.id}: duplicate id`);
    contextIds.add(c.id);
    for (const p of checkConditions(c.conditions, questionnaire, 'context')) problems.push(`${tag} context ${c.id}: ${p}`);
  }

  const ruleIds = new Set<string>();
  const citations = new Set<string>();
  for (const r of data.rules) {
    const where = `${tag} rule ${r.id} (${r.citation})`;
    if (ruleIds.has(r.id)) problems.push(`${where}: duplicate rule id`);
    ruleIds.add(r.id);
    if (citations.has(r.citation)) problems.push(`${where}: duplicate citation`);
    citations.add(r.citation);

    const entry = catalogueBy.get(r.citation);
    if (entry) {
      if (r.standard !== entry.standard) problems.push(`${where}: standard must be "${entry.standard}"`);
      if (r.standardCitation !== entry.standardCitation) problems.push(`${where}: standardCitation must be ${entry.standardCitation}`);
      if (r.specification !== entry.specification) problems.push(`${where}: specification must be ${JSON.stringify(entry.specification)}`);
      if (r.type !== entry.type) problems.push(`${where}: type must be ${entry.type}`);
      if (r.family !== entry.family) problems.push(`${where}: family must be ${entry.family}`);
    } else if (catalogue.standardCitations.has(r.citation)) {
      problems.push(`${where}: cites a standard that has implementation specifications; cite the specifications`);
    } else if (r.citation.startsWith('§164.3')) {
      problems.push(`${where}: Security Rule citation not in the catalogue`);
    } else if (!catalogue.referenceCitations.has(r.citation) && !r.citationSource) {
      problems.push(`${where}: citation is neither in the catalogue nor in the reference, and the rule has no citationSource`);
    }
    if (!entry && r.family !== 'ai' && !catalogue.referenceCitations.has(r.citation)) problems.push(`${where}: only catalogue citations may use a Security Rule family`);

    for (const p of checkConditions(r.conditions, questionnaire, 'requirement')) problems.push(`${where}: ${p}`);
    if (r.appliesWhen !== undefined) {
      usedContexts.add(r.appliesWhen);
      if (!contextIds.has(r.appliesWhen)) problems.push(`${where}: unknown context ${r.appliesWhen}`);
    }
    for (const raise of r.impact.raise) {
      usedContexts.add(raise.context);
      if (!contextIds.has(raise.context)) problems.push(`${where}: unknown impact context ${raise.context}`);
    }
    if (r.statusFrom) problems.push(...checkStatusFrom(r.statusFrom, r.conditions, questionnaire).map((p) => `${where}: ${p}`));
  }
  for (const id of contextIds) if (!usedContexts.has(id)) problems.push(`${tag} context ${id}: never used`);

  if (data.id === 'hipaa-security') {
    for (const e of catalogue.entries) if (!citations.has(e.citation)) problems.push(`${tag}: no rule for catalogue citation ${e.citation}`);
  }
  return problems;
}

/**
 * Checks across the rulesets shipped together: exactly one `current` version per ruleset id, no
 * `proposed` version marked current, and no citation claimed by two current rulesets (a finding is
 * keyed by citation). Also checks the questionnaire against the rules: a question a rule depends on is
 * shown only when its gate is less protective, and a question whose branching is not so ordered is optional
 * unless it is free text (informational: e.g. the required documentation of an addressable alternative).
 */
export function lintRulesetSet(all: readonly RulesetData[], questionnaire: Questionnaire): string[] {
  const problems: string[] = [];
  const byId = new Map<string, RulesetData[]>();
  for (const d of all) byId.set(d.id, [...(byId.get(d.id) ?? []), d]);
  for (const [id, versions] of byId) {
    const current = versions.filter((v) => v.status === 'current');
    if (current.length !== 1) problems.push(`${id}: needs exactly one current version (has ${current.length})`);
    const seen = new Set<string>();
    for (const v of versions) {
      if (seen.has(v.version)) problems.push(`${id}@${v.version}: duplicate version`);
      seen.add(v.version);
    }
  }
  const owner = new Map<string, string>();
  for (const d of all.filter((x) => x.status === 'current')) {
    for (const r of d.rules) {
      const prev = owner.get(r.citation);
      if (prev) problems.push(`citation ${r.citation} is in both ${prev} and ${d.id}`);
      owner.set(r.citation, d.id);
    }
  }
  const referenced = new Set<string>();
  for (const d of all) {
    for (const r of d.rules) for (const l of leaves(r.conditions)) referenced.add(l.path);
    for (const c of d.contexts) for (const l of leaves(c.conditions)) referenced.add(l.path);
  }
  for (const q of questionnaire.questions) {
    if (!q.showIf) continue;
    const ordered = showIfDownwardClosed(q.showIf, questionnaire);
    if (!ordered && referenced.has(q.id)) problems.push(`question ${q.id}: used by rules, so its showIf must only show it for less protective answers`);
    // A required question that a more protective answer can reveal makes that answer incomplete on its own.
    // Allowed only for free text, which no rule reads (so risk stays monotone): the documentation
    // §164.306(d)(3) requires of an equivalent alternative or a "not reasonable" rationale.
    if (!ordered && q.required && q.type !== 'free_text') problems.push(`question ${q.id}: its showIf can show it after a more protective answer, so it must be optional`);
  }
  return problems;
}

/** Reads and lints every ruleset file under `rules/`; returns the problems (for the test and a CLI). */
export function lintAllRulesetFiles(questionnaire: Questionnaire, catalogue: Catalogue, files: readonly string[]): string[] {
  const datas = files.map((f) => JSON.parse(readFileSync(join(RULES_DIR, f), 'utf8')) as RulesetData);
  return [...datas.flatMap((d) => lintRuleset(d, questionnaire, catalogue)), ...lintRulesetSet(datas, questionnaire)];
}

// ------------------------------------------------------------------ helpers

let validator: ValidateFunction | undefined;
function schemaValidator(): ValidateFunction {
  if (!validator) {
    const schema = JSON.parse(readFileSync(join(RULES_DIR, 'ruleset.schema.json'), 'utf8')) as Record<string, unknown>;
    validator = createAjv().compile(schema);
  }
  return validator;
}

/** All leaves of a condition tree, in order. */
export function leaves(c: TopCondition | Condition): LeafCondition[] {
  if ('all' in c && c.all) return c.all.flatMap((x) => leaves(x));
  if ('any' in c && c.any) return c.any.flatMap((x) => leaves(x));
  return 'fact' in c ? [c] : [];
}

type Role = 'requirement' | 'context';

function checkConditions(top: TopCondition, questionnaire: Questionnaire, role: Role): string[] {
  const problems: string[] = [];
  for (const leaf of leaves(top)) {
    const q = questionnaire.byId.get(leaf.path);
    const label = `${leaf.path} ${leaf.operator} ${JSON.stringify(leaf.value)}`;
    if (!q) {
      problems.push(`condition refers to unknown question ${leaf.path}`);
      continue;
    }
    const p = checkLeaf(leaf, q, role);
    if (p) problems.push(`condition ${label}: ${p}`);
  }
  return problems;
}

/** Whether a leaf accepts the answer value, with json-rules-engine's semantics for the allowed operators. */
export function leafAccepts(leaf: LeafCondition, answer: unknown): boolean {
  const v = leaf.value;
  switch (leaf.operator) {
    case 'equal': return answer === v;
    case 'notEqual': return answer !== v;
    case 'in': return Array.isArray(v) && v.includes(answer);
    case 'notIn': return Array.isArray(v) && !v.includes(answer);
    case 'contains': return Array.isArray(answer) && answer.includes(v);
    case 'doesNotContain': return Array.isArray(answer) && !answer.includes(v);
    case 'greaterThanInclusive': return typeof answer === 'number' && answer >= (v as number);
    case 'lessThanInclusive': return typeof answer === 'number' && answer <= (v as number);
    case 'greaterThan': return typeof answer === 'number' && answer > (v as number);
    case 'lessThan': return typeof answer === 'number' && answer < (v as number);
  }
}

function checkLeaf(leaf: LeafCondition, q: Question, role: Role): string | undefined {
  const upward = role === 'requirement';
  const direction = upward ? 'upward' : 'downward';
  switch (q.type) {
    case 'free_text':
    case 'date':
      return 'free-text and date questions are informational and cannot be used in conditions';
    case 'number': {
      if (q.protective === 'neutral' || !q.protective) return 'the question is informational (protective: neutral)';
      if (typeof leaf.value !== 'number') return 'value must be a number';
      const greater = leaf.operator === 'greaterThan' || leaf.operator === 'greaterThanInclusive';
      const less = leaf.operator === 'lessThan' || leaf.operator === 'lessThanInclusive';
      if (!greater && !less) return 'number conditions must use greaterThan(Inclusive) or lessThan(Inclusive)';
      const isUp = (greater && q.protective === 'higher') || (less && q.protective === 'lower');
      return isUp === upward ? undefined : `not ${direction}-closed in protectiveness`;
    }
    case 'multiple_choice': {
      if (leaf.operator !== 'contains' && leaf.operator !== 'doesNotContain') return 'multiple-choice conditions must use contains or doesNotContain';
      const opt = (q.options ?? []).find((o) => o.value === leaf.value);
      if (!opt) return 'value is not an option of the question';
      const selectedBetter = opt.rank > (q.unselectedRank ?? 0);
      const selectedWorse = opt.rank < (q.unselectedRank ?? 0);
      // contains X is true when X is selected: upward-closed iff selecting X is not less protective.
      const containsUp = !selectedWorse;
      const containsDown = !selectedBetter;
      const ok = leaf.operator === 'contains' ? (upward ? containsUp : containsDown) : upward ? containsDown : containsUp;
      return ok ? undefined : `not ${direction}-closed in protectiveness`;
    }
    case 'single_choice':
    case 'yes_no': {
      if (!['equal', 'notEqual', 'in', 'notIn'].includes(leaf.operator)) return 'choice conditions must use equal, notEqual, in or notIn';
      const opts = q.options ?? [];
      const values = new Set<OptionValue>(opts.map((o) => o.value));
      const listed = leaf.operator === 'in' || leaf.operator === 'notIn' ? (Array.isArray(leaf.value) ? (leaf.value as unknown[]) : null) : [leaf.value];
      if (!listed) return 'value must be an array';
      if (listed.some((v) => !values.has(v as OptionValue))) return 'value is not an option of the question';
      for (const a of opts) {
        for (const b of opts) {
          if (b.rank <= a.rank) continue; // b is more protective than a
          const accA = leafAccepts(leaf, a.value), accB = leafAccepts(leaf, b.value);
          if (upward && accA && !accB) return `not upward-closed: accepts ${String(a.value)} but not the more protective ${String(b.value)}`;
          if (!upward && accB && !accA) return `not downward-closed: accepts ${String(b.value)} but not the less protective ${String(a.value)}`;
        }
      }
      return undefined;
    }
  }
}

const STATUS_ORDER: readonly FindingStatus[] = ['met', 'alternative_implemented', 'rationale_documented'];

function checkStatusFrom(sf: { question: string; map: Readonly<Record<string, FindingStatus>> }, conditions: TopCondition, questionnaire: Questionnaire): string[] {
  const problems: string[] = [];
  const q = questionnaire.byId.get(sf.question);
  if (!q) return [`statusFrom refers to unknown question ${sf.question}`];
  if (!leaves(conditions).some((l) => l.path === sf.question)) problems.push(`statusFrom question ${sf.question} is not in the conditions`);
  if (q.type !== 'single_choice' && q.type !== 'yes_no') return [...problems, 'statusFrom question must be single choice or yes/no'];
  const opts = q.options ?? [];
  for (const key of Object.keys(sf.map)) if (!opts.some((o) => String(o.value) === key)) problems.push(`statusFrom maps ${key}, not an option`);
  // A more protective answer must map to a status at least as good.
  const mapped = opts.filter((o) => Object.hasOwn(sf.map, String(o.value)));
  for (const a of mapped) {
    for (const b of mapped) {
      if (b.rank > a.rank && STATUS_ORDER.indexOf(sf.map[String(b.value)]!) > STATUS_ORDER.indexOf(sf.map[String(a.value)]!)) {
        problems.push(`statusFrom maps the more protective ${String(b.value)} to a worse status than ${String(a.value)}`);
      }
    }
  }
  return problems;
}

/** Whether a showIf holds only for answers at most as protective as some that make it hold (downward-closed). */
function showIfDownwardClosed(cond: ShowIf, questionnaire: Questionnaire): boolean {
  if ('all' in cond) return cond.all.every((c) => showIfDownwardClosed(c, questionnaire));
  if ('any' in cond) return cond.any.every((c) => showIfDownwardClosed(c, questionnaire));
  const q = questionnaire.byId.get(cond.question);
  if (!q) return false;
  if ('contains' in cond) {
    const opt = (q.options ?? []).find((o) => o.value === cond.contains);
    return opt !== undefined && opt.rank <= (q.unselectedRank ?? 0);
  }
  const opts = q.options ?? [];
  return opts.every((a) => opts.every((b) => !(b.rank > a.rank && cond.in.includes(b.value) && !cond.in.includes(a.value))));
}
