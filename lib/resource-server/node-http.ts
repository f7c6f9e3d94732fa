import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidRequestError, ResourceServerError } from './errors';
import { type AccessTokenClaims, type AccessTokenVerifier, scopesOf } from './verifier';

/**
 * What the middleware attaches to `req.auth`. It has the shape of the MCP TypeScript SDK's `AuthInfo` (`token`,
 * `clientId`, `scopes`, `expiresAt`, `resource`, `extra`), so the SDK's transports pass it on to tool handlers as
 * `extra.authInfo`; `claims` holds every verified claim, typed.
 */
export interface AccessTokenAuth {
  /** The access token itself, for calls made on the user's behalf. Never log it. */
  readonly token: string;
  readonly clientId: string;
  readonly scopes: string[];
  /** `exp`, in seconds since the epoch. */
  readonly expiresAt: number;
  /** The resource the token was verified for (the verifier's `audience`). */
  readonly resource?: URL;
  /**
   * `sub` (the key for the user), `tenant`, `idp_iss`, `idp_sub` and `email` again, for code that only sees the SDK's
   * `AuthInfo` (an MCP tool handler's `extra.authInfo`).
   */
  readonly extra: { sub: string; tenant: string; idp_iss: string; idp_sub: string; email?: string };
  readonly claims: AccessTokenClaims;
}

/** A request that passed `requireAccessToken`. */
export type AuthenticatedRequest<Request extends IncomingMessage = IncomingMessage> = Request & {
  auth: AccessTokenAuth;
};

/** RFC 6750 §2.1: `Bearer` followed by a b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The bearer token of an `Authorization` header (RFC 6750 §2.1), or `undefined` when the request carries none
 * (no header, or another scheme such as Basic: RFC 6750 §3.1 wants a challenge without an error code then).
 * Throws `InvalidRequestError` when the header names the Bearer scheme but is malformed, or is repeated.
 */
export function bearerTokenOf(authorization: string | readonly string[] | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  if (typeof authorization !== 'string') {
    throw new InvalidRequestError('send one Authorization header', 'repeated Authorization header');
  }
  const trimmed = authorization.trim();
  if (trimmed === '' || !/^bearer(\s|$)/i.test(trimmed)) return undefined;
  const match = BEARER.exec(trimmed);
  if (!match) {
    throw new InvalidRequestError(
      'the Authorization header must be: Bearer <token>',
      'malformed Bearer Authorization header',
    );
  }
  return match[1];
}

/** Maps verified claims to the MCP SDK's `AuthInfo` shape (see `AccessTokenAuth`). */
export function toAuthInfo(token: string, claims: AccessTokenClaims, audience?: string): AccessTokenAuth {
  let resource: URL | undefined;
  try {
    resource = audience === undefined ? undefined : new URL(audience);
  } catch {
    resource = undefined;
  }
  return {
    token,
    clientId: claims.client_id,
    scopes: scopesOf(claims),
    expiresAt: claims.exp,
    ...(resource === undefined ? {} : { resource }),
    extra: {
      sub: claims.sub,
      tenant: claims.tenant,
      idp_iss: claims.idp_iss,
      idp_sub: claims.idp_sub,
      ...(claims.email === undefined ? {} : { email: claims.email }),
    },
    claims,
  };
}

export interface RequireAccessTokenOptions {
  readonly verifier: AccessTokenVerifier;
  /** Scopes this route needs (in addition to the verifier's own). @default - none */
  readonly requiredScopes?: readonly string[];
  /**
   * Told of every refusal (with the internal `reason`, never the token), and of unexpected errors, for logs.
   * @default - nothing
   */
  readonly onError?: (error: unknown, request: IncomingMessage) => void;
}

/**
 * A `(req, res, next)` middleware for node:http (and Express as is): it reads `Authorization: Bearer`, verifies the
 * token, sets `req.auth` (an `AccessTokenAuth`) and calls `next()`. Otherwise it answers itself and never calls
 * `next`: 401 (no or an invalid token, with a `WWW-Authenticate` challenge naming the resource metadata), 400
 * (malformed header), 403 (insufficient scope, with the scopes needed), 503 (our keys cannot be had right now) or
 * 500 (anything unexpected).
 */
export function requireAccessToken(
  options: RequireAccessTokenOptions,
): (request: IncomingMessage, response: ServerResponse, next: () => void) => void {
  const { verifier } = options;
  const requiredScopes = options.requiredScopes ?? [];
  return (request, response, next) => {
    const authenticate = async () => {
      const token = bearerTokenOf(request.headers.authorization);
      const claims = await verifier.verify(token, { requiredScopes });
      (request as AuthenticatedRequest).auth = toAuthInfo(token as string, claims, verifier.audience);
    };
    authenticate().then(next, (error: unknown) => {
      if (error instanceof ResourceServerError && error.resourceMetadataUrl === undefined) {
        error.resourceMetadataUrl = verifier.resourceMetadataUrl;
      }
      options.onError?.(error, request);
      sendResourceServerError(response, error);
    });
  };
}

/**
 * Writes the response for an error of `verify` (or anything else, as a 500 without detail): status, challenge,
 * `Cache-Control: no-store`, and a JSON `{ error, error_description }` body when there is an error code.
 */
export function sendResourceServerError(response: ServerResponse, error: unknown): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  if (!(error instanceof ResourceServerError)) {
    const body = JSON.stringify({ error: 'server_error', error_description: 'the request could not be authorized' });
    response.writeHead(500, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(body);
    return;
  }
  const body = error.body;
  if (body === undefined) {
    response.writeHead(error.status, error.headers).end();
    return;
  }
  response.writeHead(error.status, { ...error.headers, 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}
