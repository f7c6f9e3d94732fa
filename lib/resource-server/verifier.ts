import {
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import {
  InsufficientScopeError,
  InvalidTokenError,
  MissingTokenError,
  ResourceServerError,
  VerifierUnavailableError,
} from './errors';
import { protectedResourceMetadataUrl } from './protected-resource';
import { authorizationServerMetadataUrl, requireHttpsUrl, requireIssuer } from './urls';

/**
 * The claims of an access token issued by the ID-JAG authorization server (RFC 9068 plus `tenant`, `idp_iss` and
 * `idp_sub`), as verified.
 */
export interface AccessTokenClaims extends JWTPayload {
  readonly iss: string;
  /**
   * The user, unique across the whole authorization server and the same for one person in every flow: key users by
   * `sub` alone. It is the base64url SHA-256 of the JSON array [`tenant`, `idp_iss`, `idp_sub`].
   */
  readonly sub: string;
  readonly aud: string | string[];
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  /** The tenant (customer organisation) whose IdP asserted the user. */
  readonly tenant: string;
  /** The issuer of the user's IdP (the identity assertion's or ID token's `iss`). */
  readonly idp_iss: string;
  /** The user's subject at that IdP: unique only there, so never a key on its own. */
  readonly idp_sub: string;
  /** The OAuth client the token was issued to (for example the MCP client). */
  readonly client_id: string;
  /** Granted scopes, space-delimited; absent when none were granted. */
  readonly scope?: string;
  /** The user's email, when the IdP asserted one. */
  readonly email?: string;
  readonly auth_time?: number;
  readonly acr?: string;
  readonly amr?: string[];
}

/** The subset of `fetch` the verifier uses (the global `fetch` fits). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export const DEFAULT_ALGORITHMS: readonly string[] = ['ES256', 'RS256', 'PS256'];

const ASYMMETRIC_ALGORITHMS = new Set([
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
  'Ed25519',
]);

export interface AccessTokenVerifierOptions {
  /** The authorization server's issuer identifier, exactly as it publishes it (the construct's `issuer`). */
  readonly issuer: string;
  /** This resource server's identifier: the MCP server's canonical URI, which tokens carry in `aud`. */
  readonly audience: string;
  /** Scopes every token must carry (each request may ask for more). @default - none */
  readonly requiredScopes?: readonly string[];
  /** Accepted signing algorithms; asymmetric only. @default ['ES256', 'RS256', 'PS256'] */
  readonly algorithms?: readonly string[];
  /** Leeway for `exp` and `iat`, in seconds. @default 60 */
  readonly clockToleranceSeconds?: number;
  /** The `resource_metadata` URL put in challenges. @default - the RFC 9728 URL derived from `audience` */
  readonly resourceMetadataUrl?: string;
  /** The key set's URL, to skip discovery. @default - the `jwks_uri` of the issuer's RFC 8414 metadata */
  readonly jwksUri?: string;
  /** Timeout of each metadata or key set request, in milliseconds. @default 5000 */
  readonly timeoutMs?: number;
  /** How long a fetched key set is used before it is fetched again, in milliseconds. @default 600000 */
  readonly jwksCacheMaxAgeMs?: number;
  /** Least time between two refetches of the key set caused by an unknown `kid`, in milliseconds. @default 30000 */
  readonly jwksCooldownMs?: number;
  /** The fetch used for metadata and key sets. @default - the global fetch */
  readonly fetch?: FetchLike;
  /** The current time in seconds since the epoch. @default - the system clock */
  readonly now?: () => number;
}

export interface VerifyOptions {
  /** Scopes this request needs, in addition to the verifier's `requiredScopes`. */
  readonly requiredScopes?: readonly string[];
}

export interface AccessTokenVerifier {
  readonly issuer: string;
  readonly audience: string;
  /** The `resource_metadata` URL every error it raises carries. */
  readonly resourceMetadataUrl: string;
  /**
   * Verifies an access token and returns its claims. Throws a `ResourceServerError`: `MissingTokenError` (no token),
   * `InvalidTokenError`, `InsufficientScopeError`, or `VerifierUnavailableError` when the authorization server's
   * metadata or keys cannot be had (a 503, never the client's fault).
   */
  verify(token: string | undefined | null, options?: VerifyOptions): Promise<AccessTokenClaims>;
}

/** Compact JWS: three base64url parts. Anything else (a JWE, an opaque string) is not one of our tokens. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 16 * 1024;
const ACCESS_TOKEN_TYPES = new Set(['at+jwt', 'application/at+jwt']);

/**
 * Creates a verifier for the access tokens of one authorization server and one resource. Keep it for the life of
 * the process: it discovers the key set once and caches the keys (jose's remote key set, refetched when an unknown
 * `kid` appears, at most once per cooldown).
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  const issuer = requireIssuer('issuer', options.issuer);
  const audience = options.audience;
  if (typeof audience !== 'string' || audience.length === 0) throw new TypeError('audience must be a non-empty string');
  const algorithms = [...(options.algorithms ?? DEFAULT_ALGORITHMS)];
  if (algorithms.length === 0) throw new TypeError('algorithms must not be empty');
  for (const alg of algorithms) {
    if (!ASYMMETRIC_ALGORITHMS.has(alg))
      throw new TypeError(`algorithm ${alg} is not an accepted asymmetric algorithm`);
  }
  const tolerance = options.clockToleranceSeconds ?? 60;
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new TypeError('clockToleranceSeconds must be >= 0');
  const baseScopes = [...(options.requiredScopes ?? [])];
  const resourceMetadataUrl =
    options.resourceMetadataUrl === undefined
      ? defaultResourceMetadataUrl(audience)
      : requireHttpsUrl('resourceMetadataUrl', options.resourceMetadataUrl);
  const now = options.now ?? (() => Date.now() / 1000);
  const getKey = createKeyGetter(issuer, options);

  const check = async (token: string | undefined | null, required: readonly string[]): Promise<AccessTokenClaims> => {
    if (token === undefined || token === null || token === '') throw new MissingTokenError();
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
      throw new InvalidTokenError('the access token is malformed', 'not a compact JWS');
    }
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new InvalidTokenError('the access token is malformed', 'undecodable header');
    }
    // Checked before any key is looked up: a token of another kind or algorithm never causes a key set fetch.
    if (typeof header.typ !== 'string' || !ACCESS_TOKEN_TYPES.has(header.typ.toLowerCase())) {
      throw new InvalidTokenError('the token is not an access token (typ must be at+jwt)', `typ ${String(header.typ)}`);
    }
    if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) {
      throw new InvalidTokenError('the access token is signed with an algorithm not accepted', `alg ${header.alg}`);
    }
    const current = now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms,
        issuer,
        audience,
        clockTolerance: tolerance,
        currentDate: new Date(current * 1000),
        requiredClaims: ['exp', 'iat'],
      }));
    } catch (error) {
      throw fromJoseError(error);
    }
    const claims = checkClaims(payload, current, tolerance);
    const granted = new Set(scopesOf(claims));
    if (!required.every((scope) => granted.has(scope))) throw new InsufficientScopeError(required);
    return claims;
  };

  return {
    issuer,
    audience,
    resourceMetadataUrl,
    async verify(token, verifyOptions = {}) {
      const required = [...new Set([...baseScopes, ...(verifyOptions.requiredScopes ?? [])])];
      try {
        return await check(token, required);
      } catch (error) {
        if (error instanceof ResourceServerError) {
          error.resourceMetadataUrl ??= resourceMetadataUrl;
          if (required.length > 0) error.scope ??= required;
        }
        throw error;
      }
    },
  };
}

/** The granted scopes of verified claims, as a list. */
export function scopesOf(claims: Pick<AccessTokenClaims, 'scope'>): string[] {
  return typeof claims.scope === 'string' ? claims.scope.split(' ').filter((scope) => scope.length > 0) : [];
}

function defaultResourceMetadataUrl(audience: string): string {
  try {
    return protectedResourceMetadataUrl(audience);
  } catch (error) {
    throw new TypeError(
      `audience is not a URL a metadata URL can be derived from; set resourceMetadataUrl (${(error as Error).message})`,
    );
  }
}

/** RFC 9068 §2.2 claims and ours (`tenant`, `idp_iss`, `idp_sub`), typed; anything missing or mistyped is `invalid_token`. */
function checkClaims(payload: JWTPayload, now: number, tolerance: number): AccessTokenClaims {
  const invalid = (claim: string) =>
    new InvalidTokenError(`the access token's ${claim} claim is missing or invalid`, `claim ${claim}`);
  const iat = payload.iat as number;
  if (iat > now + tolerance) throw new InvalidTokenError('the access token was issued in the future', 'iat in future');
  for (const claim of ['sub', 'client_id', 'tenant', 'idp_iss', 'idp_sub', 'jti']) {
    const value = payload[claim];
    if (typeof value !== 'string' || value.length === 0) throw invalid(claim);
  }
  for (const claim of ['scope', 'email', 'acr']) {
    if (payload[claim] !== undefined && typeof payload[claim] !== 'string') throw invalid(claim);
  }
  if (payload.auth_time !== undefined && typeof payload.auth_time !== 'number') throw invalid('auth_time');
  const amr = payload.amr;
  if (amr !== undefined && !(Array.isArray(amr) && amr.every((entry) => typeof entry === 'string'))) {
    throw invalid('amr');
  }
  return payload as AccessTokenClaims;
}

function fromJoseError(error: unknown): unknown {
  if (error instanceof ResourceServerError) return error;
  if (error instanceof errors.JWTExpired) return new InvalidTokenError('the access token has expired', 'expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    const description: Record<string, string> = {
      iss: 'the access token was issued by another issuer',
      aud: 'the access token is for another resource',
      nbf: 'the access token is not yet valid',
    };
    return new InvalidTokenError(
      description[error.claim] ?? `the access token's ${error.claim} claim is missing or invalid`,
      `claim ${error.claim}: ${error.reason}`,
    );
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new InvalidTokenError('the access token signature is invalid', 'bad signature');
  }
  if (error instanceof errors.JOSEError) return new InvalidTokenError('the access token is invalid', error.code);
  return error;
}

/**
 * The token's key from the authorization server's key set: discovered once from its RFC 8414 metadata (unless
 * `jwksUri` is given), then jose's remote key set. An unknown or ambiguous `kid` is the token's fault
 * (`invalid_token`); any failure to get the metadata or the keys is ours (`VerifierUnavailableError`).
 */
function createKeyGetter(issuer: string, options: AccessTokenVerifierOptions): JWTVerifyGetKey {
  const timeoutMs = options.timeoutMs ?? 5000;
  const fetchImpl: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const remoteSet = (jwksUri: string) =>
    createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: timeoutMs,
      cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
      cooldownDuration: options.jwksCooldownMs ?? 30_000,
      [customFetch]: fetchImpl,
    });
  let keys: Promise<JWTVerifyGetKey> | undefined =
    options.jwksUri === undefined ? undefined : Promise.resolve(remoteSet(requireHttpsUrl('jwksUri', options.jwksUri)));
  const keySet = () => {
    if (!keys) {
      keys = discoverJwksUri(issuer, fetchImpl, timeoutMs).then(remoteSet);
      // A failed discovery is not remembered: the next request tries again (concurrent ones share one attempt).
      keys.catch(() => {
        keys = undefined;
      });
    }
    return keys;
  };
  return async (header, token) => {
    try {
      return await (await keySet())(header, token);
    } catch (error) {
      if (error instanceof ResourceServerError) throw error;
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
        throw new InvalidTokenError('the access token is signed with an unknown key', 'no matching key');
      }
      throw new VerifierUnavailableError(`authorization server key set: ${describe(error)}`, { cause: error });
    }
  };
}

async function discoverJwksUri(issuer: string, fetchImpl: FetchLike, timeoutMs: number): Promise<string> {
  const url = authorizationServerMetadataUrl(issuer);
  let response: Response;
  try {
    response = await fetchImpl(url, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new VerifierUnavailableError(`authorization server metadata: ${describe(error)}`, { cause: error });
  }
  if (response.status !== 200) {
    throw new VerifierUnavailableError(`authorization server metadata: HTTP ${response.status} from ${url}`);
  }
  let metadata: { issuer?: unknown; jwks_uri?: unknown };
  try {
    metadata = (await response.json()) as typeof metadata;
  } catch (error) {
    throw new VerifierUnavailableError('authorization server metadata: not JSON', { cause: error });
  }
  if (typeof metadata !== 'object' || metadata === null) {
    throw new VerifierUnavailableError('authorization server metadata: not a JSON object');
  }
  // RFC 8414 §3.3: the document must name exactly the issuer it was fetched for.
  if (metadata.issuer !== issuer) {
    throw new VerifierUnavailableError(
      `authorization server metadata: issuer ${JSON.stringify(metadata.issuer)} is not the configured ${issuer}`,
    );
  }
  try {
    return requireHttpsUrl('jwks_uri', metadata.jwks_uri);
  } catch (error) {
    throw new VerifierUnavailableError(`authorization server metadata: ${(error as Error).message}`);
  }
}

function describe(error: unknown): string {
  if (error instanceof errors.JWKSTimeout || (error instanceof Error && error.name === 'TimeoutError'))
    return 'timeout';
  return error instanceof Error ? error.message : String(error);
}

const shared = new Map<string, AccessTokenVerifier>();
const functionIds = new WeakMap<object, number>();
let nextFunctionId = 0;
const MAX_SHARED_VERIFIERS = 64;

/**
 * Verifies one token with a verifier shared by every call with the same options (so keys are fetched once per
 * process, not per call); `requiredScopes` is per call. Prefer `createAccessTokenVerifier` when you can keep one.
 */
export function verifyAccessToken(
  token: string | undefined | null,
  options: AccessTokenVerifierOptions,
): Promise<AccessTokenClaims> {
  const { requiredScopes, ...verifierOptions } = options;
  const key = JSON.stringify(verifierOptions, (_, value) =>
    typeof value === 'function' ? `fn#${idOf(value)}` : value,
  );
  let verifier = shared.get(key);
  if (!verifier) {
    verifier = createAccessTokenVerifier(verifierOptions);
    if (shared.size >= MAX_SHARED_VERIFIERS) shared.delete(shared.keys().next().value as string);
    shared.set(key, verifier);
  }
  return verifier.verify(token, { requiredScopes });
}

function idOf(fn: object): number {
  let id = functionIds.get(fn);
  if (id === undefined) {
    id = ++nextFunctionId;
    functionIds.set(fn, id);
  }
  return id;
}
