/**
 * Rendering pages: one nunjucks environment over `templates/web/` (autoescape on, so every value
 * is HTML-escaped unless a template says otherwise, which ours never do for data), the filters the
 * templates use, and the per-response values every page needs (CSP nonce, CSRF token, the user).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Response } from 'express';
import nunjucks from 'nunjucks';
import { FAMILY_LABELS, labelOf, RISK_LABELS, ROLE_LABELS, STATUS_LABELS } from './labels.js';

/** Where the page templates live. */
export const WEB_TEMPLATES_DIR = fileURLToPath(new URL('../../templates/web/', import.meta.url));
/** Where the CSS, the script and the images live (served under `/static`). */
export const WEB_STATIC_DIR = fileURLToPath(new URL('../../templates/static/', import.meta.url));

/** What the layout shows about the signed-in user. */
export interface PageUser {
  readonly email: string;
  readonly roles: readonly string[];
  readonly organizationName: string;
  /** Navigation entries the user may open (by permission). */
  readonly nav: readonly { readonly href: string; readonly label: string; readonly key: string }[];
}

/** Values every page template receives; pages add their own. */
export interface PageContext {
  readonly title: string;
  readonly user: PageUser | null;
  readonly csrfToken: string;
  /** Which navigation entry is current. */
  readonly active?: string;
  readonly [key: string]: unknown;
}

/** The nunjucks environment and the static asset versions, built once per router. */
export interface Views {
  render(res: Response, status: number, template: string, context: PageContext): void;
}

/** ISO 8601 → `YYYY-MM-DD HH:MM UTC`, independent of locale and time zone. */
export function formatUtc(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—';
  if (!(value instanceof Date) && typeof value !== 'string' && typeof value !== 'number') return '—';
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return typeof value === 'string' ? value : '—';
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
}

function assetVersion(file: string): string {
  try {
    return createHash('sha256').update(readFileSync(new URL(file, `file://${WEB_STATIC_DIR}`))).digest('hex').slice(0, 12);
  } catch {
    return '0';
  }
}

/** A fresh CSP nonce (128 bits, base64). */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

/**
 * Builds the views. Guarantees: autoescape is on; with `strict`, a template that outputs an
 * undefined value throws (tests), instead of printing nothing.
 */
export function createViews(options: { strict?: boolean } = {}): Views {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(WEB_TEMPLATES_DIR, { noCache: false, watch: false }), {
    autoescape: true,
    throwOnUndefined: options.strict === true,
    trimBlocks: true,
    lstripBlocks: true,
  });
  env.addFilter('utc', formatUtc);
  env.addFilter('risk', (code: string | null | undefined) => labelOf(RISK_LABELS, code));
  env.addFilter('status', (code: string | null | undefined) => labelOf(STATUS_LABELS, code));
  env.addFilter('role', (code: string | null | undefined) => labelOf(ROLE_LABELS, code));
  env.addFilter('family', (code: string) => (Object.hasOwn(FAMILY_LABELS, code) ? FAMILY_LABELS[code as keyof typeof FAMILY_LABELS].label : code));
  env.addFilter('short', (value: string | null | undefined, n: number = 12) => (typeof value === 'string' && value.length > n ? `${value.slice(0, n)}…` : (value ?? '—')));
  env.addFilter('json', (value: unknown) => JSON.stringify(value));
  const assets = { css: assetVersion('app.css'), js: assetVersion('app.js') };
  return {
    render(res, status, template, context) {
      const nonce = (res.locals.cspNonce as string | undefined) ?? '';
      const html = env.render(template, { ...context, cspNonce: nonce, assets, active: context.active ?? '' });
      res.status(status).type('html').send(html);
    },
  };
}
