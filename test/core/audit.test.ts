import { createHash } from 'node:crypto';
import { hashJti } from '../../lambda/core/audit';
import { JWT_BEARER_GRANT_TYPE } from '../../lambda/core/model';
import { createFixture, type Fixture, SECRET, tokenRequest } from '../support/fixture';
import { expectIssued } from '../support/outcome';

/** PROTOCOL.md §8: one audit record per decision, never holding an assertion, a token or a secret. */
describe('audit records', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });

  it('describes an issued token: tenant, issuer, client, jti hash, resource, scope, latency', async () => {
    const outcome = await f.exchange(tokenRequest(await f.idp.mint()));
    expectIssued(outcome);
    expect(outcome.audit).toEqual({
      event: 'token_exchange',
      outcome: 'issued',
      grantType: JWT_BEARER_GRANT_TYPE,
      tenant: 'acme',
      issuer: f.idp.issuer,
      client: 'claude',
      clientAuthMethod: 'client_secret_basic',
      jtiHash: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      resource: 'https://mcp.example.com/mcp',
      scope: 'files:read',
      tokenId: expect.any(String),
      latencyMs: expect.any(Number),
    });
  });

  it('describes a rejection with its code, internal reason and the claimed issuer', async () => {
    const outcome = await f.exchange(tokenRequest(await f.idp.mint({ claims: { iss: 'https://unknown.example' } })));
    expect(outcome.audit).toMatchObject({
      outcome: 'rejected',
      error: 'invalid_grant',
      reason: 'unknown issuer',
      claimedIssuer: 'https://unknown.example',
      client: 'claude',
    });
  });

  it('names the matched tenant and issuer when the assertion fails after its issuer was found', async () => {
    const outcome = await f.exchange(tokenRequest(await f.idp.mint({ claims: { aud: 'https://elsewhere.example' } })));
    expect(outcome.audit).toMatchObject({ outcome: 'rejected', tenant: 'acme', issuer: f.idp.issuer });
    expect(outcome.audit).not.toHaveProperty('claimedIssuer');
  });

  it('never contains the assertion, the access token or the client secret', async () => {
    const assertion = await f.idp.mint();
    const issued = await f.exchange(tokenRequest(assertion));
    const token = expectIssued(issued).access_token;
    const replayed = await f.exchange(tokenRequest(assertion));
    const badSecret = await f.exchange(tokenRequest(await f.idp.mint(), { form: { client_secret: SECRET } }));
    for (const { audit } of [issued, replayed, badSecret]) {
      const line = JSON.stringify(audit);
      for (const secretPart of [assertion, ...assertion.split('.'), token, ...token.split('.'), SECRET]) {
        expect(line).not.toContain(secretPart);
      }
    }
  });

  it.each([
    ['an ASCII jti', 'jti-0123'],
    ['a non-ASCII jti', 'jti-ünïcødé-🙂'],
    ['a jti with a lone surrogate', 'jti-\ud800'],
  ])('hashes %s as the first 22 base64url characters of SHA-256 over issuer, newline, jti in UTF-8', (_, jti) => {
    const expected = createHash('sha256').update(`https://idp.example\n${jti}`).digest('base64url').slice(0, 22);
    expect(hashJti('https://idp.example', jti)).toBe(expected);
  });
});
