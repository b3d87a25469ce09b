/**
 * Rules: ruleset loading, linting, evaluation and risk scoring. See docs/methodology.md and
 * docs/evaluation-format.md.
 */
import { AppError } from '../errors.js';
import { key, loadRegistry } from './load.js';
import type { Ruleset, RulesetInfo, RulesetRef } from './types.js';

export * from './types.js';
export { evaluate, evaluationToCanonicalJson, resolveRulesetRefs } from './evaluate.js';
export type { EvaluateInput } from './evaluate.js';
export { compareCitations } from './citation-sort.js';
export { TABLE_G5, TABLE_I2, ESCALATION_THRESHOLD, likelihoodInputs, overallRisk, threeLevel } from './risk.js';
export { ENGINE_INFO } from './engine.js';
export { lintRuleset, lintRulesetSet } from './lint.js';

function info(r: Ruleset): RulesetInfo {
  return { id: r.id, version: r.version, title: r.title, status: r.status, questionnaireVersion: r.questionnaireVersion, sha256: r.sha256, ruleCount: r.ruleCount };
}

/** Every ruleset version shipped (id, version, title, status, sha256, …), sorted by id then version. */
export function listRulesets(): readonly RulesetInfo[] {
  return [...loadRegistry().values()].map(info).sort((a, b) => (a.id !== b.id ? (a.id < b.id ? -1 : 1) : compareSemver(a.version, b.version)));
}

/** A ruleset version's metadata and its rules as data, or undefined if unknown. */
export function getRuleset(id: string, version: string): Ruleset | undefined {
  const r = loadRegistry().get(key(id, version));
  return r ? { ...info(r), data: r.data } : undefined;
}

/** The current (default) version of each ruleset, sorted by id. Proposed and superseded versions are never defaults. */
export function currentRulesets(): readonly RulesetRef[] {
  return listRulesets().filter((r) => r.status === 'current').map((r) => ({ id: r.id, version: r.version }));
}

/**
 * The exact canonical content of a ruleset version (RFC 8785 JSON, the bytes its sha256 covers), to store
 * beside a report. Throws `validation-failed` at `/rulesets` for an unknown version.
 */
export function rulesetContent(ref: RulesetRef): { readonly sha256: string; readonly content: string } {
  const r = loadRegistry().get(key(ref.id, ref.version));
  if (!r) throw new AppError('validation-failed', `unknown ruleset ${ref.id}@${ref.version}`, { pointer: '/rulesets' });
  return { sha256: r.sha256, content: r.canonical };
}

function compareSemver(a: string, b: string): number {
  const pa = a.split('.').map(Number), pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
