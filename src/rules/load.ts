import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadQuestionnaire } from '../questionnaire/load.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import { loadCatalogue, RULES_DIR } from './catalogue.js';
import { lintRuleset, lintRulesetSet } from './lint.js';
import type { Ruleset, RulesetData } from './types.js';

/** A loaded ruleset version, with its canonical content (exactly what the hash covers: all but `status`). */
export interface LoadedRuleset extends Ruleset {
  readonly canonical: string;
}

let registry: ReadonlyMap<string, LoadedRuleset> | undefined;

/**
 * What identifies a ruleset version: the file's content without `status`. The status (current,
 * superseded, proposed) is publication metadata that changes when another version is published:
 * hashed or reported, it would make the same answers under the same version give other bytes
 * after a newer version came out (until session 13 it did: the hash covered it and every
 * evaluation listed it). It still chooses the default versions and is listed by GET /v1/rulesets.
 */
export function rulesetIdentityContent(data: RulesetData): Omit<RulesetData, 'status'> {
  const { status: _status, ...content } = data;
  return content;
}

/** `rules/<id>/<version>.json` relative paths of every ruleset file, sorted. */
export function rulesetFiles(): string[] {
  const files: string[] = [];
  for (const dir of readdirSync(RULES_DIR, { withFileTypes: true })) {
    if (!dir.isDirectory() || dir.name === 'catalogue') continue;
    for (const f of readdirSync(join(RULES_DIR, dir.name))) if (/^\d+\.\d+\.\d+\.json$/.test(f)) files.push(`${dir.name}/${f}`);
  }
  return files.sort();
}

/**
 * Loads every ruleset once per process. Each file is parsed, linted (a ruleset with problems refuses to
 * load: fail fast), and hashed: sha256 = SHA-256 of the RFC 8785 canonical JSON of the file's content
 * without `status` (rulesetIdentityContent), so whitespace and key order in the file do not change it,
 * and neither does superseding the version.
 */
export function loadRegistry(): ReadonlyMap<string, LoadedRuleset> {
  if (registry) return registry;
  const catalogue = loadCatalogue();
  const map = new Map<string, LoadedRuleset>();
  const datas: RulesetData[] = [];
  const problems: string[] = [];
  for (const file of rulesetFiles()) {
    const data = JSON.parse(readFileSync(join(RULES_DIR, file), 'utf8')) as RulesetData;
    if (`${data.id}/${data.version}.json` !== file) problems.push(`${file}: id/version do not match the file name`);
    const questionnaire = loadQuestionnaire(data.questionnaireVersion);
    if (!questionnaire) {
      problems.push(`${file}: unknown questionnaire version ${data.questionnaireVersion}`);
      continue;
    }
    problems.push(...lintRuleset(data, questionnaire, catalogue));
    datas.push(data);
    const canonical = canonicalJson(rulesetIdentityContent(data));
    deepFreeze(data);
    map.set(key(data.id, data.version), Object.freeze({
      id: data.id,
      version: data.version,
      title: data.title,
      status: data.status,
      questionnaireVersion: data.questionnaireVersion,
      sha256: sha256Hex(canonical),
      ruleCount: data.rules.length,
      data,
      canonical,
    }));
  }
  for (const qv of new Set(datas.map((d) => d.questionnaireVersion))) {
    const questionnaire = loadQuestionnaire(qv);
    if (questionnaire) problems.push(...lintRulesetSet(datas.filter((d) => d.questionnaireVersion === qv), questionnaire));
  }
  if (problems.length > 0) throw new Error(`rulesets failed to load:\n${problems.join('\n')}`);
  registry = map;
  return map;
}

export function key(id: string, version: string): string {
  return `${id}@${version}`;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
