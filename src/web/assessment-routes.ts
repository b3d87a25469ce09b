/**
 * The compliance officer's pages (and the auditor's read-only views of the same data): the
 * dashboard, the questionnaire (new, resume, revise), the result of a report, the comparison of
 * two reports, and the download links. Every handler calls the domain functions the API uses
 * (AssessmentService, listAssessments, diffReports), never the HTTP API.
 */
import { Router, type Request, type Response } from 'express';
import { isPermitted, reachableOrganizations, type Action, type Principal } from '../auth/permissions.js';
import type { AssessmentService, ServiceActor } from '../assessments/service.js';
import { listAssessments, summarizeAssessments, type SelectionFilters } from '../assessments/queries.js';
import { AppError, type FieldError } from '../errors.js';
import { recordAuditEventAlone } from '../audit/record.js';
import { auditRequestContext } from '../http/audit-context.js';
import { auditActorOf, readFilters, recordRead } from '../http/record-read.js';
import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/hash.js';
import { BIDI_MAX_DEPTH, hasPairedBidiControls, hasVisibleCharacter } from '../util/visible-text.js';
import { CURRENT_QUESTIONNAIRE_VERSION, getQuestionnaire, validateAnswers, type Questionnaire } from '../questionnaire/index.js';
import { diffReports } from '../reports/diff.js';
import type { Report } from '../reports/report.js';
import { isUuid } from '../auth/secrets.js';
import { buildFormView, formValuesOf, NUL_DETAIL, parseAnswerForm, questionIdOfPointer, repeatedValueDetail, structuredValueDetail, type FormValue } from './questionnaire-form.js';
import { renderLogin, type RestoreStash } from './login-routes.js';
import { nulRemovedFrom, organizationNames, page, pageFilter, recordPageRefusal, renderPage, type PageRateLimited, type PageSession, type WebContext } from './page.js';
import { buildReportView } from './report-view.js';
import { stashOf, type AnswerStash } from './stash.js';

/** The title's limit, in Unicode code points as the API's schema counts it (src/http/schemas/assessments.ts). */
const TITLE_MAX = 200;

/** The form fields whose NUL characters are an error at the field (422), not a refused form (400). */
const NUL_FIELDS = ['title', 'answers'] as const;

/** A sentence for the title's error line (the field errors' details start in lower case). */
function sentence(detail: string): string {
  const text = detail.charAt(0).toUpperCase() + detail.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/**
 * The posted title: what to show again (its first value when it came several times) and the
 * errors of its form (given twice or as a nested field, NUL removed, empty, too long).
 */
function readTitle(req: Request, posted: unknown): { readonly value: string; readonly errors: FieldError[] } {
  const errors: FieldError[] = [];
  if (nulRemovedFrom(req).some((p) => p === '/title' || p.startsWith('/title/'))) errors.push({ pointer: '/title', detail: sentence(`The title ${NUL_DETAIL}`) });
  if (Array.isArray(posted)) {
    const list = (posted as unknown[]).filter((v): v is string => typeof v === 'string');
    errors.push({ pointer: '/title', detail: sentence(list.length === posted.length ? repeatedValueDetail(list, 'title') : structuredValueDetail('title')) });
    return { value: list[0] ?? '', errors };
  }
  if (posted !== undefined && typeof posted !== 'string') {
    errors.push({ pointer: '/title', detail: sentence(structuredValueDetail('title')) });
    return { value: '', errors };
  }
  const value = (posted ?? '').trim();
  if (value === '') errors.push({ pointer: '/title', detail: 'Give the assessment a title' });
  // Code points, as the API's schema counts (an emoji is one character, not two UTF-16 units).
  else if ([...value].length > TITLE_MAX) errors.push({ pointer: '/title', detail: `The title must be at most ${TITLE_MAX} characters` });
  // The API's rule (src/util/visible-text.ts): something that shows, and no direction control left open.
  else if (!hasVisibleCharacter(value)) errors.push({ pointer: '/title', detail: 'Give the assessment a title with visible characters: invisible characters alone show as nothing' });
  else if (!hasPairedBidiControls(value)) errors.push({ pointer: '/title', detail: `The title has a text-direction control that is not closed in order (or nested more than ${BIDI_MAX_DEPTH} deep): remove it, or close it` });
  return { value, errors };
}

/** The questions whose posted answer had NUL characters removed by the form parser. */
function nulAnswersOf(req: Request): Set<string> {
  return new Set(nulRemovedFrom(req).flatMap((p) => questionIdOfPointer(p) ?? []));
}

/**
 * The actor the assessment service records and names in reports for a form saved in the user's
 * own organisation: as the API's, the roles that permit `action` there (`auditActorOf`).
 */
function serviceActorOf(p: Principal, action: Action): ServiceActor {
  return { type: p.type, id: p.id, name: p.displayName, role: auditActorOf(p, action, p.organizationId).role, organizationId: p.organizationId };
}

/** The notice of a questionnaire form refused by the submission rate limit. */
function rateLimitedNotice(limited: PageRateLimited): string {
  const wait = limited.retryAfterSeconds === 1 ? '1 second' : `${limited.retryAfterSeconds} seconds`;
  return `Too many forms were saved or submitted from your account in a short time, so this one was not saved. Your answers are shown again: send them again in ${wait}.`;
}

function questionnaireOf(version: string): Questionnaire {
  const q = getQuestionnaire(version);
  if (!q) throw new AppError('not-found', `Unknown questionnaire version ${version}`);
  return q;
}

function parseReport(bytes: Buffer): Report {
  return JSON.parse(bytes.toString('utf8')) as Report;
}

/** The assessment being edited (absent for a new one). */
interface EditTarget {
  readonly id: string;
  readonly organizationId: string;
  readonly title: string;
  readonly latestRevision: number;
  readonly latestStatus: 'draft' | 'submitted';
  readonly questionnaireVersion: string;
}

interface FormState {
  readonly target?: EditTarget;
  readonly title: string;
  readonly values: Readonly<Record<string, FormValue>>;
  readonly errors: readonly FieldError[];
  readonly notice?: string;
  readonly noticeKind?: 'success' | 'info' | 'warning';
}

/** The assessment pages. `restore` is what the sign-in page calls with a stash. */
export function assessmentRoutes(ctx: WebContext, service: AssessmentService): { router: Router; restore: RestoreStash } {
  const router = Router();
  const { db } = ctx;

  function renderForm(res: Response, session: PageSession, state: FormState, status = 200): void {
    const version = state.target?.questionnaireVersion ?? CURRENT_QUESTIONNAIRE_VERSION;
    const questionnaire = questionnaireOf(version);
    const form = buildFormView(questionnaire, state.values, state.errors);
    const titleError = state.errors.find((e) => e.pointer === '/title')?.detail ?? '';
    const other = state.errors.filter((e) => e.pointer !== '/title' && questionIdOfPointer(e.pointer) === undefined).map((e) => e.detail);
    const errorList = [...(titleError ? [{ href: '#title', text: `Title — ${titleError}` }] : []), ...form.errorList, ...other.map((text) => ({ href: '#form-top', text }))];
    renderPage(ctx, res, session, 'questionnaire.njk', {
      title: state.target ? `Edit: ${state.target.title}` : 'New assessment',
      active: state.target ? 'home' : 'new',
      target: state.target ?? null,
      action: state.target ? `/assessments/${state.target.id}/edit` : '/assessments/new',
      titleValue: state.title,
      titleError,
      titleMax: TITLE_MAX,
      questionnaire: { title: questionnaire.title, version: questionnaire.version },
      form,
      errorList,
      notice: state.notice ?? '',
      noticeKind: state.noticeKind ?? 'info',
    }, status);
  }

  async function editTarget(p: Principal, id: string): Promise<EditTarget> {
    const a = await service.get(id, reachableOrganizations(p, 'assessments.revise'));
    const latest = a.revisions.at(-1);
    if (!latest) throw new AppError('not-found', `No assessment ${id}`);
    return { id: a.id, organizationId: a.organizationId, title: a.title, latestRevision: latest.revision, latestStatus: latest.status, questionnaireVersion: latest.questionnaireVersion };
  }

  /** Handles a posted questionnaire: save a draft, update the questions, or submit. */
  async function saveForm(req: Request, res: Response, session: PageSession, target: EditTarget | undefined): Promise<void> {
    const p = session.principal;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const version = target?.questionnaireVersion ?? CURRENT_QUESTIONNAIRE_VERSION;
    const questionnaire = questionnaireOf(version);
    const parsed = parseAnswerForm(questionnaire, body.answers, { nulRemoved: nulAnswersOf(req) });
    // An assessment's title is set when it is created; the edit form does not post one.
    const posted = target ? { value: target.title, errors: [] } : readTitle(req, body.title);
    const title = posted.value;
    const intent = typeof body._action === 'string' ? body._action : 'draft';
    const submit = intent === 'submit';
    const errors: FieldError[] = [...posted.errors, ...parsed.errors];
    const redisplay = async (errs: readonly FieldError[], notice: string): Promise<void> => {
      await recordPageRefusal(ctx, req, { status: 422, reason: 'validation-failed', pointers: errs.map((e) => e.pointer) });
      renderForm(res, session, { target, title, values: parsed.values, errors: errs, notice, noticeKind: 'warning' }, 422);
    };
    if (errors.length > 0) {
      // Every error in one round: the answers that could be read are checked as saving them would
      // check them (required ones on a submission), so a wrong title or one malformed number does
      // not hide the other answers' errors until it is fixed. A question whose value could not be
      // read keeps that error only (its answer is missing from what is checked).
      const checked = validateAnswers(version, parsed.answers, submit ? {} : { partial: true });
      const unread = new Set(parsed.errors.map((e) => e.pointer));
      if (!checked.ok) errors.push(...checked.errors.filter((e) => !unread.has(e.pointer)));
      await redisplay(errors, 'Nothing was saved. Correct the answers marked below.');
      return;
    }
    let result;
    try {
      result = target
        ? await service.revise(serviceActorOf(p, 'assessments.revise'), p.organizationName, target.id, { answers: parsed.answers, draft: !submit }, { request: auditRequestContext(req) })
        : await service.create(serviceActorOf(p, 'assessments.create'), p.organizationName, { title, questionnaireVersion: version, answers: parsed.answers, draft: !submit }, { request: auditRequestContext(req) });
    } catch (err) {
      if (err instanceof AppError && err.code === 'validation-failed') {
        await redisplay(err.errors.length > 0 ? err.errors : [{ pointer: '', detail: err.detail }], submit ? 'The assessment was not submitted: some answers are missing or not valid. Nothing was lost: correct them and submit again, or save a draft.' : 'Nothing was saved. Correct the answers marked below.');
        return;
      }
      throw err;
    }
    const id = result.assessment.id;
    if (submit && result.report) {
      res.redirect(303, `/reports/${result.report.id}?submitted=1`);
      return;
    }
    const section = intent.startsWith('update:') ? intent.slice('update:'.length).replace(/[^A-Za-z0-9_-]/g, '') : '';
    res.redirect(303, `/assessments/${id}/edit?${section ? 'updated=1' : 'saved=1'}${section ? `#s-${section}` : ''}`);
  }

  /** After a session ended: the sign-in form carries the posted answers (see stash.ts). */
  const stashAndSignIn = (req: Request, res: Response): Promise<void> => {
    const stash = stashOf(req.path, req.body);
    renderLogin(ctx, req, res, { status: 401, next: req.path, ...(stash ? { stash } : {}), notice: 'Your session has ended. Sign in again: your answers have been kept and will be shown again, not yet saved.' });
    return Promise.resolve();
  };

  /** The posted questionnaire shown again, unsaved, with a notice (nothing is stored). */
  const redisplayUnsaved = async (req: Request, res: Response, session: PageSession, status: number, notice: string): Promise<void> => {
    const m = /^\/assessments\/([^/]+)\/edit$/.exec(req.path);
    const target = m ? await editTarget(session.principal, m[1]!) : undefined;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const questionnaire = questionnaireOf(target?.questionnaireVersion ?? CURRENT_QUESTIONNAIRE_VERSION);
    const parsed = parseAnswerForm(questionnaire, body.answers);
    const title = target ? target.title : readTitle(req, body.title).value;
    renderForm(res, session, { target, title, values: parsed.values, errors: [], notice, noticeKind: 'warning' }, status);
  };

  /** After a CSRF mismatch (e.g. signed in again in another tab): show the answers again, unsaved. */
  const redisplayOnCsrf = (req: Request, res: Response, session: PageSession): Promise<void> =>
    redisplayUnsaved(req, res, session, 403, 'This form was opened in an earlier session, so it was not saved. Your answers are shown again: save them now.');

  /** Over the user's submission rate limit: 429 (Retry-After set), the answers shown again, unsaved. */
  const redisplayOnRateLimit = (req: Request, res: Response, session: PageSession, limited: PageRateLimited): Promise<void> => redisplayUnsaved(req, res, session, 429, rateLimitedNotice(limited));

  /** What the questionnaire forms' POSTs share: the stash, the CSRF and rate-limit re-renders, the per-user limit. */
  const formOptions = { onSignedOut: stashAndSignIn, onCsrfFailure: redisplayOnCsrf, nulFieldsReported: NUL_FIELDS, rateLimit: 'evaluate', onRateLimited: redisplayOnRateLimit } as const;

  const restore: RestoreStash = async (_req, res, session, stash: AnswerStash) => {
    const m = /^\/assessments\/([^/]+)\/edit$/.exec(stash.target);
    if (m && !isPermitted(session.principal, 'assessments.revise')) throw new AppError('forbidden', 'Your role does not allow editing assessments');
    if (!m && !isPermitted(session.principal, 'assessments.create')) throw new AppError('forbidden', 'Your role does not allow creating assessments');
    const target = m ? await editTarget(session.principal, m[1]!) : undefined;
    renderForm(res, session, { target, title: target ? target.title : stash.title, values: stash.answers, errors: [], notice: 'You are signed in again. Your answers have been restored but not saved yet: review them and save.', noticeKind: 'warning' });
  };

  // ------------------------------------------------------------------ dashboard
  router.get('/', ...page(ctx, {}, async (req, res, session) => {
    const p = session.principal;
    if (!isPermitted(p, 'assessments.read')) {
      if (isPermitted(p, 'users.manage')) {
        res.redirect(303, '/admin');
        return;
      }
      renderPage(ctx, res, session, 'dashboard.njk', { title: 'Home', active: 'home', items: [], nextCursor: null, showOrg: false, stats: null, q: '', status: '', canCreate: false, auditorView: false });
      return;
    }
    const scope = reachableOrganizations(p, 'assessments.read');
    // As on the trail page: an empty field is no filter, a value the form cannot send is a 400
    // page naming it (a list that silently ignored `?status=archived` would be counted as filtered).
    const q = pageFilter(req, 'q');
    const status = pageFilter(req, 'status');
    if (status !== '' && status !== 'draft' && status !== 'submitted') throw new AppError('bad-request', 'The status filter must be draft or submitted', { errors: [{ pointer: '/status', detail: 'unknown status' }] });
    const cursorText = pageFilter(req, 'cursor');
    const cursor = cursorText === '' ? undefined : cursorText;
    const filters: SelectionFilters = { ...(q ? { q } : {}), ...(status === 'draft' || status === 'submitted' ? { status } : {}) };
    // The summary counts every assessment the filters select in the reader's scope, not this page's 25.
    const [list, stats] = await Promise.all([listAssessments(db, scope, { limit: 25, ...filters, ...(cursor ? { cursor } : {}) }), summarizeAssessments(db, scope, filters)]);
    const names = await organizationNames(db, [...new Set(list.items.map((i) => i.organizationId))]);
    const items = list.items.map((i) => ({ ...i, organizationName: names.get(i.organizationId) ?? '' }));
    await recordRead(db, req, p, { action: 'assessment.listed', permission: 'assessments.read', decision: { via: 'page', returned: items.length, ...readFilters({ q, status, cursor }) } });
    const auditorView = !p.roles.includes('compliance_officer');
    renderPage(ctx, res, session, 'dashboard.njk', {
      title: auditorView ? 'Reports' : 'Assessments',
      active: 'home',
      items,
      nextCursor: list.nextCursor,
      showOrg: scope === 'all' || scope.length > 1 || (scope.length === 1 && scope[0] !== p.organizationId),
      stats,
      filtered: q !== '' || status !== '',
      q,
      status,
      canCreate: isPermitted(p, 'assessments.create'),
      auditorView,
    });
  }));

  // ------------------------------------------------------------------ questionnaire
  router.get('/assessments/new', ...page(ctx, { action: 'assessments.create' }, (_req, res, session) => {
    renderForm(res, session, { title: '', values: {}, errors: [] });
    return Promise.resolve();
  }));

  router.post('/assessments/new', ...page(ctx, { action: 'assessments.create', ...formOptions }, (req, res, session) => saveForm(req, res, session, undefined)));

  router.get('/assessments/:id/edit', ...page(ctx, { action: 'assessments.revise' }, async (req, res, session) => {
    const target = await editTarget(session.principal, String(req.params.id));
    const stored = await service.answersOf(target.id, target.latestRevision, [target.organizationId]);
    const questionnaire = questionnaireOf(stored.questionnaireVersion);
    // The form is prefilled with the revision's stored answers: recorded as the API records
    // `GET /v1/assessments/{id}/revisions/{n}`, before the page is sent.
    await recordAuditEventAlone(ctx.db, {
      action: 'assessment.revision_read',
      outcome: 'success',
      actor: auditActorOf(session.principal, 'assessments.revise', target.organizationId),
      organizationId: target.organizationId,
      target: { type: 'assessment', id: target.id },
      request: auditRequestContext(req),
      inputSha256: sha256Hex(canonicalJson(stored.answers)),
      decision: { revision: target.latestRevision, questionnaireVersion: stored.questionnaireVersion },
    });
    const notice =
      req.query.saved === '1' ? `Draft saved as revision ${target.latestRevision}. You can leave and resume later from the dashboard.` : req.query.updated === '1' ? `Draft saved as revision ${target.latestRevision}; the questions now match your answers.` : '';
    renderForm(res, session, { target, title: target.title, values: formValuesOf(questionnaire, stored.answers), errors: [], notice, noticeKind: 'success' });
  }));

  router.post('/assessments/:id/edit', ...page(ctx, { action: 'assessments.revise', ...formOptions }, async (req, res, session) => {
    const target = await editTarget(session.principal, String(req.params.id));
    await saveForm(req, res, session, target);
  }));

  // ------------------------------------------------------------------ assessment overview
  router.get('/assessments/:id', ...page(ctx, { action: 'assessments.read' }, async (req, res, session) => {
    const p = session.principal;
    const a = await service.get(String(req.params.id), reachableOrganizations(p, 'assessments.read'));
    const names = await organizationNames(db, [a.organizationId]);
    await recordRead(db, req, p, { action: 'assessment.read', permission: 'assessments.read', organizationId: a.organizationId, target: { type: 'assessment', id: a.id }, decision: { via: 'page', revisions: a.revisions.length } });
    const reports = a.revisions.flatMap((r) => r.reports.map((rep) => ({ ...rep, status: r.status })));
    const revisions = [...a.revisions].reverse().map((r) => ({ ...r, report: r.reports.at(-1) ?? null }));
    renderPage(ctx, res, session, 'assessment.njk', {
      title: a.title,
      active: 'home',
      assessment: { ...a, organizationName: names.get(a.organizationId) ?? '' },
      revisions,
      latest: revisions[0] ?? null,
      // The newest revision that has a report: a draft saved after a submission has none of its own.
      latestResult: revisions.find((r) => r.report !== null) ?? null,
      reports: [...reports].reverse(),
      canEdit: isPermitted(p, 'assessments.revise') && a.organizationId === p.organizationId,
      canAudit: isPermitted(p, 'audit.read'),
    });
  }));

  /**
   * Records that a page showed a report's findings: what the API records of a download, so an
   * auditor reading another organisation's report through the pages leaves the same trace.
   * Before the page is sent: a reader who got the page can rely on the event being there.
   */
  const recordView = async (req: Request, session: PageSession, found: { row: { id: string; sha256: string }; organizationId: string }, page: 'result' | 'compare'): Promise<void> => {
    await recordAuditEventAlone(ctx.db, {
      action: 'report.viewed',
      outcome: 'success',
      actor: auditActorOf(session.principal, 'reports.read', found.organizationId),
      organizationId: found.organizationId,
      target: { type: 'report', id: found.row.id },
      request: auditRequestContext(req),
      inputSha256: null,
      decision: { page, sha256: found.row.sha256 },
    });
  };

  // ------------------------------------------------------------------ result
  router.get('/reports/:id', ...page(ctx, { action: 'reports.read' }, async (req, res, session) => {
    const p = session.principal;
    const found = await service.report(String(req.params.id), reachableOrganizations(p, 'reports.read'));
    const { row, organizationId } = found;
    const report = parseReport(row.bytes);
    const view = buildReportView(report);
    const a = await service.get(row.assessment_id, reachableOrganizations(p, 'reports.read'));
    const allReports = a.revisions.flatMap((r) => r.reports);
    const index = allReports.findIndex((r) => r.id === row.id);
    const previous = index > 0 ? allReports[index - 1]! : null;
    const latestRevision = a.revisions.at(-1)!;
    await recordView(req, session, found, 'result');
    renderPage(ctx, res, session, 'report.njk', {
      title: `Result: ${report.assessment.title}`,
      active: 'home',
      report,
      view,
      sha256: row.sha256,
      kid: row.kid,
      submitted: req.query.submitted === '1',
      previousReportId: previous?.id ?? null,
      isLatest: latestRevision.revision === row.revision,
      canEdit: isPermitted(p, 'assessments.revise') && organizationId === p.organizationId,
      canAudit: isPermitted(p, 'audit.read'),
      canVerify: isPermitted(p, 'verify'),
      downloads: {
        pdf: `/reports/${row.id}/download/pdf`,
        json: `/reports/${row.id}/download/json`,
        signature: `/reports/${row.id}/download/signature`,
      },
    });
  }));

  /**
   * Downloads go to the API (`/v1/reports/{id}`, `/signature`, `/pdf`). This hop authenticates
   * as a page first, so an access cookie that expired while the result page stayed open is
   * refreshed before the browser follows the redirect, instead of meeting a JSON 401.
   */
  router.get('/reports/:id/download/:format', ...page(ctx, { action: 'reports.read' }, async (req, res, session) => {
    const format = String(req.params.format);
    const id = String(req.params.id);
    if (!isUuid(id) || !['pdf', 'json', 'signature'].includes(format)) throw new AppError('not-found', 'No such download');
    await service.report(id, reachableOrganizations(session.principal, 'reports.read'));
    res.redirect(303, `/v1/reports/${id}${format === 'json' ? '' : `/${format}`}`);
  }));

  // ------------------------------------------------------------------ comparison
  router.get('/assessments/:id/compare', ...page(ctx, { action: 'reports.read' }, async (req, res, session) => {
    const p = session.principal;
    const scope = reachableOrganizations(p, 'reports.read');
    const a = await service.get(String(req.params.id), scope);
    const reports = a.revisions.flatMap((r) => r.reports.map((rep) => ({ id: rep.id, revision: r.revision, overallRisk: rep.overallRisk, createdAt: rep.createdAt })));
    // The page lists the assessment's revisions and reports: a read of the assessment, as its overview is.
    const recordOverview = (): Promise<void> =>
      recordRead(db, req, p, { action: 'assessment.read', permission: 'reports.read', organizationId: a.organizationId, target: { type: 'assessment', id: a.id }, decision: { via: 'page', revisions: a.revisions.length } });
    if (reports.length < 2) {
      await recordOverview();
      renderPage(ctx, res, session, 'compare.njk', { title: `Compare: ${a.title}`, active: 'home', assessment: a, reports, diff: null, fromId: '', toId: '', rows: [] });
      return;
    }
    // Omitted: the last two reports. Given: one of this assessment's reports, or the page says so
    // (comparing another pair than the one asked for would mislead).
    const pick = (name: 'from' | 'to', fallback: string): string => {
      const value = req.query[name];
      if (value === undefined || value === '') return fallback;
      if (typeof value !== 'string') throw new AppError('bad-request', `The query parameter ${name} must be given once`);
      if (!reports.some((r) => r.id === value)) throw new AppError('not-found', `No report ${value} of this assessment`);
      return value;
    };
    const fromId = pick('from', reports.at(-2)!.id);
    const toId = pick('to', reports.at(-1)!.id);
    const [foundA, foundB] = [await service.report(fromId, scope), await service.report(toId, scope)];
    const a1 = parseReport(foundA.row.bytes);
    const b1 = parseReport(foundB.row.bytes);
    await recordOverview();
    for (const found of [foundA, foundB]) await recordView(req, session, found, 'compare');
    const diff = diffReports(a1, b1);
    const titles = new Map([...a1.evaluation.findings, ...b1.evaluation.findings].map((f) => [`${f.rulesetId}|${f.citation}`, f.specification ?? f.standard]));
    const rows = diff.changes.map((c) => ({ ...c, title: titles.get(`${c.rulesetId}|${c.citation}`) ?? '' }));
    renderPage(ctx, res, session, 'compare.njk', {
      title: `Compare: ${a.title}`,
      active: 'home',
      assessment: a,
      reports,
      fromId,
      toId,
      from: reports.find((r) => r.id === fromId),
      to: reports.find((r) => r.id === toId),
      diff,
      rows,
    });
  }));

  return { router, restore };
}
