import {
  type CompactJWSHeaderParameters,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { OAuthError, TemporarilyUnavailableError } from './errors';
import { type CompactJws, verifyCompactJws } from './jws';

/** Claims as signed: nothing is trusted about their types until checked. */
export type UntrustedClaims = Readonly<Record<string, unknown>>;

export interface VerifiedJwt {
  readonly header: CompactJWSHeaderParameters;
  readonly claims: UntrustedClaims;
}

/** Makes the error a caller should see for a bad JWT; lets each call site choose the error code. */
export type Rejection = (description: string, reason: string) => OAuthError;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** A compact JWS whose header and claims have been read, not verified. */
export interface DecodedJwt extends CompactJws {
  readonly claims: JWTPayload;
}

/**
 * Reads header and claims without verifying anything, to find whose keys to verify with.
 * Only a compact JWS is accepted: a JWE (five parts) or any other shape is rejected here.
 */
export function decodeUnverified(token: string, reject: Rejection): DecodedJwt {
  if (!COMPACT_JWS.test(token)) {
    const parts = token.split('.').length;
    throw reject(
      'must be a signed JWT (compact JWS)',
      parts === 5 ? 'JWE not supported' : `not a compact JWS (${parts} parts)`,
    );
  }
  let header: CompactJWSHeaderParameters;
  let claims: JWTPayload;
  try {
    header = decodeProtectedHeader(token) as CompactJWSHeaderParameters;
    claims = decodeJwt(token);
  } catch (error) {
    throw reject('is malformed', `undecodable: ${(error as Error).message}`);
  }
  const firstDot = token.indexOf('.');
  return { token, header, claims, firstDot, secondDot: token.indexOf('.', firstDot + 1) };
}

/**
 * Verifies the signature with the given keys and algorithm allowlist (jose's `compactVerify` semantics) and returns
 * the signed claims. Key-set outages become `temporarily_unavailable`; every other failure is the caller's rejection.
 *
 * The claims are the ones `decodeUnverified` read: they are the verified payload, decoded the same way (jose's strict
 * UTF-8 and JSON object checks), so it is not decoded a second time.
 */
export async function verifyJwt(
  jwt: DecodedJwt,
  keys: JWTVerifyGetKey,
  algorithms: readonly string[],
  reject: Rejection,
): Promise<VerifiedJwt> {
  let header: CompactJWSHeaderParameters;
  try {
    ({ protectedHeader: header } = await verifyCompactJws(jwt, keys, algorithms));
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    if (error instanceof errors.JWKSTimeout) throw new TemporarilyUnavailableError('issuer key set timed out');
    if (error instanceof errors.JOSEError) throw reject('signature is invalid', `${error.code}: ${error.message}`);
    throw error;
  }
  return { header, claims: jwt.claims };
}

/** A JSON number usable as a NumericDate (RFC 7519 §2). */
export function numericDate(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function nonEmptyString(value: unknown, maxLength = 1024): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= maxLength ? value : undefined;
}

/** `aud` as RFC 7519 allows it: a string or an array of strings. */
export function audienceList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((entry) => typeof entry === 'string')) return value;
  return undefined;
}
