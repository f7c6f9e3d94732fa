import { InvalidGrantError } from '../errors';
import type { UpstreamIdentity } from '../identity';
import { audienceList, decodeUnverified, nonEmptyString, numericDate, verifyJwt } from '../jwt';
import { type Connection, DEFAULT_ASSERTION_ALGORITHMS } from '../model';
import type { KeyResolver, UpstreamMetadata } from '../ports';
import { s256, safeEqual } from './transaction';

/** The authorization request we send the browser to the upstream IdP with (PROTOCOL.md §10). */
export function upstreamAuthorizationUrl(input: {
  readonly metadata: UpstreamMetadata;
  readonly connection: Connection;
  readonly callbackUri: string;
  readonly transactionId: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly loginHint?: string;
}): string {
  const url = new URL(input.metadata.authorizationEndpoint);
  const params = {
    response_type: 'code',
    client_id: input.connection.clientId,
    redirect_uri: input.callbackUri,
    scope: input.connection.scopes.join(' '),
    // The transaction id is public; the browser's cookie, not the state, is what ties the answer to this browser.
    state: input.transactionId,
    nonce: input.nonce,
    code_challenge: s256(input.codeVerifier),
    code_challenge_method: 'S256',
    ...(input.loginHint === undefined ? {} : { login_hint: input.loginHint }),
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.toString();
}

/** What a verified ID token tells us about the user. */
export interface UpstreamUser extends Omit<UpstreamIdentity, 'tenant'> {
  readonly email?: string;
  readonly authTime?: number;
  readonly acr?: string;
  readonly amr?: readonly string[];
}

export interface IdTokenCheck {
  readonly connection: Connection;
  readonly nonce: string;
  readonly keyResolver: KeyResolver;
  /** Epoch seconds, the request's clock. */
  readonly now: number;
  readonly clockSkewSeconds: number;
}

/** An ID token (OIDC Core §3.1.3.7) is typed `JWT` or not at all; any other type is another kind of token. */
const ID_TOKEN_TYPES = new Set(['jwt', 'application/jwt']);

function reject(reason: string): InvalidGrantError {
  return new InvalidGrantError('the identity provider returned an invalid ID token', `id_token ${reason}`);
}

/**
 * Validates an upstream ID token fully (OIDC Core §3.1.3.7, PROTOCOL.md §10): signed with the connection issuer's
 * discovered keys and an asymmetric algorithm, `iss` exact, `aud` containing our client id (and `azp` naming it when
 * there are several), `exp`, `iat`, the `nonce` we sent, a `sub`. Only then is the user known.
 */
export async function validateIdToken(idToken: string, check: IdTokenCheck): Promise<UpstreamUser> {
  const { connection, now, clockSkewSeconds: skew } = check;
  const decoded = decodeUnverified(idToken, (_, reason) => reject(reason));
  const typ = decoded.header.typ;
  if (typ !== undefined && (typeof typ !== 'string' || !ID_TOKEN_TYPES.has(typ.toLowerCase()))) {
    throw reject('typ is not that of an ID token');
  }
  const keys = check.keyResolver.keysFor({ issuer: connection.issuer });
  const { claims } = await verifyJwt(decoded, keys, DEFAULT_ASSERTION_ALGORITHMS, (_, reason) => reject(reason));

  if (claims.iss !== connection.issuer) throw reject('iss is not the connection issuer');
  const audience = audienceList(claims.aud);
  if (!audience?.includes(connection.clientId)) throw reject('aud does not name our client');
  if (audience.length > 1 && claims.azp !== connection.clientId) throw reject('azp does not name our client');
  const exp = numericDate(claims.exp);
  if (exp === undefined || exp <= now - skew) throw reject('expired or no exp');
  const iat = numericDate(claims.iat);
  if (iat === undefined || iat > now + skew) throw reject('iat missing or in the future');
  if (typeof claims.nonce !== 'string' || !safeEqual(claims.nonce, check.nonce)) throw reject('nonce mismatch');
  const subject = nonEmptyString(claims.sub, 255);
  if (subject === undefined) throw reject('no usable sub');

  const amr = claims.amr;
  return {
    issuer: connection.issuer,
    subject,
    // An address the IdP says it has not verified is not passed on.
    ...(typeof claims.email === 'string' && claims.email_verified !== false ? { email: claims.email } : {}),
    ...(numericDate(claims.auth_time) === undefined ? {} : { authTime: numericDate(claims.auth_time) }),
    ...(typeof claims.acr === 'string' ? { acr: claims.acr } : {}),
    ...(Array.isArray(amr) && amr.every((value) => typeof value === 'string') ? { amr: amr as string[] } : {}),
  };
}
