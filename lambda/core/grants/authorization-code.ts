import { s256, safeEqual, sha256 } from '../authorize/transaction';
import { keepRegistrationInUse } from '../clients/registration-lifetime';
import { InvalidGrantError, InvalidRequestError, InvalidTargetError } from '../errors';
import { subjectIdentifier } from '../identity';
import { AUTHORIZATION_CODE_GRANT_TYPE, type Client, REFRESH_TOKEN_GRANT_TYPE } from '../model';
import type { AuthorizationCodeGrant, GrantStore, UserGrant } from '../ports';
import { GRANT_REVOCATION_RETENTION_SECONDS, lifetimesFor, mintRefreshToken } from '../refresh-tokens';
import { clientForGrant, requestedResource } from './client-request';
import type { GrantRequest, IssuedToken, TokenEndpointDeps } from './context';
import { checkStillAllowed } from './still-allowed';
import { signUserAccessToken } from './user-access-token';

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
const CODE_INVALID = 'the authorization code is invalid or has expired';
/** Our codes are 256 random bits, base64url; anything else is not looked up. */
const CODE = /^[A-Za-z0-9_-]{43}$/;

/**
 * `grant_type=authorization_code` (OAuth 2.1 §4.1.3, PROTOCOL.md §11): the code is redeemed at most once (a replay
 * fails and revokes what its grant issued), and it must come from the client it was issued to, with the same
 * redirect URI, the PKCE verifier of its challenge, and no other resource. A client registered for the refresh_token
 * grant also receives the first refresh token of the grant the code starts.
 */
export async function authorizationCodeGrant(
  deps: TokenEndpointDeps & { readonly grants: GrantStore },
  grantRequest: GrantRequest,
): Promise<IssuedToken> {
  const { form, now, audit } = grantRequest;
  const { config, grants } = deps;
  const code = form.get('code');
  const redirectUri = form.get('redirect_uri');
  const verifier = form.get('code_verifier');
  if (code === undefined) throw new InvalidRequestError('code is required');
  if (redirectUri === undefined) throw new InvalidRequestError('redirect_uri is required');
  if (verifier === undefined) throw new InvalidRequestError('code_verifier is required (PKCE)');
  if (!CODE_VERIFIER.test(verifier)) throw new InvalidRequestError('code_verifier is malformed');
  const resource = requestedResource(form);
  const client = await clientForGrant(AUTHORIZATION_CODE_GRANT_TYPE, deps, grantRequest);

  const invalid = (reason: string) => new InvalidGrantError(CODE_INVALID, reason);
  const redemption = CODE.test(code) ? await grants.redeemCode(sha256(code), now) : undefined;
  if (redemption === undefined) throw invalid('unknown or expired code');
  const { grant } = redemption;
  audit.tenant = grant.tenantId;
  if (redemption.outcome === 'replayed') {
    // A second redemption means the code leaked: the grant its first redemption started (its refresh tokens) ends.
    await grants.revokeGrant(grant.grantId, now, now + GRANT_REVOCATION_RETENTION_SECONDS);
    throw invalid('code replayed: grant revoked');
  }
  if (grant.clientId !== client.clientId) throw invalid('code issued to another client');
  if (grant.redirectUri !== redirectUri) throw invalid('redirect_uri differs from the authorization request');
  if (!safeEqual(s256(verifier), grant.codeChallenge)) throw invalid('code_verifier does not match the challenge');
  if (resource !== undefined && resource !== grant.resource) {
    throw new InvalidTargetError('the resource is not the one that was authorized');
  }
  await checkStillAllowed(deps.registry, grant, client, CODE_INVALID);
  const served = config.resources.find((candidate) => candidate.id === grant.resource);
  if (!served) throw invalid('resource no longer served');

  audit.grantId = grant.grantId;
  const refreshToken = client.grantTypes.includes(REFRESH_TOKEN_GRANT_TYPE)
    ? await startGrant(deps, grant, client, now)
    : undefined;
  const [accessToken] = await Promise.all([
    signUserAccessToken(deps, {
      clientId: client.clientId,
      user: grant,
      resource: served,
      scopes: grant.scopes,
      now,
      audit,
    }),
    keepRegistrationInUse(deps, client, now, audit),
  ]);
  return { accessToken, scopes: grant.scopes, expiresIn: config.accessTokenTtlSeconds, refreshToken };
}

/**
 * Stores the grant the code started, with its first refresh token. A replay of the code may have revoked the grant
 * already (the replay raced this redemption): then nothing is issued.
 */
async function startGrant(
  deps: TokenEndpointDeps & { readonly grants: GrantStore },
  code: AuthorizationCodeGrant,
  client: Client,
  now: number,
): Promise<string> {
  const lifetimes = lifetimesFor(deps.config, client);
  const {
    codeHash: _codeHash,
    redirectUri: _redirectUri,
    codeChallenge: _challenge,
    issuedAt: _issued,
    ...user
  } = code;
  const grant: UserGrant = {
    ...user,
    subject: subjectIdentifier({ tenant: code.tenantId, issuer: code.idpIssuer, subject: code.idpSubject }),
    createdAt: now,
    expiresAt: now + lifetimes.absoluteSeconds,
  };
  const first = mintRefreshToken(grant, lifetimes, now);
  if (!(await deps.grants.createGrant(grant, first.record))) {
    throw new InvalidGrantError(CODE_INVALID, 'code replayed: grant revoked before it was stored');
  }
  return first.value;
}
