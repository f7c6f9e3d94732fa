import { accessTokenClaims, signJwt } from '../access-token';
import { validateIdentityAssertion } from '../assertion';
import { hashJti, truncate } from '../audit';
import { clientAssertionReplayed } from '../client-auth';
import { isResourceIndicator, isScopeToken, type ServerConfig } from '../config';
import {
  InvalidGrantError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidTargetError,
  UnauthorizedClientError,
} from '../errors';
import { decideGrant } from '../grant';
import type { FormParameters } from '../http';
import { decodeUnverified } from '../jwt';
import { clientServesTenant, JWT_BEARER_GRANT_TYPE } from '../model';
import type { RecordedUse, SingleUse } from '../ports';
import { authenticateForGrant } from './client-request';
import type { GrantRequest, IssuedToken, TokenEndpointDeps } from './context';

/**
 * The jwt-bearer grant with an Identity Assertion JWT Authorization Grant (RFC 7523, draft-ietf-oauth-identity-
 * assertion-authz-grant): the hot path. Two remote calls when the registry is cached: the single-use record and the
 * signature, concurrently.
 */
export async function jwtBearerGrant(deps: TokenEndpointDeps, grantRequest: GrantRequest): Promise<IssuedToken> {
  const { form, now, audit } = grantRequest;
  const { config } = deps;
  const tokenRequest = parseJwtBearerRequest(form, config);
  try {
    // Its client assertion, if any, is recorded below beside the ID-JAG, concurrently with signing.
    const authenticated = await authenticateForGrant(JWT_BEARER_GRANT_TYPE, deps, grantRequest);

    const validated = await validateIdentityAssertion(
      tokenRequest.assertion,
      authenticated.client,
      deps,
      now,
      (matched) => {
        audit.tenant = matched.tenant.id;
        audit.issuer = matched.trust.issuer;
      },
    );
    audit.jtiHash = hashJti(validated.trust.issuer, validated.assertion.jti);
    if (!clientServesTenant(authenticated.client, validated.tenant.id)) {
      throw new UnauthorizedClientError(
        'the client may not be used for this organisation',
        'client not allowed for tenant',
      );
    }

    const grant = decideGrant(tokenRequest, validated.assertion, authenticated.client, config);
    audit.resource = grant.resource.id;
    audit.scope = grant.scopes.join(' ');

    const { assertion } = validated;
    const claims = accessTokenClaims({
      issuer: config.issuer,
      clientId: assertion.clientId,
      identity: { tenant: validated.tenant.id, issuer: assertion.issuer, subject: assertion.subject },
      user: assertion,
      grant,
      issuedAt: now,
      lifetimeSeconds: config.accessTokenTtlSeconds,
    });
    const accessToken = await recordAndSign(validated.singleUse, authenticated.singleUse, claims, deps, now);
    audit.tokenId = claims.jti as string;
    return { accessToken, scopes: grant.scopes, expiresIn: config.accessTokenTtlSeconds };
  } catch (error) {
    if (audit.issuer === undefined) audit.claimedIssuer = claimedIssuer(tokenRequest.assertion);
    throw error;
  }
}

interface TokenRequest {
  readonly assertion: string;
  readonly requestedScopes?: string[];
  readonly requestedResources: string[];
}

/** RFC 7523 §2.1 request syntax, checked before anyone is authenticated. */
function parseJwtBearerRequest(form: FormParameters, config: ServerConfig): TokenRequest {
  const assertion = form.get('assertion');
  if (assertion === undefined) throw new InvalidRequestError('assertion is required');
  if (Buffer.byteLength(assertion) > config.maxAssertionBytes) throw new InvalidRequestError('assertion is too large');

  const scope = form.get('scope');
  const requestedScopes = scope?.split(' ').filter(Boolean);
  if (requestedScopes?.some((token) => !isScopeToken(token))) throw new InvalidScopeError('scope is malformed');
  const requestedResources = form.getAll('resource');
  if (requestedResources.some((resource) => !isResourceIndicator(resource))) {
    throw new InvalidTargetError('resource must be an absolute URI without a fragment');
  }
  return { assertion, requestedScopes, requestedResources };
}

/**
 * The two remote calls of a warm exchange run concurrently: recording the single-use ids and signing. A token leaves
 * only when every record was fresh and the signature was made. When the request fails anyway, the records it made are
 * released, so that a refusal for one id (a replayed client assertion, say) or an outage does not burn the other: the
 * caller may retry with it. Only the writer's own record is removed, and the request that released it never issued a
 * token, so of all requests carrying one id at most one ever gets a token. A concurrent request with the same id that
 * saw the record before its release is refused; it may retry.
 */
async function recordAndSign(
  assertionUse: SingleUse,
  clientAssertionUse: SingleUse | undefined,
  claims: Record<string, unknown>,
  deps: TokenEndpointDeps,
  now: number,
): Promise<string> {
  const [assertionRecord, clientAssertionRecord, signed] = await Promise.allSettled([
    deps.replayStore.recordOnce(assertionUse, now),
    clientAssertionUse ? deps.replayStore.recordOnce(clientAssertionUse, now) : Promise.resolve(NOT_RECORDED),
    signJwt(deps.signer, claims),
  ]);
  const records = [assertionRecord, clientAssertionRecord];
  try {
    if (clientAssertionRecord.status === 'rejected') throw clientAssertionRecord.reason;
    if (assertionRecord.status === 'rejected') throw assertionRecord.reason;
    if (clientAssertionRecord.value === undefined) {
      throw clientAssertionReplayed();
    }
    if (assertionRecord.value === undefined)
      throw new InvalidGrantError('assertion has already been used', 'jti replayed');
    if (signed.status === 'rejected') throw signed.reason;
    return signed.value;
  } catch (error) {
    await Promise.all(records.map((record) => (record.status === 'fulfilled' ? record.value?.release() : undefined)));
    throw error;
  }
}

/** Stands for the record of a request that has no client assertion: nothing to record, nothing to release. */
const NOT_RECORDED: RecordedUse = { release: async () => undefined };

/** The unverified `iss` of a rejected assertion, for the audit record only: it helps operators onboard an IdP. */
function claimedIssuer(assertion: string): string | undefined {
  try {
    return truncate(decodeUnverified(assertion, () => new InvalidGrantError('')).claims.iss);
  } catch {
    return undefined;
  }
}
