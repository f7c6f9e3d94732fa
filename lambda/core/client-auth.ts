import type { ServerConfig } from './config';
import { InvalidClientError } from './errors';
import type { FormParameters } from './http';
import { audienceList, type DecodedJwt, decodeUnverified, nonEmptyString, numericDate, verifyJwt } from './jwt';
import {
  CLIENT_ASSERTION_TYPE_JWT_BEARER,
  type Client,
  type ClientAuthMethod,
  DEFAULT_ASSERTION_ALGORITHMS,
  DEFAULT_MAX_ASSERTION_LIFETIME_SECONDS,
  isStorableIdentifier,
  MAX_CLIENT_ID_BYTES,
} from './model';
import type { KeyResolver, Registry, ReplayStore, SingleUse } from './ports';
import { verifyAgainstDecoy, verifyClientSecret } from './secrets';
import { singleUse } from './single-use';

export interface AuthenticatedClient {
  readonly client: Client;
  readonly method: ClientAuthMethod;
  /** A private_key_jwt assertion's id, to be recorded as used before a token is released. */
  readonly singleUse?: SingleUse;
}

export interface ClientAuthDeps {
  readonly config: ServerConfig;
  readonly registry: Registry;
  readonly keyResolver: KeyResolver;
}

/** One public description for every authentication failure: the caller learns nothing about which clients exist. */
const FAILED = 'client authentication failed';

/** The refusal of a private_key_jwt client assertion that was already used (RFC 7523 §3: a JWT is accepted once). */
export function clientAssertionReplayed(): InvalidClientError {
  return new InvalidClientError(FAILED, 'client assertion replayed');
}

/**
 * Records a private_key_jwt client assertion as used, or refuses the request if it was: for the endpoints that record
 * it alone, before they act on anything else the request carries (a code, a refresh token), so that a replayed
 * assertion spends none of it. The jwt-bearer grant records it beside the ID-JAG instead (grants/jwt-bearer.ts).
 */
export async function recordClientAssertion(
  replayStore: ReplayStore,
  authenticated: AuthenticatedClient,
  now: number,
): Promise<void> {
  if (authenticated.singleUse === undefined) return;
  if ((await replayStore.recordOnce(authenticated.singleUse, now)) === undefined) throw clientAssertionReplayed();
}

function failure(reason: string, basicUsed: boolean): InvalidClientError {
  // RFC 6749 §5.2: answer a failed Authorization header with a challenge for the scheme the client used.
  return new InvalidClientError(FAILED, reason, basicUsed ? { 'WWW-Authenticate': 'Basic realm="token"' } : {});
}

interface Presented {
  readonly method: ClientAuthMethod;
  readonly clientId: string;
  readonly secret?: string;
  readonly assertion?: DecodedJwt;
}

/** Finds which single method the request uses (RFC 6749 §2.3: exactly one). */
function presentedCredentials(authorization: string | undefined, form: FormParameters): Presented {
  const basicUsed = authorization !== undefined;
  const usesPost = form.has('client_secret');
  const usesJwt = form.has('client_assertion') || form.has('client_assertion_type');
  const count = [basicUsed, usesPost, usesJwt].filter(Boolean).length;
  if (count > 1) throw failure('more than one client authentication method', basicUsed);
  const formClientId = form.get('client_id');

  if (basicUsed) {
    const basic = parseBasic(authorization);
    if (!basic) throw failure('malformed Authorization header', true);
    if (formClientId !== undefined && formClientId !== basic.clientId) {
      throw failure('client_id parameter differs from the Authorization header', true);
    }
    return { method: 'client_secret_basic', ...basic };
  }
  if (usesPost) {
    if (formClientId === undefined) throw failure('client_secret without client_id', false);
    return { method: 'client_secret_post', clientId: formClientId, secret: form.get('client_secret') };
  }
  if (usesJwt) {
    if (form.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE_JWT_BEARER) {
      throw failure('missing or unsupported client_assertion_type', false);
    }
    const assertion = form.get('client_assertion');
    if (assertion === undefined) throw failure('client_assertion missing', false);
    const decoded = decodeUnverified(assertion, (_, reason) => failure(`client assertion ${reason}`, false));
    const subject = decoded.claims.sub;
    if (typeof subject !== 'string' || subject === '') throw failure('client assertion has no sub', false);
    if (formClientId !== undefined && formClientId !== subject) {
      throw failure('client_id parameter differs from the client assertion', false);
    }
    return { method: 'private_key_jwt', clientId: subject, assertion: decoded };
  }
  if (formClientId === undefined) throw failure('no client authentication', false);
  return { method: 'none', clientId: formClientId };
}

/** `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1). */
function parseBasic(authorization: string | undefined): { clientId: string; secret: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    const clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
    const secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
    return secret === '' ? undefined : { clientId, secret };
  } catch {
    return undefined;
  }
}

/**
 * Authenticates the client of a token request: client_secret_basic, client_secret_post, private_key_jwt
 * (RFC 7523 §2.2), or `none` for a client explicitly registered as public. Every failure is `invalid_client`.
 */
export async function authenticateClient(
  authorization: string | undefined,
  form: FormParameters,
  deps: ClientAuthDeps,
  /** Epoch seconds: the one clock reading on which the whole request is judged, single use included. */
  now: number,
): Promise<AuthenticatedClient> {
  const basicUsed = authorization !== undefined;
  const presented = presentedCredentials(authorization, form);
  if (!isStorableIdentifier(presented.clientId, MAX_CLIENT_ID_BYTES)) {
    throw failure('client_id too long or not well-formed', basicUsed);
  }
  const client = await deps.registry.getClient(presented.clientId);

  if (!client?.enabled) {
    if (presented.secret !== undefined) verifyAgainstDecoy(presented.secret);
    throw failure(client ? 'client disabled' : 'unknown client', basicUsed);
  }
  if (client.authMethod !== presented.method) {
    if (presented.secret !== undefined) verifyAgainstDecoy(presented.secret);
    throw failure(`client registered for ${client.authMethod}, used ${presented.method}`, basicUsed);
  }
  switch (presented.method) {
    case 'client_secret_basic':
    case 'client_secret_post':
      if (!verifyClientSecret(presented.secret ?? '', client.secrets, now)) throw failure('wrong secret', basicUsed);
      return { client, method: presented.method };
    case 'private_key_jwt':
      return { client, method: presented.method, singleUse: await verifyClientAssertion(presented, client, deps, now) };
    case 'none':
      return { client, method: presented.method };
  }
}

/** RFC 7523bis §4: a client authentication JWT may say so in `typ`; a JWT typed as anything else is another token. */
const CLIENT_ASSERTION_TYPES = new Set(['jwt', 'client-authentication+jwt', 'application/client-authentication+jwt']);

/** RFC 7523 §3 applied to a client assertion: signed by the client's keys, for us, short-lived, single use. */
async function verifyClientAssertion(presented: Presented, client: Client, deps: ClientAuthDeps, now: number) {
  const reject = (_: string, reason: string) => failure(`client assertion ${reason}`, false);
  if (!client.jwks && !client.jwksUri) throw failure('client has no registered keys', false);
  // Always present for private_key_jwt (presentedCredentials requires it); checked again to fail closed.
  if (presented.assertion === undefined) throw failure('client_assertion missing', false);
  const { typ } = presented.assertion.header;
  // An ID-JAG, an access token or any other typed JWT must never double as a client credential.
  if (typ !== undefined && (typeof typ !== 'string' || !CLIENT_ASSERTION_TYPES.has(typ.toLowerCase()))) {
    throw reject('', 'typ is not that of a client assertion');
  }
  const keys = deps.keyResolver.keysFor({ jwks: client.jwks, jwksUri: client.jwksUri });
  const { claims } = await verifyJwt(presented.assertion, keys, DEFAULT_ASSERTION_ALGORITHMS, reject);
  const skew = deps.config.clockSkewSeconds;

  if (claims.iss !== client.clientId || claims.sub !== client.clientId) throw reject('', 'iss/sub is not the client');
  // RFC 7523bis: the audience is this server's issuer identifier alone (a string or a one-element array).
  const audience = audienceList(claims.aud);
  if (audience?.length !== 1 || audience[0] !== deps.config.issuer) throw reject('', 'aud is not this issuer alone');
  const exp = numericDate(claims.exp);
  if (exp === undefined || exp <= now - skew) throw reject('', 'expired or no exp');
  const iat = numericDate(claims.iat);
  if (iat !== undefined && iat > now + skew) throw reject('', 'iat in the future');
  const nbf = numericDate(claims.nbf);
  if (nbf !== undefined && nbf > now + skew) throw reject('', 'nbf in the future');
  // Bound how long a replay record must be kept and how long a stolen assertion is useful.
  if (exp - (iat ?? now) > DEFAULT_MAX_ASSERTION_LIFETIME_SECONDS + skew) throw reject('', 'lifetime too long');
  const jti = nonEmptyString(claims.jti, 256);
  if (jti === undefined) throw reject('', 'no jti');
  return singleUse(`client:${client.clientId}`, jti, exp);
}
