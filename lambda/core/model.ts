import type { JSONWebKeySet } from 'jose';
import type { RefreshTokenLifetimes } from './config';

export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const AUTHORIZATION_CODE_GRANT_TYPE = 'authorization_code';
export const REFRESH_TOKEN_GRANT_TYPE = 'refresh_token';
/**
 * The interactive flow's grants: all that a client which registered itself (DCR) or is known only by its metadata
 * document (CIMD) may use; never jwt-bearer.
 */
export const INTERACTIVE_GRANT_TYPES: readonly string[] = [AUTHORIZATION_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE];
export const ID_JAG_PROFILE = 'urn:ietf:params:oauth:grant-profile:id-jag';
export const CLIENT_ASSERTION_TYPE_JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Asymmetric JWS algorithms we can verify. `none` and every `HS*` are deliberately absent. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** Accepted for identity assertions and client assertions unless a registration narrows it. */
export const DEFAULT_ASSERTION_ALGORITHMS: readonly AsymmetricAlgorithm[] = [
  'RS256',
  'PS256',
  'ES256',
  'ES384',
  'EdDSA',
];
export const DEFAULT_MAX_ASSERTION_LIFETIME_SECONDS = 300;

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/** A protected resource (an MCP server) this authorization server issues tokens for. */
export interface Resource {
  /** The resource identifier (RFC 8707): an absolute URI, compared exactly. */
  readonly id: string;
  /** Scopes the resource understands. */
  readonly scopes: readonly string[];
  /** Scopes granted when neither the request nor the assertion names any. Defaults to all `scopes`. */
  readonly defaultScopes?: readonly string[];
}

/** One customer organisation. */
export interface Tenant {
  readonly id: string;
  readonly enabled: boolean;
  readonly displayName?: string;
}

/** A tenant's trust in one identity provider: assertions from `issuer` may be exchanged for that tenant. */
export interface IssuerTrust {
  readonly tenantId: string;
  /** The `iss` value, compared exactly (no normalisation). */
  readonly issuer: string;
  /** Where the issuer's keys are. When absent they are discovered from the issuer's metadata. */
  readonly jwksUri?: string;
  /** For multi-tenant issuers: the `tenant` claim value this registration requires. */
  readonly tenantClaim?: string;
  readonly algorithms: readonly AsymmetricAlgorithm[];
  readonly maxAssertionLifetimeSeconds: number;
  readonly enabled: boolean;
  /** Epoch seconds after which the trust no longer holds. */
  readonly notAfter?: number;
}

/** A registered trust together with its tenant, as the registry returns it. */
export interface RegisteredTrust {
  readonly trust: IssuerTrust;
  readonly tenant: Tenant;
}

export interface StoredSecret {
  /** A salted hash (see secrets.ts); the secret itself is never stored. */
  readonly hash: string;
  /** Epoch seconds after which this secret no longer authenticates (set on the old secret during rotation). */
  readonly notAfter?: number;
}

/** A pre-registered OAuth client (for example an MCP client such as Claude). */
export interface Client {
  readonly clientId: string;
  readonly authMethod: ClientAuthMethod;
  readonly secrets: readonly StoredSecret[];
  /** For private_key_jwt: the client's public keys, inline or by URI. */
  readonly jwks?: JSONWebKeySet;
  readonly jwksUri?: string;
  readonly grantTypes: readonly string[];
  /** Scopes the client may receive. Absent: any scope a resource supports. */
  readonly scopes?: readonly string[];
  /** Tenants the client may be used with; `['*']` for all. */
  readonly tenants: readonly string[];
  readonly enabled: boolean;
  /**
   * Where the authorization code flow may send the browser back, compared exactly; for a loopback `http` URI
   * (`127.0.0.1`, `[::1]`, `localhost`) of a native client the port may vary (RFC 8252 §7.3).
   */
  readonly redirectUris?: readonly string[];
  /** Operated by the deployment itself: the interactive flow shows it no consent page. */
  readonly firstParty?: boolean;
  /** This client's own refresh token lifetimes, in place of the deployment's (either or both). */
  readonly refreshTokens?: Partial<RefreshTokenLifetimes>;
  /** A client known by its metadata document (CIMD): what it says about itself, for the consent page. */
  readonly display?: ClientDisplay;
  /**
   * A dynamically registered client's end (epoch seconds), unless it is used before then: each token it obtains moves
   * the end on (clients/registration-lifetime.ts). Absent for every other client.
   */
  readonly registrationEndsAt?: number;
}

/** What a CIMD or dynamically registered client says about itself for people to read: untrusted, its own claim. */
export interface ClientDisplay {
  /**
   * A CIMD client's `client_id` URL host: the one thing about the client that is verified (the document came from it).
   * Absent for a dynamically registered client, which has nothing verified to show.
   */
  readonly host?: string;
  readonly name?: string;
  readonly uri?: string;
  readonly logoUri?: string;
}

/** How our server authenticates to an upstream IdP's token endpoint. */
export const UPSTREAM_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
export type UpstreamAuthMethod = (typeof UPSTREAM_AUTH_METHODS)[number];

/** Scopes asked of an upstream IdP unless a connection says otherwise. */
export const DEFAULT_UPSTREAM_SCOPES: readonly string[] = ['openid', 'email', 'profile'];

/**
 * A tenant's OpenID Connect IdP, where its users sign in during the interactive flow (we are its client). At most
 * one per tenant; one connection may be the default, for users whose email domain no tenant claims.
 */
export interface Connection {
  readonly tenantId: string;
  /** The IdP's issuer identifier: discovery at `<issuer>/.well-known/openid-configuration`, ID tokens' `iss`. */
  readonly issuer: string;
  /** Our client id at the IdP. */
  readonly clientId: string;
  readonly authMethod: UpstreamAuthMethod;
  /**
   * Where our client secret at the IdP is kept (never the secret itself): an AWS Secrets Manager ARN or name in AWS,
   * a file name under the data directory in local mode. Absent for `none`.
   */
  readonly clientSecretRef?: string;
  /** Scopes asked of the IdP; `openid` always among them. */
  readonly scopes: readonly string[];
  /** Email domains (lower case) whose users sign in here: home realm discovery by `login_hint` or the email page. */
  readonly domains: readonly string[];
  /** Serves users whose email domain no connection claims. */
  readonly isDefault: boolean;
  readonly enabled: boolean;
}

/**
 * Where a connection's client secret is kept, as `Connection.clientSecretRef` stores it: never the secret itself.
 * - `secretsmanager:<arn-or-name>`: an AWS Secrets Manager secret (its full ARN, or its name in the deployment's
 *   account and Region), read by the browser-facing function in AWS;
 * - `file:<name>`: a file of that name in the local server's data directory (local mode only).
 */
export type SecretRef =
  | { readonly kind: 'secretsmanager'; readonly secretId: string }
  | { readonly kind: 'file'; readonly name: string };

/** A Secrets Manager secret ARN, in any partition. */
const SECRETS_MANAGER_ARN =
  /^arn:aws(-[a-z]+)*:secretsmanager:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$/;
/** A Secrets Manager secret name: 1-512 of the characters Secrets Manager allows. */
const SECRETS_MANAGER_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
/** A plain file name: no directory part, no leading dot (so neither `.` nor `..`, nor a hidden file). */
const SECRET_FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;

export function isSecretsManagerId(value: string): boolean {
  return SECRETS_MANAGER_ARN.test(value) || SECRETS_MANAGER_NAME.test(value);
}

export function isSecretFileName(value: string): boolean {
  return SECRET_FILE_NAME.test(value);
}

export function formatSecretRef(ref: SecretRef): string {
  return ref.kind === 'secretsmanager' ? `secretsmanager:${ref.secretId}` : `file:${ref.name}`;
}

/** The reference a stored `clientSecretRef` names, or undefined when it is not one we can resolve. */
export function parseSecretRef(value: string): SecretRef | undefined {
  const colon = value.indexOf(':');
  const scheme = value.slice(0, colon);
  const rest = value.slice(colon + 1);
  if (colon > 0 && scheme === 'secretsmanager' && isSecretsManagerId(rest)) return { kind: scheme, secretId: rest };
  if (colon > 0 && scheme === 'file' && isSecretFileName(rest)) return { kind: scheme, name: rest };
  return undefined;
}

/** Whether a connection with this method authenticates to its IdP with a client secret. */
export function upstreamUsesSecret(method: UpstreamAuthMethod): boolean {
  return method !== 'none';
}

/**
 * An email domain a connection claims, as stored and compared: lower case, ASCII (an internationalised domain in its
 * `xn--` form), at least two labels of letters, digits and inner hyphens, the last starting with a letter (so no IP
 * address), at most 253 characters, no trailing dot.
 */
const EMAIL_DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isEmailDomain(value: string): boolean {
  return EMAIL_DOMAIN.test(value);
}

export const ALL_TENANTS = '*';

/**
 * The prefix of every client id issued by Dynamic Client Registration (RFC 7591), followed by 43 base64url characters
 * (256 random bits). Reserved: the registry refuses an operator's client id that starts with it, so a registered
 * client and a dynamically registered one can never share an id.
 */
export const DYNAMIC_CLIENT_ID_PREFIX = 'dcr_';
const DYNAMIC_CLIENT_ID = /^dcr_[A-Za-z0-9_-]{43}$/;

/** True for a client id that Dynamic Client Registration could have issued. */
export function isDynamicClientId(clientId: string): boolean {
  return DYNAMIC_CLIENT_ID.test(clientId);
}

/** Whether a client may be used for a tenant's users. */
export function clientServesTenant(client: Client, tenantId: string): boolean {
  return client.tenants.includes(ALL_TENANTS) || client.tenants.includes(tenantId);
}

/**
 * Bounds for identifiers that become DynamoDB key attributes, in UTF-8 bytes. An issuer is part of a partition key
 * (at most 2,048 bytes) and, after a tenant id of at most 63 bytes and a separator, of an index sort key (at most
 * 1,024 bytes).
 */
export const MAX_ISSUER_BYTES = 900;
export const MAX_CLIENT_ID_BYTES = 256;
export const MAX_TENANT_ID_BYTES = 63;

/**
 * True for a non-empty, well-formed Unicode string of at most `maxBytes` UTF-8 bytes: what may be used as (part of)
 * a key. A lone surrogate has no UTF-8 form, so DynamoDB would refuse it (a 500 from unauthenticated input).
 */
export function isStorableIdentifier(value: string, maxBytes: number): boolean {
  return value.length > 0 && value.length <= maxBytes && value.isWellFormed() && Buffer.byteLength(value) <= maxBytes;
}
