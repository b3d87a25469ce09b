/**
 * The session cookies. Both are `HttpOnly` (no page script can read a token), `SameSite=Strict`,
 * `Path=/`, without `Domain`, and — whenever cookies are secure (always in production) — `Secure`
 * with the `__Host-` prefix, which makes browsers refuse them unless they are Secure, host-only
 * and for `/`, so a sibling subdomain cannot plant or shadow them.
 *
 * Plain http is accepted only outside production and only when PUBLIC_URL is http on
 * localhost/127.0.0.1/[::1] (Config.auth.secureCookies): there both `Secure` and the prefix are
 * dropped, because a `__Host-` cookie without `Secure` is refused by every browser (RFC 6265bis
 * §4.1.3.2), and `Secure` cookies over http://localhost are accepted by Chrome and Firefox but
 * not by Safari nor by most HTTP client libraries. See docs/auth.md §cookies.
 */
import { parseCookie, stringifySetCookie } from 'cookie';
import type { Request, Response } from 'express';
import type { IssuedSession } from '../../auth/sessions.js';

export interface CookieNames {
  /** The access JWT (≤ 15 min). */
  readonly access: string;
  /** The opaque refresh token (the session's absolute lifetime at most). */
  readonly refresh: string;
}

/** The cookie names for secure or relaxed (plain-http localhost) mode. */
export function cookieNames(secure: boolean): CookieNames {
  return secure ? { access: '__Host-hipaa_access', refresh: '__Host-hipaa_refresh' } : { access: 'hipaa_access', refresh: 'hipaa_refresh' };
}

function cookie(name: string, value: string, maxAge: number, secure: boolean): string {
  return stringifySetCookie(name, value, { httpOnly: true, secure, sameSite: 'strict', path: '/', maxAge });
}

/**
 * Sets both session cookies. Guarantees: HttpOnly, SameSite=Strict, Path=/, no Domain, Max-Age
 * equal to the access token's lifetime and to the session's remaining absolute lifetime.
 */
export function setSessionCookies(res: Response, issued: Pick<IssuedSession, 'accessToken' | 'accessTokenMaxAge' | 'refreshToken' | 'refreshTokenMaxAge'>, secure: boolean): void {
  const names = cookieNames(secure);
  res.append('Set-Cookie', cookie(names.access, issued.accessToken, issued.accessTokenMaxAge, secure));
  res.append('Set-Cookie', cookie(names.refresh, issued.refreshToken, issued.refreshTokenMaxAge, secure));
}

/** Expires both session cookies (Max-Age=0), with the same attributes they were set with. */
export function clearSessionCookies(res: Response, secure: boolean): void {
  const names = cookieNames(secure);
  res.append('Set-Cookie', cookie(names.access, '', 0, secure));
  res.append('Set-Cookie', cookie(names.refresh, '', 0, secure));
}

/** The request's session cookies (undefined when absent or empty). Never throws. */
export function readSessionCookies(req: Request, secure: boolean): { access?: string; refresh?: string } {
  const header = req.headers.cookie;
  if (header === undefined || header.length > 16384) return {};
  let parsed: Record<string, string | undefined>;
  try {
    parsed = parseCookie(header);
  } catch {
    return {};
  }
  const names = cookieNames(secure);
  const access = parsed[names.access];
  const refresh = parsed[names.refresh];
  return { ...(access ? { access } : {}), ...(refresh ? { refresh } : {}) };
}
