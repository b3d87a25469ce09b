import fs from 'node:fs';
import path from 'node:path';
import { validateAnswers } from '../../src/questionnaire/index.js';
import { ROOT } from '../support/process.js';

describe('documentation of an addressable alternative', () => {
  const well = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/examples/well-controlled.json'), 'utf8')) as { answers: Record<string, unknown> };
  const parent = 'sec.308.a_3_ii_a.authorization_supervision';
  const docId = `${parent}_documentation`;
  const withAlternative = { ...well.answers, [parent]: 'equivalent_alternative' };

  it('must hold text, not only spaces (§164.306(d)(3) asks the entity to document why)', () => {
    expect(validateAnswers('1', { ...withAlternative, [docId]: 'Supervision by the charge nurse, policy HR-12' })).toMatchObject({ ok: true });
    expect(validateAnswers('1', withAlternative)).toMatchObject({ ok: false, errors: [{ pointer: `/answers/${docId}`, detail: 'required' }] });
    expect(validateAnswers('1', { ...withAlternative, [docId]: '   \n ' })).toMatchObject({ ok: false, errors: [{ pointer: `/answers/${docId}`, detail: 'required' }] });
    expect(validateAnswers('1', { ...withAlternative, [docId]: '   ' }, { partial: true })).toMatchObject({ ok: true });
  });

  it('must hold a visible character: invisible and blank characters are not documentation', () => {
    for (const blank of ['\u200b', ' \u2060 ', '\u00a0\u3000', '\ufeff', '\u3164', '\u2800\u200d']) {
      expect(validateAnswers('1', { ...withAlternative, [docId]: blank })).toMatchObject({ ok: false, errors: [{ pointer: `/answers/${docId}`, detail: 'required' }] });
    }
    for (const text of ['Policy 7', 'См. политику 7', '方針第七条', '7', '—']) expect(validateAnswers('1', { ...withAlternative, [docId]: text })).toMatchObject({ ok: true });
    // Any required text question alike: the use case's name.
    expect(validateAnswers('1', { ...well.answers, 'uc.name': ' \u200b ' })).toMatchObject({ ok: false, errors: [{ pointer: '/answers/uc.name', detail: 'required' }] });
  });
});
