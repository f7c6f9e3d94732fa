import { accessTokenClaims, signJwt } from '../access-token';
import { s256, safeEqual, sha256 } from '../authorize/transaction';
import { authenticateClient } from '../client-auth';
import { isResourceIndicator } from '../config';
import { InvalidGrantError, InvalidRequestError, InvalidTargetError, UnauthorizedClientError } from '../errors';
import { header } from '../http';
import { AUTHORIZATION_CODE_GRANT_TYPE, clientServesTenant } from '../model';
import type { AuthorizationCodeGrant, GrantStore } from '../ports';
import type { GrantRequest, IssuedToken, TokenEndpointDeps } from './context';

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
/** A revocation is kept longer than any token of its grant can be used (refresh tokens live at most a year). */
export const GRANT_REVOCATION_RETENTION_SECONDS = 400 * 24 * 3600;
/** Our codes are 256 random bits, base64url; anything else is not looked up. */
const CODE = /^[A-Za-z0-9_-]{43}$/;

/**
 * `grant_type=authorization_code` (OAuth 2.1 §4.1.3, PROTOCOL.md §11): the code is redeemed at most once (a replay
 * fails and revokes what its grant issued), and it must come from the client it was issued to, with the same
 * redirect URI, the PKCE verifier of its challenge, and no other resource.
 */
export async function authorizationCodeGrant(
  deps: TokenEndpointDeps & { readonly grants: GrantStore },
  { request, form, now, audit }: GrantRequest,
): Promise<IssuedToken> {
  const { config, grants } = deps;
  const code = form.get('code');
  const redirectUri = form.get('redirect_uri');
  const verifier = form.get('code_verifier');
  const resources = form.getAll('resource');
  if (code === undefined) throw new InvalidRequestError('code is required');
  if (redirectUri === undefined) throw new InvalidRequestError('redirect_uri is required');
  if (verifier === undefined) throw new InvalidRequestError('code_verifier is required (PKCE)');
  if (!CODE_VERIFIER.test(verifier)) throw new InvalidRequestError('code_verifier is malformed');
  if (resources.length > 1) throw new InvalidTargetError('request one resource per token');
  if (resources.some((resource) => !isResourceIndicator(resource))) {
    throw new InvalidTargetError('resource must be an absolute URI without a fragment');
  }

  const authenticated = await authenticateClient(header(request, 'authorization'), form, deps, now);
  const { client } = authenticated;
  audit.client = client.clientId;
  audit.clientAuthMethod = authenticated.method;
  if (!client.grantTypes.includes(AUTHORIZATION_CODE_GRANT_TYPE)) {
    throw new UnauthorizedClientError('the client may not use this grant type');
  }

  const invalid = (reason: string) => new InvalidGrantError('the authorization code is invalid or has expired', reason);
  const redemption = CODE.test(code) ? await grants.redeemCode(sha256(code), now) : undefined;
  if (redemption === undefined) throw invalid('unknown or expired code');
  const { grant } = redemption;
  audit.tenant = grant.tenantId;
  if (redemption.outcome === 'replayed') {
    // A second redemption means the code leaked: whatever its first redemption started must stop working.
    await grants.revokeGrant(grant.grantId, now, now + GRANT_REVOCATION_RETENTION_SECONDS);
    throw invalid('code replayed: grant revoked');
  }
  if (grant.clientId !== client.clientId) throw invalid('code issued to another client');
  if (grant.redirectUri !== redirectUri) throw invalid('redirect_uri differs from the authorization request');
  if (!safeEqual(s256(verifier), grant.codeChallenge)) throw invalid('code_verifier does not match the challenge');
  const [resource] = resources;
  if (resource !== undefined && resource !== grant.resource) {
    throw new InvalidTargetError('the resource is not the one that was authorized');
  }
  await checkStillAllowed(deps, grant);
  const served = config.resources.find((candidate) => candidate.id === grant.resource);
  if (!served) throw invalid('resource no longer served');

  audit.resource = grant.resource;
  audit.scope = grant.scopes.join(' ');
  const claims = accessTokenClaims({
    issuer: config.issuer,
    clientId: client.clientId,
    identity: { tenant: grant.tenantId, issuer: grant.idpIssuer, subject: grant.idpSubject },
    user: grant,
    grant: { resource: served, scopes: grant.scopes },
    issuedAt: now,
    lifetimeSeconds: config.accessTokenTtlSeconds,
  });
  const accessToken = await signJwt(deps.signer, claims);
  audit.tokenId = claims.jti as string;
  return { accessToken, scopes: grant.scopes, expiresIn: config.accessTokenTtlSeconds };
}

/** Between sign-in and redemption the tenant or the client may have been disabled: nothing is issued then. */
async function checkStillAllowed(deps: TokenEndpointDeps, grant: AuthorizationCodeGrant): Promise<void> {
  const tenant = await deps.registry.getTenant(grant.tenantId);
  if (!tenant?.enabled)
    throw new InvalidGrantError('the authorization code is invalid or has expired', 'tenant disabled');
  const client = await deps.registry.getClient(grant.clientId);
  if (!client || !clientServesTenant(client, grant.tenantId)) {
    throw new InvalidGrantError('the authorization code is invalid or has expired', 'client not allowed for tenant');
  }
}
