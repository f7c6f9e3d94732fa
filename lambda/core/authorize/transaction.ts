import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The secrets of a login transaction, derived rather than stored. The browser holds a random value in a `__Host-`
 * cookie; each transaction's key is HMAC(that value, transaction id). The record keeps only SHA-256 of the key, which
 * proves a request comes from the browser that started the login (login CSRF), and the upstream PKCE verifier, the
 * upstream nonce and the forms' CSRF token are derived from the key. A leaked record cannot complete a login.
 */
export const BROWSER_COOKIE = '__Host-id-jag-login';

/** 256 random bits, base64url: a browser value, a transaction id, an authorization code. */
export function randomValue(): string {
  return randomBytes(32).toString('base64url');
}

const BASE64URL_256 = /^[A-Za-z0-9_-]{43}$/;

/** A value this server made with `randomValue` (anything else in a cookie or a form is not looked up). */
export function isRandomValue(value: string | undefined): value is string {
  return value !== undefined && BASE64URL_256.test(value);
}

export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

export interface TransactionSecrets {
  /** Stored in the transaction: SHA-256 of the key. */
  readonly binding: string;
  /** The upstream authorization request's PKCE verifier (RFC 7636: 43 base64url characters). */
  readonly upstreamCodeVerifier: string;
  readonly upstreamNonce: string;
  /** The hidden field of the transaction's forms. */
  readonly csrfToken: string;
}

export function transactionSecrets(browserValue: string, transactionId: string): TransactionSecrets {
  const key = createHmac('sha256', browserValue).update(transactionId, 'utf8').digest();
  const derive = (purpose: string) => createHmac('sha256', key).update(purpose, 'utf8').digest('base64url');
  return {
    binding: createHash('sha256').update(key).digest('base64url'),
    upstreamCodeVerifier: derive('upstream pkce'),
    upstreamNonce: derive('upstream nonce'),
    csrfToken: derive('csrf'),
  };
}

/** Constant-time equality of two strings (their lengths may differ). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** RFC 7636 S256: base64url(SHA-256(ASCII(verifier))). */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}
