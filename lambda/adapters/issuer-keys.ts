import type { webcrypto } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import { InvalidGrantError, OAuthError, TemporarilyUnavailableError } from '../core/errors';
import type { KeyResolver, KeySource } from '../core/ports';
import {
  createSafeFetch,
  type FetchLike,
  RefusedUrlError,
  ResponseTooLargeError,
  type SafeFetchOptions,
  UpstreamUnavailableError,
} from './safe-fetch';

export interface RemoteKeyResolverOptions extends Partial<SafeFetchOptions> {
  /** Per-request timeout for key set and metadata fetches. @default 2000 */
  readonly timeoutMs?: number;
  /** How long a fetched key set is used before it is fetched again. @default 600000 (10 minutes) */
  readonly cacheMaxAgeMs?: number;
  /** Least time between two refetches triggered by an unknown `kid`. @default 30000 */
  readonly cooldownMs?: number;
  /** How long a discovered `jwks_uri` is remembered. @default 3600000 (1 hour) */
  readonly discoveryMaxAgeMs?: number;
  /** Replaces the safe fetch (tests only). */
  readonly fetch?: FetchLike;
}

/**
 * Resolves registered key sources to jose key getters: inline key sets, a registered `jwks_uri`, or one discovered
 * from the issuer's metadata. Remote sets are jose's `createRemoteJWKSet` (cached, cooldown-limited refetch on an
 * unknown `kid`), one per URI for the life of the process, fetched with the safe fetch.
 */
export class RemoteKeyResolver implements KeyResolver {
  private readonly fetch: FetchLike;
  private readonly remoteSets = new Map<string, JWTVerifyGetKey>();
  private readonly localSets = new WeakMap<JSONWebKeySet, JWTVerifyGetKey>();
  private readonly discovered = new Map<string, { jwksUri: Promise<string>; at: number }>();

  constructor(private readonly options: RemoteKeyResolverOptions = {}) {
    this.fetch = options.fetch ?? createSafeFetch({ maxBytes: 64 * 1024, ...options });
  }

  keysFor(source: KeySource): JWTVerifyGetKey {
    if (source.jwks) return this.localSet(source.jwks);
    const { jwksUri } = source;
    // guarded() maps fetch failures to OAuth errors first; what remains is key selection's, made total by selectKey.
    if (jwksUri) return (header, token) => selectKey(guarded(this.remoteSet(jwksUri)), header, token);
    const issuer = source.issuer;
    if (!issuer) return async () => Promise.reject(new InvalidGrantError('no keys registered', 'key source empty'));
    const discovered = guarded(async (header, token) =>
      (await this.remoteSet(await this.discover(issuer)))(header, token),
    );
    return (header, token) => selectKey(discovered, header, token);
  }

  private localSet(jwks: JSONWebKeySet): JWTVerifyGetKey {
    let set = this.localSets.get(jwks);
    if (!set) {
      let local: JWTVerifyGetKey;
      try {
        local = createLocalJWKSet(jwks);
      } catch (error) {
        // A malformed inline set is the client's key problem, met when its assertion is verified, not a crash here.
        local = async () => Promise.reject(error);
      }
      set = (header, token) => selectKey(local, header, token);
      this.localSets.set(jwks, set);
    }
    return set;
  }

  private remoteSet(uri: string): JWTVerifyGetKey {
    let set = this.remoteSets.get(uri);
    if (!set) {
      set = createRemoteJWKSet(new URL(uri), {
        timeoutDuration: this.options.timeoutMs ?? 2000,
        cacheMaxAge: this.options.cacheMaxAgeMs ?? 600_000,
        cooldownDuration: this.options.cooldownMs ?? 30_000,
        [customFetch]: this.fetch,
      });
      this.remoteSets.set(uri, set);
    }
    return set;
  }

  /** OpenID Connect discovery first, then RFC 8414 (path-inserted); the document must name this exact issuer. */
  private discover(issuer: string): Promise<string> {
    const cached = this.discovered.get(issuer);
    if (cached && Date.now() - cached.at < (this.options.discoveryMaxAgeMs ?? 3_600_000)) return cached.jwksUri;
    const jwksUri = this.fetchJwksUri(issuer);
    this.discovered.set(issuer, { jwksUri, at: Date.now() });
    // A failure is not remembered: the next request tries again.
    jwksUri.catch(() => this.discovered.delete(issuer));
    return jwksUri;
  }

  private async fetchJwksUri(issuer: string): Promise<string> {
    const url = new URL(issuer);
    const path = url.pathname.replace(/\/$/, '');
    const candidates = [
      `${issuer}/.well-known/openid-configuration`,
      `${url.origin}/.well-known/oauth-authorization-server${path}`,
    ];
    let lastError: unknown;
    for (const candidate of candidates) {
      try {
        const response = await this.fetch(candidate, { signal: AbortSignal.timeout(this.options.timeoutMs ?? 2000) });
        if (response.status !== 200)
          throw new InvalidGrantError('issuer metadata unavailable', `HTTP ${response.status}`);
        const metadata = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
        if (metadata.issuer !== issuer)
          throw new InvalidGrantError('issuer metadata mismatch', 'metadata issuer differs');
        if (typeof metadata.jwks_uri !== 'string') throw new InvalidGrantError('issuer has no jwks_uri', 'no jwks_uri');
        return metadata.jwks_uri;
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }
}

/** Maps fetch failures to the core's errors; jose's own errors (no matching key, bad JSON) pass through. */
function guarded(getKey: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await getKey(header, token);
    } catch (error) {
      throw toKeyError(error);
    }
  };
}

function toKeyError(error: unknown): unknown {
  if (error instanceof OAuthError) return error;
  if (error instanceof UpstreamUnavailableError)
    return new TemporarilyUnavailableError(`issuer keys: ${error.message}`);
  if (error instanceof errors.JWKSTimeout || (error instanceof DOMException && error.name === 'TimeoutError')) {
    return new TemporarilyUnavailableError('issuer keys: timeout');
  }
  if (error instanceof RefusedUrlError || error instanceof ResponseTooLargeError || error instanceof SyntaxError) {
    return new InvalidGrantError('assertion issuer keys are unusable', `issuer keys: ${error.message}`);
  }
  return error;
}

/** Name and message of anything thrown; read as fields, since a DOMException may come from another realm. */
function described(error: unknown): { name?: string; message?: string } {
  if (typeof error !== 'object' || error === null) return {};
  const { name, message } = error as { name?: unknown; message?: unknown };
  return {
    ...(typeof name === 'string' ? { name } : {}),
    ...(typeof message === 'string' ? { message } : {}),
  };
}

/**
 * jose's key selection, made total: a selected key that cannot be imported, or that jose's verification would refuse
 * with a TypeError (a private key, no `verify` usage, an RSA modulus under 2048 bits), becomes `JWKSInvalid`. The key
 * set belongs to the IdP or client: its bad key is a rejection of the token, never a server error.
 */
async function selectKey(keys: JWTVerifyGetKey, ...[header, token]: Parameters<JWTVerifyGetKey>) {
  let key: Awaited<ReturnType<JWTVerifyGetKey>>;
  try {
    key = await keys(header, token);
  } catch (error) {
    if (error instanceof errors.JOSEError || error instanceof OAuthError) throw error;
    const { name = 'Error', message = 'unknown failure' } = described(error);
    const detail = `${name}: ${message}`;
    throw new errors.JWKSInvalid(`the selected key cannot be imported (${detail})`, { cause: error });
  }
  // jose's key sets resolve to CryptoKeys; read as optional fields so that anything else is refused too.
  const { type, usages, algorithm } = key as Partial<webcrypto.CryptoKey>;
  if (type !== 'public' || !usages?.includes('verify')) {
    throw new errors.JWKSInvalid('the selected key is not a public verification key');
  }
  const { modulusLength } = (algorithm ?? {}) as { modulusLength?: number };
  if (modulusLength !== undefined && modulusLength < 2048) {
    throw new errors.JWKSInvalid('the selected RSA key is shorter than 2048 bits');
  }
  return key;
}
