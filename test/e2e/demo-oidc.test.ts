import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { createDemoIdp, DEMO_IDP_CLIENT_ID, DEMO_IDP_CLIENT_SECRET_FILE } from '../../bin/local/demo-idp';
import { DEMO_PASSWORD, DEMO_USERS } from '../../bin/local/demo-oidc';
import { type LocalServer, startLocalServer } from '../../bin/local/server';
import { endpointsOf } from '../../lambda/core/config';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/**
 * The demo IdP as a small OpenID Connect provider, through the local server over HTTP on 127.0.0.1: discovery, the
 * login form driven with fetch (hidden fields parsed from the HTML), the code exchange with PKCE, and ID tokens verified
 * against the JWKS it serves. Our server is its one client; the tests play that client.
 */
describe('the demo IdP as an OpenID Connect provider', () => {
  let dataDir: string;
  let server: LocalServer;
  let idp: string;
  let redirectUri: string;
  let secret: string;
  /** Seconds added to the real time: the server's and the IdP's one clock. */
  let offset = 0;
  /** When set, the clock stands still at this second (plus `offset`): a test at a boundary cannot cross a real one. */
  let frozenAt: number | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'id-jag-oidc-'));
    server = await startLocalServer({
      port: 0,
      dataDir,
      inMemory: true,
      write: () => undefined,
      clock: { now: () => (frozenAt ?? Math.floor(Date.now() / 1000)) + offset },
    });
    idp = server.demo!.demoIdp;
    redirectUri = endpointsOf(server.issuer).callbackUri;
    secret = readFileSync(join(dataDir, 'secrets', DEMO_IDP_CLIENT_SECRET_FILE), 'utf8');
  });

  afterEach(() => {
    offset = 0;
    frozenAt = undefined;
  });

  afterAll(async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const basic = (id = DEMO_IDP_CLIENT_ID, password = secret) =>
    `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(password)}`).toString('base64')}`;

  function newPkce() {
    const verifier = randomBytes(32).toString('base64url');
    return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
  }

  /** An authorization request as our server sends it; `undefined` leaves a parameter out. */
  function authorizationRequest(overrides: Record<string, string | undefined> = {}) {
    const pkce = newPkce();
    const params: Record<string, string | undefined> = {
      response_type: 'code',
      client_id: DEMO_IDP_CLIENT_ID,
      redirect_uri: redirectUri,
      scope: 'openid email profile',
      state: randomBytes(16).toString('base64url'),
      nonce: randomBytes(16).toString('base64url'),
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
      ...overrides,
    };
    const url = new URL(`${idp}/authorize`);
    for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
    return { url, params, verifier: pkce.verifier };
  }

  const hiddenFields = (html: string) =>
    Object.fromEntries(
      [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => m.slice(1)),
    );

  async function openLogin(url: URL) {
    const response = await fetch(url, { redirect: 'manual' });
    const html = await response.text();
    return { response, html, interaction: hiddenFields(html).interaction as string };
  }

  async function postLogin(fields: Record<string, string>, headers: Record<string, string> = {}) {
    const response = await fetch(`${idp}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...FORM, ...headers },
      body: new URLSearchParams(fields),
    });
    return { response, html: await response.text() };
  }

  const locationOf = (response: Response) => new URL(response.headers.get('location')!);

  /** Authorize, sign in as `user` on the form, and return the code the redirect carries. */
  async function signIn(overrides: Record<string, string | undefined> = {}, user = 'alice') {
    const request = authorizationRequest(overrides);
    const { interaction } = await openLogin(request.url);
    const { response } = await postLogin({ interaction, user, password: DEMO_PASSWORD, action: 'sign-in' });
    expect(response.status).toBe(303);
    return { ...request, code: locationOf(response).searchParams.get('code')!, location: locationOf(response) };
  }

  /** A code exchange, authenticated with client_secret_basic unless `authorization` is null. */
  async function redeem(fields: Record<string, string>, authorization: string | null = basic()) {
    const response = await fetch(`${idp}/token`, {
      method: 'POST',
      headers: { ...FORM, ...(authorization === null ? {} : { authorization }) },
      body: new URLSearchParams({ grant_type: 'authorization_code', redirect_uri: redirectUri, ...fields }),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, string>,
    };
  }

  it('publishes a discovery document for the code flow with PKCE S256 and RFC 9207 iss', async () => {
    const response = await fetch(`${idp}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      issuer: idp,
      authorization_endpoint: `${idp}/authorize`,
      token_endpoint: `${idp}/token`,
      jwks_uri: `${idp}/jwks`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'urn:ietf:params:oauth:grant-type:token-exchange'],
      code_challenge_methods_supported: ['S256'],
      id_token_signing_alg_values_supported: ['ES256'],
      scopes_supported: ['openid', 'email', 'profile'],
      subject_types_supported: ['public'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      authorization_response_iss_parameter_supported: true,
      claims_supported: expect.arrayContaining(['sub', 'nonce', 'email', 'email_verified', 'name', 'auth_time']),
    });
  });

  it('signs alice in through the login form and issues an ID token that verifies against the served JWKS', async () => {
    const { code, location, params, verifier } = await signIn();
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(location.searchParams.get('state')).toBe(params.state);
    expect(location.searchParams.get('iss')).toBe(idp);

    const response = await redeem({ code, code_verifier: verifier });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body).toMatchObject({ token_type: 'Bearer', expires_in: 300, access_token: expect.any(String) });
    const { payload, protectedHeader } = await jwtVerify(
      response.body.id_token!,
      createRemoteJWKSet(new URL(`${idp}/jwks`)),
      { issuer: idp, audience: DEMO_IDP_CLIENT_ID, typ: 'JWT', algorithms: ['ES256'] },
    );
    expect(protectedHeader.kid).toBeDefined();
    expect(payload).toMatchObject({
      sub: 'alice',
      nonce: params.nonce,
      email: 'alice@demo.example',
      email_verified: true,
      name: 'Alice Demo',
    });
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(payload.auth_time).toBeLessThanOrEqual(payload.iat!);
  });

  it('gives each demo user a stable subject', async () => {
    const { code, verifier } = await signIn({}, 'bob');
    const { body } = await redeem({ code, code_verifier: verifier });
    expect(decodeJwt(body.id_token!)).toMatchObject({ sub: 'bob', email: 'bob@demo.example' });
  });

  it('names a demo user the same in an ID-JAG as in an ID token', async () => {
    const { code, verifier } = await signIn();
    const idToken = decodeJwt((await redeem({ code, code_verifier: verifier })).body.id_token!);
    const exchange = await fetch(`${idp}/token`, {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        requested_token_type: 'urn:ietf:params:oauth:token-type:id-jag',
        audience: server.issuer,
        client_id: server.demo!.clientId,
        subject_token: 'alice',
      }),
    });
    const idJag = decodeJwt(((await exchange.json()) as { access_token: string }).access_token);
    expect({ iss: idJag.iss, sub: idJag.sub, email: idJag.email }).toEqual({
      iss: idToken.iss,
      sub: idToken.sub,
      email: idToken.email,
    });
  });

  it('puts email and name in the ID token only for the email and profile scopes', async () => {
    const { code, verifier } = await signIn({ scope: 'openid' });
    const { body } = await redeem({ code, code_verifier: verifier });
    const claims = decodeJwt(body.id_token!);
    expect(claims.sub).toBe('alice');
    expect(claims).not.toHaveProperty('email');
    expect(claims).not.toHaveProperty('name');
  });

  it('authenticates the client with client_secret_post as well', async () => {
    const { code, verifier } = await signIn();
    const response = await redeem(
      { code, code_verifier: verifier, client_id: DEMO_IDP_CLIENT_ID, client_secret: secret },
      null,
    );
    expect(response.status).toBe(200);
  });

  it('refuses two client authentication methods at once', async () => {
    const { code, verifier } = await signIn();
    const response = await redeem({
      code,
      code_verifier: verifier,
      client_id: DEMO_IDP_CLIENT_ID,
      client_secret: secret,
    });
    expect(response).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });

  it('serves a login form listing the demo users and the password, with no scripts, no framing and no caching', async () => {
    const { response, html, interaction } = await openLogin(authorizationRequest().url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(csp).not.toContain('unsafe-inline');
    expect(interaction).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const user of DEMO_USERS) {
      expect(html).toContain(`<label for="user-${user.sub}">${user.name} <span class="email">${user.email}</span>`);
    }
    expect(html).toContain('<label for="password">');
    expect(html).toContain(DEMO_PASSWORD);
    expect(html).not.toMatch(/<script|\s(src|href|on[a-z]+)=/i);
  });

  it('lets the sign-in post be redirected on to any origin: no form-action on the login form', async () => {
    // Chromium checks form-action against every redirect after the post: here /login → the client's /callback → that
    // client's own redirect URI on another origin (an MCP client's loopback port). `form-action 'self' <client>`
    // stopped the browser at the last hop (test/e2e/mcp-interactive.test.ts drives it in Chromium).
    const { response } = await openLogin(authorizationRequest().url);
    expect(response.headers.get('content-security-policy')).not.toContain('form-action');
  });

  it('selects the user named by login_hint', async () => {
    const { html } = await openLogin(authorizationRequest({ login_hint: 'bob@demo.example' }).url);
    expect(html).toContain('value="bob" required checked');
    expect(html).not.toContain('value="alice" required checked');
  });

  it.each([
    ['an unknown client', { client_id: 'someone-else' }],
    ['no client', { client_id: undefined }],
    ['a redirect URI on another path', { redirect_uri: 'http://127.0.0.1:1/callback' }],
    ['a redirect URI with a trailing slash', { redirect_uri: 'REDIRECT/' }],
    ['a redirect URI with a query', { redirect_uri: 'REDIRECT?next=x' }],
    ['no redirect URI', { redirect_uri: undefined }],
  ])('shows an error page, never a redirect, for %s', async (_, overrides) => {
    const fixed = Object.fromEntries(
      Object.entries(overrides).map(([name, value]) => [name, value?.replace('REDIRECT', redirectUri)]),
    );
    const { response, html } = await openLogin(authorizationRequest(fixed).url);
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(response.headers.get('content-security-policy')).toContain("form-action 'none'");
    expect(html).toContain('<h1>Sign-in not possible</h1>');
  });

  it.each([
    ['no PKCE challenge', { code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request'],
    ['no PKCE method', { code_challenge_method: undefined }, 'invalid_request'],
    ['the plain PKCE method', { code_challenge_method: 'plain' }, 'invalid_request'],
    ['a challenge that is no S256 hash', { code_challenge: 'short' }, 'invalid_request'],
    ['no openid scope', { scope: 'email profile' }, 'invalid_scope'],
    ['no nonce', { nonce: undefined }, 'invalid_request'],
    ['another response type', { response_type: 'token' }, 'unsupported_response_type'],
  ])('redirects back with an error, state and iss for %s', async (_, overrides, error) => {
    const request = authorizationRequest(overrides);
    const response = await fetch(request.url, { redirect: 'manual' });
    expect(response.status).toBe(302);
    const location = locationOf(response);
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(location.searchParams.get('error')).toBe(error);
    expect(location.searchParams.get('state')).toBe(request.params.state);
    expect(location.searchParams.get('iss')).toBe(idp);
    expect(location.searchParams.has('code')).toBe(false);
  });

  it('redirects invalid_request for a repeated parameter', async () => {
    const { url } = authorizationRequest();
    url.searchParams.append('nonce', 'again');
    const response = await fetch(url, { redirect: 'manual' });
    expect(locationOf(response).searchParams.get('error')).toBe('invalid_request');
  });

  it('refuses a wrong password on the form, and the same sign-in then succeeds with the right one', async () => {
    const { interaction } = await openLogin(authorizationRequest().url);
    const wrong = await postLogin({ interaction, user: 'alice', password: 'not-it', action: 'sign-in' });
    expect(wrong.response.status).toBe(400);
    expect(wrong.response.headers.get('location')).toBeNull();
    expect(wrong.html).toContain('role="alert"');
    expect(hiddenFields(wrong.html).interaction).toBe(interaction);

    const right = await postLogin({ interaction, user: 'alice', password: DEMO_PASSWORD, action: 'sign-in' });
    expect(right.response.status).toBe(303);
    expect(locationOf(right.response).searchParams.get('code')).toBeTruthy();
  });

  it('refuses an unknown user on the form', async () => {
    const { interaction } = await openLogin(authorizationRequest().url);
    const { response } = await postLogin({ interaction, user: 'mallory', password: DEMO_PASSWORD, action: 'sign-in' });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });

  it('redirects access_denied with state and iss when the user cancels', async () => {
    const request = authorizationRequest();
    const { interaction } = await openLogin(request.url);
    const { response } = await postLogin({ interaction, action: 'cancel' });
    expect(response.status).toBe(303);
    const location = locationOf(response);
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe(request.params.state);
    expect(location.searchParams.get('iss')).toBe(idp);
  });

  it('uses a sign-in once: its form cannot be posted again', async () => {
    const { interaction } = await openLogin(authorizationRequest().url);
    await postLogin({ interaction, user: 'alice', password: DEMO_PASSWORD, action: 'sign-in' });
    const again = await postLogin({ interaction, user: 'alice', password: DEMO_PASSWORD, action: 'sign-in' });
    expect(again.response.status).toBe(400);
    expect(again.response.headers.get('location')).toBeNull();
    expect(again.html).toContain('<h1>Sign-in not possible</h1>');
  });

  it('refuses a login form posted from another site (Fetch Metadata)', async () => {
    const { interaction } = await openLogin(authorizationRequest().url);
    const fields = { interaction, user: 'alice', password: DEMO_PASSWORD, action: 'sign-in' };
    const { response } = await postLogin(fields, { 'sec-fetch-site': 'cross-site' });
    expect(response.status).toBe(403);
    expect(response.headers.get('location')).toBeNull();
  });

  it('redeems a code once: a replay is invalid_grant', async () => {
    const { code, verifier } = await signIn();
    expect((await redeem({ code, code_verifier: verifier })).status).toBe(200);
    expect(await redeem({ code, code_verifier: verifier })).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant' },
    });
  });

  it('refuses a code with a wrong verifier, and the code is spent', async () => {
    const { code, verifier } = await signIn();
    expect(await redeem({ code, code_verifier: newPkce().verifier })).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant' },
    });
    expect((await redeem({ code, code_verifier: verifier })).status).toBe(400);
  });

  it('refuses a redirect_uri other than the authorization request’s', async () => {
    const { code, verifier } = await signIn();
    expect(await redeem({ code, code_verifier: verifier, redirect_uri: `${redirectUri}/other` })).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant' },
    });
  });

  it('refuses a wrong client secret with 401 invalid_client and a Basic challenge, and the code stays usable', async () => {
    const { code, verifier } = await signIn();
    const response = await redeem({ code, code_verifier: verifier }, basic(DEMO_IDP_CLIENT_ID, 'wrong-secret'));
    expect(response).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await redeem({ code, code_verifier: verifier })).status).toBe(200);
  });

  it('refuses an unauthenticated code exchange with 401 invalid_client', async () => {
    const { code, verifier } = await signIn();
    const response = await redeem({ code, code_verifier: verifier, client_id: DEMO_IDP_CLIENT_ID }, null);
    expect(response).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  it('accepts a code within its 60 seconds', async () => {
    frozenAt = Math.floor(Date.now() / 1000);
    const { code, verifier } = await signIn();
    offset = 59;
    expect((await redeem({ code, code_verifier: verifier })).status).toBe(200);
  });

  it('refuses a code after its 60 seconds', async () => {
    const { code, verifier } = await signIn();
    offset = 61;
    expect(await redeem({ code, code_verifier: verifier })).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant' },
    });
  });

  it('refuses other grant types with unsupported_grant_type', async () => {
    const response = await redeem({ grant_type: 'client_credentials' });
    expect(response).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
  });
});

describe('the demo IdP’s registration of our server', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'id-jag-oidc-client-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('names the client, its redirect URI and the 0600 file its secret is kept in, the same on every start', async () => {
    const redirectUri = 'http://127.0.0.1:3000/callback';
    const idp = await createDemoIdp({ baseUrl: 'http://127.0.0.1:3000', dataDir, redirectUri });
    expect(idp.issuer).toBe('http://127.0.0.1:3000/demo-idp');
    expect(idp.client).toEqual({
      clientId: 'id-jag-local',
      redirectUri,
      authMethod: 'client_secret_basic',
      clientSecretRef: 'file:demo-idp-client-secret',
      scopes: ['openid', 'email', 'profile'],
    });
    const file = join(dataDir, 'secrets', 'demo-idp-client-secret');
    const secret = readFileSync(file, 'utf8');
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    await createDemoIdp({ baseUrl: 'http://127.0.0.1:3000', dataDir, redirectUri });
    expect(readFileSync(file, 'utf8')).toBe(secret);
  });
});
