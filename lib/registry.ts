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
  /** @default true */
  readonly enabled?: boolean;
  /**
   * ISO 8601 time after which the trust ends.
   * @default - no end
   */
  readonly notAfter?: string;
}

/** One customer organisation and the IdPs it trusts. */
export interface TenantRegistration {
  readonly id: string;
  /** @default - none */
  readonly displayName?: string;
  /** @default true */
  readonly enabled?: boolean;
  readonly issuers: IssuerRegistration[];
}

/** A pre-registered OAuth client, for example an MCP client. */
export interface ClientRegistration {
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
  /** @default true */
  readonly enabled?: boolean;
}

/**
 * Registrations kept in code, written to the table when the stack is created and whenever they (or `pruneRegistry`)
 * change; see the `registry` prop for what a run restores.
 */
export interface RegistrySeed {
  /** @default [] */
  readonly tenants?: TenantRegistration[];
  /** @default [] */
  readonly clients?: ClientRegistration[];
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
