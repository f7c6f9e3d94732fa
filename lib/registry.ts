import { parseRegistryConfig } from '../lambda/config/schema';
import { ConfigError } from '../lambda/core/config';

/** A tenant's trust in one identity provider (see docs/configuration-file.md). */
export interface IssuerRegistration {
  /** The IdP's `iss`, compared exactly. */
  readonly issuer: string;
  /**
   * Where the IdP's keys are.
   * @default - discovered from the issuer's OpenID or RFC 8414 metadata
   */
  readonly jwksUri?: string;
  /**
   * For a multi-tenant issuer: the `tenant` claim value this registration requires.
   * @default - none required
   */
  readonly tenantClaim?: string;
  /**
   * Allowed assertion algorithms (asymmetric only).
   * @default ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA']
   */
  readonly algorithms?: string[];
  /**
   * Longest `exp - iat` accepted, in seconds.
   * @default 300
   */
  readonly maxAssertionLifetimeSeconds?: number;
  /**
   * Whether the tenant trusts this issuer: a disabled issuer's assertions are refused.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * ISO 8601 time after which the trust ends.
   * @default - no end
   */
  readonly notAfter?: string;
}

/** Where a connection's client secret at its IdP is kept: never the secret itself. */
export interface ConnectionSecretReference {
  /**
   * The AWS Secrets Manager secret holding the client secret: its full ARN, or its name in the stack's account and
   * Region. (Local mode's `file` references have no place in a deployment.)
   */
  readonly secretsManager: string;
}

/**
 * A tenant's OpenID Connect IdP, where its users sign in during the interactive flow (see
 * docs/configuration-file.md). Register `<issuer>/callback` as the redirect URI of the client at the IdP.
 */
export interface ConnectionRegistration {
  /** The IdP's issuer identifier (https, no trailing slash). */
  readonly issuer: string;
  /** The server's client id at the IdP. */
  readonly clientId: string;
  /**
   * `client_secret_basic`, `client_secret_post` or `none`.
   * @default 'client_secret_basic'
   */
  readonly authMethod?: string;
  /**
   * Where the client secret is kept; required unless `authMethod` is `none`. See
   * `IdJagAuthorizationServer.secretReferences()`.
   * @default - none
   */
  readonly clientSecret?: ConnectionSecretReference;
  /**
   * Scopes asked of the IdP, `openid` among them.
   * @default ['openid', 'email', 'profile']
   */
  readonly scopes?: string[];
  /**
   * Email domains whose users sign in here; each domain belongs to one connection at most.
   * @default []
   */
  readonly domains?: string[];
  /**
   * Serve users whose email domain no connection claims; one connection at most.
   * @default false
   */
  readonly default?: boolean;
  /**
   * Whether the connection serves sign-ins: a disabled connection lets nobody sign in.
   * @default true
   */
  readonly enabled?: boolean;
}

/** One customer organisation, the IdPs it trusts, and the IdP its users sign in at. */
export interface TenantRegistration {
  /** The tenant's id: 1 to 63 lower-case letters, digits or hyphens, starting with a letter or digit; unique. */
  readonly id: string;
  /**
   * A name for the tenant, 1 to 200 characters.
   * @default - none
   */
  readonly displayName?: string;
  /**
   * Whether the tenant is served: a disabled tenant's issuers are not trusted, and its users cannot sign in.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * IdPs whose identity assertions (ID-JAGs) it trusts.
   * @default []
   */
  readonly issuers?: IssuerRegistration[];
  /**
   * Where its users sign in during the interactive flow.
   * @default - none: its users cannot sign in interactively
   */
  readonly connection?: ConnectionRegistration;
}

/** A client's own refresh token lifetimes, as the configuration file's `refreshTokens` states them. */
export interface ClientRefreshTokenLifetimes {
  /**
   * Seconds a refresh token may go unused.
   * @default - the deployment's
   */
  readonly idleSeconds?: number;
  /**
   * Seconds from sign-in after which no refresh token of the grant works.
   * @default - the deployment's
   */
  readonly absoluteSeconds?: number;
}

/** A pre-registered OAuth client, for example an MCP client. */
export interface ClientRegistration {
  /**
   * The OAuth `client_id`: 1 to 256 printable ASCII characters, no spaces, unique; an https URL names the client's
   * metadata document (CIMD, see docs/clients.md).
   */
  readonly clientId: string;
  /** `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none`. */
  readonly authMethod: string;
  /**
   * The hash of the client secret (`id-jag-admin hash-secret`); required for the secret methods, since a secret
   * generated during deployment could never be shown.
   * @default - none
   */
  readonly secretHash?: string;
  /**
   * The `private_key_jwt` client's public keys, by URI.
   * @default - none
   */
  readonly jwksUri?: string;
  /**
   * Scopes the client may receive.
   * @default - any scope of the resources
   */
  readonly scopes?: string[];
  /**
   * Tenants the client may be used with.
   * @default ['*'] (all)
   */
  readonly tenants?: string[];
  /**
   * Grants the client may use: `urn:ietf:params:oauth:grant-type:jwt-bearer`, `authorization_code`, `refresh_token`.
   * @default ['urn:ietf:params:oauth:grant-type:jwt-bearer']
   */
  readonly grantTypes?: string[];
  /**
   * Where the `authorization_code` grant may send the browser back (required with that grant, refused without it):
   * https, http on a loopback host, or a native app's private-use scheme.
   * @default - none
   */
  readonly redirectUris?: string[];
  /**
   * Operated by you: the interactive flow shows it no consent page.
   * @default false
   */
  readonly firstParty?: boolean;
  /**
   * This client's own refresh token lifetimes, in seconds (only with the `refresh_token` grant): each from 300 to
   * 31,536,000, idle at most absolute; either one left out follows the deployment's
   * (`interactive.refreshTokenIdleLifetime`, `interactive.refreshTokenAbsoluteLifetime`).
   * @default - the deployment's
   */
  readonly refreshTokens?: ClientRefreshTokenLifetimes;
  /**
   * Whether the client is served: a disabled client gets no tokens.
   * @default true
   */
  readonly enabled?: boolean;
}

/**
 * Registrations kept in code, written to the table when the stack is created and whenever they (or `pruneRegistry`)
 * change; see the `registry` prop for what a run restores.
 */
export interface RegistrySeed {
  /**
   * The tenants, each with its trusted issuers and sign-in connection.
   * @default []
   */
  readonly tenants?: TenantRegistration[];
  /**
   * The pre-registered clients.
   * @default []
   */
  readonly clients?: ClientRegistration[];
}

/**
 * The Secrets Manager secrets (ARN or name, as declared) that the seed's connections keep their client secrets in,
 * each once, in declaration order.
 */
export function seedSecretReferences(seed: RegistrySeed): string[] {
  const references = (seed.tenants ?? []).flatMap((tenant) => {
    const secretId = tenant.connection?.clientSecret?.secretsManager;
    return secretId === undefined ? [] : [secretId];
  });
  return [...new Set(references)];
}

/** Validates the seed with the same schema as `id-jag-admin apply`, at synth time, and returns it as stored JSON. */
export function seedDocument(seed: RegistrySeed, resources: unknown): string {
  const document = { resources, tenants: seed.tenants ?? [], clients: seed.clients ?? [] };
  try {
    const config = parseRegistryConfig(document, { source: 'registry' });
    const secretless = config.clients.filter(
      (client) => client.authMethod.startsWith('client_secret_') && client.secretHash === undefined,
    );
    if (secretless.length > 0) {
      throw new ConfigError('registry', [
        `clients ${secretless.map((client) => client.clientId).join(', ')}: a seeded secret client needs secretHash ` +
          '(id-jag-admin hash-secret --generate prints a secret and its hash)',
      ]);
    }
  } catch (error) {
    if (error instanceof ConfigError) throw new Error(error.message);
    throw error;
  }
  return JSON.stringify({ tenants: document.tenants, clients: document.clients });
}
