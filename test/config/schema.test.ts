import {
  clientConfigOf,
  connectionConfigOf,
  issuerConfigOf,
  type ParseOptions,
  parseRegistryConfig,
  parseRegistryConfigText,
  tenantConfigOf,
  toClient,
  toConnection,
  toConnections,
  toIssuerTrust,
  toIssuerTrusts,
  toTenant,
} from '../../lambda/config/schema';
import { ConfigError } from '../../lambda/core/config';
import {
  AUTHORIZATION_CODE_GRANT_TYPE,
  DEFAULT_ASSERTION_ALGORITHMS,
  JWT_BEARER_GRANT_TYPE,
  parseSecretRef,
  REFRESH_TOKEN_GRANT_TYPE,
} from '../../lambda/core/model';
import { hashClientSecret } from '../../lambda/core/secrets';

const HASH = hashClientSecret('s'.repeat(43));
const OKTA = 'https://acme.okta.com';
const EC_KEY = { kty: 'EC', crv: 'P-256', x: 'eA', y: 'eQ' };
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-oidc-AbCdEf';

/** A configuration document being edited by a test: any path may be changed. */
// biome-ignore lint/suspicious/noExplicitAny: tests break documents in arbitrary places.
type Draft = Record<string, any>;

/** A valid file that each case below breaks in exactly one place. */
function validFile(): Draft {
  return {
    resources: [
      { id: 'https://mcp.example.com/mcp', scopes: ['files:read', 'files:write'], defaultScopes: ['files:read'] },
    ],
    defaultResource: 'https://mcp.example.com/mcp',
    tenants: [
      {
        id: 'acme',
        displayName: 'Acme',
        issuers: [
          { issuer: OKTA, jwksUri: `${OKTA}/oauth2/v1/keys`, algorithms: ['RS256'], notAfter: '2027-01-01T00:00:00Z' },
        ],
        connection: {
          issuer: OKTA,
          clientId: '0oa1b2c3d4',
          clientSecret: { secretsManager: SECRET_ARN },
          domains: ['acme.com', 'acme.co.uk'],
        },
      },
      {
        id: 'globex',
        issuers: [],
        connection: {
          issuer: 'https://login.globex.example',
          clientId: 'globex-mcp',
          authMethod: 'client_secret_post',
          clientSecret: { secretsManager: 'globex/oidc-client' },
          scopes: ['openid', 'email'],
          domains: ['globex.example'],
          default: true,
        },
      },
    ],
    clients: [
      { clientId: 'claude', authMethod: 'client_secret_basic', secretHash: HASH, scopes: ['files:read'] },
      { clientId: 'keyed', authMethod: 'private_key_jwt', jwks: { keys: [{ ...EC_KEY }] }, tenants: ['acme'] },
      { clientId: 'public', authMethod: 'none' },
      {
        clientId: 'inspector',
        authMethod: 'none',
        grantTypes: [AUTHORIZATION_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE],
        redirectUris: ['http://127.0.0.1/callback', 'https://inspector.example.com/oauth/callback'],
        firstParty: true,
      },
    ],
  };
}

function problemsOf(input: unknown, options: ParseOptions = {}): string[] {
  try {
    parseRegistryConfig(input, options);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

function broken(change: (file: Draft) => void): Draft {
  const file = validFile();
  change(file);
  return file;
}

describe('registry configuration schema', () => {
  it('accepts the valid file and fills in the defaults', () => {
    const config = parseRegistryConfig(validFile());
    expect(config.tenants[0]?.enabled).toBe(true);
    expect(config.tenants[1]?.issuers).toEqual([]);
    expect(config.clients[0]).toMatchObject({
      tenants: ['*'],
      grantTypes: [JWT_BEARER_GRANT_TYPE],
      enabled: true,
      firstParty: false,
    });
    expect(config.clients[0]).not.toHaveProperty('redirectUris');
    expect(config.tenants[0]?.connection).toEqual({
      issuer: OKTA,
      clientId: '0oa1b2c3d4',
      authMethod: 'client_secret_basic',
      clientSecret: { secretsManager: SECRET_ARN },
      scopes: ['openid', 'email', 'profile'],
      domains: ['acme.com', 'acme.co.uk'],
      default: false,
      enabled: true,
    });
    const defaults = parseRegistryConfig({ tenants: [{ id: 'a', issuers: [{ issuer: OKTA }] }] });
    expect(defaults.tenants[0]?.issuers[0]).toEqual({
      issuer: OKTA,
      algorithms: [...DEFAULT_ASSERTION_ALGORITHMS],
      maxAssertionLifetimeSeconds: 300,
      enabled: true,
    });
    expect(parseRegistryConfig({})).toEqual({ tenants: [], clients: [] });
  });

  it('converts to the core model: notAfter in epoch seconds, the secret hash as a stored secret', () => {
    const config = parseRegistryConfig(validFile());
    expect(toTenant(config.tenants[0]!)).toEqual({ id: 'acme', displayName: 'Acme', enabled: true });
    const trust = toIssuerTrust('acme', config.tenants[0]!.issuers[0]!);
    expect(trust).toEqual({
      tenantId: 'acme',
      issuer: OKTA,
      jwksUri: `${OKTA}/oauth2/v1/keys`,
      algorithms: ['RS256'],
      maxAssertionLifetimeSeconds: 300,
      enabled: true,
      notAfter: Date.UTC(2027, 0, 1) / 1000,
    });
    expect(issuerConfigOf(trust)).toEqual(config.tenants[0]!.issuers[0]);
    const claude = toClient(config.clients[0]!);
    expect(claude.secrets).toEqual([{ hash: HASH }]);
    expect(toClient(config.clients[2]!).secrets).toEqual([]);
    const { secretHash: _, ...withoutSecret } = config.clients[0]!;
    expect(clientConfigOf(claude)).toEqual(withoutSecret);
  });

  it('converts a connection to the core model, its secret as a reference, and back', () => {
    const config = parseRegistryConfig(validFile());
    const acme = toConnection('acme', config.tenants[0]!.connection!);
    expect(acme).toEqual({
      tenantId: 'acme',
      issuer: OKTA,
      clientId: '0oa1b2c3d4',
      authMethod: 'client_secret_basic',
      clientSecretRef: `secretsmanager:${SECRET_ARN}`,
      scopes: ['openid', 'email', 'profile'],
      domains: ['acme.com', 'acme.co.uk'],
      isDefault: false,
      enabled: true,
    });
    expect(parseSecretRef(acme.clientSecretRef!)).toEqual({ kind: 'secretsmanager', secretId: SECRET_ARN });
    expect(connectionConfigOf(acme)).toEqual(config.tenants[0]!.connection);
    const globex = toConnections(config.tenants[1]!);
    expect(globex).toEqual([
      expect.objectContaining({ clientSecretRef: 'secretsmanager:globex/oidc-client', isDefault: true }),
    ]);
    const tenant = config.tenants[0]!;
    expect(tenantConfigOf(toTenant(tenant), toIssuerTrusts(tenant), [acme])).toEqual(tenant);
  });

  it('stores a local file reference as file:<name>, and a public connection with no secret', () => {
    const local = parseRegistryConfig(
      broken((f) => {
        f.tenants[0].connection.clientSecret = { file: 'acme-oidc-secret' };
        f.tenants[1].connection.authMethod = 'none';
        delete f.tenants[1].connection.clientSecret;
      }),
      { allowHttpLoopback: true },
    );
    const acme = toConnection('acme', local.tenants[0]!.connection!);
    expect(acme.clientSecretRef).toBe('file:acme-oidc-secret');
    expect(connectionConfigOf(acme).clientSecret).toEqual({ file: 'acme-oidc-secret' });
    expect(toConnection('globex', local.tenants[1]!.connection!)).not.toHaveProperty('clientSecretRef');
  });

  it('lower-cases connection domains', () => {
    const config = parseRegistryConfig(broken((f) => (f.tenants[0].connection.domains = ['ACME.com', 'Acme.Co.UK'])));
    expect(config.tenants[0]?.connection?.domains).toEqual(['acme.com', 'acme.co.uk']);
  });

  it('converts an interactive client with its redirect URIs and first-party flag, and back', () => {
    const config = parseRegistryConfig(validFile());
    const inspector = toClient(config.clients[3]!);
    expect(inspector).toEqual({
      clientId: 'inspector',
      authMethod: 'none',
      secrets: [],
      grantTypes: [AUTHORIZATION_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE],
      tenants: ['*'],
      enabled: true,
      redirectUris: ['http://127.0.0.1/callback', 'https://inspector.example.com/oauth/callback'],
      firstParty: true,
    });
    expect(clientConfigOf(inspector)).toEqual(config.clients[3]);
    // A client that is not first-party stores no flag, so that clients registered before it read back unchanged.
    expect(toClient(config.clients[2]!)).not.toHaveProperty('firstParty');
  });

  it('registers a CIMD client under its URL without redirect URIs or keys (its document has them)', () => {
    const url = 'https://claude.example/oauth/client-metadata.json';
    const listed = parseRegistryConfig(
      broken((f) => {
        f.clients[3] = {
          clientId: url,
          authMethod: 'private_key_jwt',
          grantTypes: [JWT_BEARER_GRANT_TYPE, AUTHORIZATION_CODE_GRANT_TYPE],
          tenants: ['acme'],
        };
      }),
    ).clients[3]!;
    expect(toClient(listed)).toMatchObject({ clientId: url, authMethod: 'private_key_jwt', tenants: ['acme'] });
    expect(() =>
      parseRegistryConfig(
        broken((f) => {
          f.clients[3] = {
            clientId: url,
            authMethod: 'none',
            grantTypes: [AUTHORIZATION_CODE_GRANT_TYPE],
            redirectUris: ['https://claude.example/cb'],
          };
        }),
      ),
    ).toThrow(/takes its redirect URIs from the document/);
    // A client id that is no metadata document URL still needs both.
    expect(() =>
      parseRegistryConfig(
        broken((f) => {
          f.clients[3] = { clientId: 'plain', authMethod: 'private_key_jwt', grantTypes: [JWT_BEARER_GRANT_TYPE] };
        }),
      ),
    ).toThrow(/private_key_jwt needs the client public keys/);
  });

  it("converts a client's own refresh token lifetimes, either or both, and back", () => {
    const both = parseRegistryConfig(
      broken((f) => (f.clients[3].refreshTokens = { idleSeconds: 3600, absoluteSeconds: 3600 })),
    ).clients[3]!;
    expect(toClient(both).refreshTokens).toEqual({ idleSeconds: 3600, absoluteSeconds: 3600 });
    expect(clientConfigOf(toClient(both))).toEqual(both);
    const idleOnly = parseRegistryConfig(broken((f) => (f.clients[3].refreshTokens = { idleSeconds: 86400 })))
      .clients[3]!;
    expect(toClient(idleOnly).refreshTokens).toEqual({ idleSeconds: 86400 });
    expect(clientConfigOf(toClient(idleOnly))).toEqual(idleOnly);
    // Without the field the deployment's lifetimes apply, and nothing is stored.
    expect(toClient(parseRegistryConfig(validFile()).clients[3]!)).not.toHaveProperty('refreshTokens');
  });

  it.each([
    ['an http loopback IP', 'http://127.0.0.1/callback'],
    ['an http loopback IP with a port', 'http://127.0.0.1:33418/callback'],
    ['an http IPv6 loopback', 'http://[::1]/callback'],
    ['http localhost', 'http://localhost:6274/oauth/callback'],
    ['https with a query', 'https://app.example.com/cb?x=1'],
    ['a reverse-domain private-use scheme (RFC 8252 7.1)', 'com.example.app:/oauth2redirect'],
    ['an app scheme with an authority', 'cursor://anysphere.cursor-mcp/oauth/callback'],
  ])('accepts a redirect URI: %s', (_, uri) => {
    const file = broken((f) => (f.clients[3].redirectUris = [uri]));
    expect(parseRegistryConfig(file).clients[3]?.redirectUris).toEqual([uri]);
  });

  it.each<[string, (file: Draft) => void, string]>([
    // structure
    ['an unknown top-level field', (f) => (f.tenant = []), 'tenant: is not a known field'],
    [
      'a misspelt field',
      (f) => (f.tenants[0].issuers[0].jwks_uri = OKTA),
      'tenants.0.issuers.0.jwks_uri: is not a known field',
    ],
    ['a missing tenant id', (f) => delete f.tenants[0].id, 'tenants.0.id: is required'],
    ['tenants that are not a list', (f) => (f.tenants = {}), 'tenants: must be a list'],
    // tenants
    ['an upper-case tenant id', (f) => (f.tenants[1].id = 'Globex'), 'tenants.1.id: must be 1-63 lowercase'],
    ['a tenant id starting with a hyphen', (f) => (f.tenants[1].id = '-globex'), 'tenants.1.id: must be 1-63'],
    ['a 64-character tenant id', (f) => (f.tenants[1].id = 'a'.repeat(64)), 'tenants.1.id: must be 1-63'],
    ['an empty display name', (f) => (f.tenants[0].displayName = ''), 'tenants.0.displayName: must not be empty'],
    ['enabled as a string', (f) => (f.tenants[0].enabled = 'yes'), 'tenants.0.enabled: must be true or false'],
    [
      'a duplicate tenant id',
      (f) => (f.tenants[1].id = 'acme'),
      'tenants.1.id: tenant acme is declared more than once',
    ],
    // issuers
    [
      'an http issuer',
      (f) => (f.tenants[0].issuers[0].issuer = 'http://acme.okta.com'),
      'tenants.0.issuers.0.issuer: must use https',
    ],
    [
      'a relative issuer',
      (f) => (f.tenants[0].issuers[0].issuer = 'acme.okta.com'),
      'tenants.0.issuers.0.issuer: must be an absolute URL',
    ],
    [
      'an issuer with a trailing slash',
      (f) => (f.tenants[0].issuers[0].issuer = `${OKTA}/`),
      'tenants.0.issuers.0.issuer: must not end with a slash',
    ],
    [
      'an issuer with a query',
      (f) => (f.tenants[0].issuers[0].issuer = `${OKTA}?x=1`),
      'tenants.0.issuers.0.issuer: must not have a query',
    ],
    [
      'an issuer with a fragment',
      (f) => (f.tenants[0].issuers[0].issuer = `${OKTA}#x`),
      'tenants.0.issuers.0.issuer: must not have a fragment',
    ],
    [
      'an overlong issuer',
      (f) => (f.tenants[0].issuers[0].issuer = `${OKTA}/${'a'.repeat(1000)}`),
      'tenants.0.issuers.0.issuer: must be at most 900 bytes',
    ],
    [
      'an issuer within 900 characters but over 900 bytes in UTF-8 (the index key holds tenant and issuer)',
      (f) => (f.tenants[0].issuers[0].issuer = `${OKTA}/${'é'.repeat(440)}`),
      'tenants.0.issuers.0.issuer: must be at most 900 bytes',
    ],
    [
      'an issuer with a lone surrogate',
      (f) => (f.tenants[0].issuers[0].issuer = `${OKTA}/\ud800`),
      'tenants.0.issuers.0.issuer: must be at most 900 bytes of well-formed text',
    ],
    [
      'an http jwksUri',
      (f) => (f.tenants[0].issuers[0].jwksUri = 'http://acme.okta.com/keys'),
      'tenants.0.issuers.0.jwksUri: must use https',
    ],
    [
      'a jwksUri with credentials',
      (f) => (f.tenants[0].issuers[0].jwksUri = 'https://u:p@acme.okta.com/k'),
      'tenants.0.issuers.0.jwksUri: must not carry credentials',
    ],
    [
      'HS256',
      (f) => (f.tenants[0].issuers[0].algorithms = ['RS256', 'HS256']),
      'tenants.0.issuers.0.algorithms.1: HS256 is not allowed: only asymmetric',
    ],
    [
      'alg none',
      (f) => (f.tenants[0].issuers[0].algorithms = ['none']),
      'tenants.0.issuers.0.algorithms.0: none is not allowed',
    ],
    [
      'no algorithms',
      (f) => (f.tenants[0].issuers[0].algorithms = []),
      'tenants.0.issuers.0.algorithms: must name at least one',
    ],
    [
      'a repeated algorithm',
      (f) => (f.tenants[0].issuers[0].algorithms = ['RS256', 'RS256']),
      'tenants.0.issuers.0.algorithms: algorithms must not repeat',
    ],
    [
      'a zero lifetime',
      (f) => (f.tenants[0].issuers[0].maxAssertionLifetimeSeconds = 0),
      'tenants.0.issuers.0.maxAssertionLifetimeSeconds: must be at least 1',
    ],
    [
      'a lifetime over an hour',
      (f) => (f.tenants[0].issuers[0].maxAssertionLifetimeSeconds = 3601),
      'maxAssertionLifetimeSeconds: must be at most 3600',
    ],
    [
      'a fractional lifetime',
      (f) => (f.tenants[0].issuers[0].maxAssertionLifetimeSeconds = 1.5),
      'maxAssertionLifetimeSeconds: must be a whole number',
    ],
    [
      'a lifetime as text',
      (f) => (f.tenants[0].issuers[0].maxAssertionLifetimeSeconds = '300'),
      'maxAssertionLifetimeSeconds: must be a number',
    ],
    [
      'notAfter without a time zone',
      (f) => (f.tenants[0].issuers[0].notAfter = '2027-01-01T00:00:00'),
      'tenants.0.issuers.0.notAfter: must be an ISO 8601 date-time with a time zone',
    ],
    [
      'notAfter that is not a date',
      (f) => (f.tenants[0].issuers[0].notAfter = '2027-13-45T00:00:00Z'),
      'tenants.0.issuers.0.notAfter: must be an ISO 8601',
    ],
    [
      'an empty tenantClaim',
      (f) => (f.tenants[0].issuers[0].tenantClaim = ''),
      'tenants.0.issuers.0.tenantClaim: must not be empty',
    ],
    [
      'an issuer twice in one tenant',
      (f) => f.tenants[0].issuers.push({ issuer: OKTA }),
      'tenants.0.issuers.1.issuer: tenant acme trusts issuer https://acme.okta.com is declared more than once',
    ],
    [
      'one issuer for two tenants without tenantClaim',
      (f) => f.tenants[1].issuers.push({ issuer: OKTA }),
      'issuer https://acme.okta.com is trusted by tenants acme, globex: each of them must require a different',
    ],
    [
      'one issuer for two tenants with the same tenantClaim',
      (f) => {
        f.tenants[0].issuers[0].tenantClaim = 'x';
        f.tenants[1].issuers.push({ issuer: OKTA, tenantClaim: 'x' });
      },
      'must require a different tenantClaim',
    ],
    // clients
    [
      'a client id with the prefix of dynamically registered clients',
      (f) => (f.clients[0].clientId = 'dcr_mine'),
      'clients.0.clientId: must not start with dcr_',
    ],
    [
      'a client id with a space',
      (f) => (f.clients[0].clientId = 'my client'),
      'clients.0.clientId: must be 1-256 printable ASCII',
    ],
    [
      'an unknown auth method',
      (f) => (f.clients[0].authMethod = 'client_secret_jwt'),
      'clients.0.authMethod: must be one of client_secret_basic',
    ],
    [
      'a duplicate client id',
      (f) => (f.clients[1].clientId = 'claude'),
      'clients.1.clientId: client claude is declared more than once',
    ],
    [
      'a secretHash that is not a hash',
      (f) => (f.clients[0].secretHash = 'hunter2'),
      'clients.0.secretHash: must be a hash made by `id-jag-admin hash-secret`',
    ],
    [
      'private_key_jwt without keys',
      (f) => delete f.clients[1].jwks,
      'clients.1.jwks: private_key_jwt needs the client public keys',
    ],
    [
      'both jwks and jwksUri',
      (f) => (f.clients[1].jwksUri = 'https://keyed.example/jwks'),
      'clients.1.jwksUri: give jwks or jwksUri, not both',
    ],
    [
      'private_key_jwt with a secretHash',
      (f) => (f.clients[1].secretHash = HASH),
      'clients.1.secretHash: only client_secret_basic and client_secret_post clients have a secret',
    ],
    [
      'a secret client with jwks',
      (f) => (f.clients[0].jwks = { keys: [EC_KEY] }),
      'clients.0.jwks: only private_key_jwt clients have keys',
    ],
    [
      'a public client with a secretHash',
      (f) => (f.clients[2].secretHash = HASH),
      'clients.2.secretHash: only client_secret_basic',
    ],
    [
      'a public client with a jwksUri',
      (f) => (f.clients[2].jwksUri = 'https://p.example/jwks'),
      'clients.2.jwks: only private_key_jwt clients have keys',
    ],
    [
      'an http client jwksUri',
      (f) => {
        f.clients[1].jwks = undefined;
        f.clients[1].jwksUri = 'http://k.example/jwks';
      },
      'clients.1.jwksUri: must use https',
    ],
    [
      'a private key in jwks',
      (f) => (f.clients[1].jwks.keys[0].d = 'private'),
      'clients.1.jwks.keys.0: must be a public key: remove d',
    ],
    [
      'a symmetric key in jwks',
      (f) => (f.clients[1].jwks.keys[0] = { kty: 'oct', k: 'c2VjcmV0' }),
      'clients.1.jwks.keys.0: must be a public key',
    ],
    ['an empty key set', (f) => (f.clients[1].jwks.keys = []), 'clients.1.jwks.keys: must hold at least one key'],
    [
      'an unknown tenant',
      (f) => (f.clients[1].tenants = ['initech']),
      'clients.1.tenants.0: tenant initech is not declared in tenants',
    ],
    ['no tenants', (f) => (f.clients[1].tenants = []), 'clients.1.tenants: must name at least one tenant'],
    [
      '"*" with other tenants',
      (f) => (f.clients[1].tenants = ['*', 'acme']),
      'clients.1.tenants: "*" already means every tenant',
    ],
    [
      'an invalid tenant id in a client',
      (f) => (f.clients[1].tenants = ['Acme']),
      'clients.1.tenants.0: must be a tenant id or "*"',
    ],
    [
      'no grant types',
      (f) => (f.clients[0].grantTypes = []),
      'clients.0.grantTypes: must name at least one grant type',
    ],
    [
      'a scope no resource supports',
      (f) => (f.clients[0].scopes = ['files:read', 'admin']),
      'clients.0.scopes.1: no resource supports scope admin',
    ],
    [
      'a malformed scope',
      (f) => (f.clients[0].scopes = ['files read']),
      'clients.0.scopes.0: scopes are non-empty printable ASCII',
    ],
    // connections
    [
      'a connection with an http issuer',
      (f) => (f.tenants[0].connection.issuer = 'http://acme.okta.com'),
      'tenants.0.connection.issuer: must use https',
    ],
    [
      'a connection issuer with a trailing slash',
      (f) => (f.tenants[0].connection.issuer = `${OKTA}/`),
      'tenants.0.connection.issuer: must not end with a slash',
    ],
    [
      'a connection issuer over 900 bytes',
      (f) => (f.tenants[0].connection.issuer = `${OKTA}/${'é'.repeat(440)}`),
      'tenants.0.connection.issuer: must be at most 900 bytes',
    ],
    [
      'a connection without an issuer',
      (f) => delete f.tenants[0].connection.issuer,
      'tenants.0.connection.issuer: is required',
    ],
    [
      'a connection without a client id',
      (f) => delete f.tenants[0].connection.clientId,
      'tenants.0.connection.clientId: is required',
    ],
    [
      'a connection client id with a space',
      (f) => (f.tenants[0].connection.clientId = 'my client'),
      'tenants.0.connection.clientId: must be 1-256 printable ASCII',
    ],
    [
      'a connection client id over 256 characters',
      (f) => (f.tenants[0].connection.clientId = 'c'.repeat(257)),
      'tenants.0.connection.clientId: must be 1-256 printable ASCII',
    ],
    [
      'an upstream auth method we cannot use',
      (f) => (f.tenants[0].connection.authMethod = 'private_key_jwt'),
      'tenants.0.connection.authMethod: must be one of client_secret_basic, client_secret_post, none',
    ],
    [
      'a secret method without a secret reference',
      (f) => delete f.tenants[0].connection.clientSecret,
      'tenants.0.connection.clientSecret: client_secret_basic needs clientSecret',
    ],
    [
      'a public connection with a secret reference',
      (f) => (f.tenants[0].connection.authMethod = 'none'),
      'tenants.0.connection.clientSecret: a connection with authMethod none has no client secret',
    ],
    [
      'a secret reference naming both places',
      (f) => (f.tenants[0].connection.clientSecret = { secretsManager: 'a', file: 'b' }),
      'tenants.0.connection.clientSecret: give exactly one of secretsManager and file',
    ],
    [
      'an empty secret reference',
      (f) => (f.tenants[0].connection.clientSecret = {}),
      'tenants.0.connection.clientSecret: give exactly one of secretsManager and file',
    ],
    [
      'an unknown kind of secret reference',
      (f) => (f.tenants[0].connection.clientSecret = { value: 'x' }),
      'tenants.0.connection.clientSecret.value: is not a known field',
    ],
    [
      'a Secrets Manager reference that is neither an ARN nor a name',
      (f) => (f.tenants[0].connection.clientSecret = { secretsManager: 'arn:aws:s3:::bucket/key' }),
      'tenants.0.connection.clientSecret.secretsManager: must be a Secrets Manager secret ARN, or a name',
    ],
    [
      'a secret file outside local mode',
      (f) => (f.tenants[0].connection.clientSecret = { file: 'acme-secret' }),
      'tenants.0.connection.clientSecret.file: secrets in files are for the local server only',
    ],
    [
      'scopes without openid',
      (f) => (f.tenants[0].connection.scopes = ['email', 'profile']),
      'tenants.0.connection.scopes: must include openid',
    ],
    [
      'a repeated connection scope',
      (f) => (f.tenants[0].connection.scopes = ['openid', 'openid']),
      'tenants.0.connection.scopes: scopes must not repeat',
    ],
    [
      'a domain that is an email address',
      (f) => (f.tenants[0].connection.domains = ['alice@acme.com']),
      'tenants.0.connection.domains.0: must be a domain name such as example.com',
    ],
    [
      'a single-label domain',
      (f) => (f.tenants[0].connection.domains = ['acme']),
      'tenants.0.connection.domains.0: must be a domain name',
    ],
    [
      'a domain with a trailing dot',
      (f) => (f.tenants[0].connection.domains = ['acme.com.']),
      'tenants.0.connection.domains.0: must be a domain name',
    ],
    [
      'a domain with a leading hyphen in a label',
      (f) => (f.tenants[0].connection.domains = ['-acme.com']),
      'tenants.0.connection.domains.0: must be a domain name',
    ],
    [
      'a domain that is an IP address',
      (f) => (f.tenants[0].connection.domains = ['10.0.0.1']),
      'tenants.0.connection.domains.0: must be a domain name',
    ],
    [
      'a domain in Unicode rather than its xn-- form',
      (f) => (f.tenants[0].connection.domains = ['bücher.example']),
      'tenants.0.connection.domains.0: must be a domain name such as example.com (ASCII',
    ],
    [
      'a domain twice in one connection, in different case',
      (f) => (f.tenants[0].connection.domains = ['acme.com', 'ACME.COM']),
      'tenants.0.connection.domains: domains must not repeat',
    ],
    [
      'a domain claimed by the connections of two tenants',
      (f) => f.tenants[1].connection.domains.push('Acme.com'),
      'tenants.1.connection.domains.1: domain acme.com is already claimed by the connection of tenant acme',
    ],
    [
      'two default connections',
      (f) => (f.tenants[0].connection.default = true),
      "tenants.1.connection.default: only one connection may be the default, and tenant acme's is",
    ],
    [
      'default as a string',
      (f) => (f.tenants[0].connection.default = 'yes'),
      'tenants.0.connection.default: must be true or false',
    ],
    [
      'a misspelt connection field',
      (f) => (f.tenants[0].connection.client_id = 'x'),
      'tenants.0.connection.client_id: is not a known field',
    ],
    // interactive clients
    [
      'a redirect URI with a fragment',
      (f) => (f.clients[3].redirectUris = ['https://app.example.com/cb#done']),
      'clients.3.redirectUris.0: must not have a fragment',
    ],
    [
      'an http redirect URI outside loopback',
      (f) => (f.clients[3].redirectUris = ['http://app.example.com/cb']),
      'clients.3.redirectUris.0: http is accepted only for loopback hosts (127.0.0.1, [::1], localhost): use https',
    ],
    [
      'an http redirect URI on a private address',
      (f) => (f.clients[3].redirectUris = ['http://192.168.1.10/cb']),
      'clients.3.redirectUris.0: http is accepted only for loopback hosts',
    ],
    [
      'a relative redirect URI',
      (f) => (f.clients[3].redirectUris = ['/callback']),
      'clients.3.redirectUris.0: must be an absolute URI',
    ],
    [
      'a javascript: redirect URI',
      (f) => (f.clients[3].redirectUris = ['javascript:alert(1)']),
      'clients.3.redirectUris.0: the javascript scheme cannot be a redirect URI',
    ],
    [
      'a data: redirect URI',
      (f) => (f.clients[3].redirectUris = ['data:text/html,hi']),
      'clients.3.redirectUris.0: the data scheme cannot be a redirect URI',
    ],
    [
      'a redirect URI with credentials',
      (f) => (f.clients[3].redirectUris = ['https://user:pass@app.example.com/cb']),
      'clients.3.redirectUris.0: must not carry credentials',
    ],
    [
      'a redirect URI over 2048 characters',
      (f) => (f.clients[3].redirectUris = [`https://app.example.com/${'a'.repeat(2048)}`]),
      'clients.3.redirectUris.0: must be at most 2048 characters',
    ],
    [
      'a repeated redirect URI',
      (f) => (f.clients[3].redirectUris = ['https://a.example/cb', 'https://a.example/cb']),
      'clients.3.redirectUris: redirect URIs must not repeat',
    ],
    [
      'more than 20 redirect URIs',
      (f) => (f.clients[3].redirectUris = Array.from({ length: 21 }, (_, n) => `https://a.example/cb${n}`)),
      'clients.3.redirectUris: must list at most 20 redirect URIs',
    ],
    [
      'an empty list of redirect URIs',
      (f) => (f.clients[3].redirectUris = []),
      'clients.3.redirectUris: must list at least one redirect URI',
    ],
    [
      'the authorization_code grant without redirect URIs',
      (f) => delete f.clients[3].redirectUris,
      'clients.3.redirectUris: the authorization_code grant needs at least one redirect URI',
    ],
    [
      'redirect URIs without the authorization_code grant',
      (f) => (f.clients[2].redirectUris = ['https://app.example.com/cb']),
      'clients.2.redirectUris: redirect URIs are used only by the authorization_code grant: add it to grantTypes',
    ],
    [
      'refresh_token without the authorization_code grant',
      (f) => (f.clients[0].grantTypes = [JWT_BEARER_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE]),
      'clients.0.grantTypes: refresh_token needs the authorization_code grant',
    ],
    ['firstParty as a string', (f) => (f.clients[3].firstParty = 'yes'), 'clients.3.firstParty: must be true or false'],
    // a client's own refresh token lifetimes
    [
      'an idle lifetime under five minutes',
      (f) => (f.clients[3].refreshTokens = { idleSeconds: 299 }),
      'clients.3.refreshTokens.idleSeconds: must be at least 300',
    ],
    [
      'an absolute lifetime over a year',
      (f) => (f.clients[3].refreshTokens = { absoluteSeconds: 365 * 86400 + 1 }),
      'clients.3.refreshTokens.absoluteSeconds: must be at most 31536000 (a year)',
    ],
    [
      'a lifetime that is not whole seconds',
      (f) => (f.clients[3].refreshTokens = { idleSeconds: 3600.5 }),
      'clients.3.refreshTokens.idleSeconds: must be a whole number of seconds',
    ],
    [
      'a lifetime given as text',
      (f) => (f.clients[3].refreshTokens = { idleSeconds: '14d' }),
      'clients.3.refreshTokens.idleSeconds: must be a number',
    ],
    [
      'an idle lifetime longer than the absolute one',
      (f) => (f.clients[3].refreshTokens = { idleSeconds: 7200, absoluteSeconds: 3600 }),
      'clients.3.refreshTokens.idleSeconds: must not exceed absoluteSeconds',
    ],
    [
      'refresh token lifetimes that set neither lifetime',
      (f) => (f.clients[3].refreshTokens = {}),
      'clients.3.refreshTokens: must set idleSeconds, absoluteSeconds or both',
    ],
    [
      'a misspelt refresh token lifetime',
      (f) => (f.clients[3].refreshTokens = { idle: 3600 }),
      'clients.3.refreshTokens.idle: is not a known field',
    ],
    [
      'refresh token lifetimes for a client without the refresh_token grant',
      (f) => {
        f.clients[3].grantTypes = [AUTHORIZATION_CODE_GRANT_TYPE];
        f.clients[3].refreshTokens = { idleSeconds: 3600 };
      },
      'clients.3.refreshTokens: refresh token lifetimes are used only by the refresh_token grant: add it to grantTypes',
    ],
    // resources
    [
      'a resource with a fragment',
      (f) => (f.resources[0].id = 'https://mcp.example.com/mcp#x'),
      'resources.0.id: must be an absolute URI without a fragment',
    ],
    [
      'default scopes outside scopes',
      (f) => (f.resources[0].defaultScopes = ['admin']),
      'resources.0.defaultScopes: must be a subset of scopes',
    ],
    [
      'a duplicate resource',
      (f) => f.resources.push({ ...f.resources[0] }),
      'resources.1.id: resource https://mcp.example.com/mcp is declared more than once',
    ],
    [
      'a default resource that is not declared',
      (f) => (f.defaultResource = 'https://other.example'),
      'defaultResource: must be the id of one of the resources',
    ],
  ])('rejects %s', (_, change, expected) => {
    const problems = problemsOf(broken(change));
    expect(problems.join('\n')).toContain(expected);
  });

  it('refuses a plain secret, telling the user what to do, without echoing it', () => {
    const problems = problemsOf(broken((f) => (f.clients[0].secret = 'my-plain-secret-value')));
    expect(problems).toEqual([
      expect.stringMatching(/^clients\.0\.secret: plain secrets are not accepted: .*secretHash/),
    ]);
    expect(problems.join()).toContain('let apply generate a secret');
    expect(problems.join()).not.toContain('my-plain-secret-value');
  });

  it('refuses a plain connection secret, saying where to put it, without echoing it', () => {
    const problems = problemsOf(broken((f) => (f.tenants[0].connection.clientSecret = 'upstream-plain-secret')));
    expect(problems).toEqual([
      expect.stringMatching(/^tenants\.0\.connection\.clientSecret: plain secrets are not accepted: .*Secrets Manager/),
    ]);
    expect(problems.join()).toContain('{ "secretsManager": "<secret ARN or name>" }');
    expect(problems.join()).toContain('{ "file": "<name>" }');
    expect(problems.join()).not.toContain('upstream-plain-secret');
  });

  it.each(['../secret', 'dir/secret', '.hidden', '..', 'a\\b', ''])(
    'refuses a secret file name that is not a plain name: %j',
    (name) => {
      const file = broken((f) => (f.tenants[0].connection.clientSecret = { file: name }));
      expect(problemsOf(file, { allowHttpLoopback: true }).join('\n')).toContain(
        'tenants.0.connection.clientSecret.file: must be a plain file name',
      );
    },
  );

  it('accepts a Secrets Manager reference by ARN in any partition, or by name', () => {
    for (const secretsManager of [
      SECRET_ARN,
      'arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x-AbCdEf',
      'arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x',
      'prod/acme/oidc',
    ]) {
      const file = broken((f) => (f.tenants[0].connection.clientSecret = { secretsManager }));
      expect(parseRegistryConfig(file).tenants[0]?.connection?.clientSecret).toEqual({ secretsManager });
    }
  });

  it('accepts an http connection issuer on a loopback host in local mode only', () => {
    const local = broken((f) => (f.tenants[0].connection.issuer = 'http://127.0.0.1:9000/demo-idp'));
    expect(problemsOf(local).join('\n')).toContain(
      'tenants.0.connection.issuer: must use https (http is accepted only',
    );
    expect(() => parseRegistryConfig(local, { allowHttpLoopback: true })).not.toThrow();
  });

  it('accepts http issuers and key URLs on loopback hosts in local mode only', () => {
    const local = broken((f) => {
      f.tenants[0].issuers[0].issuer = 'http://127.0.0.1:9000';
      f.tenants[0].issuers[0].jwksUri = 'http://localhost:9000/keys';
    });
    expect(problemsOf(local).join('\n')).toContain('tenants.0.issuers.0.issuer: must use https (http is accepted only');
    expect(() => parseRegistryConfig(local, { allowHttpLoopback: true })).not.toThrow();
    const remoteHttp = broken((f) => (f.tenants[0].issuers[0].issuer = 'http://idp.example'));
    expect(problemsOf(remoteHttp, { allowHttpLoopback: true })).toEqual(['tenants.0.issuers.0.issuer: must use https']);
  });

  it('accepts a jwksUri with a query (some IdPs key sets are per application)', () => {
    const file = broken((f) => (f.tenants[0].issuers[0].jwksUri = `${OKTA}/keys?appid=123`));
    expect(() => parseRegistryConfig(file)).not.toThrow();
  });

  it('checks client scopes only when resources are declared', () => {
    const file = broken((f) => {
      delete f.resources;
      delete f.defaultResource;
      f.clients[0].scopes = ['anything'];
    });
    expect(() => parseRegistryConfig(file)).not.toThrow();
  });

  it('reports every problem at once, naming the source', () => {
    const file = broken((f) => {
      f.tenants[0].id = 'ACME';
      f.clients[0].authMethod = 'magic';
    });
    expect(() => parseRegistryConfig(file, { source: 'registry.json' })).toThrow(/^invalid registry\.json:/);
    expect(problemsOf(file)).toHaveLength(2);
  });

  it('reports a JSON syntax error with the source and position', () => {
    expect(() => parseRegistryConfigText('{"tenants": [', { source: 'registry.json' })).toThrow(
      /invalid registry\.json:\n {2}- not valid JSON: .*(position|end)/i,
    );
  });

  it('rejects a document that is not an object', () => {
    expect(problemsOf([])).toEqual(['must be an object']);
  });
});
