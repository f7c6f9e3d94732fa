import type { Interaction } from '../../lambda/core/authorize/interaction';
import {
  ACME_OIDC,
  authorizationParams,
  BROWSER_COOKIE,
  CODE_CLIENT,
  createInteractiveFixture,
  FIRST_PARTY_CLIENT,
  GLOBEX_OIDC,
  type InteractiveFixture,
  ISSUER,
  LOOPBACK_REDIRECT,
  location,
  pkce,
  REDIRECT_URI,
} from '../support/interactive';

/** PROTOCOL.md §9: the authorization endpoint, through the core with in-memory ports. */
describe('the authorization endpoint (GET /authorize)', () => {
  let x: InteractiveFixture;
  const { challenge } = pkce();
  beforeEach(async () => {
    x = await createInteractiveFixture();
  });

  const authorize = (overrides: Record<string, string | undefined> = {}) =>
    x.send(x.endpoint.authorize, x.get('authorize', authorizationParams(challenge, overrides)));

  /** An error shown to the user, never sent to a redirect URI. */
  function expectErrorPage(interaction: Interaction, error: string) {
    expect(interaction.kind).toBe('page');
    if (interaction.kind !== 'page') return;
    expect(interaction.page).toMatchObject({ name: 'error', error });
    expect(interaction.status).toBeGreaterThanOrEqual(400);
  }

  /** An error sent back to the client's redirect URI with state and iss (RFC 6749 §4.1.2.1, RFC 9207). */
  function expectErrorRedirect(interaction: Interaction, error: string, state = 'client-state-123') {
    const url = location(interaction);
    expect(`${url.origin}${url.pathname}`).toBe(REDIRECT_URI);
    expect(url.searchParams.get('error')).toBe(error);
    expect(url.searchParams.get('state')).toBe(state);
    expect(url.searchParams.get('iss')).toBe(ISSUER);
    expect(url.searchParams.has('code')).toBe(false);
  }

  describe('before the client and redirect URI are verified: an error page, never a redirect', () => {
    it('refuses an unknown client', async () => {
      const { interaction, audit } = await authorize({ client_id: 'nobody' });
      expectErrorPage(interaction, 'invalid_request');
      expect(audit.reason).toBe('unknown or disabled client');
    });

    it('refuses a disabled client', async () => {
      x.f.registry.clients.set(CODE_CLIENT, { ...x.f.registry.clients.get(CODE_CLIENT)!, enabled: false });
      expectErrorPage((await authorize()).interaction, 'invalid_request');
    });

    it('refuses a missing client_id or redirect_uri', async () => {
      expectErrorPage((await authorize({ client_id: undefined })).interaction, 'invalid_request');
      expectErrorPage((await authorize({ redirect_uri: undefined })).interaction, 'invalid_request');
    });

    it.each([
      ['another host', 'https://attacker.example/callback'],
      ['an extra path segment', `${REDIRECT_URI}/more`],
      ['an extra query', `${REDIRECT_URI}?x=1`],
      ['a trailing slash', `${REDIRECT_URI}/`],
      ['another scheme', REDIRECT_URI.replace('https:', 'http:')],
      ['a fragment', `${REDIRECT_URI}#x`],
      ['upper case', REDIRECT_URI.toUpperCase()],
      ['a loopback URI with another path', 'http://127.0.0.1:8123/other'],
      ['another loopback host', 'http://localhost:8123/callback'],
    ])('refuses a redirect URI with %s (exact match)', async (_, redirectUri) => {
      const { interaction, audit } = await authorize({ redirect_uri: redirectUri });
      expectErrorPage(interaction, 'invalid_request');
      expect(audit.reason).toBe('redirect_uri not registered');
    });

    it('refuses a parameter given twice, on a page (the client cannot be trusted yet)', async () => {
      const request = x.get('authorize', { ...authorizationParams(challenge), client_id: [CODE_CLIENT, CODE_CLIENT] });
      expectErrorPage((await x.endpoint.authorize(request)).interaction, 'invalid_request');
    });
  });

  describe('after: redirected to the client with state and iss', () => {
    it('refuses a response_type other than code with unsupported_response_type', async () => {
      expectErrorRedirect((await authorize({ response_type: 'token' })).interaction, 'unsupported_response_type');
    });

    it('refuses a missing response_type', async () => {
      expectErrorRedirect((await authorize({ response_type: undefined })).interaction, 'invalid_request');
    });

    it('refuses a missing PKCE challenge', async () => {
      expectErrorRedirect((await authorize({ code_challenge: undefined })).interaction, 'invalid_request');
    });

    it.each([
      ['plain', 'plain'],
      ['missing (it would mean plain)', undefined],
      ['unknown', 'S512'],
    ])('refuses a PKCE method that is %s', async (_, method) => {
      expectErrorRedirect((await authorize({ code_challenge_method: method })).interaction, 'invalid_request');
    });

    it('refuses a malformed S256 challenge', async () => {
      expectErrorRedirect((await authorize({ code_challenge: 'short' })).interaction, 'invalid_request');
    });

    it('refuses a resource not served here with invalid_target', async () => {
      const { interaction } = await authorize({ resource: 'https://unknown.example/mcp' });
      expectErrorRedirect(interaction, 'invalid_target');
    });

    it('refuses two resources with invalid_target', async () => {
      const request = x.get('authorize', {
        ...authorizationParams(challenge),
        resource: ['https://mcp.example.com/mcp', 'https://other.example.com/mcp'],
      });
      expectErrorRedirect((await x.send(x.endpoint.authorize, request)).interaction, 'invalid_target');
    });

    it('refuses a scope outside what the client may have with invalid_scope', async () => {
      expectErrorRedirect((await authorize({ scope: 'admin' })).interaction, 'invalid_scope');
    });

    it('refuses a client registered without the authorization_code grant with unauthorized_client', async () => {
      const client = x.f.registry.clients.get(CODE_CLIENT)!;
      x.f.registry.clients.set(CODE_CLIENT, { ...client, grantTypes: ['urn:ietf:params:oauth:grant-type:jwt-bearer'] });
      expectErrorRedirect((await authorize()).interaction, 'unauthorized_client');
    });

    it('refuses a parameter given twice after the target is known, but never redirects before', async () => {
      const request = x.get('authorize', { ...authorizationParams(challenge), scope: ['files:read', 'files:read'] });
      expectErrorPage((await x.endpoint.authorize(request)).interaction, 'invalid_request');
    });

    it('returns a client state with special characters unchanged', async () => {
      const state = 'a b&c=d/é';
      expectErrorRedirect(
        (await authorize({ state, response_type: 'token' })).interaction,
        'unsupported_response_type',
        state,
      );
    });
  });

  describe('the login transaction and the browser cookie', () => {
    it('stores the transaction server-side and binds it to the browser with a __Host- cookie', async () => {
      const { interaction } = await authorize();
      expect(interaction.cookies).toEqual([
        { name: BROWSER_COOKIE, value: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), maxAgeSeconds: 600 },
      ]);
      const [stored] = [...x.grants.transactions.values()];
      expect(stored?.transaction).toMatchObject({
        clientId: CODE_CLIENT,
        redirectUri: REDIRECT_URI,
        state: 'client-state-123',
        codeChallenge: challenge,
        resource: 'https://mcp.example.com/mcp',
        scopes: ['files:read'],
        consented: false,
      });
      // Nothing that would complete the login is stored: the binding is a hash, the upstream secrets derived.
      expect(JSON.stringify(stored)).not.toContain(x.browser.get(BROWSER_COOKIE));
    });

    it('reuses the browser cookie for the next login', async () => {
      await authorize();
      const first = x.browser.get(BROWSER_COOKIE);
      const { interaction } = await authorize();
      expect(interaction.cookies ?? []).toEqual([]);
      expect(x.browser.get(BROWSER_COOKIE)).toBe(first);
    });
  });

  describe('home realm discovery', () => {
    beforeEach(() => {
      x.upstream.issParameterSupported = true;
    });

    it('goes to the only connection there is, after consent', async () => {
      const { interaction } = await authorize();
      expect(interaction).toMatchObject({ kind: 'page', page: { name: 'consent', tenantName: 'Acme Corp' } });
    });

    it('asks for the work email when there are several connections and no hint', async () => {
      x.addConnection({ tenantId: 'globex', issuer: GLOBEX_OIDC, domains: ['globex.example'] });
      const { interaction } = await authorize();
      expect(interaction).toMatchObject({
        kind: 'page',
        page: { name: 'home-realm', client: { clientId: CODE_CLIENT } },
      });
    });

    it('routes a login_hint by its email domain', async () => {
      x.addConnection({ tenantId: 'globex', issuer: GLOBEX_OIDC, domains: ['globex.example'] });
      const { interaction } = await authorize({ login_hint: 'Jane@ACME.example' });
      expect(interaction).toMatchObject({ kind: 'page', page: { name: 'consent', tenantName: 'Acme Corp' } });
    });

    it('routes by a tenant hint', async () => {
      x.addConnection({ tenantId: 'globex', issuer: GLOBEX_OIDC, domains: ['globex.example'] });
      const { interaction } = await authorize({ tenant: 'globex' });
      expect(interaction).toMatchObject({ kind: 'page', page: { name: 'consent', tenantName: 'Globex' } });
    });

    it('ignores a disabled connection and a connection of a disabled tenant', async () => {
      x.addConnection({ tenantId: 'globex', issuer: GLOBEX_OIDC, domains: ['globex.example'], enabled: false });
      expect((await authorize({ tenant: 'globex' })).interaction).toMatchObject({ page: { tenantName: 'Acme Corp' } });
      x.f.registry.tenants.set('acme', { id: 'acme', enabled: false });
      expect((await authorize()).interaction).toMatchObject({ page: { name: 'home-realm' } });
    });

    it('sends an email the form gives to its organisation, and re-asks for one no organisation claims', async () => {
      x.addConnection({ tenantId: 'globex', issuer: GLOBEX_OIDC, domains: ['globex.example'] });
      const { interaction } = await authorize();
      if (interaction.kind !== 'page' || interaction.page.name !== 'home-realm') throw new Error('no home realm page');
      const { transactionId, csrfToken } = interaction.page;
      const form = { transaction: transactionId, csrf: csrfToken, action: 'email' };
      const unknown = await x.send(x.endpoint.interact, x.post({ ...form, email: 'joe@unknown.example' }));
      expect(unknown.interaction).toMatchObject({
        kind: 'page',
        page: { name: 'home-realm', email: 'joe@unknown.example', problem: expect.any(String) },
      });
      const known = await x.send(x.endpoint.interact, x.post({ ...form, email: 'joe@globex.example' }));
      expect(known.interaction).toMatchObject({ kind: 'page', page: { name: 'consent', tenantName: 'Globex' } });
    });

    it('sends an unclaimed email domain to the default connection', async () => {
      x.addConnection({ tenantId: 'globex', issuer: GLOBEX_OIDC, domains: ['globex.example'], isDefault: true });
      const { interaction } = await authorize({ login_hint: 'someone@gmail.example' });
      expect(interaction).toMatchObject({ kind: 'page', page: { name: 'consent', tenantName: 'Globex' } });
    });

    it('refuses a client not allowed for the organisation with access_denied', async () => {
      const client = x.f.registry.clients.get(CODE_CLIENT)!;
      x.f.registry.clients.set(CODE_CLIENT, { ...client, tenants: ['globex'] });
      expectErrorRedirect((await authorize()).interaction, 'access_denied');
    });
  });

  describe('consent (confused deputy)', () => {
    const consentOf = (interaction: Interaction) => {
      if (interaction.kind !== 'page' || interaction.page.name !== 'consent') throw new Error('no consent page');
      return interaction.page;
    };

    it('names the client by its id, the resource, the scopes and where it returns, before any upstream redirect', async () => {
      const page = consentOf((await authorize({ scope: 'files:read files:write' })).interaction);
      expect(page).toMatchObject({
        client: { clientId: CODE_CLIENT },
        resource: 'https://mcp.example.com/mcp',
        scopes: ['files:read', 'files:write'],
        redirectUri: REDIRECT_URI,
      });
      expect(x.upstream.visits.size).toBe(0);
    });

    it('sends the browser to the upstream IdP once approved', async () => {
      const page = consentOf((await authorize()).interaction);
      const { interaction } = await x.send(
        x.endpoint.interact,
        x.post({ transaction: page.transactionId, csrf: page.csrfToken, action: 'approve' }),
      );
      const url = location(interaction);
      expect(`${url.origin}${url.pathname}`).toBe(`${ACME_OIDC}/authorize`);
      expect(url.searchParams.get('redirect_uri')).toBe(`${ISSUER}/callback`);
      expect(url.searchParams.get('scope')).toBe('openid email profile');
      expect(url.searchParams.get('code_challenge_method')).toBe('S256');
      expect(url.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(url.searchParams.get('state')).toBe(page.transactionId);
    });

    it('skips consent for a first-party client', async () => {
      const { interaction } = await authorize({ client_id: FIRST_PARTY_CLIENT });
      expect(location(interaction).origin).toBe(ACME_OIDC);
    });

    it('refused consent goes back to the client as access_denied, and ends the transaction', async () => {
      const page = consentOf((await authorize()).interaction);
      const form = { transaction: page.transactionId, csrf: page.csrfToken };
      const { interaction, audit } = await x.send(x.endpoint.interact, x.post({ ...form, action: 'deny' }));
      expectErrorRedirect(interaction, 'access_denied');
      expect(audit.outcome).toBe('denied');
      const again = await x.send(x.endpoint.interact, x.post({ ...form, action: 'approve' }));
      expectErrorPage(again.interaction, 'invalid_request');
    });

    it.each([
      ['without a CSRF token', undefined],
      ['with a wrong CSRF token', 'A'.repeat(43)],
    ])('refuses a consent form %s', async (_, csrf) => {
      const page = consentOf((await authorize()).interaction);
      const { interaction, audit } = await x.send(
        x.endpoint.interact,
        x.post({ transaction: page.transactionId, csrf, action: 'approve' }),
      );
      expectErrorPage(interaction, 'invalid_request');
      expect(audit.reason).toBe('csrf token mismatch');
      expect(x.upstream.visits.size).toBe(0);
    });

    it("refuses a consent form posted from another browser (without this browser's cookie)", async () => {
      const page = consentOf((await authorize()).interaction);
      x.browser.clear();
      const { interaction, audit } = await x.send(
        x.endpoint.interact,
        x.post({ transaction: page.transactionId, csrf: page.csrfToken, action: 'approve' }),
      );
      expectErrorPage(interaction, 'invalid_request');
      expect(audit.reason).toBe('no browser cookie');
    });

    it('refuses a consent form after the transaction has expired', async () => {
      const page = consentOf((await authorize()).interaction);
      x.f.clock.seconds += 601;
      const { interaction } = await x.send(
        x.endpoint.interact,
        x.post({ transaction: page.transactionId, csrf: page.csrfToken, action: 'approve' }),
      );
      expectErrorPage(interaction, 'invalid_request');
    });
  });

  it('accepts a loopback redirect URI on any port (RFC 8252 §7.3), and redirects errors there', async () => {
    const redirectUri = LOOPBACK_REDIRECT.replace('127.0.0.1', '127.0.0.1:49152');
    const { interaction } = await authorize({ redirect_uri: redirectUri, response_type: 'token' });
    const url = location(interaction);
    expect(`${url.origin}${url.pathname}`).toBe('http://127.0.0.1:49152/callback');
    expect(url.searchParams.get('error')).toBe('unsupported_response_type');
  });

  it('shows an error page when the interactive flow is off', async () => {
    const off = await createInteractiveFixture();
    const endpoint = (await import('../../lambda/core/authorize/endpoint')).createAuthorizeEndpoint({
      ...off.f,
      config: { ...off.f.config, interactive: { ...off.f.config.interactive, enabled: false } },
      grants: off.grants,
      upstream: off.upstream,
      secrets: off.secrets,
    });
    expectErrorPage(
      (await endpoint.authorize(off.get('authorize', authorizationParams(challenge)))).interaction,
      'invalid_request',
    );
  });
});
