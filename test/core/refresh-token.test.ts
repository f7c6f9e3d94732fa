import {
  AUTHORIZATION_CODE_GRANT_TYPE,
  type Client,
  type Connection,
  REFRESH_TOKEN_GRANT_TYPE,
} from '../../lambda/core/model';
import { refreshTokenHash } from '../../lambda/core/refresh-tokens';
import { basic, SECRET, tokenRequest } from '../support/fixture';
import {
  ACME_OIDC,
  authorizationParams,
  CONFIDENTIAL_CODE_CLIENT,
  createInteractiveFixture,
  FIRST_PARTY_CLIENT,
  type InteractiveFixture,
  location,
  OTHER_REFRESH_CLIENT,
  pkce,
  REDIRECT_URI,
  REFRESH_CLIENT,
  signInFirstParty,
} from '../support/interactive';
import { documentedSubject, expectIssued, expectRejected, verifyAccessToken } from '../support/outcome';

const MCP = 'https://mcp.example.com/mcp';
const DAY = 86400;

/** PROTOCOL.md §12: refresh tokens, through the core with in-memory ports. */
describe('the refresh token grant', () => {
  let x: InteractiveFixture;
  beforeEach(async () => {
    x = await createInteractiveFixture();
  });

  /** The browser flow and the code's redemption for `clientId`: the token response, and the redemption to replay. */
  async function signIn(clientId = REFRESH_CLIENT, scope = 'files:read files:write') {
    const { redeem } = await signInFirstParty(x, clientId, { scope });
    return { body: expectIssued(await redeem()), redeem };
  }

  const refresh = (refreshToken: string | undefined, form: Record<string, string> = {}, clientId = REFRESH_CLIENT) =>
    x.token(
      tokenRequest(undefined, {
        authorization: null,
        form: { grant_type: REFRESH_TOKEN_GRANT_TYPE, refresh_token: refreshToken, client_id: clientId, ...form },
      }),
    );

  /** Refreshes and returns the new token response; fails the test when refused. */
  const rotate = async (refreshToken: string) => expectIssued(await refresh(refreshToken));

  it('issues a refresh token with the code to a client registered for the refresh_token grant', async () => {
    const { body } = await signIn();
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Only its hash is stored.
    expect(x.grants.refreshTokens.has(refreshTokenHash(body.refresh_token!))).toBe(true);
    expect(JSON.stringify([...x.grants.refreshTokens.values(), ...x.grants.grants.values()])).not.toContain(
      body.refresh_token,
    );
  });

  it('issues none to a client without the refresh_token grant, nor for an ID-JAG', async () => {
    const { body } = await signIn(FIRST_PARTY_CLIENT);
    expect(body).not.toHaveProperty('refresh_token');
    const idp = await x.f.addIdp({ issuer: ACME_OIDC, tenantId: 'acme' });
    expect(expectIssued(await x.f.exchange(tokenRequest(await idp.mint())))).not.toHaveProperty('refresh_token');
  });

  it('refreshes: the same user, resource and scopes, a new access token and a new refresh token', async () => {
    const { body } = await signIn();
    x.f.clock.seconds += 3000;
    const outcome = await refresh(body.refresh_token);
    const refreshed = expectIssued(outcome);
    expect(refreshed).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'files:read files:write' });
    expect(refreshed.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(refreshed.refresh_token).not.toBe(body.refresh_token);
    const { claims } = await verifyAccessToken(refreshed.access_token, x.f.signer, MCP, x.f.clock.now());
    expect(claims).toMatchObject({
      sub: documentedSubject('acme', ACME_OIDC, 'alice'),
      aud: MCP,
      client_id: REFRESH_CLIENT,
      scope: 'files:read files:write',
      tenant: 'acme',
      idp_iss: ACME_OIDC,
      idp_sub: 'alice',
      email: 'alice@acme.example',
      iat: x.f.clock.now(),
    });
    expect(claims.auth_time).toBeLessThan(x.f.clock.now() - 3000);
    expect(outcome.audit).toMatchObject({
      outcome: 'issued',
      grantType: 'refresh_token',
      client: REFRESH_CLIENT,
      tenant: 'acme',
      grantId: expect.any(String),
    });
    expect(JSON.stringify(outcome.audit)).not.toContain(body.refresh_token);
    expect(JSON.stringify(outcome.audit)).not.toContain(refreshed.refresh_token);
  });

  describe('rotation', () => {
    it('refuses a refresh token at once after its use', async () => {
      const { body } = await signIn();
      await rotate(body.refresh_token!);
      expectRejected(await refresh(body.refresh_token), 'invalid_grant', 400, /refresh token reused/);
    });

    it('keeps a chain going: each successor works once', async () => {
      let token = (await signIn()).body.refresh_token!;
      for (let i = 0; i < 5; i += 1) {
        x.f.clock.seconds += DAY;
        token = (await rotate(token)).refresh_token!;
      }
      expectIssued(await refresh(token));
    });

    it('on reuse revokes the grant: the newest refresh token stops working too, and the audit says why', async () => {
      const { body } = await signIn();
      const newest = (await rotate(body.refresh_token!)).refresh_token!;
      const reuse = await refresh(body.refresh_token);
      expectRejected(reuse, 'invalid_grant', 400);
      expect(reuse.audit).toMatchObject({
        outcome: 'refresh_token_reused',
        error: 'invalid_grant',
        client: REFRESH_CLIENT,
        tenant: 'acme',
        grantId: expect.any(String),
      });
      expectRejected(await refresh(newest), 'invalid_grant', 400, /grant revoked/);
    });

    it('of 20 concurrent refreshes of one token exactly one succeeds', async () => {
      const { body } = await signIn();
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => refresh(body.refresh_token)));
      expect(outcomes.filter((outcome) => outcome.response.status === 200)).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome.audit.outcome === 'refresh_token_reused')).toHaveLength(19);
    });
  });

  describe('lifetimes', () => {
    it('ends a refresh token unused for its idle lifetime (14 days by default)', async () => {
      const { body } = await signIn();
      x.f.clock.seconds += 14 * DAY;
      expectRejected(await refresh(body.refresh_token), 'invalid_grant', 400, /unknown or expired refresh token/);
    });

    it('accepts a refresh token a second before its idle end', async () => {
      const { body } = await signIn();
      x.f.clock.seconds += 14 * DAY - 1;
      expectIssued(await refresh(body.refresh_token));
    });

    it('ends the grant at its absolute lifetime (90 days by default), however often it was refreshed', async () => {
      let token = (await signIn()).body.refresh_token!;
      for (let day = 10; day < 90; day += 10) {
        x.f.clock.seconds += 10 * DAY;
        token = (await rotate(token)).refresh_token!;
      }
      // Day 80 issued a token whose idle end would be day 94: the grant's end at day 90 comes first.
      x.f.clock.seconds += 10 * DAY - 1;
      const lastSecond = await rotate(token);
      x.f.clock.seconds += 1;
      expectRejected(await refresh(lastSecond.refresh_token), 'invalid_grant', 400, /unknown or expired/);
    });

    it("follows a client's own lifetimes, and a shortened absolute lifetime ends the grants that exist", async () => {
      const { body } = await signIn();
      const client = x.f.registry.clients.get(REFRESH_CLIENT)!;
      x.f.registry.clients.set(REFRESH_CLIENT, { ...client, refreshTokens: { idleSeconds: 3600 } });
      x.f.clock.seconds += 60;
      const next = await rotate(body.refresh_token!);
      x.f.clock.seconds += 3600;
      expectRejected(await refresh(next.refresh_token), 'invalid_grant', 400, /unknown or expired/);

      x.f.registry.clients.set(REFRESH_CLIENT, client);
      const second = (await signIn()).body.refresh_token!;
      x.f.registry.clients.set(REFRESH_CLIENT, { ...client, refreshTokens: { absoluteSeconds: 2 * DAY } });
      x.f.clock.seconds += 2 * DAY;
      expectRejected(await refresh(second), 'invalid_grant', 400, /absolute lifetime/);
    });
  });

  describe('what a refresh may ask for', () => {
    it('narrows the scope of the access token on request; the grant keeps the rest', async () => {
      const { body } = await signIn();
      const narrow = expectIssued(await refresh(body.refresh_token, { scope: 'files:read' }));
      expect(narrow.scope).toBe('files:read');
      const { claims } = await verifyAccessToken(narrow.access_token, x.f.signer, MCP, x.f.clock.now());
      expect(claims.scope).toBe('files:read');
      expect(expectIssued(await refresh(narrow.refresh_token)).scope).toBe('files:read files:write');
    });

    it('refuses to widen the scope, and leaves the client its refresh token', async () => {
      const { body } = await signIn(REFRESH_CLIENT, 'files:read');
      expectRejected(await refresh(body.refresh_token, { scope: 'files:read files:write' }), 'invalid_scope');
      expectRejected(await refresh(body.refresh_token, { scope: 'admin' }), 'invalid_scope');
      expect(expectIssued(await refresh(body.refresh_token)).scope).toBe('files:read');
    });

    it('refuses another resource, and accepts the granted one named', async () => {
      const { body } = await signIn();
      expectRejected(
        await refresh(body.refresh_token, { resource: 'https://other.example.com/mcp' }),
        'invalid_target',
      );
      expectIssued(await refresh(body.refresh_token, { resource: MCP }));
    });

    it('drops a scope the client may no longer have', async () => {
      const { body } = await signIn();
      const client = x.f.registry.clients.get(REFRESH_CLIENT)!;
      x.f.registry.clients.set(REFRESH_CLIENT, { ...client, scopes: ['files:read'] });
      expect(expectIssued(await refresh(body.refresh_token)).scope).toBe('files:read');
    });
  });

  describe('who may refresh', () => {
    it("refuses another client's refresh token, and leaves it working for its own client", async () => {
      const { body } = await signIn();
      expectRejected(
        await refresh(body.refresh_token, {}, OTHER_REFRESH_CLIENT),
        'invalid_grant',
        400,
        /issued to another client/,
      );
      expectIssued(await refresh(body.refresh_token));
    });

    it('refuses a client no longer registered for the refresh_token grant', async () => {
      const { body } = await signIn();
      const client = x.f.registry.clients.get(REFRESH_CLIENT)!;
      x.f.registry.clients.set(REFRESH_CLIENT, { ...client, grantTypes: [AUTHORIZATION_CODE_GRANT_TYPE] });
      expectRejected(await refresh(body.refresh_token), 'unauthorized_client');
    });

    it('authenticates a confidential client as registered', async () => {
      const client = x.f.registry.clients.get(CONFIDENTIAL_CODE_CLIENT)!;
      x.f.registry.clients.set(CONFIDENTIAL_CODE_CLIENT, {
        ...client,
        firstParty: true,
        grantTypes: [AUTHORIZATION_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE],
      });
      const { verifier, challenge } = pkce();
      const params = authorizationParams(challenge, { client_id: CONFIDENTIAL_CODE_CLIENT });
      const { interaction } = await x.send(x.endpoint.authorize, x.get('authorize', params));
      const query = x.upstream.signIn(location(interaction).toString());
      const back = await x.send(x.endpoint.callback, { ...x.get('callback', {}), query });
      const form = {
        grant_type: AUTHORIZATION_CODE_GRANT_TYPE,
        code: location(back.interaction).searchParams.get('code')!,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      };
      const issued = expectIssued(
        await x.token(tokenRequest(undefined, { authorization: basic(CONFIDENTIAL_CODE_CLIENT, SECRET), form })),
      );
      const refreshForm = { grant_type: REFRESH_TOKEN_GRANT_TYPE, refresh_token: issued.refresh_token };
      const wrong = tokenRequest(undefined, {
        authorization: basic(CONFIDENTIAL_CODE_CLIENT, `${SECRET}x`),
        form: refreshForm,
      });
      expectRejected(await x.token(wrong), 'invalid_client', 401);
      const right = tokenRequest(undefined, {
        authorization: basic(CONFIDENTIAL_CODE_CLIENT, SECRET),
        form: refreshForm,
      });
      expectIssued(await x.token(right));
    });

    const setClient = (f: InteractiveFixture, change: Partial<Client>) => {
      const client = f.f.registry.clients.get(REFRESH_CLIENT)!;
      f.f.registry.clients.set(REFRESH_CLIENT, { ...client, ...change });
    };
    const setConnection = (f: InteractiveFixture, change: Partial<Connection>) => {
      const list = f.f.registry.connectionList;
      list[0] = { ...list[0]!, ...change };
    };
    it.each<[string, (f: InteractiveFixture) => void, string, RegExp]>([
      [
        'the tenant is disabled',
        (f) => f.f.registry.tenants.set('acme', { id: 'acme', enabled: false }),
        'invalid_grant',
        /tenant disabled/,
      ],
      ['the client is disabled', (f) => setClient(f, { enabled: false }), 'invalid_client', /client disabled/],
      [
        'the client no longer serves the tenant',
        (f) => setClient(f, { tenants: ['globex'] }),
        'invalid_grant',
        /client not allowed for tenant/,
      ],
      [
        "the tenant's connection is disabled",
        (f) => setConnection(f, { enabled: false }),
        'invalid_grant',
        /connection disabled/,
      ],
      [
        "the tenant's connection now trusts another IdP",
        (f) => setConnection(f, { issuer: 'https://new-idp.acme.example' }),
        'invalid_grant',
        /another IdP/,
      ],
    ])('refuses to refresh once %s', async (_, change, error, reason) => {
      const { body } = await signIn();
      change(x);
      expectRejected(await refresh(body.refresh_token), error, error === 'invalid_client' ? 401 : 400, reason);
    });
  });

  describe('malformed and unknown tokens', () => {
    it('requires refresh_token', async () => {
      expectRejected(await refresh(undefined), 'invalid_request', 400);
    });

    it.each([
      ['an unknown token', 'A'.repeat(43)],
      ['a token of another shape', 'not-a-refresh-token'],
    ])('refuses %s with invalid_grant', async (_, token) => {
      expectRejected(await refresh(token), 'invalid_grant', 400, /unknown or expired refresh token/);
    });
  });

  it('stops the refresh tokens of a grant whose code was replayed', async () => {
    const { body, redeem } = await signIn();
    expectRejected(await redeem(), 'invalid_grant', 400, /code replayed/);
    expectRejected(await refresh(body.refresh_token), 'invalid_grant', 400, /grant revoked/);
  });
});
