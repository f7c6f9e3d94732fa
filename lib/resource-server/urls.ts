/** URL rules shared by the verifier and the metadata builder. */

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname);
}

/**
 * Why `value` is not an acceptable https URL (plain http is allowed on loopback hosts only, for local development),
 * or `undefined` when it is.
 */
export function httpsUrlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return 'must be a non-empty string';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    return 'must use https (plain http only on 127.0.0.1, localhost or [::1])';
  }
  if (url.username || url.password) return 'must not carry credentials';
  if (url.hash || value.includes('#')) return 'must not have a fragment';
  return undefined;
}

/** Throws a TypeError naming the option when `value` is not an acceptable https URL. */
export function requireHttpsUrl(name: string, value: unknown): string {
  const problem = httpsUrlProblem(value);
  if (problem) throw new TypeError(`${name} ${problem}`);
  return value as string;
}

/** An issuer identifier as RFC 8414 §2 has it (https, no query, no fragment), and without a trailing slash. */
export function requireIssuer(name: string, value: unknown): string {
  const issuer = requireHttpsUrl(name, value);
  if (issuer.includes('?')) throw new TypeError(`${name} must not have a query`);
  if (issuer.endsWith('/'))
    throw new TypeError(`${name} must not end with a slash (use the issuer exactly as published)`);
  return issuer;
}

/**
 * RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path
 * (`https://as.example.com/tenant` → `https://as.example.com/.well-known/oauth-authorization-server/tenant`).
 */
export function authorizationServerMetadataUrl(issuer: string): string {
  const url = new URL(issuer);
  return `${url.origin}/.well-known/oauth-authorization-server${url.pathname.replace(/\/$/, '')}`;
}
