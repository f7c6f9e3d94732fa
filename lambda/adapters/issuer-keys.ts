import type { webcrypto } from 'node:crypto';
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { InvalidGrantError, OAuthError, TemporarilyUnavailableError } from '../core/errors';
import type { KeyResolver, KeySource } from '../core/ports';
import { Cached, described, fetchJsonDocument, type Timing } from './remote-document';
import { createSafeFetch, type FetchLike, type SafeFetchOptions } from './safe-fetch';

export interface RemoteKeyResolverOptions extends Partial<SafeFetchOptions> {
  /** Per-request timeout for key set and metadata fetches. @default 2000 */
  readonly timeoutMs?: number;
  /** How long a fetched key set is used before it is fetched again. @default 600000 (10 minutes) */
  readonly cacheMaxAgeMs?: number;
  /** Least time between a key set's last successful fetch and a refetch triggered by an unknown `kid`. @default 30000 */
  readonly cooldownMs?: number;
  /** How long a discovered `jwks_uri` is used before the issuer's metadata is fetched again. @default 3600000 (1 hour) */
  readonly discoveryMaxAgeMs?: number;
  /**
   * After a failed fetch of a key set or metadata document, how long every request gets that same failure without a
   * new fetch. @default 10000 (10 seconds)
   */
  readonly failureCooldownMs?: number;
  /**
   * How long past its max age a key set (or a discovered `jwks_uri`) is still used when its refresh fails.
   * @default 3600000 (1 hour)
   */
  readonly staleIfErrorMs?: number;
  /** Milliseconds since the epoch (tests move it). @default Date.now */
  readonly now?: () => number;
  /** Replaces the safe fetch (tests only). */
  readonly fetch?: FetchLike;
}

/**
 * Resolves registered key sources to jose key getters: inline key sets, a registered `jwks_uri`, or one discovered
 * from the issuer's metadata. Each remote key set and each issuer's discovery is a `Cached` value, one per URI (or
 * issuer) for the life of the process, fetched with the safe fetch; an unknown `kid` refetches the key set at most once
 * per `cooldownMs`. Keys are selected by jose's `createLocalJWKSet` (`kid`, `alg`, `kty`, `use`, `key_ops`).
 *
 * Errors: the key set or metadata cannot be obtained (unreachable, timeout, non-200, not JSON, not a key set, too
 * large, a refused URL, metadata for another issuer) → `TemporarilyUnavailableError`; no usable key for the token
 * (none or several match the `kid`, a key that cannot be imported or is too weak) → a jose error, which the core turns
 * into the caller's rejection (`invalid_grant` for an ID-JAG, `invalid_client` for a client assertion).
 */
export class RemoteKeyResolver implements KeyResolver {
  private readonly fetch: FetchLike;
  private readonly now: () => number;
  private readonly keySets = new Map<string, Cached<JWTVerifyGetKey>>();
  private readonly localSets = new WeakMap<JSONWebKeySet, JWTVerifyGetKey>();
  private readonly discovered = new Map<string, Cached<string>>();

  constructor(private readonly options: RemoteKeyResolverOptions = {}) {
    this.fetch = options.fetch ?? createSafeFetch({ maxBytes: 64 * 1024, ...options });
    this.now = options.now ?? Date.now;
  }

  keysFor(source: KeySource): JWTVerifyGetKey {
    if (source.jwks) return this.localSet(source.jwks);
    const { jwksUri, issuer } = source;
    if (jwksUri) return (header, token) => this.remoteKey(jwksUri, header, token);
    if (!issuer) return async () => Promise.reject(new InvalidGrantError('no keys registered', 'key source empty'));
    return async (header, token) => this.remoteKey(await this.discovery(issuer).get(), header, token);
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

  /** The key for this token from the key set at `uri`, refetched once per cooldown for an unknown `kid` (rotation). */
  private async remoteKey(uri: string, ...[header, token]: Parameters<JWTVerifyGetKey>) {
    const keySet = this.keySet(uri);
    try {
      return await selectKey(await keySet.get(), header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || keySet.age() < (this.options.cooldownMs ?? 30_000)) {
        throw error;
      }
      // If this refetch fails the key may well exist: the answer is the outage, not a rejection.
      return selectKey(await keySet.refresh(), header, token);
    }
  }

  private keySet(uri: string): Cached<JWTVerifyGetKey> {
    let keySet = this.keySets.get(uri);
    if (!keySet) {
      const load = async () => {
        const document = await this.fetchJson(uri, 'application/json, application/jwk-set+json', 'issuer keys');
        try {
          return createLocalJWKSet(document as JSONWebKeySet);
        } catch {
          throw new TemporarilyUnavailableError('issuer keys: not a JSON Web Key Set');
        }
      };
      keySet = new Cached(load, this.timing(this.options.cacheMaxAgeMs ?? 600_000), this.now);
      this.keySets.set(uri, keySet);
    }
    return keySet;
  }

  private discovery(issuer: string): Cached<string> {
    let discovery = this.discovered.get(issuer);
    if (!discovery) {
      const timing = this.timing(this.options.discoveryMaxAgeMs ?? 3_600_000);
      discovery = new Cached(() => this.fetchJwksUri(issuer), timing, this.now);
      this.discovered.set(issuer, discovery);
    }
    return discovery;
  }

  private timing(maxAgeMs: number): Timing {
    return {
      maxAgeMs,
      failureCooldownMs: this.options.failureCooldownMs ?? 10_000,
      staleIfErrorMs: this.options.staleIfErrorMs ?? 3_600_000,
    };
  }

  /** OpenID Connect discovery first, then RFC 8414 (path-inserted); the document must name this exact issuer. */
  private async fetchJwksUri(issuer: string): Promise<string> {
    const problems: string[] = [];
    for (const [document, url] of metadataUrls(issuer)) {
      let problem: string;
      try {
        const metadata = await this.fetchJson(url, 'application/json', 'issuer metadata');
        const { issuer: named, jwks_uri: jwksUri } = (metadata ?? {}) as { issuer?: unknown; jwks_uri?: unknown };
        if (named !== issuer) problem = 'names another issuer';
        else if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri)) problem = 'jwks_uri missing or not a URL';
        else return jwksUri;
      } catch (error) {
        problem = error instanceof OAuthError ? error.reason.replace(/^issuer metadata: /, '') : 'fetch failed';
      }
      problems.push(`${problem} (${document})`);
    }
    throw new TemporarilyUnavailableError(`issuer metadata: ${problems.join('; ')}`);
  }

  private fetchJson(url: string, accept: string, what: string): Promise<unknown> {
    return fetchJsonDocument(this.fetch, url, { accept, what, timeoutMs: this.options.timeoutMs ?? 2000 });
  }
}

/** The issuer's metadata documents, by name, in the order they are tried. */
function metadataUrls(issuer: string): [string, string][] {
  const openId: [string, string] = ['openid-configuration', `${issuer}/.well-known/openid-configuration`];
  if (!URL.canParse(issuer)) return [openId];
  const { origin, pathname } = new URL(issuer);
  const path = pathname.replace(/\/$/, '');
  return [openId, ['oauth-authorization-server', `${origin}/.well-known/oauth-authorization-server${path}`]];
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
