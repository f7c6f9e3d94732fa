import { generateKeyPairSync } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { KeyObjectSigner } from '../../lambda/adapters/key-object-signer';
import { resolveServerConfig, type ServerConfig } from '../../lambda/core/config';
import type { HttpRequest } from '../../lambda/core/http';
import {
  CLIENT_ASSERTION_TYPE_JWT_BEARER,
  type Client,
  DEFAULT_ASSERTION_ALGORITHMS,
  type IssuerTrust,
  JWT_BEARER_GRANT_TYPE,
} from '../../lambda/core/model';
import { hashClientSecret } from '../../lambda/core/secrets';
import { createTokenEndpoint } from '../../lambda/core/token-endpoint';
import { FixedClock, MemoryKeyResolver, MemoryRegistry, MemoryReplayStore } from './memory';
import { type IdpAlgorithm, TestIdp } from './test-idp';

export const ISSUER = 'https://auth.example.com';
export const MCP = 'https://mcp.example.com/mcp';
export const OTHER_MCP = 'https://other.example.com/mcp';
export const NOW = 1_800_000_000;

export const SECRET = 'a-very-long-random-client-secret-0123456789';
export const CLIENTS = {
  basic: 'claude',
  post: 'poster',
  jwt: 'keyed-client',
  public: 'public-client',
  limited: 'limited-client',
  noGrant: 'code-only-client',
} as const;

export function testConfig(overrides: Record<string, unknown> = {}): ServerConfig {
  return resolveServerConfig({
    issuer: ISSUER,
    resources: [
      { id: MCP, scopes: ['files:read', 'files:write', 'admin'], defaultScopes: ['files:read'] },
      { id: OTHER_MCP, scopes: ['other:read'] },
    ],
    defaultResource: MCP,
    ...overrides,
  });
}

export function trust(fields: Partial<IssuerTrust> & Pick<IssuerTrust, 'tenantId' | 'issuer'>): IssuerTrust {
  return {
    jwksUri: `${fields.issuer}/keys`,
    algorithms: [...DEFAULT_ASSERTION_ALGORITHMS],
    maxAssertionLifetimeSeconds: 300,
    enabled: true,
    ...fields,
  };
}

function client(fields: Partial<Client> & Pick<Client, 'clientId' | 'authMethod'>): Client {
  return {
    secrets: [{ hash: hashClientSecret(SECRET) }],
    grantTypes: [JWT_BEARER_GRANT_TYPE],
    tenants: ['*'],
    enabled: true,
    ...fields,
  };
}

export interface Fixture {
  readonly config: ServerConfig;
  readonly clock: FixedClock;
  readonly registry: MemoryRegistry;
  readonly replayStore: MemoryReplayStore;
  readonly keyResolver: MemoryKeyResolver;
  readonly signer: KeyObjectSigner;
  /** acme's IdP, trusted by tenant acme. */
  readonly idp: TestIdp;
  /** globex's IdP, trusted by tenant globex. */
  readonly otherIdp: TestIdp;
  readonly exchange: ReturnType<typeof createTokenEndpoint>;
  /** The private_key_jwt client's signing key. */
  readonly clientKey: CryptoKey;
  /** Registers one more tenant trust (for an issuer whose keys are already published). */
  addTrust(fields: Partial<IssuerTrust> & Pick<IssuerTrust, 'tenantId' | 'issuer'>): IssuerTrust;
  /** Adds an IdP trusted by a tenant and publishes its keys. */
  addIdp(options: {
    issuer: string;
    tenantId: string;
    alg?: IdpAlgorithm;
    trust?: Partial<IssuerTrust>;
  }): Promise<TestIdp>;
  /** A private_key_jwt client assertion of the keyed client; `header` adds to (or, with undefined, removes from) its header. */
  clientAssertion(claims?: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
}

export async function createFixture(options: { config?: ServerConfig } = {}): Promise<Fixture> {
  const config = options.config ?? testConfig();
  const clock = new FixedClock(NOW);
  const registry = new MemoryRegistry();
  const replayStore = new MemoryReplayStore();
  const keyResolver = new MemoryKeyResolver();
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = new KeyObjectSigner(privateKey, 'ES256');

  const addTrust: Fixture['addTrust'] = (fields) => {
    const registered = trust(fields);
    const tenant = registry.trusts.find((t) => t.tenant.id === fields.tenantId)?.tenant ?? {
      id: fields.tenantId,
      enabled: true,
    };
    registry.trusts.push({ trust: registered, tenant });
    return registered;
  };
  const addIdp: Fixture['addIdp'] = async ({ issuer, tenantId, alg, trust: extra }) => {
    const idp = await TestIdp.create({
      issuer,
      audience: ISSUER,
      clientId: CLIENTS.basic,
      alg,
      now: () => clock.now(),
    });
    const registered = addTrust({ tenantId, issuer, ...extra });
    keyResolver.sets.set(registered.jwksUri ?? `${issuer}/.well-known/jwks.json`, idp.jwks);
    return idp;
  };

  const idp = await addIdp({ issuer: 'https://acme.okta.example', tenantId: 'acme' });
  const otherIdp = await addIdp({ issuer: 'https://globex.idp.example', tenantId: 'globex' });

  const clientKeys = await generateKeyPair('ES256', { extractable: true });
  const clientJwk: JWK = { ...(await exportJWK(clientKeys.publicKey)), kid: 'client-key-1', alg: 'ES256' };
  for (const registered of [
    client({ clientId: CLIENTS.basic, authMethod: 'client_secret_basic' }),
    client({ clientId: CLIENTS.post, authMethod: 'client_secret_post' }),
    client({ clientId: CLIENTS.jwt, authMethod: 'private_key_jwt', secrets: [], jwks: { keys: [clientJwk] } }),
    client({ clientId: CLIENTS.public, authMethod: 'none', secrets: [] }),
    client({
      clientId: CLIENTS.limited,
      authMethod: 'client_secret_basic',
      tenants: ['globex'],
      scopes: ['files:read'],
    }),
    client({ clientId: CLIENTS.noGrant, authMethod: 'client_secret_basic', grantTypes: ['authorization_code'] }),
  ]) {
    registry.clients.set(registered.clientId, registered);
  }

  const exchange = createTokenEndpoint({ config, registry, replayStore, signer, keyResolver, clock });
  const clientAssertion = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) => {
    const now = clock.now();
    const base: Record<string, unknown> = {
      iss: CLIENTS.jwt,
      sub: CLIENTS.jwt,
      aud: ISSUER,
      jti: `client-jti-${Math.random()}`,
      iat: now,
      exp: now + 60,
    };
    for (const [key, value] of Object.entries(claims)) {
      if (value === undefined) delete base[key];
      else base[key] = value;
    }
    const protectedHeader = { alg: 'ES256', kid: 'client-key-1', ...header };
    return new SignJWT(base).setProtectedHeader(protectedHeader).sign(clientKeys.privateKey);
  };
  return {
    config,
    clock,
    registry,
    replayStore,
    keyResolver,
    signer,
    idp,
    otherIdp,
    exchange,
    clientKey: clientKeys.privateKey,
    addTrust,
    addIdp,
    clientAssertion,
  };
}

export function basic(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

export interface TokenRequestOptions {
  /** Form fields; arrays repeat the parameter. `grant_type` defaults to jwt-bearer. */
  readonly form?: Record<string, string | readonly string[] | undefined>;
  /** Authorization header; defaults to the basic client's. `null` sends none. */
  readonly authorization?: string | null;
  readonly headers?: Record<string, string>;
  readonly method?: string;
  readonly rawBody?: string;
  readonly base64?: boolean;
}

/** A token request that is valid unless the options change it. */
export function tokenRequest(assertion: string | undefined, options: TokenRequestOptions = {}): HttpRequest {
  const form = new URLSearchParams();
  const fields = { grant_type: JWT_BEARER_GRANT_TYPE, assertion, ...options.form };
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    for (const item of typeof value === 'string' ? [value] : value) form.append(name, item);
  }
  const body = options.rawBody ?? form.toString();
  const authorization = options.authorization === undefined ? basic(CLIENTS.basic, SECRET) : options.authorization;
  return {
    method: options.method ?? 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(authorization === null ? {} : { authorization }),
      ...options.headers,
    },
    body: options.base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: options.base64 ?? false,
  };
}

export { CLIENT_ASSERTION_TYPE_JWT_BEARER };
