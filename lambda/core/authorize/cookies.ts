import type { Cookie } from './interaction';

/**
 * The browser-binding cookies of the interactive flow. Only `__Host-` cookies: the browser then insists on `Secure`,
 * `Path=/` and no `Domain`, so no sibling subdomain can set or overwrite them (cookie tossing), and every one is
 * `HttpOnly` and `SameSite=Lax` (sent on the top-level GET back from the upstream IdP, never on cross-site POSTs).
 */

/** RFC 6265 §4.1.1: a cookie name is an RFC 7230 token. */
const COOKIE_NAME = /^__Host-[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 6265 §4.1.1 cookie-octets: no controls, whitespace, DQUOTE, comma, semicolon or backslash. */
const COOKIE_VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

/** The `Set-Cookie` value for a cookie. Throws on a name or value the browser would refuse or misread. */
export function cookieHeader(cookie: Cookie): string {
  if (!COOKIE_NAME.test(cookie.name)) throw new Error('a cookie name must be a token with the __Host- prefix');
  if (!COOKIE_VALUE.test(cookie.value)) throw new Error(`cookie ${cookie.name}: the value has characters not allowed`);
  // Max-Age 0 deletes the cookie; a session cookie would outlive the transaction it binds.
  if (!Number.isSafeInteger(cookie.maxAgeSeconds) || cookie.maxAgeSeconds < 0) {
    throw new Error(`cookie ${cookie.name}: Max-Age must be a whole number of seconds, 0 or more`);
  }
  return `${cookie.name}=${cookie.value}; Max-Age=${cookie.maxAgeSeconds}; Path=/; Secure; HttpOnly; SameSite=Lax`;
}

/**
 * A cookie's value from a `Cookie` request header (`a=1; b=2`), or undefined. A name sent twice is ambiguous, and a
 * browser never sends one `__Host-` cookie twice, so it reads as absent rather than as either value.
 */
export function readCookie(headerValue: string | undefined, name: string): string | undefined {
  if (headerValue === undefined) return undefined;
  let found: string | undefined;
  for (const pair of headerValue.split(';')) {
    const equals = pair.indexOf('=');
    if (equals < 0 || pair.slice(0, equals).trim() !== name) continue;
    if (found !== undefined) return undefined;
    found = pair.slice(equals + 1).trim();
  }
  return found;
}
