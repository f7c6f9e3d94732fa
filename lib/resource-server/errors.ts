/**
 * What a resource server answers when a request is not authorized, per RFC 6750 §3 (the Bearer scheme's
 * `WWW-Authenticate` challenge) and RFC 9728 §5.1 (its `resource_metadata` parameter).
 *
 * `description` is public (sent as `error_description`) and never contains the token; `reason` is internal, for logs.
 */
export abstract class ResourceServerError extends Error {
  /** The RFC 6750 error code, or `undefined` when the request carried no token at all (RFC 6750 §3.1). */
  abstract readonly error: string | undefined;
  /** The HTTP status the resource server should answer with. */
  abstract readonly status: number;
  /** The `resource_metadata` URL to put in the challenge, set by the verifier that raised the error. */
  resourceMetadataUrl: string | undefined;
  /**
   * The scopes the request needs, for the `scope` attribute of a 401 challenge (RFC 6750 §3; the MCP authorization
   * spec says servers SHOULD send it, and clients then ask for exactly these), set by the verifier that raised the
   * error when it requires any.
   */
  scope: readonly string[] | undefined;

  constructor(
    readonly description: string,
    readonly reason: string = description,
    resourceMetadataUrl?: string,
  ) {
    super(reason);
    this.name = new.target.name;
    this.resourceMetadataUrl = resourceMetadataUrl;
  }

  /** The `WWW-Authenticate` header value to send with this error, or `undefined` when none is due. */
  get wwwAuthenticate(): string | undefined {
    return bearerChallenge({
      error: this.error,
      errorDescription: this.error === undefined ? undefined : this.description,
      scope: this.status === 401 && this.scope?.length ? this.scope.join(' ') : undefined,
      resourceMetadata: this.resourceMetadataUrl,
    });
  }

  /** Headers for the error response: the challenge, and `Cache-Control: no-store`. */
  get headers(): Record<string, string> {
    const challenge = this.wwwAuthenticate;
    return { 'Cache-Control': 'no-store', ...(challenge === undefined ? {} : { 'WWW-Authenticate': challenge }) };
  }

  /** The JSON body to send, if any: `{ error, error_description }`. */
  get body(): { error: string; error_description: string } | undefined {
    return this.error === undefined ? undefined : { error: this.error, error_description: this.description };
  }
}

/** The request carried no bearer token (no `Authorization` header, or another scheme): 401 without an error code. */
export class MissingTokenError extends ResourceServerError {
  readonly error = undefined;
  readonly status = 401;
  constructor(reason = 'no bearer token', resourceMetadataUrl?: string) {
    super('a bearer access token is required', reason, resourceMetadataUrl);
  }
}

/** RFC 6750 `invalid_request` (400): the `Authorization` header is malformed. */
export class InvalidRequestError extends ResourceServerError {
  readonly error = 'invalid_request';
  readonly status = 400;
}

/** RFC 6750 `invalid_token` (401): expired, revoked, malformed, for another audience, or not ours. */
export class InvalidTokenError extends ResourceServerError {
  readonly error = 'invalid_token';
  readonly status = 401;
}

/** RFC 6750 `insufficient_scope` (403): a valid token without every scope this request needs. */
export class InsufficientScopeError extends ResourceServerError {
  readonly error = 'insufficient_scope';
  readonly status = 403;
  constructor(
    /** The scopes the request needs, all of them, as the challenge's `scope` attribute lists them. */
    readonly requiredScopes: readonly string[],
    resourceMetadataUrl?: string,
  ) {
    super('the access token lacks a required scope', `missing scope: ${requiredScopes.join(' ')}`, resourceMetadataUrl);
  }

  override get wwwAuthenticate(): string {
    return bearerChallenge({
      error: this.error,
      errorDescription: this.description,
      scope: this.requiredScopes.join(' '),
      resourceMetadata: this.resourceMetadataUrl,
    });
  }
}

/**
 * The verifier cannot judge the token right now: the authorization server's metadata or key set is unreachable,
 * slow, malformed or inconsistent with the configured issuer. This is the resource server's problem, not the
 * client's: answer 503 (retry later), never 401 and never success. Not an RFC 6750 code: the body says
 * `temporarily_unavailable` (RFC 6749's name for it) and no challenge is sent.
 */
export class VerifierUnavailableError extends ResourceServerError {
  readonly error = 'temporarily_unavailable';
  readonly status = 503;
  constructor(reason: string, options?: { cause?: unknown }) {
    super('the access token cannot be verified right now, retry later', reason);
    if (options?.cause !== undefined) this.cause = options.cause;
  }

  override get wwwAuthenticate(): undefined {
    return undefined;
  }

  override get headers(): Record<string, string> {
    return { 'Cache-Control': 'no-store', 'Retry-After': '5' };
  }
}

export interface BearerChallenge {
  readonly realm?: string;
  readonly error?: string;
  readonly errorDescription?: string;
  /** Space-delimited scopes (RFC 6750 §3). */
  readonly scope?: string;
  /** RFC 9728 §5.1: where the protected resource metadata is. */
  readonly resourceMetadata?: string;
}

/**
 * Builds a `WWW-Authenticate: Bearer …` value (RFC 6750 §3, RFC 9110 §11.2 auth-params as quoted strings).
 * Quotes and backslashes are escaped, and characters RFC 6750 does not allow in these attributes are replaced.
 */
export function bearerChallenge(challenge: BearerChallenge): string {
  const params: [string, string | undefined][] = [
    ['realm', challenge.realm],
    ['error', challenge.error],
    ['error_description', challenge.errorDescription],
    ['scope', challenge.scope],
    ['resource_metadata', challenge.resourceMetadata],
  ];
  const present = params.filter((entry): entry is [string, string] => entry[1] !== undefined);
  if (present.length === 0) return 'Bearer';
  return `Bearer ${present.map(([name, value]) => `${name}=${quoted(value)}`).join(', ')}`;
}

function quoted(value: string): string {
  // RFC 6750 §3 limits attribute values to %x20-21 / %x23-5B / %x5D-7E; we keep " and \ (escaped) and drop the rest.
  const printable = value.replace(/[^\x20-\x7E]/g, '?');
  return `"${printable.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
