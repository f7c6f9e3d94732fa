import {
  type CompactJWSHeaderParameters,
  type CompactVerifyResult,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { OAuthError, ServerError, TemporarilyUnavailableError } from './errors';
import { type CompactJws, decodable, verifyCompactJws } from './jws';

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
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  const header = jsonObjectPart(token, 0, firstDot);
  const claims = header && jsonObjectPart(token, firstDot + 1, secondDot);
  if (header && claims) return { token, header: header as CompactJWSHeaderParameters, claims, firstDot, secondDot };
  // Something jose would refuse: jose says what, in its words, as it always has.
  try {
    return {
      token,
      header: decodeProtectedHeader(token) as CompactJWSHeaderParameters,
      claims: decodeJwt(token),
      firstDot,
      secondDot,
    };
  } catch (error) {
    throw reject('is malformed', `undecodable: ${(error as Error).message}`);
  }
}

/** jose's strict UTF-8 decoder: a BOM is dropped, a malformed byte sequence throws. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * One part of a compact JWS decoded as jose's `decodeProtectedHeader` and `decodeJwt` decode it (base64url, strict
 * UTF-8, JSON, a plain object), or undefined wherever jose would throw. The part is base64url text already (checked
 * by COMPACT_JWS), on which Buffer and jose's decoder agree, except a length of 4n+1 that jose refuses.
 */
function jsonObjectPart(token: string, start: number, end: number): JWTPayload | undefined {
  if (!decodable(end - start)) return undefined;
  return jsonObject(Buffer.from(token.slice(start, end), 'base64url'));
}

/** Strict UTF-8 JSON that is a plain object, as jose requires of a header or a claims set; else undefined. */
function jsonObject(bytes: Uint8Array): JWTPayload | undefined {
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    return undefined;
  }
  // What JSON.parse returns is a plain object exactly when it is a non-null, non-array object (jose's isObject).
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JWTPayload) : undefined;
}

/**
 * Verifies the signature with the given keys and algorithm allowlist (jose's `compactVerify` semantics) and returns
 * the claims decoded from the payload that was verified, never from an earlier unverified read. Key-set outages
 * become `temporarily_unavailable`; every other failure, unusable keys included, is the caller's rejection.
 */
export async function verifyJwt(
  jwt: DecodedJwt,
  keys: JWTVerifyGetKey,
  algorithms: readonly string[],
  reject: Rejection,
): Promise<VerifiedJwt> {
  // RFC 7797 unencoded payloads: what is signed is not the payload we decoded. No issuer of ours needs them.
  if (Object.hasOwn(jwt.header, 'b64')) throw reject('is malformed', 'b64 header parameter');
  let verified: CompactVerifyResult;
  try {
    verified = await verifyCompactJws(jwt, keys, algorithms);
  } catch (error) {
    if (error instanceof TemporarilyUnavailableError || error instanceof ServerError) throw error;
    if (error instanceof OAuthError) throw reject('signature is invalid', error.reason);
    // A resolver built on jose's remote key sets reports an outage this way.
    if (error instanceof errors.JWKSTimeout) throw new TemporarilyUnavailableError('issuer key set timed out');
    if (error instanceof errors.JOSEError) throw reject('signature is invalid', `${error.code}: ${error.message}`);
    throw error;
  }
  const claims = jsonObject(verified.payload);
  if (claims === undefined) throw reject('is malformed', 'verified payload is not a JSON object');
  return { header: verified.protectedHeader, claims };
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
