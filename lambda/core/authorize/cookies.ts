import type { Cookie } from './interaction';

/** One cookie's value from a `Cookie` request header (RFC 6265 §5.4), or undefined; the first of repeated names. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const separator = pair.indexOf('=');
    if (separator < 0) continue;
    if (pair.slice(0, separator).trim() === name) return pair.slice(separator + 1).trim();
  }
  return undefined;
}

/** A `Set-Cookie` value for a `__Host-` cookie: secure, script-proof, same-site, for the whole origin. */
export function cookieHeader(cookie: Cookie): string {
  if (!cookie.name.startsWith('__Host-')) throw new Error(`cookie ${cookie.name} must have the __Host- prefix`);
  return `${cookie.name}=${cookie.value}; Max-Age=${cookie.maxAgeSeconds}; Path=/; Secure; HttpOnly; SameSite=Lax`;
}
