import { Router, type RequestHandler } from 'express';
import type { Action } from '../../auth/permissions.js';
import { AppError } from '../../errors.js';
import { CURRENT_QUESTIONNAIRE_VERSION, getQuestionnaire, listQuestionnaireVersions } from '../../questionnaire/index.js';
import { currentRulesets, getRuleset, listRulesets } from '../../rules/index.js';

/** Questionnaire and ruleset definitions: reference data for integrators and the forms. */
export function referenceRoutes(authorize: (action: Action) => RequestHandler): Router {
  const router = Router();
  router.get('/v1/questionnaires', authorize('questionnaires.read'), (_req, res) => {
    res.json({
      current: CURRENT_QUESTIONNAIRE_VERSION,
      items: listQuestionnaireVersions().map((version) => ({ version, current: version === CURRENT_QUESTIONNAIRE_VERSION, href: `/v1/questionnaires/${version}` })),
    });
  });
  router.get('/v1/questionnaires/:version', authorize('questionnaires.read'), (req, res) => {
    const q = getQuestionnaire(req.params.version as string);
    if (!q) throw new AppError('not-found', `No questionnaire version ${req.params.version as string}`);
    res.setHeader('Cache-Control', 'private, max-age=300');
    res.json(q);
  });
  router.get('/v1/rulesets', authorize('rulesets.read'), (_req, res) => {
    const current = new Set(currentRulesets().map((r) => `${r.id}@${r.version}`));
    res.json({ items: listRulesets().map((r) => ({ ...r, current: current.has(`${r.id}@${r.version}`), href: `/v1/rulesets/${r.id}/${r.version}` })) });
  });
  router.get('/v1/rulesets/:id/:version', authorize('rulesets.read'), (req, res) => {
    const r = getRuleset(req.params.id as string, req.params.version as string);
    if (!r) throw new AppError('not-found', `No ruleset ${req.params.id as string}@${req.params.version as string}`);
    res.setHeader('Cache-Control', 'private, max-age=300');
    res.json(r);
  });
  return router;
}
