import { AUTHORIZATION_CODE_GRANT_TYPE } from '../../lambda/core/model';
import { basic, SECRET, tokenRequest } from '../support/fixture';
import {
  ACME_OIDC,
  authorizationParams,
  CODE_CLIENT,
  CONFIDENTIAL_CODE_CLIENT,
  createInteractiveFixture,
  FIRST_PARTY_CLIENT,
  type InteractiveFixture,
  ISSUER,
  LOOPBACK_REDIRECT,
  location,
  pkce,
  REDIRECT_URI,
} from '../support/interactive';
import { documentedSubject, expectIssued, expectRejected, verifyAccessToken } from '../support/outcome';

const MCP = 'https://mcp.example.com/mcp';

/** PROTOCOL.md §11: authorization codes and grant_type=authorization_code, through the core with in-memory ports. */
describe('the authorization code grant', () => {
  let x: InteractiveFixture;
  let verifier: string;
  beforeEach(async () => {
    x = await createInteractiveFixture();
    verifier = '';
  });

  /** The whole browser flow for `clientId`: returns the authorization code. */
  async function codeFor(clientId = FIRST_PARTY_CLIENT, overrides: Record<string, string> = {}): Promise<string> {
    const pair = pkce();
    verifier = pair.verifier;
    const params = authorizationParams(pair.challenge, {
      client_id: clientId,
      scope: 'files:read files:write',
      ...overrides,
    });
    let { interaction } = await x.send(x.endpoint.authorize, x.get('authorize', params));
    if (interaction.kind === 'page' && interaction.page.name === 'consent') {
      const { transactionId, csrfToken } = interaction.page;
      ({ interaction } = await x.send(
        x.endpoint.interact,
        x.post({ transaction: transactionId, csrf: csrfToken, action: 'approve' }),
      ));
    }
    const query = x.upstream.signIn(location(interaction).toString());
    const back = await x.send(x.endpoint.callback, { ...x.get('callback', {}), query });
    return location(back.interaction).searchParams.get('code')!;
  }

  /** A token request of a public client, valid unless told otherwise. */
  const redeem = (code: string, form: Record<string, string | undefined> = {}, clientId = FIRST_PARTY_CLIENT) =>
    x.token(
      tokenRequest(undefined, {
        authorization: null,
        form: {
          grant_type: AUTHORIZATION_CODE_GRANT_TYPE,
          code,
          redirect_uri: REDIRECT_URI,
          code_verifier: verifier,
          client_id: clientId,
          ...form,
        },
      }),
    );

  it('issues the RFC 9068 access token of the signed-in user for the authorized resource and scopes', async () => {
    const outcome = await redeem(await codeFor());
    const body = expectIssued(outcome);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'files:read files:write' });
    expect(body).not.toHaveProperty('refresh_token');
    const { claims, header } = await verifyAccessToken(body.access_token, x.f.signer, MCP, x.f.clock.now());
    expect(header.typ).toBe('at+jwt');
    expect(claims).toMatchObject({
      iss: ISSUER,
      sub: documentedSubject('acme', ACME_OIDC, 'alice'),
      aud: MCP,
      client_id: FIRST_PARTY_CLIENT,
      scope: 'files:read files:write',
      tenant: 'acme',
      idp_iss: ACME_OIDC,
      idp_sub: 'alice',
      email: 'alice@acme.example',
    });
    expect(outcome.audit).toMatchObject({
      grantType: 'authorization_code',
      client: FIRST_PARTY_CLIENT,
      tenant: 'acme',
    });
  });

  it('gives the same sub by ID-JAG and by interactive sign-in through the same IdP', async () => {
    const idp = await x.f.addIdp({ issuer: ACME_OIDC, tenantId: 'acme' });
    const viaJag = expectIssued(await x.f.exchange(tokenRequest(await idp.mint({ claims: { sub: 'alice' } }))));
    const viaCode = expectIssued(await redeem(await codeFor()));
    const subOf = async (token: string) =>
      (await verifyAccessToken(token, x.f.signer, MCP, x.f.clock.now())).claims.sub;
    expect(await subOf(viaCode.access_token)).toBe(await subOf(viaJag.access_token));
  });

  it('authenticates a confidential client as registered', async () => {
    const code = await codeFor(CONFIDENTIAL_CODE_CLIENT);
    const request = tokenRequest(undefined, {
      authorization: basic(CONFIDENTIAL_CODE_CLIENT, SECRET),
      form: { grant_type: AUTHORIZATION_CODE_GRANT_TYPE, code, redirect_uri: REDIRECT_URI, code_verifier: verifier },
    });
    expectIssued(await x.token(request));
  });

  it('refuses a confidential client that presents only its client_id', async () => {
    const code = await codeFor(CONFIDENTIAL_CODE_CLIENT);
    expectRejected(await redeem(code, {}, CONFIDENTIAL_CODE_CLIENT), 'invalid_client', 401);
  });

  it('refuses a second redemption of a code, and revokes the grant the first one started', async () => {
    const code = await codeFor();
    expectIssued(await redeem(code));
    expectRejected(await redeem(code), 'invalid_grant', 400, /code replayed: grant revoked/);
    const grantId = [...x.grants.codes.values()][0]!.grant.grantId;
    expect(x.grants.isGrantRevoked(grantId)).toBe(true);
  });

  it('refuses a code after its 60 seconds', async () => {
    const code = await codeFor();
    x.f.clock.seconds += 61;
    expectRejected(await redeem(code), 'invalid_grant', 400, /unknown or expired code/);
  });

  it('accepts a code at its 59th second', async () => {
    const code = await codeFor();
    x.f.clock.seconds += 59;
    expectIssued(await redeem(code));
  });

  it('refuses a code issued to another client', async () => {
    const code = await codeFor(CODE_CLIENT);
    expectRejected(await redeem(code), 'invalid_grant', 400, /another client/);
  });

  it('refuses another redirect_uri than the authorization request had', async () => {
    const code = await codeFor(FIRST_PARTY_CLIENT, { redirect_uri: 'http://127.0.0.1:5000/callback' });
    const other = 'http://127.0.0.1:5001/callback';
    expectRejected(await redeem(code, { redirect_uri: other }), 'invalid_grant', 400, /redirect_uri differs/);
    expect(LOOPBACK_REDIRECT).toBe('http://127.0.0.1/callback');
  });

  it('refuses a wrong code_verifier', async () => {
    const code = await codeFor();
    const wrong = pkce().verifier;
    expectRejected(await redeem(code, { code_verifier: wrong }), 'invalid_grant', 400, /code_verifier does not match/);
  });

  it.each([
    ['missing', undefined, 'invalid_request'],
    ['too short', 'abc', 'invalid_request'],
  ])('refuses a code_verifier that is %s', async (_, codeVerifier, error) => {
    const code = await codeFor();
    expectRejected(await redeem(code, { code_verifier: codeVerifier }), error);
  });

  it('refuses a resource other than the one authorized with invalid_target', async () => {
    const code = await codeFor();
    const outcome = await redeem(code, { resource: 'https://other.example.com/mcp' });
    expectRejected(outcome, 'invalid_target', 400);
  });

  it('accepts the authorized resource named again', async () => {
    expectIssued(await redeem(await codeFor(), { resource: MCP }));
  });

  it('refuses an unknown code', async () => {
    await codeFor();
    expectRejected(await redeem('A'.repeat(43)), 'invalid_grant', 400, /unknown or expired/);
  });

  it('refuses a client without the authorization_code grant with unauthorized_client', async () => {
    const code = await codeFor();
    const client = x.f.registry.clients.get(FIRST_PARTY_CLIENT)!;
    x.f.registry.clients.set(FIRST_PARTY_CLIENT, {
      ...client,
      grantTypes: ['urn:ietf:params:oauth:grant-type:jwt-bearer'],
    });
    expectRejected(await redeem(code), 'unauthorized_client');
  });

  it('issues nothing when the tenant was disabled before the code was redeemed', async () => {
    const code = await codeFor();
    x.f.registry.tenants.set('acme', { id: 'acme', enabled: false });
    expectRejected(await redeem(code), 'invalid_grant', 400, /tenant disabled/);
  });

  it('is unsupported when the interactive flow is off', async () => {
    const { createTokenEndpoint } = await import('../../lambda/core/token-endpoint');
    const code = await codeFor();
    const off = createTokenEndpoint({
      ...x.f,
      grants: x.grants,
      config: { ...x.f.config, interactive: { ...x.f.config.interactive, enabled: false } },
    });
    const request = tokenRequest(undefined, {
      authorization: null,
      form: {
        grant_type: AUTHORIZATION_CODE_GRANT_TYPE,
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        client_id: FIRST_PARTY_CLIENT,
      },
    });
    expectRejected(await off(request), 'unsupported_grant_type');
  });
});
