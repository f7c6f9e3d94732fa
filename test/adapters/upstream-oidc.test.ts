import type { IncomingMessage } from 'node:http';
import { UpstreamOidc } from '../../lambda/adapters/upstream-oidc';
import { ServerError, TemporarilyUnavailableError } from '../../lambda/core/errors';
import { HttpStub } from '../support/http-stub';

function body(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    request.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    request.on('end', () => resolve(text));
  });
}

/** The upstream OIDC adapter against a loopback IdP stub: discovery and the code exchange over the safe fetch. */
describe('UpstreamOidc', () => {
  let stub: HttpStub;
  let issuer: string;
  let nowMs: number;
  let upstream: UpstreamOidc;
  const exchanges: { authorization?: string; form: URLSearchParams }[] = [];

  const metadata = (fields: Record<string, unknown> = {}) => ({
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/keys`,
    authorization_response_iss_parameter_supported: true,
    ...fields,
  });
  const request = (authMethod: 'client_secret_basic' | 'client_secret_post' | 'none') => ({
    tokenEndpoint: `${issuer}/token`,
    clientId: 'our client',
    authMethod,
    clientSecret: 'se:cret+/',
    code: 'upstream-code',
    redirectUri: 'https://auth.example.com/callback',
    codeVerifier: 'v'.repeat(43),
  });
  const answer = (status: number, json: unknown) => {
    stub.routes.set('/idp/token', (incoming, response) => {
      void body(incoming).then((text) => {
        exchanges.push({ authorization: incoming.headers.authorization, form: new URLSearchParams(text) });
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      });
    });
  };

  beforeAll(async () => {
    stub = await HttpStub.start();
    issuer = `${stub.origin}/idp`;
  });
  afterAll(() => stub.close());
  beforeEach(() => {
    exchanges.length = 0;
    nowMs = 1_000_000;
    stub.hits.clear();
    stub.json('/idp/.well-known/openid-configuration', () => metadata());
    upstream = new UpstreamOidc({ allowHttpLoopback: true, allowPrivateAddresses: true, now: () => nowMs });
  });

  describe('discovery', () => {
    it('reads the endpoints and whether the IdP sends iss, once per max age', async () => {
      expect(await upstream.metadata(issuer)).toEqual({
        issuer,
        authorizationEndpoint: `${issuer}/authorize`,
        tokenEndpoint: `${issuer}/token`,
        issParameterSupported: true,
      });
      await upstream.metadata(issuer);
      expect(stub.count('/idp/.well-known/openid-configuration')).toBe(1);
    });

    it('refuses metadata naming another issuer as an outage (503)', async () => {
      stub.json('/idp/.well-known/openid-configuration', () => metadata({ issuer: `${issuer}/other` }));
      await expect(upstream.metadata(issuer)).rejects.toBeInstanceOf(TemporarilyUnavailableError);
    });

    it.each([
      ['a javascript: authorization endpoint', { authorization_endpoint: 'javascript:alert(1)' }],
      ['an http authorization endpoint off loopback', { authorization_endpoint: 'http://idp.example/authorize' }],
      ['no token endpoint', { token_endpoint: undefined }],
    ])('refuses metadata with %s', async (_, fields) => {
      stub.json('/idp/.well-known/openid-configuration', () => metadata(fields));
      await expect(upstream.metadata(issuer)).rejects.toMatchObject({ reason: /endpoints missing or not https/ });
    });

    it('cools down after a failed discovery, then tries again', async () => {
      stub.routes.set('/idp/.well-known/openid-configuration', (_, response) => response.writeHead(503).end());
      await expect(upstream.metadata(issuer)).rejects.toBeInstanceOf(TemporarilyUnavailableError);
      await expect(upstream.metadata(issuer)).rejects.toBeInstanceOf(TemporarilyUnavailableError);
      expect(stub.count('/idp/.well-known/openid-configuration')).toBe(1);
      stub.json('/idp/.well-known/openid-configuration', () => metadata());
      nowMs += 10_001;
      await expect(upstream.metadata(issuer)).resolves.toMatchObject({ issuer });
    });
  });

  describe('the code exchange', () => {
    it('authenticates with client_secret_basic, each part form-urlencoded (RFC 6749 §2.3.1), and sends PKCE', async () => {
      answer(200, { id_token: 'the.id.token', access_token: 'x', token_type: 'Bearer' });
      expect(await upstream.exchangeCode(request('client_secret_basic'))).toEqual({ idToken: 'the.id.token' });
      const [{ authorization, form }] = exchanges as [{ authorization: string; form: URLSearchParams }];
      expect(Buffer.from(authorization.replace('Basic ', ''), 'base64').toString()).toBe('our+client:se%3Acret%2B%2F');
      expect(Object.fromEntries(form)).toEqual({
        grant_type: 'authorization_code',
        code: 'upstream-code',
        redirect_uri: 'https://auth.example.com/callback',
        code_verifier: 'v'.repeat(43),
      });
    });

    it('authenticates with client_secret_post, and as a public client with its client_id only', async () => {
      answer(200, { id_token: 'the.id.token' });
      await upstream.exchangeCode(request('client_secret_post'));
      await upstream.exchangeCode(request('none'));
      expect(
        exchanges.map(({ authorization, form }) => [authorization, form.get('client_id'), form.get('client_secret')]),
      ).toEqual([
        [undefined, 'our client', 'se:cret+/'],
        [undefined, 'our client', null],
      ]);
    });

    it('makes a refused exchange a server error, naming the OAuth error for the audit', async () => {
      answer(400, { error: 'invalid_grant' });
      await expect(upstream.exchangeCode(request('client_secret_basic'))).rejects.toEqual(
        new ServerError('upstream token endpoint: HTTP 400 invalid_grant'),
      );
    });

    it.each([
      [429, 'HTTP 429'],
      [503, 'HTTP 503'],
    ])('makes an HTTP %s an outage (503)', async (status, reason) => {
      answer(status, { error: 'busy' });
      await expect(upstream.exchangeCode(request('none'))).rejects.toMatchObject({
        error: 'temporarily_unavailable',
        reason: expect.stringContaining(reason),
      });
    });

    it('refuses an answer without an ID token', async () => {
      answer(200, { access_token: 'x' });
      await expect(upstream.exchangeCode(request('none'))).rejects.toBeInstanceOf(ServerError);
    });
  });
});
