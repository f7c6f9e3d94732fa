import { accessTokenClaims, signJwt } from './access-token';
import { validateIdentityAssertion } from './assertion';
import { type AuditRecord, hashJti, truncate } from './audit';
import { authenticateClient } from './client-auth';
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
import type { Clock, KeyResolver, RecordedUse, Registry, ReplayStore, Signer, SingleUse } from './ports';

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

  // One clock reading judges the whole request: every time check and the single-use records' liveness.
  const now = deps.clock.now();
  const authenticated = await authenticateClient(header(request, 'authorization'), form, deps, now);
  context.client = authenticated.client.clientId;
  context.clientAuthMethod = authenticated.method;
  if (!authenticated.client.grantTypes.includes(JWT_BEARER_GRANT_TYPE)) {
    throw new UnauthorizedClientError('the client may not use this grant type');
  }

  const validated = await validateIdentityAssertion(
    tokenRequest.assertion,
    authenticated.client,
    deps,
    now,
    (matched) => {
      context.tenant = matched.tenant.id;
      context.issuer = matched.trust.issuer;
    },
  );
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

  const claims = accessTokenClaims({
    issuer: config.issuer,
    assertion: validated.assertion,
    tenant: validated.tenant,
    grant,
    issuedAt: now,
    lifetimeSeconds: config.accessTokenTtlSeconds,
  });
  const token = await recordAndSign(validated.singleUse, authenticated.singleUse, claims, deps, now);
  context.tokenId = claims.jti as string;
  return { token, grant, expiresIn: config.accessTokenTtlSeconds };
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
      throw new InvalidClientError('client authentication failed', 'client assertion replayed');
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
