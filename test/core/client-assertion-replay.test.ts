import {
  AUTHORIZATION_CODE_GRANT_TYPE,
  CLIENT_ASSERTION_TYPE_JWT_BEARER,
  REFRESH_TOKEN_GRANT_TYPE,
} from '../../lambda/core/model';
import { createRevocationEndpoint } from '../../lambda/core/revocation';
import { CLIENTS, tokenRequest } from '../support/fixture';
import {
  createInteractiveFixture,
  type InteractiveFixture,
  REDIRECT_URI,
  signInFirstParty,
} from '../support/interactive';
import { expectIssued, expectRejected } from '../support/outcome';

/**
 * A private_key_jwt client assertion is accepted once at every endpoint that authenticates clients (RFC 7523 §3), not
 * only with the jwt-bearer grant: a replayed one is refused as `invalid_client` before the request spends its code or
 * refresh token, or revokes anything.
 */
describe("a private_key_jwt client's assertion, used twice", () => {
  let x: InteractiveFixture;
  beforeEach(async () => {
    x = await createInteractiveFixture();
    const keyed = x.f.registry.clients.get(CLIENTS.jwt)!;
    // The keyed client, for the interactive flow too (first party only so that the in-memory flow has no consent step).
    x.f.registry.clients.set(CLIENTS.jwt, {
      ...keyed,
      grantTypes: [AUTHORIZATION_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE],
      redirectUris: [REDIRECT_URI],
      scopes: ['files:read', 'files:write'],
      firstParty: true,
    });
  });

  const authenticated = (assertion: string) => ({
    client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER,
    client_assertion: assertion,
  });
  const post = (form: Record<string, string>, assertion: string) =>
    x.token(tokenRequest(undefined, { authorization: null, form: { ...form, ...authenticated(assertion) } }));
  /** The browser flow for the keyed client: the redemption's form, without client authentication. */
  const signIn = async () => {
    const { client_id: _, ...form } = (await signInFirstParty(x, CLIENTS.jwt)).form;
    return form;
  };

  it('is refused at the code redemption, which leaves the code for a fresh assertion', async () => {
    const assertion = await x.f.clientAssertion();
    expectIssued(await post(await signIn(), assertion));

    const second = await signIn();
    const replayed = await post(second, assertion);
    expectRejected(replayed, 'invalid_client', 401);
    expect(replayed.audit.reason).toBe('client assertion replayed');
    expectIssued(await post(second, await x.f.clientAssertion()));
  });

  it('is refused at a refresh, which leaves the refresh token usable and the grant alive', async () => {
    const assertion = await x.f.clientAssertion();
    const refreshToken = expectIssued(await post(await signIn(), assertion)).refresh_token!;
    const form = { grant_type: REFRESH_TOKEN_GRANT_TYPE, refresh_token: refreshToken };

    const replayed = await post(form, assertion);
    expectRejected(replayed, 'invalid_client', 401);
    expect(replayed.audit.reason).toBe('client assertion replayed');
    expect(expectIssued(await post(form, await x.f.clientAssertion())).refresh_token).toBeDefined();
  });

  it('is refused at the revocation endpoint, which then revokes nothing', async () => {
    const revoke = createRevocationEndpoint({ ...x.f, grants: x.grants });
    const assertion = await x.f.clientAssertion();
    const refreshToken = expectIssued(await post(await signIn(), assertion)).refresh_token!;
    const revocation = (clientAssertion: string) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshToken, ...authenticated(clientAssertion) }).toString(),
    });

    const replayed = await revoke(revocation(assertion));
    expect(replayed.response.status).toBe(401);
    expect(replayed.audit).toMatchObject({ outcome: 'rejected', error: 'invalid_client' });
    const refreshed = await post(
      { grant_type: REFRESH_TOKEN_GRANT_TYPE, refresh_token: refreshToken },
      await x.f.clientAssertion(),
    );
    const next = expectIssued(refreshed).refresh_token!;

    const fresh = await revoke({ ...revocation(await x.f.clientAssertion()) });
    expect(fresh.response.status).toBe(200);
    expect(fresh.audit.outcome).toBe('revoked');
    expectRejected(
      await post({ grant_type: REFRESH_TOKEN_GRANT_TYPE, refresh_token: next }, await x.f.clientAssertion()),
      'invalid_grant',
    );
  });
});
