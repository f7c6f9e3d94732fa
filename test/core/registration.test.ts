import type { HttpRequest } from '../../lambda/core/http';
import { authorizationServerMetadata } from '../../lambda/core/metadata';
import { AUTHORIZATION_CODE_GRANT_TYPE, isDynamicClientId } from '../../lambda/core/model';
import type { ClientRegistrations } from '../../lambda/core/ports';
import { createRegistrationEndpoint, REGISTRATION_CLOSED } from '../../lambda/core/registration';
import { verifyClientSecret } from '../../lambda/core/secrets';
import { basic, ISSUER, NOW, testConfig, tokenRequest } from '../support/fixture';
import { createInteractiveFixture } from '../support/interactive';
import { FixedClock, MemoryClientRegistrations, MemoryRegistry } from '../support/memory';
import { expectRejected } from '../support/outcome';

const LIFETIME = 7 * 86400;
const config = (overrides: Record<string, unknown> = {}) =>
  testConfig({
    dynamicClientRegistration: { enabled: true, maxClients: 3, unusedLifetimeSeconds: LIFETIME },
    ...overrides,
  });

function setup(serverConfig = config()) {
  const registry = new MemoryRegistry();
  const registrations = new MemoryClientRegistrations(registry);
  const clock = new FixedClock(NOW);
  const register = createRegistrationEndpoint({ config: serverConfig, registrations, clock });
  return { registry, registrations, clock, register };
}

function request(body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }): HttpRequest {
  return { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

const PUBLIC = {
  redirect_uris: ['http://127.0.0.1:33418/callback'],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  client_name: 'My MCP client',
};

describe('dynamic client registration (RFC 7591)', () => {
  it('registers a public client and echoes its metadata with 201, never cached', async () => {
    const { register, registry, registrations } = setup();
    const { response, audit } = await register(request(PUBLIC));
    expect(response.status).toBe(201);
    expect(response.headers['Cache-Control']).toBe('no-store');
    const body = JSON.parse(response.body);
    expect(isDynamicClientId(body.client_id)).toBe(true);
    expect(body).toEqual({
      client_id: body.client_id,
      client_id_issued_at: NOW,
      redirect_uris: PUBLIC.redirect_uris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      client_name: 'My MCP client',
    });
    expect(registry.clients.get(body.client_id)).toEqual({
      clientId: body.client_id,
      authMethod: 'none',
      secrets: [],
      grantTypes: ['authorization_code', 'refresh_token'],
      tenants: ['*'],
      enabled: true,
      redirectUris: PUBLIC.redirect_uris,
      firstParty: false,
      display: { name: 'My MCP client' },
    });
    expect(registrations.ends.get(body.client_id)).toBe(NOW + LIFETIME);
    expect(audit).toMatchObject({ event: 'client_registration', outcome: 'registered', client: body.client_id });
  });

  it('issues a new random client id each time', async () => {
    const { register } = setup();
    const ids = await Promise.all(
      [1, 2].map(async () => JSON.parse((await register(request(PUBLIC))).response.body).client_id),
    );
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('registers a confidential client by default (client_secret_basic): the secret is answered once and stored hashed', async () => {
    const { register, registry } = setup();
    const { response, audit } = await register(request({ redirect_uris: ['https://app.example/cb'] }));
    const body = JSON.parse(response.body);
    expect(body).toMatchObject({
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      application_type: 'web',
      client_secret_expires_at: NOW + LIFETIME,
    });
    expect(body.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = registry.clients.get(body.client_id)!;
    expect(JSON.stringify(stored)).not.toContain(body.client_secret);
    expect(verifyClientSecret(body.client_secret, stored.secrets, NOW)).toBe(true);
    expect(JSON.stringify(audit)).not.toContain(body.client_secret);
  });

  it('lets a confidential registered client authenticate at the token endpoint with its secret, and no other', async () => {
    const x = await createInteractiveFixture();
    const registrations = new MemoryClientRegistrations(x.f.registry);
    const register = createRegistrationEndpoint({ config: config(), registrations, clock: x.f.clock });
    const body = JSON.parse(
      (
        await register(
          request({ redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'client_secret_basic' }),
        )
      ).response.body,
    );
    const form = {
      grant_type: AUTHORIZATION_CODE_GRANT_TYPE,
      code: 'not-a-code',
      redirect_uri: 'https://app.example/cb',
      code_verifier: 'v'.repeat(43),
    };
    const good = await x.token(
      tokenRequest(undefined, { authorization: basic(body.client_id, body.client_secret), form }),
    );
    expectRejected(good, 'invalid_grant');
    expect(good.audit).toMatchObject({ client: body.client_id, clientAuthMethod: 'client_secret_basic' });
    const wrong = await x.token(
      tokenRequest(undefined, { authorization: basic(body.client_id, 'x'.repeat(43)), form }),
    );
    expectRejected(wrong, 'invalid_client', 401);
  });

  it('registers client_secret_post, and an explicit native client with a private-use scheme', async () => {
    const { register } = setup();
    const post = JSON.parse(
      (
        await register(
          request({ redirect_uris: ['https://a.example/cb'], token_endpoint_auth_method: 'client_secret_post' }),
        )
      ).response.body,
    );
    expect(post).toMatchObject({ token_endpoint_auth_method: 'client_secret_post', client_secret: expect.any(String) });
    const native = await register(
      request({
        redirect_uris: ['com.example.app:/cb'],
        application_type: 'native',
        token_endpoint_auth_method: 'none',
      }),
    );
    expect(native.response.status).toBe(201);
    expect(JSON.parse(native.response.body).application_type).toBe('native');
  });

  it('cleans the client name it shows and echoes (control and bidi characters, length)', async () => {
    const { register } = setup();
    const body = JSON.parse(
      (await register(request({ ...PUBLIC, client_name: `  Evil\u202E\u0000 ${'x'.repeat(200)}` }))).response.body,
    );
    expect(body.client_name).not.toContain('\u202E');
    expect(body.client_name).not.toContain('\u0000');
    expect(Array.from(body.client_name as string).length).toBe(100);
  });

  it('ignores metadata it does not use, and does not echo it', async () => {
    const { register } = setup();
    const body = JSON.parse(
      (await register(request({ ...PUBLIC, scope: 'admin', logo_uri: 'https://x', jwks_uri: 'https://k' }))).response
        .body,
    );
    expect(body).not.toHaveProperty('scope');
    expect(body).not.toHaveProperty('logo_uri');
    expect(body).not.toHaveProperty('jwks_uri');
  });

  describe('refuses invalid metadata', () => {
    const cases: [string, unknown, string][] = [
      ['no redirect_uris', { token_endpoint_auth_method: 'none' }, 'invalid_redirect_uri'],
      ['an empty redirect_uris', { ...PUBLIC, redirect_uris: [] }, 'invalid_redirect_uri'],
      ['redirect_uris not a list', { ...PUBLIC, redirect_uris: 'https://a.example/cb' }, 'invalid_redirect_uri'],
      [
        'a non-loopback http redirect URI',
        { ...PUBLIC, redirect_uris: ['http://evil.example/cb'] },
        'invalid_redirect_uri',
      ],
      ['a javascript: redirect URI', { ...PUBLIC, redirect_uris: ['javascript:alert(1)'] }, 'invalid_redirect_uri'],
      [
        'a redirect URI with a fragment',
        { ...PUBLIC, redirect_uris: ['https://a.example/cb#x'] },
        'invalid_redirect_uri',
      ],
      ['a relative redirect URI', { ...PUBLIC, redirect_uris: ['/cb'] }, 'invalid_redirect_uri'],
      [
        'too many redirect URIs',
        { ...PUBLIC, redirect_uris: Array.from({ length: 21 }, (_, i) => `https://a.example/${i}`) },
        'invalid_redirect_uri',
      ],
      ['a web client with a loopback redirect URI', { ...PUBLIC, application_type: 'web' }, 'invalid_redirect_uri'],
      ['an unknown application_type', { ...PUBLIC, application_type: 'desktop' }, 'invalid_client_metadata'],
      [
        'the jwt-bearer grant',
        { ...PUBLIC, grant_types: ['authorization_code', 'urn:ietf:params:oauth:grant-type:jwt-bearer'] },
        'invalid_client_metadata',
      ],
      ['client_credentials', { ...PUBLIC, grant_types: ['client_credentials'] }, 'invalid_client_metadata'],
      [
        'refresh_token without authorization_code',
        { ...PUBLIC, grant_types: ['refresh_token'] },
        'invalid_client_metadata',
      ],
      ['grant_types not a list', { ...PUBLIC, grant_types: 'authorization_code' }, 'invalid_client_metadata'],
      ['response_types token', { ...PUBLIC, response_types: ['code', 'token'] }, 'invalid_client_metadata'],
      ['an empty response_types', { ...PUBLIC, response_types: [] }, 'invalid_client_metadata'],
      ['private_key_jwt', { ...PUBLIC, token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata'],
      ['client_secret_jwt', { ...PUBLIC, token_endpoint_auth_method: 'client_secret_jwt' }, 'invalid_client_metadata'],
      ['a non-string auth method', { ...PUBLIC, token_endpoint_auth_method: 1 }, 'invalid_client_metadata'],
      ['a non-string client_name', { ...PUBLIC, client_name: { en: 'x' } }, 'invalid_client_metadata'],
      ['a JSON array', [PUBLIC], 'invalid_client_metadata'],
      ['malformed JSON', '{"redirect_uris": [', 'invalid_client_metadata'],
    ];
    it.each(cases)('%s', async (_name, body, error) => {
      const { register, registry } = setup();
      const { response, audit } = await register(request(body));
      expect(response.status).toBe(400);
      expect(JSON.parse(response.body)).toEqual({ error, error_description: expect.any(String) });
      expect(audit).toMatchObject({ outcome: 'rejected', error });
      expect(registry.clients.size).toBe(0);
    });
  });

  it('refuses a body that is not JSON by content type, a body over the size cap, and other methods', async () => {
    const { register } = setup();
    const form = await register(request('redirect_uris=x', { 'content-type': 'application/x-www-form-urlencoded' }));
    expect([form.response.status, JSON.parse(form.response.body).error]).toEqual([400, 'invalid_request']);
    const big = await register(request({ ...PUBLIC, client_name: 'x'.repeat(20 * 1024) }));
    expect([big.response.status, JSON.parse(big.response.body).error]).toEqual([400, 'invalid_request']);
    const get = await register({ method: 'GET', headers: {} });
    expect(get.response.status).toBe(405);
    const charset = await register(request(PUBLIC, { 'Content-Type': 'application/json; charset=utf-8' }));
    expect(charset.response.status).toBe(201);
  });

  it('refuses registrations once the cap is reached, with a clear error and an audit record', async () => {
    const { register, registry } = setup();
    for (let i = 0; i < 3; i++) expect((await register(request(PUBLIC))).response.status).toBe(201);
    const { response, audit } = await register(request(PUBLIC));
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toEqual({
      error: 'invalid_client_metadata',
      error_description: REGISTRATION_CLOSED,
    });
    expect(audit).toMatchObject({
      outcome: 'closed',
      error: 'invalid_client_metadata',
      reason: 'client limit reached',
    });
    expect(registry.clients.size).toBe(3);
  });

  it('registers again once earlier registrations expired', async () => {
    const { register, clock } = setup();
    for (let i = 0; i < 3; i++) await register(request(PUBLIC));
    clock.seconds = NOW + LIFETIME;
    expect((await register(request(PUBLIC))).response.status).toBe(201);
  });

  it('answers 500 with no detail when the store fails, audited as failed', async () => {
    const registrations: Pick<ClientRegistrations, 'register'> = {
      register: async () => Promise.reject(new Error('boom secret')),
    };
    const register = createRegistrationEndpoint({ config: config(), registrations, clock: new FixedClock(NOW) });
    const { response, audit } = await register(request(PUBLIC));
    expect(response.status).toBe(500);
    expect(response.body).not.toContain('boom');
    expect(audit.outcome).toBe('failed');
  });

  describe('when off (the default)', () => {
    it('answers 404 and registers nothing', async () => {
      const { register, registry } = setup(testConfig());
      const { response, audit } = await register(request(PUBLIC));
      expect(response.status).toBe(404);
      expect(audit.outcome).toBe('rejected');
      expect(registry.clients.size).toBe(0);
    });

    it('advertises no registration_endpoint; on, it does', () => {
      expect(authorizationServerMetadata(testConfig())).not.toHaveProperty('registration_endpoint');
      expect(authorizationServerMetadata(config()).registration_endpoint).toBe(`${ISSUER}/register`);
    });
  });
});
