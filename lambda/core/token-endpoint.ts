import type { AuditRecord } from './audit';
import {
  InvalidRequestError,
  MethodNotAllowedError,
  RefreshTokenReusedError,
  toOAuthError,
  UnsupportedGrantTypeError,
} from './errors';
import { authorizationCodeGrant } from './grants/authorization-code';
import type { AuditContext, GrantRequest, IssuedToken, TokenEndpointDeps } from './grants/context';
import { jwtBearerGrant } from './grants/jwt-bearer';
import { refreshTokenGrant } from './grants/refresh-token';
import { errorResponse, type HttpRequest, type HttpResponse, jsonResponse, NO_STORE_HEADERS, readForm } from './http';
import { AUTHORIZATION_CODE_GRANT_TYPE, JWT_BEARER_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE } from './model';

export type { TokenEndpointDeps } from './grants/context';

export interface TokenOutcome {
  readonly response: HttpResponse;
  readonly audit: AuditRecord;
}

/**
 * The token endpoint: reads the request, hands it to its grant (one module each in grants/), answers. It never throws:
 * every outcome is an HTTP response plus one audit record.
 */
export function createTokenEndpoint(deps: TokenEndpointDeps): (request: HttpRequest) => Promise<TokenOutcome> {
  const elapsedMs = deps.elapsedMs ?? (() => performance.now());
  const grants = supportedGrants(deps);
  return async (request) => {
    const started = elapsedMs();
    const audit: AuditContext = {};
    const finish = (response: HttpResponse, fields: AuditContext): TokenOutcome => ({
      response,
      audit: {
        event: 'token_exchange',
        ...audit,
        ...fields,
        latencyMs: Math.round(elapsedMs() - started),
      } as AuditRecord,
    });
    try {
      if (request.method.toUpperCase() !== 'POST') throw new MethodNotAllowedError('POST');
      const form = readForm(request, deps.config.maxBodyBytes, ['resource']);
      const grantType = form.get('grant_type');
      if (grantType === undefined) throw new InvalidRequestError('grant_type is required');
      const grant = grants.get(grantType);
      if (!grant) throw new UnsupportedGrantTypeError(`supported: ${[...grants.keys()].join(', ')}`);
      audit.grantType = grantType;
      // One clock reading judges the whole request: every time check and the single-use records' liveness.
      const issued = await grant({ request, form, now: deps.clock.now(), audit });
      const body: Record<string, unknown> = {
        access_token: issued.accessToken,
        token_type: 'Bearer',
        expires_in: issued.expiresIn,
      };
      if (issued.scopes.length > 0) body.scope = issued.scopes.join(' ');
      if (issued.refreshToken !== undefined) body.refresh_token = issued.refreshToken;
      return finish(jsonResponse(200, body, { ...NO_STORE_HEADERS }), { outcome: 'issued' });
    } catch (thrown) {
      const error = toOAuthError(thrown);
      const outcome =
        thrown instanceof RefreshTokenReusedError
          ? 'refresh_token_reused'
          : error.status >= 500
            ? 'failed'
            : 'rejected';
      return finish(errorResponse(error), { outcome, error: error.error, reason: error.reason });
    }
  };
}

type Grant = (request: GrantRequest) => Promise<IssuedToken>;

/** The grants this deployment serves: jwt-bearer always; authorization_code and refresh_token with the interactive flow. */
function supportedGrants(deps: TokenEndpointDeps): ReadonlyMap<string, Grant> {
  const grants = new Map<string, Grant>([[JWT_BEARER_GRANT_TYPE, (request) => jwtBearerGrant(deps, request)]]);
  const store = deps.grants;
  if (deps.config.interactive.enabled && store) {
    const interactive = { ...deps, grants: store };
    grants.set(AUTHORIZATION_CODE_GRANT_TYPE, (request) => authorizationCodeGrant(interactive, request));
    grants.set(REFRESH_TOKEN_GRANT_TYPE, (request) => refreshTokenGrant(interactive, request));
  }
  return grants;
}
