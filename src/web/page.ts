/**
 * What every page route shares: security headers (a CSP with a fresh nonce per response, no-store),
 * same-origin checks and form parsing for POSTs, authentication through the auth module, the
 * layout's user and navigation, and HTML error pages instead of problem+json.
 */
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Kysely } from 'kysely';
import { OTHER_ORGANIZATION, OTHER_ORGANIZATION_REASON } from '../assessments/service.js';
import { isRefusedStatus, recordDenied, type RefusedStatus } from '../audit/denied.js';
import { ANONYMOUS_ACTOR, actorOf, type AuthContext } from '../auth/context.js';
import { isPermitted, type Action, type Principal } from '../auth/permissions.js';
import type { DB } from '../db/schema.js';
import { firstUncleanString } from '../util/clean-strings.js';
import { pointerToken } from '../util/json-pointer.js';
import { AppError } from '../errors.js';
import { deniedRequestFacts } from '../http/audit-context.js';
import { isInternalFailure, recordFailure } from '../http/audit-refusals.js';
import type { Logger } from '../logging/logger.js';
import type { PageSessions } from './session.js';
import { newNonce, type PageContext, type PageUser, type Views } from './view.js';

/** An authenticated page request: who, their CSRF token and what the layout shows of them. */
export interface PageSession {
  readonly principal: Principal;
  readonly csrfToken: string;
  readonly user: PageUser;
}

/** Everything the page routes are built over. */
export interface WebContext {
  readonly db: Kysely<DB>;
  readonly views: Views;
  readonly sessions: PageSessions;
  readonly authContext: AuthContext;
  /** Origins a form may be posted from (config.allowedOrigins). */
  readonly allowedOrigins: readonly string[];
  readonly bodyLimitBytes: number;
  /** Denials and refusals recorded per (IP, status) and minute before they are only counted. */
  readonly deniedPerMinute: number;
  /** The app's clock (tests move time). */
  readonly clock: () => Date;
  readonly logger?: Logger;
}

/** Options of one page route. */
export interface PageOptions {
  /** The permission the page needs (the auth module's table); none = any signed-in user. */
  readonly action?: Action;
  /** A POST whose session has ended: render something other than a redirect to /login (the answer stash). */
  readonly onSignedOut?: (req: Request, res: Response) => Promise<void>;
  /** A POST whose CSRF token does not match the session: re-render instead of an error page. */
  readonly onCsrfFailure?: (req: Request, res: Response, session: PageSession) => Promise<void>;
  /**
   * Top-level form fields whose values may hold NUL characters (U+0000): the parser removes them
   * and notes where (`nulRemovedFrom`), so that the handler can name the field in a 422 with the
   * form shown again, instead of the 400 that refuses the whole form. NUL anywhere else (another
   * field, a field name) is still a 400.
   */
  readonly nulFieldsReported?: readonly string[];
  /**
   * The app's limiter a POST is counted in once authenticated, keyed by the user (`req.principal`,
   * as the API's routes are), not by the IP a whole hospital may share. See `providePageLimiters`.
   */
  readonly rateLimit?: keyof PageLimiters;
  /**
   * `false`: not counted in the per-principal limit. Only for what reduces access (signing out):
   * a user over the limit must still be able to end their session on a shared workstation.
   */
  readonly principalLimit?: false;
  /**
   * A POST refused by `rateLimit` (429, `Retry-After` already set): render something other than
   * the error page (the form again, unsaved). Nothing must be stored.
   */
  readonly onRateLimited?: (req: Request, res: Response, session: PageSession, limited: PageRateLimited) => Promise<void>;
}

/** The limiters page POSTs are counted in after authentication (the app's, shared with the API). */
export interface PageLimiters {
  /** Evaluation and submission (the questionnaire forms): per principal, like `POST /v1/assessments`. */
  readonly evaluate: RequestHandler;
  /** Every authenticated page request, per user: the API's per-principal limit, shared with it. */
  readonly principal?: RequestHandler;
  /** Changes of one's own password (the account page): per user, like `POST /v1/me/password`, in its counter. */
  readonly password?: RequestHandler;
}

/** A page POST its limiter refused. */
export interface PageRateLimited {
  /** Seconds until the window ends (the `Retry-After` header). */
  readonly retryAfterSeconds: number;
  /** The limiter's problem detail. */
  readonly detail: string;
}

const appLimiters = new WeakMap<object, PageLimiters>();

/**
 * Gives the pages of `app` the limiters their POSTs are counted in once the user is known
 * (`PageOptions.rateLimit`). A page that names a limiter its app was not given is not counted
 * (the app-wide per-IP limit still applies): src/http/app.ts provides them.
 */
export function providePageLimiters(app: Express, limiters: PageLimiters): void {
  appLimiters.set(app, limiters);
}

/**
 * Counts an authenticated page request in `limiter`: undefined when it may go on, the refusal
 * when over the limit (the limiter has set `RateLimit` and `Retry-After`). Other errors throw.
 */
function countIn(limiter: RequestHandler, req: Request, res: Response): Promise<PageRateLimited | undefined> {
  return new Promise((resolve, reject) => {
    const next: NextFunction = (err?: unknown) => {
      if (err === undefined || err === null) return resolve(undefined);
      if (err instanceof AppError && err.code === 'rate-limited') {
        for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
        const seconds = Number(res.getHeader('Retry-After'));
        return resolve({ retryAfterSeconds: Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds) : 1, detail: err.detail });
      }
      reject(err instanceof Error ? err : new Error('rate limiter failed'));
    };
    Promise.resolve(limiter(req, res, next)).catch(reject);
  });
}

/** A page handler: gets the signed-in session. */
export type PageHandler = (req: Request, res: Response, session: PageSession) => Promise<void>;

const cspNonce = (_req: IncomingMessage, res: ServerResponse): string => `'nonce-${String((res as unknown as { locals: { cspNonce: string } }).locals.cspNonce)}'`;

/**
 * The headers of every page: helmet's defaults with our CSP (`default-src 'none'`, scripts only
 * with the response's nonce, styles from us or with the nonce, forms only to us, no framing, no
 * <base>), `Referrer-Policy: same-origin`, and `Cache-Control: no-store` because pages hold
 * personal and assessment data.
 */
export function pageHeaders(): RequestHandler {
  const h = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: [cspNonce],
        styleSrc: ["'self'", cspNonce],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    strictTransportSecurity: false,
    // Not helmet's `no-referrer`: with it, browsers send `Origin: null` on same-origin form posts,
    // and the origin check below could not tell our own forms from a foreign page's.
    referrerPolicy: { policy: 'same-origin' },
  });
  return (req, res, next) => {
    res.locals.cspNonce = newNonce();
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Pragma', 'no-cache');
    h(req, res, next);
  };
}

/** A local path to return to after signing in, or '/' (no scheme, no host, no `//`, no backslash). */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string' || value.length > 500) return '/';
  if (!/^\/(?![/\\])[A-Za-z0-9/_\-.~%?=&#]*$/.test(value)) return '/';
  return value;
}

/** The navigation entries a principal may open. */
export function navFor(p: Principal): PageUser['nav'] {
  const nav: { href: string; label: string; key: string }[] = [];
  if (isPermitted(p, 'assessments.read')) nav.push({ href: '/', label: p.roles.includes('compliance_officer') ? 'Assessments' : 'Reports', key: 'home' });
  if (isPermitted(p, 'assessments.create')) nav.push({ href: '/assessments/new', label: 'New assessment', key: 'new' });
  if (isPermitted(p, 'verify')) nav.push({ href: '/verify', label: 'Verify a report', key: 'verify' });
  if (isPermitted(p, 'audit.read')) nav.push({ href: '/audit', label: 'Audit trail', key: 'trail' });
  if (isPermitted(p, 'audit.verify')) nav.push({ href: '/audit/verify', label: 'Audit chain', key: 'audit' });
  if (isPermitted(p, 'users.manage')) nav.push({ href: '/admin', label: 'Administration', key: 'admin' });
  return nav;
}

/** The organisation names of some ids (for display). */
export async function organizationNames(db: Kysely<DB>, ids?: readonly string[]): Promise<Map<string, string>> {
  if (ids !== undefined && ids.length === 0) return new Map();
  let q = db.selectFrom('organizations').select(['id', 'name']);
  if (ids !== undefined) q = q.where('id', 'in', [...ids]);
  return new Map((await q.execute()).map((r) => [r.id, r.name]));
}

/** Builds what the layout shows of a principal (its organisation's name comes with it). */
export function pageUserOf(p: Principal): PageUser {
  return { email: p.displayName, roles: p.roles, organizationName: p.organizationName, nav: navFor(p) };
}

/**
 * One filter of a page's query string (a GET form's field), trimmed; '' when absent or empty
 * (a GET form sends every field). What the form cannot send (a repeated or nested parameter, a
 * value over `maxLength`) is a 400 page naming it.
 */
export function pageFilter(req: Request, name: string, maxLength = 200): string {
  const v = req.query[name];
  if (v === undefined) return '';
  if (typeof v !== 'string') throw new AppError('bad-request', `The filter ${name} must be given once, as a plain value`, { errors: [{ pointer: `/${name}`, detail: 'must be a single value' }] });
  if (v.length > maxLength) throw new AppError('bad-request', `The filter ${name} is longer than ${maxLength} characters`, { errors: [{ pointer: `/${name}`, detail: `longer than ${maxLength} characters` }] });
  return v.trim();
}

/** What the audit trail records of a page request refused or denied. */
export interface PageRefusal {
  readonly status: number;
  /** The problem's code, or a short reason (`cross_origin`). */
  readonly reason: string;
  /** The failing fields' JSON pointers (a refusal's). */
  readonly pointers?: readonly string[];
  /** A 404 for an assessment or report of another organisation. */
  readonly otherOrganization?: boolean;
}

/** The refusal a client error stands for. */
export function refusalOf(err: AppError): PageRefusal {
  const pointers = err.errors.length > 0 ? err.errors.map((e) => e.pointer) : err.pointer !== undefined ? [err.pointer] : [];
  return err.cause === OTHER_ORGANIZATION ? { status: err.status, reason: OTHER_ORGANIZATION_REASON, otherOrganization: true } : { status: err.status, reason: err.code, pointers };
}

/** A page's denial (403, or 404 for another organisation's resource), recorded whatever the method. */
function isPageDenial(refusal: PageRefusal): refusal is PageRefusal & { status: 403 | 404 } {
  return refusal.status === 403 || (refusal.status === 404 && refusal.otherOrganization === true);
}

/** Whether `recordPageRefusal` records this refusal of this request (no lookup needed otherwise). */
export function isRecordedRefusal(req: Request, refusal: PageRefusal): boolean {
  return (isRefusedStatus(refusal.status) && req.method === 'POST') || isPageDenial(refusal);
}

/**
 * Records a page request the service refused or denied, as the API records the same (docs/audit.md
 * §denials): a form post answered 400, 409, 413, 415 or 422 is a `request.refused` event with the
 * failing fields' pointers (never an input hash: a form holds its CSRF token, and the sign-in and
 * user forms a password); a 403, and a 404 for an assessment or report of another organisation,
 * a `request.denied` event. The actor is `principal` (default: the request's, once
 * authenticated). Bounded per (IP, status) and minute like every denial. Other answers, and
 * refused reads, are not recorded. Call it before the page is sent: a client that got the page
 * can rely on the event being there.
 */
export async function recordPageRefusal(ctx: Pick<WebContext, 'db' | 'deniedPerMinute' | 'clock'>, req: Request, refusal: PageRefusal, principal: Principal | undefined = req.principal): Promise<void> {
  if (!isRecordedRefusal(req, refusal)) return;
  const refused = isRefusedStatus(refusal.status);
  await recordDenied(
    ctx.db,
    {
      // A refusal's status (400, 409, 413, 415, 422) or a denial's (403, 404), as just checked.
      status: refusal.status as RefusedStatus | 403 | 404,
      ...deniedRequestFacts(req),
      reason: refusal.reason,
      actor: principal ? actorOf(principal) : ANONYMOUS_ACTOR,
      ...(refused ? { pointers: refusal.pointers ?? [] } : {}),
      // Another organisation's resource: the installation's trail, not the actor's (src/audit/denied.ts).
      ...(refusal.otherOrganization === true ? { organizationId: null } : {}),
    },
    { limitPerMinute: ctx.deniedPerMinute, now: ctx.clock() },
  );
}

/** Renders the error page. */
export function renderError(ctx: Pick<WebContext, 'views'>, res: Response, status: number, heading: string, detail: string, session?: PageSession): void {
  ctx.views.render(res, status, 'error.njk', { title: heading, heading, detail, status, user: session?.user ?? null, csrfToken: session?.csrfToken ?? '' });
}

/** Renders a page with the session's user and CSRF token filled in. */
export function renderPage(ctx: WebContext, res: Response, session: PageSession, template: string, context: { readonly title: string; readonly active?: string; readonly [key: string]: unknown }, status = 200): void {
  const full: PageContext = { ...context, title: context.title, user: session.user, csrfToken: session.csrfToken };
  ctx.views.render(res, status, template, full);
}

/**
 * Refuses a cross-site POST: an `Origin` that is not ours, or `Sec-Fetch-Site: cross-site`. With
 * SameSite=Strict cookies such a request carries no session anyway; refusing it also keeps a
 * foreign site from planting values in the sign-in form's answer stash.
 */
export function isSameOrigin(req: Request, allowedOrigins: readonly string[]): boolean {
  const origin = req.get('origin');
  const site = req.get('sec-fetch-site');
  if (site === 'cross-site') return false;
  if (origin === undefined) return true;
  return allowedOrigins.includes(origin);
}

/** The pointers of the values whose NUL characters `formBody` removed, per request. */
const nulRemoved = new WeakMap<Request, readonly string[]>();

/**
 * Where `formBody` removed NUL characters from this request's form (JSON pointers such as
 * `/answers/uc.name` or `/answers/uc.users/0`); empty unless the route allowed it.
 */
export function nulRemovedFrom(req: Request): readonly string[] {
  return nulRemoved.get(req) ?? [];
}

const MAX_DEPTH = 64;

/**
 * Removes NUL characters from the string values under `root` (in place), noting their pointers
 * in `found`. A field name holding NUL is returned as an error (names are not typed by people).
 * Iterative, so a deeply nested value cannot exhaust the stack.
 */
function removeNul(root: Record<string, unknown>, key: string, found: string[]): { pointer: string; detail: string } | null {
  const stack: [Record<string, unknown> | unknown[], string, string, number][] = [[root, key, `/${pointerToken(key)}`, 0]];
  while (stack.length > 0) {
    const [parent, k, pointer, depth] = stack.pop()!;
    const v = (parent as Record<string, unknown>)[k];
    if (typeof v === 'string') {
      if (v.includes('\u0000')) {
        Object.defineProperty(parent, k, { value: v.replaceAll('\u0000', ''), writable: true, enumerable: true, configurable: true });
        found.push(pointer);
      }
    } else if (v !== null && typeof v === 'object' && depth < MAX_DEPTH) {
      for (const child of Object.keys(v)) {
        if (child.includes('\u0000')) return { pointer: `${pointer}/${pointerToken(child)}`, detail: 'the field name contains a NUL character (U+0000)' };
        stack.push([v as Record<string, unknown>, child, `${pointer}/${pointerToken(child)}`, depth + 1]);
      }
    }
  }
  return null;
}

/**
 * The form parser of page POSTs (application/x-www-form-urlencoded only). A string nothing can
 * store (a NUL character, a lone surrogate) is a 400, except NUL in the values of the fields
 * `nulFieldsReported` names: removed, and noted for the handler (`nulRemovedFrom`).
 */
export function formBody(limitBytes: number, nulFieldsReported: readonly string[] = []): RequestHandler {
  const parse = express.urlencoded({ extended: true, limit: limitBytes, parameterLimit: 2000 });
  const refuse = (bad: { pointer: string; detail: string }): AppError => new AppError('bad-request', `A form field ${bad.detail}`, { errors: [bad] });
  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    if (!req.is('application/x-www-form-urlencoded')) return next(new AppError('unsupported-media-type', 'Forms must be posted as application/x-www-form-urlencoded'));
    parse(req, res, (err?: unknown) => {
      if (err !== undefined) return next(err);
      if (nulFieldsReported.length === 0) {
        const bad = firstUncleanString(req.body);
        if (bad) return next(refuse(bad));
        return next();
      }
      // Lone surrogates anywhere, and NUL outside the reported fields, are refused as always.
      const body = (req.body ?? {}) as Record<string, unknown>;
      const surrogate = firstUncleanString(body, '', false);
      if (surrogate) return next(refuse(surrogate));
      const found: string[] = [];
      for (const key of Object.keys(body)) {
        const bad = nulFieldsReported.includes(key) ? removeNul(body, key, found) : firstUncleanString({ [key]: body[key] });
        if (bad) return next(refuse(bad));
      }
      if (found.length > 0) nulRemoved.set(req, found);
      next();
    });
  };
}

/** The error page's heading for a status. */
export function problemHeading(status: number): string {
  switch (status) {
    case 404:
      return 'Page not found';
    case 403:
      return 'Not allowed';
    case 413:
      return 'Too much data';
    case 415:
    case 400:
      return 'The request could not be read';
    case 429:
      return 'Too many attempts';
    case 503:
      return 'The service is busy';
    default:
      return 'Something went wrong';
  }
}

/**
 * Wraps a page handler: headers, origin check and form parsing for POSTs, authentication (with
 * redirects to /login), the layout's user, and errors as HTML pages.
 */
export function page(ctx: WebContext, options: PageOptions, handler: PageHandler): RequestHandler[] {
  const headers = pageHeaders();
  const body = formBody(ctx.bodyLimitBytes, options.nulFieldsReported);
  const main = async (req: Request, res: Response): Promise<void> => {
    if (req.method === 'POST' && !isSameOrigin(req, ctx.allowedOrigins)) {
      await recordPageRefusal(ctx, req, { status: 403, reason: 'cross_origin' });
      renderError(ctx, res, 403, 'Not allowed', 'Forms of this service can only be sent from its own pages.');
      return;
    }
    const auth = await ctx.sessions.authenticate(req, res, options.action);
    if (!auth.ok) {
      if (auth.status === 401) {
        if (req.method === 'POST' && options.onSignedOut) return options.onSignedOut(req, res);
        res.redirect(303, `/login?next=${encodeURIComponent(safeNext(req.method === 'GET' ? req.originalUrl : req.path))}`);
        return;
      }
      if (auth.code === 'csrf-token-invalid') {
        if (auth.session && options.onCsrfFailure) {
          const { principal, csrfToken } = auth.session;
          return options.onCsrfFailure(req, res, { principal, csrfToken, user: pageUserOf(principal) });
        }
        renderError(ctx, res, 403, 'This form has expired', 'The page was opened in an earlier session. Go back, reload the page and send it again.');
        return;
      }
      renderError(ctx, res, 403, 'Not allowed', 'Your role does not allow this page. Ask an administrator if you need access.');
      return;
    }
    const session: PageSession = { principal: auth.principal, csrfToken: auth.csrfToken, user: pageUserOf(auth.principal) };
    try {
      // Counted once the user is known (`req.principal`), so each user has their own budget: every
      // page in the per-principal limit, a form post also in its own.
      const limiters = appLimiters.get(req.app);
      const limiter = req.method === 'POST' && options.rateLimit !== undefined ? limiters?.[options.rateLimit] : undefined;
      let limited = limiters?.principal && options.principalLimit !== false ? await countIn(limiters.principal, req, res) : undefined;
      if (limited === undefined && limiter) limited = await countIn(limiter, req, res);
      if (limited) {
        if (options.onRateLimited) return await options.onRateLimited(req, res, session, limited);
        renderError(ctx, res, 429, problemHeading(429), limited.detail, session);
        return;
      }
      await handler(req, res, session);
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await recordPageRefusal(ctx, req, refusalOf(err));
      renderError(ctx, res, err.status, problemHeading(err.status), err.status === 404 ? 'There is nothing here, or it belongs to an organisation you cannot see.' : err.detail, session);
    }
  };
  const wrapped: RequestHandler = (req, res, next: NextFunction) => {
    main(req, res).catch(async (err: unknown) => {
      if (err instanceof AppError && err.status < 500) {
        try {
          await recordPageRefusal(ctx, req, refusalOf(err));
        } catch (auditErr) {
          err = auditErr;
        }
      }
      if (err instanceof AppError && err.status < 500) {
        renderError(ctx, res, err.status, problemHeading(err.status), err.detail);
        return;
      }
      // A refusal for want of capacity (the report workers' queue full): a 503 with its
      // Retry-After, as the API answers, not an internal error.
      const busy = err instanceof AppError && err.status === 503 ? err : undefined;
      if (busy) ctx.logger?.warn({ reqId: req.id, err: { code: busy.code, detail: busy.detail } }, 'page refused: service busy');
      else ctx.logger?.error({ reqId: req.id, err }, 'page failed');
      // Passed on, the app's error middleware records it (recordFailures).
      if (res.headersSent) return next(err);
      if (isInternalFailure(err, ctx.bodyLimitBytes, req.path)) {
        await recordFailure(ctx.db, req, err, req.principal ? actorOf(req.principal) : ANONYMOUS_ACTOR, {
          limitPerMinute: ctx.deniedPerMinute,
          now: ctx.clock(),
          onError: (auditErr) => ctx.logger?.error({ reqId: req.id, err: auditErr }, 'recording a failed page in the audit trail failed'),
        });
      }
      if (busy) {
        for (const [name, value] of Object.entries(busy.headers)) res.setHeader(name, value);
        renderError(ctx, res, 503, problemHeading(503), 'The service is busy and could not do this now; this request changed nothing. Try again in a moment (for a form: go back, and send it again).');
        return;
      }
      renderError(ctx, res, 500, 'Something went wrong', `The page could not be shown. Quote this reference when reporting it: ${String(req.id ?? 'unknown')}.`);
    });
  };
  return [headers, body, wrapped];
}
