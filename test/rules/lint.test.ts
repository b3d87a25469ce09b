import { getQuestionnaire } from '../../src/questionnaire/index.js';
import { loadCatalogue } from '../../src/rules/catalogue.js';
import { lintAllRulesetFiles, lintRuleset, lintRulesetSet } from '../../src/rules/lint.js';
import { rulesetFiles } from '../../src/rules/load.js';
import { getRuleset, listRulesets } from '../../src/rules/index.js';
import type { RuleData, RulesetData } from '../../src/rules/index.js';

const questionnaire = getQuestionnaire('1')!;
const catalogue = loadCatalogue();
const hipaa = getRuleset('hipaa-security', '1.1.3')!.data;
const ai = getRuleset('ai-safeguards', '1.0.3')!.data;

/** A mutable deep copy of a ruleset, with one rule changed. */
function withRule(data: RulesetData, index: number, change: (r: RuleData & Record<string, unknown>) => Record<string, unknown>): RulesetData {
  const copy = structuredClone(data) as RulesetData & { rules: (RuleData & Record<string, unknown>)[] };
  copy.rules[index] = change(copy.rules[index]!) as RuleData & Record<string, unknown>;
  return copy;
}
const idx = (data: RulesetData, citation: string): number => data.rules.findIndex((r) => r.citation === citation);

describe('ruleset linter over rules/', () => {
  it('finds no problem in any ruleset file', () => {
    const files = rulesetFiles();
    expect(files).toEqual(['ai-safeguards/1.0.0.json', 'ai-safeguards/1.0.1.json', 'ai-safeguards/1.0.2.json', 'ai-safeguards/1.0.3.json', 'hipaa-security/1.0.0.json', 'hipaa-security/1.1.0.json', 'hipaa-security/1.1.1.json', 'hipaa-security/1.1.2.json', 'hipaa-security/1.1.3.json']);
    expect(lintAllRulesetFiles(questionnaire, catalogue, files)).toEqual([]);
  });

  it('has one rule per Security Rule citation of the catalogue: 7 standards without specifications and 46 specifications', () => {
    expect(catalogue.entries.filter((e) => e.specification === null)).toHaveLength(7);
    expect(catalogue.entries.filter((e) => e.specification !== null)).toHaveLength(46);
    for (const v of ['1.0.0', '1.1.0', '1.1.1', '1.1.2', '1.1.3']) {
      const cites = getRuleset('hipaa-security', v)!.data.rules.map((r) => r.citation).sort();
      expect(cites).toEqual(catalogue.entries.map((e) => e.citation).sort());
    }
    expect(hipaa.rules.find((r) => r.citation === '§164.308(b)(3)')?.specification).toBe('Written contract or other arrangement');
    expect(hipaa.rules.some((r) => r.citation === '§164.308(b)(4)')).toBe(false);
  });

  it('lets questions inform only citations of the catalogue, the reference or a rule', () => {
    const ruleCitations = new Set([...hipaa.rules, ...ai.rules].map((r) => r.citation));
    const known = (c: string): boolean => catalogue.entries.some((e) => e.citation === c) || catalogue.standardCitations.has(c) || catalogue.referenceCitations.has(c) || ruleCitations.has(c);
    expect(questionnaire.questions.flatMap((q) => q.informs.filter((c) => !known(c)).map((c) => `${q.id}: ${c}`))).toEqual([]);
  });

  it('lists the rulesets with one current version each, the others superseded', () => {
    const list = listRulesets();
    expect(list.map((r) => `${r.id}@${r.version}:${r.status}`)).toEqual(['ai-safeguards@1.0.0:superseded', 'ai-safeguards@1.0.1:superseded', 'ai-safeguards@1.0.2:superseded', 'ai-safeguards@1.0.3:current', 'hipaa-security@1.0.0:superseded', 'hipaa-security@1.1.0:superseded', 'hipaa-security@1.1.1:superseded', 'hipaa-security@1.1.2:superseded', 'hipaa-security@1.1.3:current']);
    for (const r of list) expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('ruleset linter catches', () => {
  it('a citation outside the catalogue and the reference without a source', () => {
    const bad = withRule(ai, 0, (r) => ({ ...r, citation: 'ISO-42001:6.1' }));
    expect(lintRuleset(bad, questionnaire, catalogue).join('\n')).toMatch(/neither in the catalogue nor in the reference/);
    const sourced = withRule(ai, 0, (r) => ({ ...r, citation: 'ISO-42001:6.1', citationSource: 'ISO/IEC 42001:2023 clause 6.1, actions to address risks' }));
    expect(lintRuleset(sourced, questionnaire, catalogue)).toEqual([]);
  });

  it('a Security Rule citation that is not in the catalogue (the pre-2013 (b)(4) trap)', () => {
    const bad = withRule(hipaa, idx(hipaa, '§164.308(b)(3)'), (r) => ({ ...r, citation: '§164.308(b)(4)' }));
    const problems = lintRuleset(bad, questionnaire, catalogue).join('\n');
    expect(problems).toMatch(/§164.308\(b\)\(4\).*not in the catalogue/);
    expect(problems).toMatch(/no rule for catalogue citation §164.308\(b\)\(3\)/);
  });

  it('a missing rule for a catalogue citation', () => {
    const copy = structuredClone(hipaa) as RulesetData & { rules: RuleData[] };
    copy.rules.splice(idx(hipaa, '§164.316(b)(2)(iii)'), 1);
    expect(lintRuleset(copy, questionnaire, catalogue)).toEqual(['hipaa-security@1.1.3: no rule for catalogue citation §164.316(b)(2)(iii)']);
  });

  it('a rule that refers to a question that does not exist', () => {
    const bad = withRule(hipaa, 0, (r) => ({ ...r, conditions: { all: [{ fact: 'answers', path: 'sec.308.nope', operator: 'equal', value: 'implemented' }] } }));
    expect(lintRuleset(bad, questionnaire, catalogue).join('\n')).toMatch(/unknown question sec.308.nope/);
  });

  it('a wrong type, family or specification name for a catalogue citation', () => {
    const i = idx(hipaa, '§164.312(a)(2)(iv)');
    const bad = withRule(hipaa, i, (r) => ({ ...r, type: 'required', family: 'physical', specification: 'Encryption' }));
    const problems = lintRuleset(bad, questionnaire, catalogue).join('\n');
    expect(problems).toMatch(/type must be addressable/);
    expect(problems).toMatch(/family must be technical/);
    expect(problems).toMatch(/specification must be "Encryption and decryption"/);
  });

  it('conditions that would break monotonicity, values outside the options and informational questions', () => {
    const i = idx(hipaa, '§164.312(b)');
    const notUp = withRule(hipaa, i, (r) => ({ ...r, conditions: { all: [{ fact: 'answers', path: 'sec.312.b.audit_controls', operator: 'in', value: ['not_implemented'] }] } }));
    expect(lintRuleset(notUp, questionnaire, catalogue).join('\n')).toMatch(/not upward-closed/);
    const badValue = withRule(hipaa, i, (r) => ({ ...r, conditions: { all: [{ fact: 'answers', path: 'sec.312.b.audit_controls', operator: 'equal', value: 'yes' }] } }));
    expect(lintRuleset(badValue, questionnaire, catalogue).join('\n')).toMatch(/not an option/);
    const freeText = withRule(hipaa, i, (r) => ({ ...r, conditions: { all: [{ fact: 'answers', path: 'uc.purpose', operator: 'equal', value: 'x' }] } }));
    expect(lintRuleset(freeText, questionnaire, catalogue).join('\n')).toMatch(/informational/);
    const copy = structuredClone(hipaa) as RulesetData & { contexts: { id: string; conditions: unknown }[] };
    copy.contexts[copy.contexts.findIndex((c) => c.id === 'patient_facing')]!.conditions = { all: [{ fact: 'answers', path: 'uc.patient_facing', operator: 'equal', value: false }] };
    expect(lintRuleset(copy, questionnaire, catalogue).join('\n')).toMatch(/context patient_facing: .*not downward-closed/);
  });

  it('schema violations, unknown contexts and statusFrom mapped against rank order', () => {
    const i = idx(hipaa, '§164.312(a)(2)(iv)');
    expect(lintRuleset(withRule(hipaa, i, (r) => ({ ...r, likelihood: { threatInitiation: 'extreme', adverseImpact: 'high' } })), questionnaire, catalogue)[0]).toMatch(/^schema:/);
    expect(lintRuleset(withRule(hipaa, i, (r) => ({ ...r, appliesWhen: 'martian' })), questionnaire, catalogue).join('\n')).toMatch(/unknown context martian/);
    const inverted = withRule(hipaa, i, (r) => ({ ...r, statusFrom: { question: 'sec.312.a_2_iv.encryption_decryption', map: { implemented: 'rationale_documented', equivalent_alternative: 'met' } } }));
    expect(lintRuleset(inverted, questionnaire, catalogue).join('\n')).toMatch(/worse status/);
  });

  it('a required follow-up revealed by a more protective answer, unless it is free text (the documentation §164.306(d)(3) requires)', () => {
    const id = 'sec.312.a_2_iv.encryption_decryption_documentation';
    const documentation = questionnaire.byId.get(id)!;
    expect(documentation).toMatchObject({ type: 'free_text', required: true });
    expect(lintRulesetSet([hipaa, ai], questionnaire)).toEqual([]);
    const asChoice = { ...documentation, type: 'yes_no' as const, options: [{ value: true, label: 'Yes', rank: 1 }, { value: false, label: 'No', rank: 0 }] };
    const variant = { ...questionnaire, questions: questionnaire.questions.map((x) => (x.id === id ? asChoice : x)), byId: new Map([...questionnaire.byId, [id, asChoice]]) };
    expect(lintRulesetSet([hipaa, ai], variant)).toEqual([`question ${id}: its showIf can show it after a more protective answer, so it must be optional`]);
  });

  it('two current versions of a ruleset, and a citation claimed by two current rulesets', () => {
    const twin = { ...structuredClone(hipaa), version: '9.9.9' };
    expect(lintRulesetSet([hipaa, twin, ai], questionnaire).join('\n')).toMatch(/hipaa-security: needs exactly one current version \(has 2\)/);
    const clash = withRule(ai, 0, (r) => ({ ...r, citation: '§164.312(b)' }));
    expect(lintRulesetSet([hipaa, clash], questionnaire).join('\n')).toMatch(/citation §164.312\(b\) is in both/);
  });
});
