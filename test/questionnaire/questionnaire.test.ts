import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAjv } from '../../src/questionnaire/ajv.js';
import {
  CURRENT_QUESTIONNAIRE_VERSION,
  getQuestionnaire,
  listQuestionnaireVersions,
  validateAnswers,
  visibleQuestions,
} from '../../src/questionnaire/index.js';
import type { Questionnaire } from '../../src/questionnaire/index.js';
import { checkQuestionnaireData } from '../../src/questionnaire/load.js';

const root = join(import.meta.dirname, '..', '..');
const q: Questionnaire = getQuestionnaire('1')!;
const well = JSON.parse(readFileSync(join(root, 'docs', 'examples', 'well-controlled.json'), 'utf8')) as { answers: Record<string, unknown> };
const catalogue = JSON.parse(readFileSync(join(root, 'rules', 'catalogue', 'hipaa-security-rule-2013.json'), 'utf8')) as {
  standards: { standard_citation: string; implementation_specifications: { citation: string; type: string }[] }[];
};
const pointers = (r: ReturnType<typeof validateAnswers>): string[] => (r.ok ? [] : r.errors.map((e) => e.pointer));
const detailFor = (r: ReturnType<typeof validateAnswers>, pointer: string): string | undefined => (r.ok ? undefined : r.errors.find((e) => e.pointer === pointer)?.detail);

describe('questionnaire versions', () => {
  it('lists version 1 as current and returns undefined for unknown versions', () => {
    expect(listQuestionnaireVersions()).toEqual(['1']);
    expect(CURRENT_QUESTIONNAIRE_VERSION).toBe('1');
    expect(getQuestionnaire('2')).toBeUndefined();
    expect(getQuestionnaire('__proto__')).toBeUndefined();
  });

  it('is internally consistent and frozen', () => {
    expect(checkQuestionnaireData(q)).toEqual([]);
    expect(Object.isFrozen(q)).toBe(true);
    expect(Object.isFrozen(q.questions[0])).toBe(true);
  });

  it('uses the documented id scheme and gives every question help text and informed citations', () => {
    for (const question of q.questions) {
      expect(question.id).toMatch(/^(uc|sec|ai)\.[a-z0-9_.]+$/);
      expect(question.help.length).toBeGreaterThan(10);
      expect(question.informs.length).toBeGreaterThan(0);
    }
  });

  it('asks about every Security Rule standard without specifications and every implementation specification', () => {
    const citations = catalogue.standards.flatMap((s) => (s.implementation_specifications.length ? s.implementation_specifications.map((x) => x.citation) : [s.standard_citation]));
    expect(citations).toHaveLength(53);
    for (const c of citations) {
      const questions = q.questions.filter((x) => x.id.startsWith('sec.') && x.type === 'single_choice' && x.informs[0] === c);
      expect(questions).toHaveLength(1);
    }
  });

  it('offers the three-way addressable options and implemented/partial/not for required specifications', () => {
    for (const s of catalogue.standards) {
      for (const spec of s.implementation_specifications) {
        const question = q.questions.find((x) => x.id.startsWith('sec.') && x.type === 'single_choice' && x.informs[0] === spec.citation)!;
        const values = question.options!.map((o) => o.value);
        expect(values).toEqual(spec.type === 'A' ? ['implemented', 'equivalent_alternative', 'documented_not_reasonable', 'not_implemented'] : ['implemented', 'partially_implemented', 'not_implemented']);
      }
    }
  });

  it('follows every addressable specification with a documentation question, required while shown (§164.306(d)(3))', () => {
    const addressable = catalogue.standards.flatMap((s) => s.implementation_specifications.filter((x) => x.type === 'A').map((x) => x.citation));
    expect(addressable).toHaveLength(22);
    for (const citation of addressable) {
      const question = q.questions.find((x) => x.id.startsWith('sec.') && x.type === 'single_choice' && x.informs[0] === citation)!;
      const documentation = q.byId.get(`${question.id}_documentation`);
      expect(documentation).toMatchObject({ type: 'free_text', required: true, showIf: { question: question.id, in: ['equivalent_alternative', 'documented_not_reasonable'] } });
    }
    expect(q.questions.filter((x) => x.id.endsWith('_documentation'))).toHaveLength(22);
  });

  it('declares a rank on every option of every choice question, and a protective direction for numbers', () => {
    for (const question of q.questions) {
      if (question.type === 'single_choice' || question.type === 'multiple_choice' || question.type === 'yes_no') {
        expect(question.options!.every((o) => Number.isInteger(o.rank))).toBe(true);
      }
      if (question.type === 'multiple_choice') expect(Number.isInteger(question.unselectedRank)).toBe(true);
      if (question.type === 'number') expect(['higher', 'lower', 'neutral']).toContain(question.protective);
    }
  });

  it('covers every question type and the AI-specific topics of the brief', () => {
    expect(new Set(q.questions.map((x) => x.type))).toEqual(new Set(['single_choice', 'multiple_choice', 'yes_no', 'number', 'date', 'free_text']));
    const informs = new Set(q.questions.flatMap((x) => x.informs));
    for (const c of ['§164.502(b)', '§164.514(d)', '§164.514(b)', '§164.502(e)', '§164.504(e)', '§92.210', '§170.315(b)(11)', 'OWASP-LLM-2025:LLM01', 'OWASP-LLM-2025:LLM06', 'OWASP-LLM-2025:LLM10', 'AI-HARDENING:server-side-model-calls', 'AI-HARDENING:ai-action-audit-trail']) {
      expect(informs).toContain(c);
    }
  });

  it('exposes a JSON Schema (2020-12) that compiles and accepts the example answers', () => {
    const validate = createAjv().compile(q.jsonSchema);
    expect(validate(well.answers)).toBe(true);
    expect(validate({ ...well.answers, 'no.such': 1 })).toBe(false);
  });
});

describe('validateAnswers', () => {
  it('accepts valid answers and normalises multiple-choice order and key order', () => {
    const a = validateAnswers('1', well.answers);
    expect(a.ok).toBe(true);
    const reversed = Object.fromEntries(Object.entries(well.answers).reverse().map(([k, v]) => [k, Array.isArray(v) ? [...(v as unknown[])].reverse() : v]));
    const b = validateAnswers('1', reversed);
    expect(b.ok && a.ok && JSON.stringify(b.answers) === JSON.stringify(a.answers)).toBe(true);
  });

  it('rejects an unknown questionnaire version at /questionnaireVersion', () => {
    expect(pointers(validateAnswers('9', well.answers))).toEqual(['/questionnaireVersion']);
  });

  it.each([null, [], 'text', 42])('rejects a non-object answers value %p at /answers', (value) => {
    expect(pointers(validateAnswers('1', value))).toEqual(['/answers']);
  });

  it('rejects unknown questions, wrong types, values outside the options, bad dates and numbers', () => {
    const r = validateAnswers('1', {
      ...well.answers,
      'sec.999.x.nothing': 'implemented',
      'uc.patient_facing': 'yes',
      'uc.domain': 'astrology',
      'uc.go_live_date': '2025-02-30',
      'sec.316.b_2_i.retention_years': 6.5,
      'uc.workforce_users': -1,
      'uc.users': ['clinicians', 'clinicians'],
      'uc.org_type': [],
    });
    expect(pointers(r)).toEqual(
      expect.arrayContaining([
        '/answers/sec.999.x.nothing',
        '/answers/uc.patient_facing',
        '/answers/uc.domain',
        '/answers/uc.go_live_date',
        '/answers/sec.316.b_2_i.retention_years',
        '/answers/uc.workforce_users',
        '/answers/uc.users',
        '/answers/uc.org_type',
      ]),
    );
    expect(detailFor(r, '/answers/sec.999.x.nothing')).toBe('unknown question');
    expect(detailFor(r, '/answers/uc.domain')).toMatch(/must be one of/);
  });

  it('limits free text to 2,000 characters (counted in code points)', () => {
    expect(validateAnswers('1', { ...well.answers, 'uc.purpose': 'x'.repeat(2000) }).ok).toBe(true);
    expect(validateAnswers('1', { ...well.answers, 'uc.purpose': '😀'.repeat(2000) }).ok).toBe(true);
    const r = validateAnswers('1', { ...well.answers, 'uc.purpose': 'x'.repeat(2001) });
    expect(detailFor(r, '/answers/uc.purpose')).toBe('must be at most 2000 characters');
    expect(pointers(validateAnswers('1', { ...well.answers, 'uc.name': 'x'.repeat(201) }))).toEqual(['/answers/uc.name']);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('rejects the prototype-pollution key %s as an own property', (k) => {
    const hostile = JSON.parse(`{"${k}": {"isAdmin": true}, "uc.name": "x"}`) as Record<string, unknown>;
    expect(Object.hasOwn(hostile, k)).toBe(true);
    const r = validateAnswers('1', { ...well.answers, ...hostile });
    expect(pointers(r)).toEqual([`/answers/${k}`]);
    expect(({} as Record<string, unknown>)['isAdmin']).toBeUndefined();
  });

  it('rejects answers to questions hidden by branching, and required questions left unanswered while shown', () => {
    const hidden = validateAnswers('1', { ...well.answers, 'sec.314.b_2_i.plan_documents_safeguards': 'implemented' });
    expect(detailFor(hidden, '/answers/sec.314.b_2_i.plan_documents_safeguards')).toMatch(/not shown/);
    const { ['uc.purpose']: _purpose, ...withoutPurpose } = well.answers;
    expect(detailFor(validateAnswers('1', withoutPurpose), '/answers/uc.purpose')).toBe('required');
    // a required follow-up is only required while shown: de-identified data hides the PHI volume
    const deidentified = Object.fromEntries(Object.entries(well.answers).filter(([k]) => !['uc.phi_types', 'uc.phi_volume', 'uc.data_flows', 'ai.vendor_baa', 'ai.vendor_baa_terms', 'ai.minimum_necessary', 'ai.role_based_access'].includes(k)));
    expect(validateAnswers('1', { ...deidentified, 'uc.phi_involvement': 'deidentified' }).ok).toBe(true);
    expect(pointers(validateAnswers('1', { ...deidentified, 'uc.phi_involvement': 'identifiable_phi' }))).toEqual(['/answers/uc.data_flows', '/answers/uc.phi_types', '/answers/uc.phi_volume']);
  });

  it('demands the documentation of an equivalent alternative or a rationale while shown, except in a draft', () => {
    const spec = 'sec.312.a_2_iv.encryption_decryption';
    const doc = `${spec}_documentation`;
    expect(well.answers[spec]).toBe('implemented');
    for (const value of ['equivalent_alternative', 'documented_not_reasonable']) {
      const bare = { ...well.answers, [spec]: value };
      expect(validateAnswers('1', bare).ok).toBe(false);
      expect(detailFor(validateAnswers('1', bare), `/answers/${doc}`)).toBe('required');
      expect(validateAnswers('1', bare, { partial: true }).ok).toBe(true);
      expect(validateAnswers('1', { ...bare, [doc]: 'Full-disk encryption of the host; documented in policy SEC-12.' }).ok).toBe(true);
    }
    // hidden for the other answers: neither required nor accepted
    expect(validateAnswers('1', { ...well.answers, [spec]: 'not_implemented' }).ok).toBe(true);
    expect(detailFor(validateAnswers('1', { ...well.answers, [doc]: 'text' }), `/answers/${doc}`)).toMatch(/not shown/);
  });

  it('accepts a draft with only the required use-case questions (safeguards may be unanswered)', () => {
    const draft = Object.fromEntries(Object.entries(well.answers).filter(([k]) => k.startsWith('uc.') || k === 'sec.314.a_2_ii.other_arrangement_used'));
    expect(validateAnswers('1', draft).ok).toBe(true);
  });

  it('caps the number of reported errors', () => {
    const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`junk.k${i}`, i]));
    const r = validateAnswers('1', many);
    expect(r.ok).toBe(false);
    expect(pointers(r).length).toBeLessThanOrEqual(50);
  });
});

describe('branching', () => {
  it('shows follow-ups only when their gate is answered and matches', () => {
    const v = visibleQuestions(q, well.answers);
    expect(v.has('uc.vendor_retention')).toBe(true);
    expect(v.has('uc.tools_description')).toBe(false);
    expect(v.has('sec.308.a_4_ii_a.isolating_clearinghouse_functions')).toBe(false);
    const v2 = visibleQuestions(q, { ...well.answers, 'uc.org_type': ['clearinghouse_in_larger_org'], 'uc.autonomy': 'acts_through_tools' });
    expect(v2.has('sec.308.a_4_ii_a.isolating_clearinghouse_functions')).toBe(true);
    expect(v2.has('uc.tools_description')).toBe(true);
    expect(visibleQuestions(q, {}).has('uc.vendor_retention')).toBe(false);
  });
});
