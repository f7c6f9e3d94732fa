import type { JSONWebKeySet, JWK, JWTVerifyGetKey } from 'jose';
import type { Client, Connection, RegisteredTrust, Tenant, UpstreamAuthMethod } from './model';

/** Tenants, trusted issuers, connections and clients. Implementations may cache; the core never writes here. */
export interface Registry {
  /** Every registration whose issuer is exactly `issuer`, with its tenant, enabled or not. */
  trustsForIssuer(issuer: string): Promise<readonly RegisteredTrust[]>;
  getClient(clientId: string): Promise<Client | undefined>;
  getTenant(tenantId: string): Promise<Tenant | undefined>;
  /** Every upstream OIDC connection, enabled or not (home realm discovery looks through them all). */
  connections(): Promise<readonly Connection[]>;
}

/**
 * Where dynamically registered clients (RFC 7591) are written: apart from the operator's registrations, each living
 * until `expiresAt` (epoch seconds). Reading them back is the Registry's (`getClient`).
 */
export interface ClientRegistrations {
  /**
   * Stores a new client unless `maxClients` unexpired registrations exist at `now`: `full` then. The count and the
   * write are not atomic: concurrent registrations may overshoot the cap by at most their number.
   */
  register(
    client: Client,
    now: number,
    options: { readonly expiresAt: number; readonly maxClients: number },
  ): Promise<'registered' | 'full'>;
  /**
   * Moves a live registration's end on to `endsAt`: only later, never earlier, and never for one that has ended by
   * `now` (an ended registration stays ended). `unchanged` when any of these holds, or the client is not registered.
   */
  extend(clientId: string, endsAt: number, now: number): Promise<'extended' | 'unchanged'>;
}

/** An id that may be used once: an assertion's `jti` within its issuer, a client assertion's within its client. */
export interface SingleUse {
  readonly namespace: string;
  readonly id: string;
  /** Epoch seconds until which the record is kept: later than any moment the id could still be accepted. */
  readonly keepUntil: number;
}

/** What a successful record leaves its writer: the means to undo it when the request is refused after all. */
export interface RecordedUse {
  /** Removes this record, and only if it is still the one this writer wrote. Never throws. */
  release(): Promise<void>;
}

/** Single-use records for assertion ids. */
export interface ReplayStore {
  /**
   * Records the id atomically (a conditional write), judged at `now`: the epoch seconds on which the request was
   * accepted, so that acceptance and the record's lifetime are decided on one clock. Resolves a receipt when this
   * call recorded it, undefined when a record that is live at `now` already existed.
   */
  recordOnce(use: SingleUse, now: number): Promise<RecordedUse | undefined>;
}

/** Signs access tokens with a key the core never sees (KMS in AWS, a key file locally). */
export interface Signer {
  /** The key that signs now. */
  activeKey(): Promise<{ readonly kid: string; readonly alg: string }>;
  /** Signs the JWS signing input with the active key and returns the JOSE-form signature. */
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
  /** Public keys to publish: the active key and every key whose tokens may still be live. */
  publicKeys(): Promise<readonly JWK[]>;
}

/** Where a key set comes from: inline, by URI, or discovered from an issuer's metadata. */
export interface KeySource {
  readonly jwks?: JSONWebKeySet;
  readonly jwksUri?: string;
  /** Used for discovery when no `jwksUri` is registered. */
  readonly issuer?: string;
}

/** Turns a registered key source into a jose key getter (with caching, timeouts and refetch limits). */
export interface KeyResolver {
  keysFor(source: KeySource): JWTVerifyGetKey;
}

export interface Clock {
  /** Epoch seconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Math.floor(Date.now() / 1000) };

/**
 * A login in progress, from `/authorize` to `/callback`. Its secrets (the upstream PKCE verifier and nonce, the form's
 * CSRF token) are never stored: they derive from a key that only the browser's cookie yields (transaction.ts), so a
 * leaked record cannot complete a login. `id` is public: it is the upstream `state` and the forms' reference.
 */
export interface LoginTransaction {
  readonly id: string;
  /** SHA-256 of the transaction key: proves that a request comes from the browser that started the login. */
  readonly browserBinding: string;
  readonly clientId: string;
  readonly redirectUri: string;
  /** The client's `state`, returned unchanged. */
  readonly state?: string;
  /** The client's PKCE challenge (S256). */
  readonly codeChallenge: string;
  readonly resource: string;
  readonly scopes: readonly string[];
  /** The tenant whose connection the user signs in with, once home realm discovery has decided. */
  readonly tenantId?: string;
  /** The user approved this client (or it needs no approval). */
  readonly consented: boolean;
  /** Epoch seconds. */
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** What the user may now receive tokens for, as an authorization code carries it until it is redeemed. */
export interface AuthorizationCodeGrant {
  /** SHA-256 of the code, base64url: the code itself is never stored. */
  readonly codeHash: string;
  /** The grant this code starts: what a replay of the code revokes, with every refresh token of the grant. */
  readonly grantId: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly resource: string;
  readonly scopes: readonly string[];
  readonly tenantId: string;
  /** The upstream IdP's issuer and its subject for the user. */
  readonly idpIssuer: string;
  readonly idpSubject: string;
  readonly email?: string;
  readonly authTime?: number;
  readonly acr?: string;
  readonly amr?: readonly string[];
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** What redeeming a code found: the first redemption, a replay of a redeemed code, or nothing usable. */
export type CodeRedemption =
  | { readonly outcome: 'redeemed'; readonly grant: AuthorizationCodeGrant }
  | { readonly outcome: 'replayed'; readonly grant: AuthorizationCodeGrant };

/**
 * What a user let a client keep receiving, from one code redemption on: the refresh tokens that descend from that
 * code form one family, the grant, and revoking the grant stops them all.
 */
export interface UserGrant {
  readonly grantId: string;
  readonly clientId: string;
  readonly tenantId: string;
  readonly idpIssuer: string;
  readonly idpSubject: string;
  /** Our `sub` for the user (identity.ts): how operators find a user's grants. */
  readonly subject: string;
  readonly email?: string;
  readonly authTime?: number;
  readonly acr?: string;
  readonly amr?: readonly string[];
  readonly resource: string;
  /** What the user granted; a refresh may ask for less, never more. */
  readonly scopes: readonly string[];
  /** Epoch seconds. */
  readonly createdAt: number;
  /** Epoch seconds: the end of the absolute lifetime; no refresh token of the grant is used after it. */
  readonly expiresAt: number;
  /** Epoch seconds: when it was revoked (a reused refresh token, a replayed code, `/revoke`, an operator). */
  readonly revokedAt?: number;
}

/** One refresh token of a grant, as stored: never the token itself. */
export interface RefreshToken {
  /** SHA-256 of the token, base64url. */
  readonly tokenHash: string;
  readonly grantId: string;
  readonly clientId: string;
  /** Epoch seconds. */
  readonly issuedAt: number;
  /** Epoch seconds: the end of the idle lifetime, never after the grant's `expiresAt`. */
  readonly usableUntil: number;
  /** Epoch seconds until which the record is kept (the grant's `expiresAt`): a late reuse is still recognised. */
  readonly keepUntil: number;
  /** Epoch seconds: when it was used (and replaced by its successor). */
  readonly usedAt?: number;
}

/**
 * Login transactions, authorization codes, grants and their refresh tokens: records each changed by conditional writes
 * judged on the request's clock (no transactions).
 */
export interface GrantStore {
  createTransaction(transaction: LoginTransaction): Promise<void>;
  /** The transaction if it exists, is unused and has not expired at `now`. */
  getTransaction(id: string, now: number): Promise<LoginTransaction | undefined>;
  /** Records the browser's choices on a live, unused transaction; false when it is no longer live. */
  updateTransaction(
    id: string,
    changes: { readonly tenantId?: string; readonly consented?: boolean },
    now: number,
  ): Promise<boolean>;
  /** Uses the transaction, once: the one caller that uses it gets it; every other (and an expired one) undefined. */
  consumeTransaction(id: string, now: number): Promise<LoginTransaction | undefined>;
  createCode(grant: AuthorizationCodeGrant): Promise<void>;
  /**
   * Redeems a code at most once, judged at `now`: `redeemed` for the first caller while the code is live, `replayed`
   * for every later one (its grant must then be revoked), undefined for an unknown or expired code.
   */
  redeemCode(codeHash: string, now: number): Promise<CodeRedemption | undefined>;
  /**
   * Stores a new grant with its first refresh token. False when the grant id is already taken: a replay of its code
   * revoked it first, so nothing may be issued for it.
   */
  createGrant(grant: UserGrant, firstToken: RefreshToken): Promise<boolean>;
  /** The grant, revoked or not; undefined when unknown (or past the time its records are kept). */
  getGrant(grantId: string): Promise<UserGrant | undefined>;
  /** Stores the refresh token that replaces a used one. */
  addRefreshToken(token: RefreshToken): Promise<void>;
  /** The refresh token's record, used or not, or undefined. */
  findRefreshToken(tokenHash: string): Promise<RefreshToken | undefined>;
  /**
   * Uses a refresh token at most once: a conditional write judged at `now`, true for the one caller that used it
   * while it was unused, the client's, and before its `usableUntil`; false for every other.
   */
  useRefreshToken(tokenHash: string, clientId: string, now: number): Promise<boolean>;
  /**
   * Revokes a grant and so every refresh token of it: kept at least until `keepUntil`, epoch seconds. Revoking an
   * unknown grant (a code replayed before its first redemption stored the grant) records the revocation all the same.
   */
  revokeGrant(grantId: string, now: number, keepUntil: number): Promise<void>;
}

/** An upstream IdP's OpenID Connect metadata: what the interactive flow needs of it. */
export interface UpstreamMetadata {
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  /** Whether it says it sends `iss` in authorization responses (RFC 9207). */
  readonly issParameterSupported: boolean;
}

/** The upstream side of the interactive flow: OIDC discovery and the code exchange, over the safe fetch. */
export interface UpstreamIdp {
  /** Discovered from `<issuer>/.well-known/openid-configuration` (cached); `issuer` must match exactly. */
  metadata(issuer: string): Promise<UpstreamMetadata>;
  /**
   * Exchanges an upstream authorization code at the IdP's token endpoint and returns its ID token (unverified).
   * An IdP that cannot be reached or answers 5xx: `TemporarilyUnavailableError`; any other refusal: an `OAuthError`.
   */
  exchangeCode(request: {
    readonly tokenEndpoint: string;
    readonly clientId: string;
    readonly authMethod: UpstreamAuthMethod;
    readonly clientSecret?: string;
    readonly code: string;
    readonly redirectUri: string;
    readonly codeVerifier: string;
  }): Promise<{ readonly idToken: string }>;
}

/** Secrets referenced by the registry (upstream client secrets): Secrets Manager in AWS, files locally. */
export interface SecretSource {
  /** The secret a reference names; throws when it cannot be read (never logs or returns anything else). */
  secret(ref: string): Promise<string>;
}
