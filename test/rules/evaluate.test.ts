import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../src/errors.js';
import { getQuestionnaire, validateAnswers } from '../../src/questionnaire/index.js';
import { compileRuleset, evaluateCompiled, resolveRulesetRefs } from '../../src/rules/evaluate.js';
import { rulesetIdentityContent } from '../../src/rules/load.js';
import {
  currentRulesets,
  ENGINE_INFO,
  evaluate,
  evaluationToCanonicalJson,
  EVALUATION_SCHEMA,
  getRuleset,
  rulesetContent,
} from '../../src/rules/index.js';
import type { EvaluationResult, RulesetData } from '../../src/rules/index.js';
import { canonicalJson } from '../../src/util/canonical-json.js';
import { sha256Hex } from '../../src/util/hash.js';

const root = join(import.meta.dirname, '..', '..');
const load = (p: string): { questionnaireVersion: string; answers: Record<string, unknown> } => JSON.parse(readFileSync(join(root, p), 'utf8'));
const well = load('docs/examples/well-controlled.json');
const poor = load('docs/examples/poorly-controlled.json');
const questionnaire = getQuestionnaire('1')!;
const find = (r: EvaluationResult, citation: string): EvaluationResult['findings'][number] => r.findings.find((f) => f.citation === citation)!;

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('evaluate: stamps and format', () => {
  it('stamps schema, questionnaire, rulesets with hashes, engine and the answers hash; no time or randomness', async () => {
    const r = await evaluate(well);
    expect(r.schema).toBe(EVALUATION_SCHEMA);
    expect(r.questionnaire).toEqual({ id: 'hipaa-ai-risk-questionnaire', version: '1' });
    expect(r.rulesets.map((x) => `${x.id}@${x.version}`)).toEqual(currentRulesets().map((x) => `${x.id}@${x.version}`));
    for (const rs of r.rulesets) {
      const content = rulesetContent(rs);
      expect(rs.sha256).toBe(content.sha256);
      expect(sha256Hex(content.content)).toBe(rs.sha256);
      // The hash is the file's content without its status (publication metadata, not content):
      // superseding the version, as publishing a newer one does, leaves its hash as it was.
      const { status, ...file } = JSON.parse(readFileSync(join(root, 'rules', rs.id, `${rs.version}.json`), 'utf8')) as Record<string, unknown>;
      expect(status).toBe('current');
      expect(sha256Hex(canonicalJson(file))).toBe(rs.sha256);
      expect(JSON.parse(content.content)).toEqual(file);
      expect(rulesetIdentityContent({ ...file, status: 'superseded' } as unknown as RulesetData)).toEqual(file);
      // Nor does an evaluation say whether its version is current: a fact of the day, not of the version.
      expect(Object.keys(rs).sort()).toEqual(['id', 'sha256', 'title', 'version']);
    }
    const pkg = JSON.parse(readFileSync(join(root, 'node_modules', 'json-rules-engine', 'package.json'), 'utf8')) as { version: string };
    expect(r.engine).toEqual({ name: 'json-rules-engine', version: pkg.version });
    expect(ENGINE_INFO.version).toBe(pkg.version);
    const v = validateAnswers('1', well.answers);
    expect(v.ok && r.answersSha256 === sha256Hex(canonicalJson(v.answers))).toBe(true);
    expect(evaluationToCanonicalJson(r)).not.toMatch(/20\d\d-\d\d-\d\dT/);
  });

  it('gives the well-controlled example a low overall risk and the poorly-controlled one a very high risk with many not_met', async () => {
    const good = await evaluate(well);
    const bad = await evaluate(poor);
    expect(['very_low', 'low']).toContain(good.summary.overallRisk);
    expect(good.summary.counts.byStatus.not_met).toBe(0);
    expect(['high', 'very_high']).toContain(bad.summary.overallRisk);
    expect(bad.summary.counts.byStatus.not_met).toBeGreaterThan(60);
    expect(bad.summary.counts.byType.required.not_met + bad.summary.counts.byType.addressable.not_met).toBe(bad.summary.counts.byStatus.not_met);
    expect(bad.summary.counts.byFamily.technical.total).toBe(9);
  });

  it('explains a finding with the answers and conditions behind it', async () => {
    const r = await evaluate(poor);
    const f = find(r, '§164.312(a)(2)(iv)');
    expect(f).toMatchObject({ status: 'not_met', type: 'addressable', family: 'technical', standard: 'Access control', specification: 'Encryption and decryption', rulesetId: 'hipaa-security' });
    expect(f.reasons.answers[0]).toEqual({ questionId: 'sec.312.a_2_iv.encryption_decryption', questionText: questionnaire.byId.get('sec.312.a_2_iv.encryption_decryption')!.text, state: 'answered', answer: 'not_implemented' });
    expect(f.reasons.conditions).toContainEqual({ role: 'requirement', context: null, fact: 'answers', path: 'sec.312.a_2_iv.encryption_decryption', operator: 'in', value: ['implemented', 'equivalent_alternative', 'documented_not_reasonable'], result: false });
    expect(f.impact.raisedBy.map((x) => x.context)).toEqual(['identifiable_phi', 'phi_volume_over_500', 'very_high_phi_volume']);
    expect(f.impact).toMatchObject({ base: 'high', level: 'very_high' });
    expect(f.likelihood).toEqual({ threatInitiation: 'high', adverseImpact: 'high', overall: 'high' });
    expect(f.risk).toBe('very_high');
    expect(f.remediation.length).toBeGreaterThan(10);
  });

  it('sorts findings by citation in natural order', async () => {
    const r = await evaluate(well);
    const cites = r.findings.map((f) => f.citation);
    expect(cites.indexOf('§164.308(a)(1)(ii)(D)')).toBeLessThan(cites.indexOf('§164.308(a)(2)'));
    expect(cites.indexOf('§164.312(a)(2)(iii)')).toBeLessThan(cites.indexOf('§164.312(a)(2)(iv)'));
    expect(cites[0]).toBe('§92.210');
  });
});

describe('evaluate: statuses and gates', () => {
  it('reports an unanswered question as not_assessed, never met, and rates it as if missing', async () => {
    const { ['sec.312.b.audit_controls']: _gone, ...rest } = well.answers;
    const r = await evaluate({ questionnaireVersion: '1', answers: rest });
    const f = find(r, '§164.312(b)');
    expect(f.status).toBe('not_assessed');
    expect(f.reasons.answers[0]!.state).toBe('unanswered');
    expect(f.reasons.conditions.find((c) => c.role === 'requirement')!.result).toBeNull();
    const poorAudit = find(await evaluate({ questionnaireVersion: '1', answers: { ...well.answers, 'sec.312.b.audit_controls': 'not_implemented' } }), '§164.312(b)');
    expect(f.risk).toBe(poorAudit.risk);
  });

  it('applies the clearinghouse and group-health-plan gates: not_applicable otherwise, evaluated when they hold', async () => {
    const r = await evaluate(well);
    expect(find(r, '§164.308(a)(4)(ii)(A)').status).toBe('not_applicable');
    for (const c of ['§164.314(b)(2)(i)', '§164.314(b)(2)(ii)', '§164.314(b)(2)(iii)', '§164.314(b)(2)(iv)']) {
      expect(find(r, c)).toMatchObject({ status: 'not_applicable', risk: 'very_low' });
    }
    const gated = await evaluate({
      questionnaireVersion: '1',
      answers: { ...well.answers, 'uc.org_type': ['clearinghouse_in_larger_org', 'group_health_plan'], 'sec.308.a_4_ii_a.isolating_clearinghouse_functions': 'implemented' },
    });
    expect(find(gated, '§164.308(a)(4)(ii)(A)').status).toBe('met');
    expect(find(gated, '§164.314(b)(2)(i)').status).toBe('not_assessed');
  });

  it('maps addressable answers to the three compliant outcomes of §164.306(d)(3)', async () => {
    const documented = (value: string): Record<string, unknown> =>
      value === 'equivalent_alternative' || value === 'documented_not_reasonable' ? { 'sec.312.a_2_iii.automatic_logoff_documentation': 'Screen lock after 5 minutes by device policy; see policy IT-7.' } : {};
    const statusFor = async (value: string): Promise<string> =>
      find(await evaluate({ questionnaireVersion: '1', answers: { ...well.answers, 'sec.312.a_2_iii.automatic_logoff': value, ...documented(value) } }), '§164.312(a)(2)(iii)').status;
    expect(await statusFor('implemented')).toBe('met');
    expect(await statusFor('equivalent_alternative')).toBe('alternative_implemented');
    expect(await statusFor('documented_not_reasonable')).toBe('rationale_documented');
    expect(await statusFor('not_implemented')).toBe('not_met');
  });

  it('requires the documentation of an equivalent alternative or a rationale (§164.306(d)(3)), except in drafts', async () => {
    for (const value of ['equivalent_alternative', 'documented_not_reasonable']) {
      const bare = { ...well.answers, 'sec.312.a_2_iii.automatic_logoff': value };
      const e = await rejection(evaluate({ questionnaireVersion: '1', answers: bare }));
      expect(e.code).toBe('validation-failed');
      expect(e.errors).toEqual([{ pointer: '/answers/sec.312.a_2_iii.automatic_logoff_documentation', detail: 'required' }]);
      expect(validateAnswers('1', bare, { partial: true }).ok).toBe(true);
    }
  });

  it('treats partially implemented required specifications as not_met', async () => {
    const r = await evaluate({ questionnaireVersion: '1', answers: { ...well.answers, 'sec.312.d.person_entity_authentication': 'partially_implemented' } });
    expect(find(r, '§164.312(d)').status).toBe('not_met');
  });
});

describe('evaluate: input errors', () => {
  it('rejects an unknown questionnaire version at /questionnaireVersion', async () => {
    const e = await rejection(evaluate({ questionnaireVersion: '7', answers: well.answers }));
    expect(e.code).toBe('validation-failed');
    expect(e.pointer).toBe('/questionnaireVersion');
    expect(e.errors).toEqual([{ pointer: '/questionnaireVersion', detail: 'unknown questionnaire version "7"' }]);
    // Missing or not text: said as the API's schema says it, not "unknown questionnaire version undefined".
    const missing = await rejection(evaluate({ answers: well.answers } as unknown as Parameters<typeof evaluate>[0]));
    expect(missing.errors).toEqual([{ pointer: '/questionnaireVersion', detail: 'is required' }]);
    const numeric = await rejection(evaluate({ questionnaireVersion: 1, answers: well.answers } as unknown as Parameters<typeof evaluate>[0]));
    expect(numeric.errors).toEqual([{ pointer: '/questionnaireVersion', detail: 'must be string' }]);
  });

  it('rejects unknown ruleset ids or versions at /rulesets/<i>', async () => {
    const unknownId = await rejection(evaluate({ ...well, rulesets: [{ id: 'nope', version: '1.0.0' }] }));
    expect(unknownId.pointer).toBe('/rulesets/0');
    const unknownVersion = await rejection(evaluate({ ...well, rulesets: [{ id: 'ai-safeguards', version: '1.0.0' }, { id: 'hipaa-security', version: '0.9.0' }] }));
    expect(unknownVersion.pointer).toBe('/rulesets/1');
    const twice = await rejection(evaluate({ ...well, rulesets: [{ id: 'hipaa-security', version: '1.0.0' }, { id: 'hipaa-security', version: '1.1.0' }] }));
    expect(twice.pointer).toBe('/rulesets/1');
  });

  it('rejects an answer canonical JSON cannot hold (a lone surrogate) at its pointer, as the API does', async () => {
    const lone = await rejection(evaluate({ questionnaireVersion: '1', answers: { ...well.answers, 'uc.purpose': 'Summaries \ud800 of notes' } }));
    expect(lone.code).toBe('validation-failed');
    expect(lone.errors).toEqual([{ pointer: '/answers/uc.purpose', detail: 'is not well-formed Unicode (a lone surrogate)' }]);
  });

  it('rejects invalid answers with validationError pointers and does not evaluate them', async () => {
    const e = await rejection(evaluate({ questionnaireVersion: '1', answers: { ...well.answers, 'uc.domain': 42 } }));
    expect(e.status).toBe(422);
    expect(e.errors).toEqual([
      { pointer: '/answers/uc.domain', detail: 'must be one of: "clinical", "clinical_and_administrative", "administrative", "research"' },
      { pointer: '/answers/uc.domain', detail: 'must be string' },
    ]);
    expect(e.pointer).toBe('/answers/uc.domain');
  });
});

describe('resolveRulesetRefs', () => {
  it('names the rulesets, versions and hashes evaluate uses, without evaluating', async () => {
    for (const rulesets of [undefined, [{ id: 'hipaa-security', version: '1.0.0' }], [{ id: 'ai-safeguards', version: '1.0.0' }, { id: 'hipaa-security', version: '1.1.0' }]]) {
      const evaluated = await evaluate({ ...well, ...(rulesets ? { rulesets } : {}) });
      expect(resolveRulesetRefs(well.questionnaireVersion, rulesets)).toEqual(evaluated.rulesets);
    }
  });

  it('refuses what evaluate refuses, with the same problem', async () => {
    for (const rulesets of [[{ id: 'nope', version: '1.0.0' }], [{ id: 'hipaa-security', version: '1.0.0' }, { id: 'hipaa-security', version: '1.1.0' }], []]) {
      const expected = await rejection(evaluate({ ...well, rulesets }));
      let thrown: unknown;
      try {
        resolveRulesetRefs(well.questionnaireVersion, rulesets);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(AppError);
      expect({ ...(thrown as AppError) }).toEqual({ ...expected });
    }
  });
});

describe('evaluate: ruleset versions', () => {
  it('evaluates under another ruleset version; 1.1.0 rates PHI volume above 500 more strictly than 1.0.0', async () => {
    const answers = { ...well.answers, 'uc.phi_volume': 'moderate', 'sec.308.a_1_ii_a.risk_analysis': 'not_implemented' };
    const v10 = await evaluate({ questionnaireVersion: '1', answers, rulesets: [{ id: 'hipaa-security', version: '1.0.0' }] });
    const v11 = await evaluate({ questionnaireVersion: '1', answers, rulesets: [{ id: 'hipaa-security', version: '1.1.0' }] });
    expect(v10.rulesets.map((r) => r.version)).toEqual(['1.0.0']);
    expect(v10.rulesets[0]!.sha256).not.toBe(v11.rulesets[0]!.sha256);
    expect(find(v10, '§164.308(a)(1)(ii)(A)').impact.level).toBe('high');
    expect(find(v11, '§164.308(a)(1)(ii)(A)').impact.level).toBe('very_high');
    expect(find(v10, '§164.308(a)(1)(ii)(A)').status).toBe(find(v11, '§164.308(a)(1)(ii)(A)').status);
  });

  it('gives the same findings under the wording-only versions hipaa-security 1.1.1 and ai-safeguards 1.0.1 as under 1.1.0 and 1.0.0, but for the corrected wording', async () => {
    for (const input of [poor, well]) {
      const before = await evaluate({ ...input, rulesets: [{ id: 'hipaa-security', version: '1.1.0' }, { id: 'ai-safeguards', version: '1.0.0' }] });
      const after = await evaluate({ ...input, rulesets: [{ id: 'hipaa-security', version: '1.1.1' }, { id: 'ai-safeguards', version: '1.0.1' }] });
      expect(after.summary).toEqual(before.summary);
      const changed: string[] = [];
      after.findings.forEach((f, i) => {
        const { rulesetVersion: _v1, specification: s1, ...rest1 } = f;
        const { rulesetVersion: _v0, specification: s0, ...rest0 } = before.findings[i]!;
        expect(rest1).toEqual(rest0);
        if (s1 !== s0) changed.push(f.ruleId);
      });
      expect(changed).toEqual(['ai.baa_terms']);
    }
    const baa = getRuleset('ai-safeguards', '1.0.1')!.data.rules.find((r) => r.id === 'ai.baa_terms')!;
    expect(baa.specification).toMatch(/^The terms §164\.504\(e\) requires .*and this product's additions: no training on PHI, limited retention$/);
  });

  it('gives the same findings under hipaa-security 1.1.2 as under 1.1.1, but for the source of hs.310.d_2_ii that its remediation cites', async () => {
    for (const input of [poor, well]) {
      const before = await evaluate({ ...input, rulesets: [{ id: 'hipaa-security', version: '1.1.1' }] });
      const after = await evaluate({ ...input, rulesets: [{ id: 'hipaa-security', version: '1.1.2' }] });
      expect(after.summary).toEqual(before.summary);
      const changed: string[] = [];
      after.findings.forEach((f, i) => {
        const { rulesetVersion: _v1, sources: s1, ...rest1 } = f;
        const { rulesetVersion: _v0, sources: s0, ...rest0 } = before.findings[i]!;
        expect(rest1).toEqual(rest0);
        if (JSON.stringify(s1) !== JSON.stringify(s0)) changed.push(f.ruleId);
      });
      expect(changed).toEqual(['hs.310.d_2_ii']);
    }
    // Every document a current rule's remediation names is among its sources.
    const media = getRuleset('hipaa-security', '1.1.2')!.data.rules.find((r) => r.id === 'hs.310.d_2_ii')!;
    expect(media.remediation).toContain('NIST SP 800-88');
    expect(media.sources?.map((s) => s.title)).toContain('NIST SP 800-88 Rev. 1, Guidelines for Media Sanitization (December 2014)');
  });

  it('makes ai.baa_terms under ai-safeguards 1.0.2 depend on an agreement existing: not met without one, not assessed when unknown (1.0.1 said met)', async () => {
    const terms = async (answers: Record<string, unknown>, version: string): Promise<string> =>
      (await evaluate({ ...well, answers, rulesets: [{ id: 'ai-safeguards', version }] })).findings.find((f) => f.ruleId === 'ai.baa_terms')!.status;
    const noAgreement = { ...well.answers, 'ai.vendor_baa': false };
    const { 'ai.vendor_baa': _unknown, ...unanswered } = well.answers;
    expect(await terms(noAgreement, '1.0.1')).toBe('met'); // the defect 1.0.2 corrects
    expect(await terms(noAgreement, '1.0.2')).toBe('not_met');
    expect(await terms(unanswered, '1.0.2')).toBe('not_assessed');
    expect(await terms(well.answers, '1.0.2')).toBe('met');
    // Every other finding is the same under both versions, on both examples.
    for (const input of [poor, well]) {
      const before = await evaluate({ ...input, rulesets: [{ id: 'ai-safeguards', version: '1.0.1' }] });
      const after = await evaluate({ ...input, rulesets: [{ id: 'ai-safeguards', version: '1.0.2' }] });
      after.findings.forEach((f, i) => {
        if (f.ruleId === 'ai.baa_terms') return;
        const { rulesetVersion: _v1, ...rest1 } = f;
        const { rulesetVersion: _v0, ...rest0 } = before.findings[i]!;
        expect(rest1).toEqual(rest0);
      });
    }
  });

  it('makes §164.308(b)(3) and §164.314(a)(2)(i) under hipaa-security 1.1.3 agree with §164.502(e) about the model vendor (1.1.2 said met without an agreement)', async () => {
    const statusOf = async (answers: Record<string, unknown>, version: string, ruleId: string): Promise<string> =>
      (await evaluate({ ...well, answers, rulesets: [{ id: 'hipaa-security', version }, { id: 'ai-safeguards', version: '1.0.3' }] })).findings.find((f) => f.ruleId === ruleId)!.status;
    // The well-controlled example sends PHI to a vendor-hosted model under an agreement with every term.
    expect(well.answers['uc.deployment']).toBe('vendor_api');
    const noAgreement = { ...well.answers, 'ai.vendor_baa': false };
    const { 'ai.vendor_baa': _unknown, ...unanswered } = well.answers;
    const noIncidentTerm = { ...well.answers, 'ai.vendor_baa_terms': (well.answers['ai.vendor_baa_terms'] as string[]).filter((t) => t !== 'breach_reporting') };
    const onlyReturnTermMissing = { ...well.answers, 'ai.vendor_baa_terms': (well.answers['ai.vendor_baa_terms'] as string[]).filter((t) => t !== 'return_or_destruction') };
    // The vendor questions are hidden off a vendor-hosted model, so their answers go with it.
    const { 'ai.vendor_baa': _b, 'ai.vendor_baa_terms': _t, 'uc.vendor_retention': _r, ...offVendor } = well.answers;
    const selfHosted = { ...offVendor, 'uc.deployment': 'self_hosted' };
    expect(await statusOf(noAgreement, '1.1.2', 'hs.308.b_3')).toBe('met'); // the contradiction 1.1.3 corrects
    expect(await statusOf(noAgreement, '1.1.2', 'hs.314.a_2_i')).toBe('met');
    expect(await statusOf(noAgreement, '1.1.3', 'hs.308.b_3')).toBe('not_met');
    expect(await statusOf(noAgreement, '1.1.3', 'hs.314.a_2_i')).toBe('not_met');
    expect(await statusOf(unanswered, '1.1.3', 'hs.308.b_3')).toBe('not_assessed');
    // §164.314(a)(2)(i)(C): security incidents, breaches included; return or destruction is §164.504(e)'s, not §164.314's.
    expect(await statusOf(noIncidentTerm, '1.1.3', 'hs.314.a_2_i')).toBe('not_met');
    expect(await statusOf(noIncidentTerm, '1.1.3', 'hs.308.b_3')).toBe('met');
    expect(await statusOf(onlyReturnTermMissing, '1.1.3', 'hs.314.a_2_i')).toBe('met');
    // No vendor-hosted model: the vendor questions are hidden and the organisation-wide answers decide, as in 1.1.2.
    expect(await statusOf(selfHosted, '1.1.3', 'hs.308.b_3')).toBe('met');
    expect(await statusOf(selfHosted, '1.1.3', 'hs.314.a_2_i')).toBe('met');
    expect(await statusOf(well.answers, '1.1.3', 'hs.308.b_3')).toBe('met');
    expect(await statusOf(well.answers, '1.1.3', 'hs.314.a_2_i')).toBe('met');
    // Every other finding is the same under both versions, on both examples.
    for (const input of [poor, well]) {
      const before = await evaluate({ ...input, rulesets: [{ id: 'hipaa-security', version: '1.1.2' }] });
      const after = await evaluate({ ...input, rulesets: [{ id: 'hipaa-security', version: '1.1.3' }] });
      const changed: string[] = [];
      after.findings.forEach((f, i) => {
        const { rulesetVersion: _v1, ...rest1 } = f;
        const { rulesetVersion: _v0, ...rest0 } = before.findings[i]!;
        if (JSON.stringify(rest1) !== JSON.stringify(rest0)) changed.push(f.ruleId);
      });
      expect(changed).toEqual(['hs.308.b_3', 'hs.314.a_2_i']);
    }
  });

  it('splits ai.baa_terms under ai-safeguards 1.0.3: §164.504(e) reads only its own terms, the product\'s additions are a rule of their own', async () => {
    const findingsOf = async (answers: Record<string, unknown>, version: string) =>
      (await evaluate({ ...well, answers, rulesets: [{ id: 'ai-safeguards', version }] })).findings;
    const statusOf = (findings: readonly { ruleId: string; status: string }[], ruleId: string): string | undefined => findings.find((f) => f.ruleId === ruleId)?.status;
    // Every term §164.504(e) requires, but the vendor may train on the PHI and the agreement says nothing of it.
    const trains = { ...well.answers, 'ai.vendor_baa_terms': (well.answers['ai.vendor_baa_terms'] as string[]).filter((t) => t !== 'no_training_limited_retention'), 'uc.vendor_retention': 'retains_and_may_train' };
    expect(statusOf(await findingsOf(trains, '1.0.2'), 'ai.baa_terms')).toBe('not_met'); // cited as §164.504(e) for a reason it does not state
    const split = await findingsOf(trains, '1.0.3');
    expect(statusOf(split, 'ai.baa_terms')).toBe('met');
    expect(statusOf(split, 'ai.vendor_training_retention')).toBe('not_met');
    expect(split.find((f) => f.ruleId === 'ai.vendor_training_retention')!.citation).toBe('AI-HARDENING:vendor-training-and-retention');
    // Without the agreement both fail; a §164.504(e) term missing fails only §164.504(e).
    const none = await findingsOf({ ...well.answers, 'ai.vendor_baa': false, 'ai.vendor_baa_terms': [] }, '1.0.3');
    expect([statusOf(none, 'ai.baa_terms'), statusOf(none, 'ai.vendor_training_retention')]).toEqual(['not_met', 'not_met']);
    const noReturn = await findingsOf({ ...well.answers, 'ai.vendor_baa_terms': (well.answers['ai.vendor_baa_terms'] as string[]).filter((t) => t !== 'return_or_destruction') }, '1.0.3');
    expect([statusOf(noReturn, 'ai.baa_terms'), statusOf(noReturn, 'ai.vendor_training_retention')]).toEqual(['not_met', 'met']);
    const both = await findingsOf(well.answers, '1.0.3');
    expect([statusOf(both, 'ai.baa_terms'), statusOf(both, 'ai.vendor_training_retention')]).toEqual(['met', 'met']);
    // No PHI to a vendor-hosted model: the new rule is not applicable, like ai.baa_terms.
    const { 'ai.vendor_baa': _b, 'ai.vendor_baa_terms': _t, 'uc.vendor_retention': _r, ...offVendor } = well.answers;
    const selfHosted = await findingsOf({ ...offVendor, 'uc.deployment': 'self_hosted' }, '1.0.3');
    expect([statusOf(selfHosted, 'ai.baa_terms'), statusOf(selfHosted, 'ai.vendor_training_retention')]).toEqual(['not_applicable', 'not_applicable']);
    // Every other finding is the same as under 1.0.2, on both examples.
    for (const input of [poor, well]) {
      const before = await evaluate({ ...input, rulesets: [{ id: 'ai-safeguards', version: '1.0.2' }] });
      const after = await evaluate({ ...input, rulesets: [{ id: 'ai-safeguards', version: '1.0.3' }] });
      const strip = (fs: typeof after.findings) => fs.filter((f) => f.ruleId !== 'ai.baa_terms' && f.ruleId !== 'ai.vendor_training_retention').map(({ rulesetVersion: _v, ...rest }) => rest);
      expect(strip(after.findings)).toEqual(strip(before.findings));
      expect(after.findings.length).toBe(before.findings.length + 1);
    }
  });

  it('exposes rules as data', () => {
    const rs = getRuleset('ai-safeguards', '1.0.0')!;
    expect(rs.data.rules.find((r) => r.citation === 'OWASP-LLM-2025:LLM06')?.appliesWhen).toBe('acts_through_tools');
    expect(getRuleset('ai-safeguards', '9.0.0')).toBeUndefined();
  });
});

describe('evaluate: engine robustness', () => {
  const base = getRuleset('hipaa-security', '1.1.0')!.data;
  const validated = validateAnswers('1', well.answers);
  if (!validated.ok) throw new Error('example invalid');

  it('makes a gated rule not_assessed, not not_applicable, when its gate question is unanswered (fail closed)', async () => {
    // evaluate() cannot get here (gate questions are required); the engine must still fail closed.
    const { 'uc.org_type': _gateUnknown, ...answers } = validated.answers as Record<string, unknown>;
    const r = await evaluateCompiled(questionnaire, answers as typeof validated.answers, [compileRuleset(getRuleset('hipaa-security', '1.1.2')!.data, { sha256: 'test' })]);
    for (const citation of ['§164.314(a)(2)(iii)', '§164.314(b)(2)(i)', '§164.308(a)(4)(ii)(A)']) expect(find(r, citation).status).toBe('not_assessed');
  });

  it('reports a rule that fails to evaluate as an error and a not_assessed finding, never dropping it', async () => {
    const raw = structuredClone(base) as unknown as { rules: { citation: string; conditions: unknown }[] };
    const i = raw.rules.findIndex((r) => r.citation === '§164.312(b)');
    raw.rules[i]!.conditions = { all: [{ fact: 'answers', path: 'sec.312.b.audit_controls', operator: 'noSuchOperator', value: 1 }] };
    const broken = raw as unknown as RulesetData;
    const r = await evaluateCompiled(questionnaire, validated.answers, [compileRuleset(broken, { sha256: 'test' })]);
    expect(r.findings).toHaveLength(base.rules.length);
    const f = find(r, '§164.312(b)');
    expect(f.status).toBe('not_assessed');
    expect(f.error).toMatch(/noSuchOperator/);
    expect(r.errors).toEqual([{ rulesetId: 'hipaa-security', rulesetVersion: '1.1.0', ruleId: base.rules[i]!.id, citation: '§164.312(b)', message: f.error }]);
    expect(r.summary.errorCount).toBe(1);
    expect(find(r, '§164.312(a)(2)(iv)').status).toBe('met');
  });

  it('gives identical results when evaluations of the same ruleset overlap at any point', async () => {
    // json-rules-engine keeps its run status on the Engine; overlapping runs must not lose rules
    const compiled = compileRuleset(base, { sha256: 'test' });
    const expected = evaluationToCanonicalJson(await evaluateCompiled(questionnaire, validated.answers, [compiled]));
    for (let k = 0; k < 120; k += 3) {
      let delay: Promise<void> = Promise.resolve();
      for (let j = 0; j < k; j++) delay = delay.then(() => undefined);
      const [a, b] = await Promise.all([
        evaluateCompiled(questionnaire, validated.answers, [compiled]),
        delay.then(() => evaluateCompiled(questionnaire, validated.answers, [compiled])),
      ]);
      expect(evaluationToCanonicalJson(a)).toBe(expected);
      expect(evaluationToCanonicalJson(b)).toBe(expected);
    }
  });

  it('does not depend on the order in which the engine settles its promises', async () => {
    const compiled = compileRuleset(base, { sha256: 'test' });
    const expected = evaluationToCanonicalJson(await evaluateCompiled(questionnaire, validated.answers, [compiled]));
    const run = compiled.engine.run.bind(compiled.engine);
    compiled.engine.run = (async (facts: Record<string, unknown>) => {
      const out = await run(facts);
      return { ...out, results: [...out.results].reverse(), failureResults: [...out.failureResults].reverse() };
    }) as typeof compiled.engine.run;
    expect(evaluationToCanonicalJson(await evaluateCompiled(questionnaire, validated.answers, [compiled]))).toBe(expected);
  });
});
