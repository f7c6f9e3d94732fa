import { generateKeyPair } from 'jose';
import type { InteractionOutcome } from '../../lambda/core/authorize/endpoint';
import {
  ACME_OIDC,
  authorizationParams,
  createInteractiveFixture,
  type InteractiveFixture,
  ISSUER,
  location,
  pkce,
  REDIRECT_URI,
} from '../support/interactive';
import { b64json } from '../support/test-idp';

/** PROTOCOL.md §10: the upstream sign-in and its callback, through the core with in-memory ports. */
describe('the upstream sign-in (GET /callback)', () => {
  let x: InteractiveFixture;
  const { challenge } = pkce();
  beforeEach(async () => {
    x = await createInteractiveFixture();
  });

  /** Authorize, approve, and arrive at the IdP: returns the callback query the IdP would send the browser back with. */
  async function atUpstream(subject = 'alice'): Promise<string> {
    const { interaction } = await x.send(x.endpoint.authorize, x.get('authorize', authorizationParams(challenge)));
    if (interaction.kind !== 'page' || interaction.page.name !== 'consent') throw new Error('expected consent');
    const approved = await x.send(
      x.endpoint.interact,
      x.post({ transaction: interaction.page.transactionId, csrf: interaction.page.csrfToken, action: 'approve' }),
    );
    return x.upstream.signIn(location(approved.interaction).toString(), subject);
  }

  const callback = (query: string): Promise<InteractionOutcome> =>
    x.send(x.endpoint.callback, { ...x.get('callback', {}), query });

  function expectCode(outcome: InteractionOutcome) {
    const url = location(outcome.interaction);
    expect(`${url.origin}${url.pathname}`).toBe(REDIRECT_URI);
    expect(url.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toBe('client-state-123');
    expect(url.searchParams.get('iss')).toBe(ISSUER);
    return url.searchParams.get('code')!;
  }

  function expectErrorRedirect(outcome: InteractionOutcome, error: string) {
    const url = location(outcome.interaction);
    expect(`${url.origin}${url.pathname}`).toBe(REDIRECT_URI);
    expect(url.searchParams.get('error')).toBe(error);
    expect(url.searchParams.get('state')).toBe('client-state-123');
    expect(url.searchParams.get('iss')).toBe(ISSUER);
    expect(url.searchParams.has('code')).toBe(false);
    expect(x.grants.codes.size).toBe(0);
  }

  function expectErrorPage(outcome: InteractionOutcome, reason: string, codesBefore = 0) {
    expect(outcome.interaction).toMatchObject({ kind: 'page', page: { name: 'error', error: 'invalid_request' } });
    expect(outcome.audit.reason).toBe(reason);
    expect(x.grants.codes.size).toBe(codesBefore);
  }

  it('issues an authorization code bound to the client, redirect URI, PKCE challenge, resource, scope and user', async () => {
    const outcome = await callback(await atUpstream());
    expectCode(outcome);
    expect(outcome.audit).toMatchObject({ event: 'authorization_callback', outcome: 'code', tenant: 'acme' });
    const grant = [...x.grants.codes.values()][0]?.grant;
    expect(grant).toMatchObject({
      clientId: 'mcp-inspector',
      redirectUri: REDIRECT_URI,
      codeChallenge: challenge,
      resource: 'https://mcp.example.com/mcp',
      scopes: ['files:read'],
      tenantId: 'acme',
      idpIssuer: ACME_OIDC,
      idpSubject: 'alice',
      email: 'alice@acme.example',
      expiresAt: x.f.clock.now() + 60,
    });
    // Only a hash of the code is stored.
    expect(JSON.stringify(grant)).not.toContain(location(outcome.interaction).searchParams.get('code'));
  });

  it('authenticates to the IdP with the connection secret and our PKCE verifier', async () => {
    expectCode(await callback(await atUpstream()));
    expect(x.upstream.exchanges).toEqual([
      { clientId: x.upstream.clientId, clientSecret: 'upstream-secret', authMethod: 'client_secret_basic' },
    ]);
  });

  describe('login CSRF: the answer must come back to the browser that started the login', () => {
    it('refuses a callback without the browser cookie', async () => {
      const query = await atUpstream();
      x.browser.clear();
      expectErrorPage(await callback(query), 'no browser cookie');
    });

    it("refuses a callback with another browser's cookie", async () => {
      const query = await atUpstream();
      const other = await createInteractiveFixture();
      await other.send(other.endpoint.authorize, other.get('authorize', authorizationParams(challenge)));
      x.browser.clear();
      for (const [name, value] of other.browser) x.browser.set(name, value);
      expectErrorPage(await callback(query), 'transaction started by another browser');
    });

    it('refuses a callback for an unknown transaction', async () => {
      await atUpstream();
      expectErrorPage(await callback(`code=x&state=${'A'.repeat(43)}`), 'unknown, used or expired transaction');
    });

    it('refuses a replayed callback: a transaction is used once', async () => {
      const query = await atUpstream();
      expectCode(await callback(query));
      expectErrorPage(await callback(query), 'unknown, used or expired transaction', 1);
    });

    it('refuses a callback after the transaction expired', async () => {
      const query = await atUpstream();
      x.f.clock.seconds += 601;
      expectErrorPage(await callback(query), 'unknown, used or expired transaction');
    });
  });

  describe('the upstream answer', () => {
    it('refuses an answer whose iss is another issuer (RFC 9207 mix-up)', async () => {
      const query = new URLSearchParams(await atUpstream());
      query.set('iss', 'https://evil.example');
      const outcome = await callback(query.toString());
      expectErrorRedirect(outcome, 'access_denied');
      expect(outcome.audit.reason).toBe('upstream iss mismatch');
    });

    it('refuses an answer without iss from an IdP that says it sends one', async () => {
      const query = new URLSearchParams(await atUpstream());
      query.delete('iss');
      expectErrorRedirect(await callback(query.toString()), 'access_denied');
    });

    it('accepts an answer without iss from an IdP that does not send one', async () => {
      x.upstream.issParameterSupported = false;
      const query = new URLSearchParams(await atUpstream());
      query.delete('iss');
      expectCode(await callback(query.toString()));
    });

    it('passes an upstream access_denied back to the client as access_denied', async () => {
      const query = new URLSearchParams(await atUpstream());
      const state = query.get('state')!;
      expectErrorRedirect(await callback(`error=access_denied&state=${state}&iss=${ACME_OIDC}`), 'access_denied');
    });

    it('passes any other upstream error back as server_error', async () => {
      const state = new URLSearchParams(await atUpstream()).get('state')!;
      expectErrorRedirect(
        await callback(`error=temporarily_unavailable&state=${state}&iss=${ACME_OIDC}`),
        'server_error',
      );
    });

    it('passes a refused code exchange back to the client as server_error, never a code', async () => {
      const query = new URLSearchParams(await atUpstream());
      query.set('code', 'not-the-code');
      const outcome = await callback(query.toString());
      expectErrorRedirect(outcome, 'server_error');
      expect(outcome.audit.reason).toBe('code exchange: unknown upstream code');
    });

    it('refuses a code exchange with a wrong connection secret (the IdP refuses it)', async () => {
      x.secrets.values.set('secretsmanager:acme-oidc', 'not-the-secret');
      const outcome = await callback(await atUpstream());
      expectErrorRedirect(outcome, 'server_error');
      expect(outcome.audit.reason).toBe('code exchange: client');
    });
  });

  describe('the ID token, validated fully', () => {
    const refuses = async (reason: RegExp) => {
      const outcome = await callback(await atUpstream());
      expectErrorRedirect(outcome, 'access_denied');
      expect(outcome.audit.reason).toMatch(reason);
    };

    it('refuses another aud', async () => {
      x.upstream.idTokenClaims = { aud: 'someone-else' };
      await refuses(/aud does not name our client/);
    });

    it('refuses several audiences without azp naming us', async () => {
      x.upstream.idTokenClaims = { aud: [x.upstream.clientId, 'someone-else'] };
      await refuses(/azp does not name our client/);
    });

    it('accepts several audiences with azp naming us', async () => {
      x.upstream.idTokenClaims = { aud: [x.upstream.clientId, 'someone-else'], azp: x.upstream.clientId };
      expectCode(await callback(await atUpstream()));
    });

    it('refuses another iss', async () => {
      x.upstream.idTokenClaims = { iss: 'https://login.acme.example/other' };
      await refuses(/iss is not the connection issuer/);
    });

    it('refuses a wrong nonce', async () => {
      x.upstream.idTokenClaims = { nonce: 'A'.repeat(43) };
      await refuses(/nonce mismatch/);
    });

    it('refuses a missing nonce', async () => {
      x.upstream.idTokenClaims = { nonce: undefined };
      await refuses(/nonce mismatch/);
    });

    it('refuses an expired ID token', async () => {
      x.upstream.idTokenClaims = { exp: x.f.clock.now() - 61 };
      await refuses(/expired/);
    });

    it('refuses an ID token issued in the future', async () => {
      x.upstream.idTokenClaims = { iat: x.f.clock.now() + 120 };
      await refuses(/iat/);
    });

    it('refuses an ID token without sub', async () => {
      x.upstream.idTokenClaims = { sub: undefined };
      await refuses(/sub/);
    });

    it('refuses a forged signature', async () => {
      x.upstream.forgeWith = (await generateKeyPair('ES256')).privateKey;
      await refuses(/ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
    });

    it('refuses an ID token typed as another kind of token', async () => {
      x.upstream.idTokenHeader = { typ: 'at+jwt' };
      await refuses(/typ/);
    });

    it('refuses an unsigned ID token (alg none)', async () => {
      const query = await atUpstream();
      const exchange = x.upstream.exchangeCode.bind(x.upstream);
      x.upstream.exchangeCode = async (request) => {
        const { idToken } = await exchange(request);
        const [, payload] = idToken.split('.');
        return { idToken: `${b64json({ alg: 'none', typ: 'JWT' })}.${payload}.` };
      };
      const outcome = await callback(query);
      expectErrorRedirect(outcome, 'access_denied');
      expect(outcome.audit.reason).toMatch(/none|ERR_J/);
    });

    it('drops an email the IdP says it has not verified', async () => {
      x.upstream.idTokenClaims = { email_verified: false };
      expectCode(await callback(await atUpstream()));
      expect([...x.grants.codes.values()][0]?.grant).not.toHaveProperty('email');
    });
  });

  it('sends the browser back with access_denied when the tenant was disabled during sign-in', async () => {
    const query = await atUpstream();
    x.f.registry.tenants.set('acme', { id: 'acme', enabled: false });
    expectErrorRedirect(await callback(query), 'access_denied');
  });

  it('an upstream that cannot be reached is temporarily_unavailable, sent back to the client', async () => {
    const query = await atUpstream();
    const { TemporarilyUnavailableError } = await import('../../lambda/core/errors');
    x.upstream.metadataFailure = new TemporarilyUnavailableError('upstream metadata: timeout');
    const outcome = await callback(query);
    expectErrorRedirect(outcome, 'temporarily_unavailable');
    expect(outcome.audit.outcome).toBe('failed');
  });
});
