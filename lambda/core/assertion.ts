import { truncate } from './audit';
import type { ServerConfig } from './config';
import { InvalidGrantError } from './errors';
import { audienceList, decodeUnverified, nonEmptyString, numericDate, type UntrustedClaims, verifyJwt } from './jwt';
import type { Client, IssuerTrust, RegisteredTrust, Tenant } from './model';
import type { KeyResolver, Registry, SingleUse } from './ports';
import { singleUse } from './single-use';

/** The claims of an identity assertion after every check, typed. */
export interface IdentityAssertion {
  readonly issuer: string;
  readonly subject: string;
  readonly clientId: string;
  readonly jti: string;
  readonly expiresAt: number;
  readonly issuedAt: number;
  /** Resource indicators the IdP bound the grant to, if any. */
  readonly resources?: readonly string[];
  /** Scopes the IdP granted, if it said. */
  readonly scopes?: readonly string[];
  readonly email?: string;
  /** Authentication context passed through to the access token (RFC 9068 §2.2.1). */
  readonly authTime?: number;
  readonly acr?: string;
  readonly amr?: readonly string[];
}

export interface ValidatedAssertion {
  readonly assertion: IdentityAssertion;
  readonly trust: IssuerTrust;
  readonly tenant: Tenant;
  /** The (iss, jti) pair to record as used before a token is released. */
  readonly singleUse: SingleUse;
}

export interface AssertionDeps {
  readonly config: ServerConfig;
  readonly registry: Registry;
  readonly keyResolver: KeyResolver;
}

const ID_JAG_TYP = 'oauth-id-jag+jwt';

/** Every assertion failure is `invalid_grant` (RFC 7523 §3.1). */
function reject(description: string, reason: string = description): InvalidGrantError {
  return new InvalidGrantError(`assertion ${description}`, reason);
}

/**
 * One public description for every failure before the signature is verified (shape, type, issuer, algorithm, keys,
 * signature), so that a caller cannot probe which issuers or tenants are registered; the reason says which.
 */
export const UNVERIFIED_ASSERTION = 'assertion is not a valid ID-JAG signed by a trusted issuer';

function unverified(_description: string, reason: string): InvalidGrantError {
  return new InvalidGrantError(UNVERIFIED_ASSERTION, reason);
}

/**
 * An unverified header value, fit for an audit reason: strings cut to size, anything else as JSON. Never `String()`:
 * a header such as `{"typ":{"toString":1}}` makes that throw, which would turn a forged token into a server_error.
 */
function shown(value: unknown): string {
  if (typeof value === 'string') return truncate(value, 100) ?? '';
  return truncate(JSON.stringify(value) ?? 'undefined', 100) ?? '';
}

/** RFC 8725 §3.11 explicit typing; media type names compare case-insensitively, `application/` may prefix. */
export function isIdJagType(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const normalised = typ.toLowerCase();
  return normalised === ID_JAG_TYP || normalised === `application/${ID_JAG_TYP}`;
}

/**
 * Picks the one registration that trusts this issuer for this assertion. A multi-tenant issuer's registrations name
 * the `tenant` claim they require. No match or more than one: reject, never guess a tenant.
 */
export function resolveTrust(candidates: readonly RegisteredTrust[], tenantClaim: unknown, now: number) {
  const live = candidates.filter(
    ({ trust, tenant }) => trust.enabled && tenant.enabled && (trust.notAfter === undefined || trust.notAfter > now),
  );
  const matching = live.filter(({ trust }) => trust.tenantClaim === undefined || trust.tenantClaim === tenantClaim);
  if (matching.length === 1) return matching[0]!;
  if (candidates.length === 0) throw unverified('', 'unknown issuer');
  if (live.length === 0) throw unverified('', 'issuer disabled or expired');
  if (matching.length === 0) throw unverified('', 'no registration for this tenant claim');
  throw unverified('', `issuer matches ${matching.length} registrations`);
}

/**
 * Validates an Identity Assertion JWT Authorization Grant (draft-ietf-oauth-identity-assertion-authz-grant) for the
 * authenticated client: the trusted issuer is found from the unverified `iss` first, then the signature is verified
 * with that issuer's keys only, then every claim rule applies. Single use is recorded later, by the caller.
 */
export async function validateIdentityAssertion(
  token: string,
  client: Client,
  deps: AssertionDeps,
  /** Epoch seconds: the one clock reading on which the whole request is judged, single use included. */
  now: number,
  /** Told which registration matched, before the signature is checked (for the audit of a rejection). */
  onTrustResolved: (registered: RegisteredTrust) => void = () => undefined,
): Promise<ValidatedAssertion> {
  const decoded = decodeUnverified(token, unverified);
  const { header, claims: unverifiedClaims } = decoded;
  if (!isIdJagType(header.typ)) throw unverified('', `typ ${shown(header.typ)}`);
  const claimedIssuer = unverifiedClaims.iss;
  if (typeof claimedIssuer !== 'string' || claimedIssuer === '') throw unverified('', 'no iss');

  const candidates = await deps.registry.trustsForIssuer(claimedIssuer);
  const { trust, tenant } = resolveTrust(candidates, unverifiedClaims.tenant, now);
  onTrustResolved({ trust, tenant });
  if (typeof header.alg !== 'string' || !trust.algorithms.includes(header.alg as never)) {
    throw unverified('', `alg ${shown(header.alg)}`);
  }
  // jku, x5u, jwk and x5c are never consulted: keys come from the registration only.
  const keys = deps.keyResolver.keysFor({ jwksUri: trust.jwksUri, issuer: trust.issuer });
  const { claims } = await verifyJwt(decoded, keys, trust.algorithms, unverified);
  const assertion = checkClaims(claims, trust, client, deps.config, now);
  return {
    assertion,
    trust,
    tenant,
    singleUse: singleUse(`iss:${assertion.issuer}`, assertion.jti, assertion.expiresAt),
  };
}

function checkClaims(
  claims: UntrustedClaims,
  trust: IssuerTrust,
  client: Client,
  config: ServerConfig,
  now: number,
): IdentityAssertion {
  const skew = config.clockSkewSeconds;
  // The signed iss and tenant must be the ones we chose keys by (they are, unless the token changed between reads).
  if (claims.iss !== trust.issuer) throw unverified('', 'verified iss differs');
  if (trust.tenantClaim !== undefined && claims.tenant !== trust.tenantClaim) {
    throw unverified('', 'verified tenant claim differs');
  }

  // ID-JAG narrows RFC 7523: the audience is this server's issuer identifier, nothing else, alone.
  const audience = audienceList(claims.aud);
  if (audience === undefined || audience.length !== 1 || audience[0] !== config.issuer) {
    throw reject('audience must be this authorization server', 'aud mismatch');
  }
  if (claims.client_id !== client.clientId) throw reject('was not issued to this client', 'client_id mismatch');
  const subject = nonEmptyString(claims.sub, 1024);
  if (subject === undefined) throw reject('has no subject');

  const expiresAt = numericDate(claims.exp);
  if (expiresAt === undefined) throw reject('has no expiry');
  if (expiresAt <= now - skew) throw reject('has expired');
  const issuedAt = numericDate(claims.iat);
  if (issuedAt === undefined) throw reject('has no issue time');
  if (issuedAt > now + skew) throw reject('was issued in the future');
  if (claims.nbf !== undefined) {
    const notBefore = numericDate(claims.nbf);
    if (notBefore === undefined || notBefore > now + skew) throw reject('is not yet valid');
  }
  if (expiresAt - issuedAt > trust.maxAssertionLifetimeSeconds) {
    throw reject('lifetime is too long', `lifetime exp - iat = ${expiresAt - issuedAt}s`);
  }
  const jti = nonEmptyString(claims.jti, 256);
  if (jti === undefined) throw reject('has no usable jti');

  const resources = claims.resource === undefined ? undefined : audienceList(claims.resource);
  if (resources !== undefined) {
    const unknown = resources.find((id) => !config.resources.some((resource) => resource.id === id));
    if (unknown !== undefined || resources.length === 0) throw reject('names a resource not served here');
  } else if (claims.resource !== undefined) {
    throw reject('resource claim is malformed');
  }
  if (claims.scope !== undefined && typeof claims.scope !== 'string') throw reject('scope claim must be a string');
  // Proof-of-possession is not supported: a key-bound grant must not become a bearer token.
  if (claims.cnf !== undefined) throw reject('is bound to a key (cnf), which is not supported');

  return {
    issuer: trust.issuer,
    subject,
    clientId: client.clientId,
    jti,
    expiresAt,
    issuedAt,
    resources,
    scopes: typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : undefined,
    email: typeof claims.email === 'string' ? claims.email : undefined,
    authTime: numericDate(claims.auth_time),
    acr: typeof claims.acr === 'string' ? claims.acr : undefined,
    amr: Array.isArray(claims.amr) && claims.amr.every((v) => typeof v === 'string') ? claims.amr : undefined,
  };
}
