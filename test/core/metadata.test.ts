import { generateKeyPairSync } from 'node:crypto';
import { KeyObjectSigner, publishedJwk } from '../../lambda/adapters/key-object-signer';
import { endpointsOf } from '../../lambda/core/config';
import { authorizationServerMetadata, jwksResponse, metadataResponse } from '../../lambda/core/metadata';
import { ISSUER, testConfig } from '../support/fixture';

/** PROTOCOL.md §7: RFC 8414 metadata and the JWKS of our signing keys. */
describe('metadata and JWKS documents', () => {
  const config = testConfig();

  it('advertises, with the interactive flow off, the jwt-bearer grant and the ID-JAG profile only', () => {
    const jwtBearerOnly = testConfig({ interactive: { enabled: false } });
    expect(authorizationServerMetadata(jwtBearerOnly)).toEqual({
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/token`,
      jwks_uri: `${ISSUER}/jwks.json`,
      grant_types_supported: ['urn:ietf:params:oauth:grant-type:jwt-bearer'],
      authorization_grant_profiles_supported: ['urn:ietf:params:oauth:grant-profile:id-jag'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'],
      scopes_supported: ['files:read', 'files:write', 'admin', 'other:read'],
      client_id_metadata_document_supported: true,
      response_types_supported: [],
    });
  });

  it('advertises the interactive flow per PROTOCOL.md §14 when it is on (the default)', () => {
    expect(authorizationServerMetadata(config)).toEqual({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      jwks_uri: `${ISSUER}/jwks.json`,
      grant_types_supported: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
      authorization_grant_profiles_supported: ['urn:ietf:params:oauth:grant-profile:id-jag'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'],
      scopes_supported: ['files:read', 'files:write', 'admin', 'other:read'],
      client_id_metadata_document_supported: true,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      revocation_endpoint: `${ISSUER}/revoke`,
      revocation_endpoint_auth_methods_supported: [
        'client_secret_basic',
        'client_secret_post',
        'private_key_jwt',
        'none',
      ],
    });
  });

  it('says so when Client ID Metadata Documents are turned off', () => {
    const off = testConfig({ clientIdMetadataDocuments: { enabled: false } });
    expect(authorizationServerMetadata(off).client_id_metadata_document_supported).toBe(false);
  });

  it('serves metadata as cacheable JSON', () => {
    const response = metadataResponse(config);
    expect(response.status).toBe(200);
    expect(response.headers['Cache-Control']).toBe('public, max-age=300');
    expect(JSON.parse(response.body).issuer).toBe(ISSUER);
  });

  it('derives the RFC 8414 path-inserted metadata route for an issuer with a path', () => {
    const { routes, tokenEndpoint } = endpointsOf('https://example.com/auth/acme');
    expect(tokenEndpoint).toBe('https://example.com/auth/acme/token');
    expect(routes.metadata).toEqual([
      '/.well-known/oauth-authorization-server/auth/acme',
      '/auth/acme/.well-known/oauth-authorization-server',
      '/auth/acme/.well-known/openid-configuration',
    ]);
  });

  it('serves the well-known routes once for an issuer without a path', () => {
    expect(endpointsOf(ISSUER).routes).toEqual({
      token: '/token',
      revoke: '/revoke',
      register: '/register',
      jwks: '/jwks.json',
      authorize: '/authorize',
      callback: '/callback',
      metadata: ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'],
    });
  });

  it('lists none among the token endpoint auth methods in both modes: public jwt-bearer clients can be registered', () => {
    for (const enabled of [true, false]) {
      const metadata = authorizationServerMetadata(testConfig({ interactive: { enabled } }));
      expect(metadata.token_endpoint_auth_methods_supported).toContain('none');
    }
  });

  it('publishes the active and previous keys, public parts only', async () => {
    const previous = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const previousJwk = await publishedJwk(previous.publicKey, 'ES256');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signer = new KeyObjectSigner(privateKey, 'ES256', [previousJwk]);
    const response = await jwksResponse(config, signer);
    const { keys } = JSON.parse(response.body);
    expect(keys).toHaveLength(2);
    expect(keys[0].kid).toBe((await signer.activeKey()).kid);
    expect(keys[1].kid).toBe(previousJwk.kid);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key).not.toHaveProperty('d');
    }
    expect(response.headers['Cache-Control']).toMatch(/^public, max-age=/);
  });
});
