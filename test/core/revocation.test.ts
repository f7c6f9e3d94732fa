import type { HttpRequest } from '../../lambda/core/http';
import { REFRESH_TOKEN_GRANT_TYPE } from '../../lambda/core/model';
import { createRevocationEndpoint } from '../../lambda/core/revocation';
import { basic, SECRET, tokenRequest } from '../support/fixture';
import {
  CONFIDENTIAL_CODE_CLIENT,
  createInteractiveFixture,
  type InteractiveFixture,
  OTHER_REFRESH_CLIENT,
  REFRESH_CLIENT,
  signInFirstParty,
} from '../support/interactive';
import { expectIssued, expectRejected } from '../support/outcome';

/** PROTOCOL.md §12: RFC 7009 revocation, through the core with in-memory ports. */
describe('the revocation endpoint', () => {
  let x: InteractiveFixture;
  let revoke: ReturnType<typeof createRevocationEndpoint>;
  beforeEach(async () => {
    x = await createInteractiveFixture();
    revoke = createRevocationEndpoint({ ...x.f, grants: x.grants });
  });

  /** Signs in through the browser flow and redeems the code: the refresh token. */
  async function refreshTokenOf(clientId = REFRESH_CLIENT): Promise<string> {
    return expectIssued(await (await signInFirstParty(x, clientId)).redeem()).refresh_token!;
  }

  const refresh = (token: string, clientId = REFRESH_CLIENT) =>
    x.token(
      tokenRequest(undefined, {
        authorization: null,
        form: { grant_type: REFRESH_TOKEN_GRANT_TYPE, refresh_token: token, client_id: clientId },
      }),
    );

  const revocation = (form: Record<string, string>, headers: Record<string, string> = {}): HttpRequest => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });

  it('revokes the grant of a refresh token: neither it nor its successor works any more', async () => {
    const first = await refreshTokenOf();
    const successor = expectIssued(await refresh(first)).refresh_token!;
    const outcome = await revoke(revocation({ token: successor, client_id: REFRESH_CLIENT }));
    expect(outcome.response).toMatchObject({ status: 200, body: '' });
    expect(outcome.response.headers['Cache-Control']).toBe('no-store');
    expect(outcome.audit).toMatchObject({
      event: 'token_revocation',
      outcome: 'revoked',
      client: REFRESH_CLIENT,
      clientAuthMethod: 'none',
      grantId: expect.any(String),
    });
    expect(JSON.stringify(outcome.audit)).not.toContain(successor);
    expectRejected(await refresh(successor), 'invalid_grant', 400, /grant revoked/);
  });

  it('revokes the whole grant from an already rotated refresh token too', async () => {
    const first = await refreshTokenOf();
    const successor = expectIssued(await refresh(first)).refresh_token!;
    expect((await revoke(revocation({ token: first, client_id: REFRESH_CLIENT }))).audit.outcome).toBe('revoked');
    expectRejected(await refresh(successor), 'invalid_grant', 400, /grant revoked/);
  });

  it('accepts a token_type_hint, whatever it says', async () => {
    const token = await refreshTokenOf();
    const outcome = await revoke(revocation({ token, token_type_hint: 'access_token', client_id: REFRESH_CLIENT }));
    expect(outcome.audit.outcome).toBe('revoked');
  });

  it.each([
    ['an unknown token of our shape', 'A'.repeat(43)],
    ['a token of another shape', 'not-a-token'],
    ['an access token (a JWT)', 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
  ])('answers 200 for %s and revokes nothing', async (_, token) => {
    const kept = await refreshTokenOf();
    const outcome = await revoke(revocation({ token, client_id: REFRESH_CLIENT }));
    expect(outcome.response).toMatchObject({ status: 200, body: '' });
    expect(outcome.audit.outcome).toBe('ignored');
    expectIssued(await refresh(kept));
  });

  it('answers 200 to another client revoking a refresh token, and leaves the token working', async () => {
    const token = await refreshTokenOf();
    const outcome = await revoke(revocation({ token, client_id: OTHER_REFRESH_CLIENT }));
    expect(outcome.response.status).toBe(200);
    expect(outcome.audit).toMatchObject({ outcome: 'ignored', reason: 'refresh token of another client' });
    expectIssued(await refresh(token));
  });

  it('authenticates a confidential client as registered: a wrong secret is invalid_client and revokes nothing', async () => {
    const owned = await refreshTokenOf();
    const wrong = await revoke(
      revocation({ token: owned }, { authorization: basic(CONFIDENTIAL_CODE_CLIENT, `${SECRET}x`) }),
    );
    expect(wrong.response.status).toBe(401);
    expect(JSON.parse(wrong.response.body).error).toBe('invalid_client');
    expect(wrong.audit.outcome).toBe('rejected');
    // The confidential client without its secret, by client_id alone, is no better.
    const bare = await revoke(revocation({ token: owned, client_id: CONFIDENTIAL_CODE_CLIENT }));
    expect(bare.response.status).toBe(401);
    const right = await revoke(
      revocation({ token: owned }, { authorization: basic(CONFIDENTIAL_CODE_CLIENT, SECRET) }),
    );
    // Authenticated, but the token is another client's: left alone.
    expect(right.response.status).toBe(200);
    expect(right.audit).toMatchObject({ outcome: 'ignored', client: CONFIDENTIAL_CODE_CLIENT });
    expectIssued(await refresh(owned));
  });

  it('refuses a request without a token, and any method but POST', async () => {
    const missing = await revoke(revocation({ client_id: REFRESH_CLIENT }));
    expect(missing.response.status).toBe(400);
    expect(JSON.parse(missing.response.body).error).toBe('invalid_request');
    const get = await revoke({ method: 'GET', headers: {}, query: 'token=x' });
    expect(get.response.status).toBe(405);
    expect(get.response.headers.Allow).toBe('POST');
  });

  it('is a server error (and an audited failure) when the store fails, never a silent 200', async () => {
    const token = await refreshTokenOf();
    x.grants.revokeGrant = async () => {
      throw new Error('store down');
    };
    const outcome = await revoke(revocation({ token, client_id: REFRESH_CLIENT }));
    expect(outcome.response.status).toBe(500);
    expect(outcome.audit.outcome).toBe('failed');
  });
});
