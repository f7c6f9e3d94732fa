import { accessTokenClaims, signJwt, type UserDetails } from '../access-token';
import type { Resource } from '../model';
import type { AuditContext, TokenEndpointDeps } from './context';

/** Who an interactive grant is about, as its code and its stored grant both carry it. */
export interface SignedInUser extends UserDetails {
  readonly tenantId: string;
  readonly idpIssuer: string;
  readonly idpSubject: string;
}

/** The access token of an interactive grant (a redeemed code, a refresh): the signed-in user, for one resource. */
export async function signUserAccessToken(
  deps: TokenEndpointDeps,
  request: {
    readonly clientId: string;
    readonly user: SignedInUser;
    readonly resource: Resource;
    readonly scopes: readonly string[];
    readonly now: number;
    readonly audit: AuditContext;
  },
): Promise<string> {
  const { config } = deps;
  const { user, audit } = request;
  audit.resource = request.resource.id;
  audit.scope = request.scopes.join(' ');
  const claims = accessTokenClaims({
    issuer: config.issuer,
    clientId: request.clientId,
    identity: { tenant: user.tenantId, issuer: user.idpIssuer, subject: user.idpSubject },
    user,
    grant: { resource: request.resource, scopes: request.scopes },
    issuedAt: request.now,
    lifetimeSeconds: config.accessTokenTtlSeconds,
  });
  const accessToken = await signJwt(deps.signer, claims);
  audit.tokenId = claims.jti as string;
  return accessToken;
}
