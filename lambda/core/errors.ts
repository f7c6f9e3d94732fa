/**
 * The OAuth error model: one class per RFC 6749 §5.2 / RFC 8707 error code, each carrying its HTTP status.
 *
 * `description` is public (sent as `error_description`): it helps the caller and never echoes the assertion or
 * reveals which tenants or issuers exist. `reason` is internal (for the audit log only).
 */
export abstract class OAuthError extends Error {
  abstract readonly error: string;
  abstract readonly status: number;
  /** Extra response headers (for example `WWW-Authenticate` on `invalid_client`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly description: string,
    readonly reason: string = description,
    headers: Record<string, string> = {},
  ) {
    super(reason);
    this.name = new.target.name;
    this.headers = headers;
  }
}

export class InvalidRequestError extends OAuthError {
  readonly error = 'invalid_request';
  readonly status: number = 400;
}

/** `invalid_request` for a method other than POST, with 405 and `Allow`. */
export class MethodNotAllowedError extends InvalidRequestError {
  override readonly status = 405;
  constructor(allowed: string) {
    super(`use ${allowed}`, 'method not allowed', { Allow: allowed });
  }
}

export class InvalidClientError extends OAuthError {
  readonly error = 'invalid_client';
  readonly status = 401;
}

export class InvalidGrantError extends OAuthError {
  readonly error = 'invalid_grant';
  readonly status = 400;
}

/**
 * `invalid_grant` for a refresh token that was already used: a sign that it leaked. Its grant has been revoked, and the
 * audit record says so with an outcome of its own (an alarm watches it).
 */
export class RefreshTokenReusedError extends InvalidGrantError {}

export class UnauthorizedClientError extends OAuthError {
  readonly error = 'unauthorized_client';
  readonly status = 400;
}

export class UnsupportedGrantTypeError extends OAuthError {
  readonly error = 'unsupported_grant_type';
  readonly status = 400;
}

/** RFC 6749 §4.1.2.1: the authorization server does not support this `response_type`. */
export class UnsupportedResponseTypeError extends OAuthError {
  readonly error = 'unsupported_response_type';
  readonly status = 400;
}

/** RFC 6749 §4.1.2.1: the user (or the server on the user's behalf) refused the request. */
export class AccessDeniedError extends OAuthError {
  readonly error = 'access_denied';
  readonly status = 403;
}

export class InvalidScopeError extends OAuthError {
  readonly error = 'invalid_scope';
  readonly status = 400;
}

export class InvalidTargetError extends OAuthError {
  readonly error = 'invalid_target';
  readonly status = 400;
}

/** RFC 7591 §3.2.2: a client metadata field is invalid, or the registration is refused by policy. */
export class InvalidClientMetadataError extends OAuthError {
  readonly error = 'invalid_client_metadata';
  readonly status = 400;
}

/** RFC 7591 §3.2.2: a redirect URI is not one this server accepts. */
export class InvalidRedirectUriError extends OAuthError {
  readonly error = 'invalid_redirect_uri';
  readonly status = 400;
}

export class ServerError extends OAuthError {
  readonly error = 'server_error';
  readonly status = 500;
  constructor(reason = 'unexpected failure') {
    super('the server could not complete the request', reason);
  }
}

/** A dependency (store, signer, an issuer's key set) is throttled or unreachable: the caller may retry. */
export class TemporarilyUnavailableError extends OAuthError {
  readonly error = 'temporarily_unavailable';
  readonly status = 503;
  constructor(reason = 'dependency unavailable') {
    super('the server is temporarily unable to handle the request, retry later', reason, { 'Retry-After': '1' });
  }
}

/** Turns anything thrown into an OAuthError: unexpected failures become `server_error` with no detail leaked. */
export function toOAuthError(thrown: unknown): OAuthError {
  if (thrown instanceof OAuthError) return thrown;
  const reason = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : 'non-error thrown';
  return new ServerError(reason);
}
