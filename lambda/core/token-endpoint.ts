import { accessTokenClaims, signJwt } from './access-token';
import { type ValidatedAssertion, validateIdentityAssertion } from './assertion';
import { type AuditRecord, hashJti, truncate } from './audit';
import { type AuthenticatedClient, authenticateClient } from './client-auth';
import { isResourceIndicator, isScopeToken, type ServerConfig } from './config';
import {
  InvalidClientError,
  InvalidGrantError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidTargetError,
  MethodNotAllowedError,
  toOAuthError,
  UnauthorizedClientError,
  UnsupportedGrantTypeError,
} from './errors';
import { decideGrant } from './grant';
import {
  errorResponse,
  type FormParameters,
  type HttpRequest,
  type HttpResponse,
  header,
  jsonResponse,
  NO_STORE_HEADERS,
  readForm,
} from './http';
import { decodeUnverified } from './jwt';
import { ALL_TENANTS, type Client, JWT_BEARER_GRANT_TYPE } from './model';
import type { Clock, KeyResolver, Registry, ReplayStore, Signer } from './ports';

export interface TokenEndpointDeps {
  readonly config: ServerConfig;
  readonly registry: Registry;
  readonly replayStore: ReplayStore;
  readonly signer: Signer;
  readonly keyResolver: KeyResolver;
  readonly clock: Clock;
  /** Milliseconds from a monotonic clock, for the audit record's latency. */
  readonly elapsedMs?: () => number;
}

export interface TokenOutcome {
  readonly response: HttpResponse;
  readonly audit: AuditRecord;
}

/** Audit fields gathered as the request progresses, so that a rejection still says how far it got. */
type AuditContext = { -readonly [K in keyof AuditRecord]?: AuditRecord[K] };

/**
 * The token endpoint for the jwt-bearer grant with ID-JAG assertions (RFC 7523, RFC 7521, RFC 8707, RFC 9068).
 * It never throws: every outcome is an HTTP response plus one audit record.
 */
export function createTokenEndpoint(deps: TokenEndpointDeps): (request: HttpRequest) => Promise<TokenOutcome> {
  const elapsedMs = deps.elapsedMs ?? (() => performance.now());
  return async (request) => {
    const started = elapsedMs();
    const context: AuditContext = {};
    let assertion: string | undefined;
    const finish = (response: HttpResponse, fields: AuditContext): TokenOutcome => ({
      response,
      audit: {
        event: 'token_exchange',
        ...context,
        ...fields,
        latencyMs: Math.round(elapsedMs() - started),
      } as AuditRecord,
    });
    try {
      const { token, grant, expiresIn } = await exchange(request, deps, context, (value) => {
        assertion = value;
      });
      const body: Record<string, unknown> = { access_token: token, token_type: 'Bearer', expires_in: expiresIn };
      if (grant.scopes.length > 0) body.scope = grant.scopes.join(' ');
      return finish(jsonResponse(200, body, { ...NO_STORE_HEADERS }), { outcome: 'issued' });
    } catch (thrown) {
      const error = toOAuthError(thrown);
      const outcome = error.status >= 500 ? 'failed' : 'rejected';
      if (context.issuer === undefined && assertion !== undefined) context.claimedIssuer = claimedIssuer(assertion);
      return finish(errorResponse(error), { outcome, error: error.error, reason: error.reason });
    }
  };
}

interface TokenRequest {
  readonly assertion: string;
  readonly requestedScopes?: string[];
  readonly requestedResources: string[];
}

/** RFC 6749 §4.5 / RFC 7523 §2.1 request syntax, checked before anyone is authenticated. */
function parseTokenRequest(form: FormParameters, config: ServerConfig): TokenRequest {
  const grantType = form.get('grant_type');
  if (grantType === undefined) throw new InvalidRequestError('grant_type is required');
  if (grantType !== JWT_BEARER_GRANT_TYPE) {
    throw new UnsupportedGrantTypeError(`only ${JWT_BEARER_GRANT_TYPE} is supported`);
  }
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

async function exchange(
  request: HttpRequest,
  deps: TokenEndpointDeps,
  context: AuditContext,
  onAssertion: (assertion: string) => void,
) {
  const { config } = deps;
  if (request.method.toUpperCase() !== 'POST') throw new MethodNotAllowedError('POST');
  const form = readForm(request, config.maxBodyBytes, ['resource']);
  const tokenRequest = parseTokenRequest(form, config);
  onAssertion(tokenRequest.assertion);

  const authenticated = await authenticateClient(header(request, 'authorization'), form, deps);
  context.client = authenticated.client.clientId;
  context.clientAuthMethod = authenticated.method;
  if (!authenticated.client.grantTypes.includes(JWT_BEARER_GRANT_TYPE)) {
    throw new UnauthorizedClientError('the client may not use this grant type');
  }

  const validated = await validateIdentityAssertion(tokenRequest.assertion, authenticated.client, deps, (matched) => {
    context.tenant = matched.tenant.id;
    context.issuer = matched.trust.issuer;
  });
  context.jtiHash = hashJti(validated.trust.issuer, validated.assertion.jti);
  if (!allowedForTenant(authenticated.client, validated.tenant.id)) {
    throw new UnauthorizedClientError(
      'the client may not be used for this organisation',
      'client not allowed for tenant',
    );
  }

  const grant = decideGrant(tokenRequest, validated.assertion, authenticated.client, config);
  context.resource = grant.resource.id;
  context.scope = grant.scopes.join(' ');

  const issuedAt = deps.clock.now();
  const claims = accessTokenClaims({
    issuer: config.issuer,
    assertion: validated.assertion,
    tenant: validated.tenant,
    grant,
    issuedAt,
    lifetimeSeconds: config.accessTokenTtlSeconds,
  });
  const token = await recordAndSign(authenticated, validated, claims, deps);
  context.tokenId = claims.jti as string;
  return { token, grant, expiresIn: config.accessTokenTtlSeconds };
}

/**
 * The two remote calls of a warm exchange run concurrently: recording the single-use ids and signing. A token signed
 * for an assertion that turns out to be replayed is discarded, and no token leaves unless every record was fresh.
 */
async function recordAndSign(
  authenticated: AuthenticatedClient,
  validated: ValidatedAssertion,
  claims: Record<string, unknown>,
  deps: TokenEndpointDeps,
): Promise<string> {
  const record = (use: { namespace: string; id: string; expiresAt: number }) =>
    deps.replayStore.recordOnce(use.namespace, use.id, use.expiresAt);
  const [assertionFresh, clientAssertionFresh, signed] = await Promise.allSettled([
    record(validated.singleUse),
    authenticated.singleUse ? record(authenticated.singleUse) : Promise.resolve(true),
    signJwt(deps.signer, claims),
  ]);
  if (clientAssertionFresh.status === 'rejected') throw clientAssertionFresh.reason;
  if (assertionFresh.status === 'rejected') throw assertionFresh.reason;
  if (!clientAssertionFresh.value) {
    throw new InvalidClientError('client authentication failed', 'client assertion replayed');
  }
  if (!assertionFresh.value) throw new InvalidGrantError('assertion has already been used', 'jti replayed');
  if (signed.status === 'rejected') throw signed.reason;
  return signed.value;
}

function allowedForTenant(client: Client, tenantId: string): boolean {
  return client.tenants.includes(ALL_TENANTS) || client.tenants.includes(tenantId);
}

/** The unverified `iss` of a rejected assertion, for the audit record only: it helps operators onboard an IdP. */
function claimedIssuer(assertion: string): string | undefined {
  try {
    return truncate(decodeUnverified(assertion, () => new InvalidGrantError('')).claims.iss);
  } catch {
    return undefined;
  }
}
