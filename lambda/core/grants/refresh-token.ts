import { keepRegistrationInUse } from '../clients/registration-lifetime';
import { isScopeToken } from '../config';
import {
  InvalidGrantError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidTargetError,
  RefreshTokenReusedError,
} from '../errors';
import { REFRESH_TOKEN_GRANT_TYPE } from '../model';
import type { GrantStore, RefreshToken } from '../ports';
import { grantEnd, isRefreshTokenValue, lifetimesFor, mintRefreshToken, refreshTokenHash } from '../refresh-tokens';
import { clientForGrant, requestedResource } from './client-request';
import type { AuditContext, GrantRequest, IssuedToken, TokenEndpointDeps } from './context';
import { checkStillAllowed } from './still-allowed';
import { signUserAccessToken } from './user-access-token';

const REFRESH_INVALID = 'the refresh token is invalid, expired or revoked';

/**
 * Rotation leaves one live token per grant; an old one back means two parties hold the grant's tokens, and we cannot
 * tell which is the user: the grant ends for both (OAuth 2.1 §4.3.1).
 */
async function reused(
  grants: GrantStore,
  token: RefreshToken,
  now: number,
  audit: AuditContext,
): Promise<RefreshTokenReusedError> {
  await grants.revokeGrant(token.grantId, now, token.keepUntil);
  // The alarm's log line should say whose grant ended.
  audit.tenant ??= (await grants.getGrant(token.grantId))?.tenantId;
  return new RefreshTokenReusedError(REFRESH_INVALID, 'refresh token reused: grant revoked');
}

/**
 * `grant_type=refresh_token` (OAuth 2.1 §4.3, PROTOCOL.md §12). The token is used at most once, by the client it was
 * issued to, and replaced by the next (rotation); one that comes back after its use revokes its grant. The grant must
 * be live (neither revoked nor past its absolute lifetime), its tenant, connection and client still allowed; the
 * access token may ask for fewer scopes than were granted, never more, and only the granted resource.
 */
export async function refreshTokenGrant(
  deps: TokenEndpointDeps & { readonly grants: GrantStore },
  grantRequest: GrantRequest,
): Promise<IssuedToken> {
  const { form, now, audit } = grantRequest;
  const { config, grants } = deps;
  const presented = form.get('refresh_token');
  const scope = form.get('scope');
  if (presented === undefined) throw new InvalidRequestError('refresh_token is required');
  const requestedScopes = scope?.split(' ').filter(Boolean);
  if (requestedScopes?.some((token) => !isScopeToken(token))) throw new InvalidScopeError('scope is malformed');
  const resource = requestedResource(form);
  const client = await clientForGrant(REFRESH_TOKEN_GRANT_TYPE, deps, grantRequest);

  const invalid = (reason: string) => new InvalidGrantError(REFRESH_INVALID, reason);
  const tokenHash = isRefreshTokenValue(presented) ? refreshTokenHash(presented) : undefined;
  const token = tokenHash === undefined ? undefined : await grants.findRefreshToken(tokenHash);
  if (token === undefined || token.keepUntil <= now) throw invalid('unknown or expired refresh token');
  // Another client's token is refused and left alone: its own client may still use it.
  if (token.clientId !== client.clientId) throw invalid('refresh token issued to another client');
  audit.grantId = token.grantId;
  if (token.usedAt !== undefined) throw await reused(grants, token, now, audit);
  if (token.usableUntil <= now) throw invalid('unknown or expired refresh token');

  // Everything the request could be refused for is checked before the token is used, so that a refused request
  // (a wider scope, another resource) leaves the client its token.
  const grant = await grants.getGrant(token.grantId);
  if (grant === undefined) throw invalid('grant not found');
  audit.tenant = grant.tenantId;
  if (grant.revokedAt !== undefined) throw invalid('grant revoked');
  if (grant.clientId !== client.clientId) throw invalid('grant of another client');
  const lifetimes = lifetimesFor(config, client);
  if (grantEnd(grant, lifetimes) <= now) throw invalid('grant past its absolute lifetime');
  if (resource !== undefined && resource !== grant.resource) {
    throw new InvalidTargetError('the resource is not the one that was authorized');
  }
  await checkStillAllowed(deps.registry, grant, client, REFRESH_INVALID);
  const served = config.resources.find((candidate) => candidate.id === grant.resource);
  if (!served) throw invalid('resource no longer served');
  if (requestedScopes?.some((scopeToken) => !grant.scopes.includes(scopeToken))) {
    throw new InvalidScopeError('scope may only narrow what was granted');
  }
  // What was granted, as far as the resource and the client may still have it today.
  const scopes = [...new Set(requestedScopes ?? grant.scopes)].filter(
    (scopeToken) =>
      served.scopes.includes(scopeToken) && (client.scopes === undefined || client.scopes.includes(scopeToken)),
  );
  if (scopes.length === 0 && grant.scopes.length > 0) {
    throw new InvalidScopeError('none of the granted scopes is available to this client any more');
  }

  // Used between our read and this write by another request: that request holds the successor, so this is a reuse.
  if (!(await grants.useRefreshToken(token.tokenHash, client.clientId, now)))
    throw await reused(grants, token, now, audit);

  // The successor keeps the whole grant (RFC 6749 §6: a narrower scope is the access token's alone).
  const next = mintRefreshToken(grant, lifetimes, now);
  const [accessToken] = await Promise.all([
    signUserAccessToken(deps, { clientId: client.clientId, user: grant, resource: served, scopes, now, audit }),
    grants.addRefreshToken(next.record),
    keepRegistrationInUse(deps, client, now, audit),
  ]);
  return { accessToken, scopes, expiresIn: config.accessTokenTtlSeconds, refreshToken: next.value };
}
