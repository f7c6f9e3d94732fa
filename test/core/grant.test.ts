import { resolveServerConfig } from '../../lambda/core/config';
import {
  basic,
  CLIENTS,
  createFixture,
  type Fixture,
  ISSUER,
  MCP,
  OTHER_MCP,
  SECRET,
  tokenRequest,
} from '../support/fixture';
import { expectIssued, expectRejected, verifyAccessToken } from '../support/outcome';

/** PROTOCOL.md §4: what is granted — audience (RFC 8707) and scope (RFC 6749 §3.3). */
describe('grant decisions', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });

  const issue = async (claims: Record<string, unknown>, form: Record<string, string | string[]> = {}) =>
    f.exchange(tokenRequest(await f.idp.mint({ claims }), { form }));
  const audienceOf = async (token: string, audience: string) =>
    (await verifyAccessToken(token, f.signer, audience, f.clock.now())).claims.aud;

  describe('audience', () => {
    it('binds the token to the requested resource', async () => {
      const body = expectIssued(await issue({}, { resource: OTHER_MCP, scope: 'other:read' }));
      expect(await audienceOf(body.access_token, OTHER_MCP)).toBe(OTHER_MCP);
    });

    it('binds the token to the asserted resource when the request names none', async () => {
      const body = expectIssued(await issue({ resource: OTHER_MCP }));
      expect(await audienceOf(body.access_token, OTHER_MCP)).toBe(OTHER_MCP);
    });

    it('binds the token to the default resource when neither names one', async () => {
      const body = expectIssued(await issue({}));
      expect(await audienceOf(body.access_token, MCP)).toBe(MCP);
    });

    it('accepts a requested resource the assertion also names', async () => {
      const body = expectIssued(await issue({ resource: [MCP, OTHER_MCP] }, { resource: MCP }));
      expect(await audienceOf(body.access_token, MCP)).toBe(MCP);
    });

    it('rejects a requested resource not served here with invalid_target', async () => {
      expectRejected(await issue({}, { resource: 'https://unknown.example/mcp' }), 'invalid_target');
    });

    it('rejects a requested resource that differs from the asserted one with invalid_target', async () => {
      expectRejected(await issue({ resource: MCP }, { resource: OTHER_MCP }), 'invalid_target');
    });

    it('rejects two requested resources with invalid_target (one audience per token)', async () => {
      expectRejected(await issue({}, { resource: [MCP, OTHER_MCP] }), 'invalid_target');
    });

    it('rejects an assertion naming several resources when the request does not choose', async () => {
      expectRejected(await issue({ resource: [MCP, OTHER_MCP] }), 'invalid_target');
    });

    it('rejects a request with no resource when there is no default, with invalid_target', async () => {
      const config = resolveServerConfig({
        issuer: ISSUER,
        resources: [
          { id: MCP, scopes: ['files:read'] },
          { id: OTHER_MCP, scopes: [] },
        ],
      });
      f = await createFixture({ config });
      expectRejected(await issue({}), 'invalid_target');
    });
  });

  describe('scope', () => {
    it('grants the requested scope when the assertion and the client allow it', async () => {
      const body = expectIssued(await issue({ scope: 'files:read files:write' }, { scope: 'files:write' }));
      expect(body.scope).toBe('files:write');
    });

    it('rejects a requested scope the assertion does not carry (escalation) with invalid_scope', async () => {
      expectRejected(await issue({ scope: 'files:read' }, { scope: 'files:read admin' }), 'invalid_scope');
    });

    it('rejects a requested scope the client may not have with invalid_scope', async () => {
      const assertion = await f.otherIdp.mint({ claims: { client_id: CLIENTS.limited } });
      const outcome = await f.exchange(
        tokenRequest(assertion, { authorization: basic(CLIENTS.limited, SECRET), form: { scope: 'files:write' } }),
      );
      expectRejected(outcome, 'invalid_scope');
    });

    it('rejects a requested scope the resource does not support with invalid_scope', async () => {
      expectRejected(await issue({}, { scope: 'other:read' }), 'invalid_scope');
    });

    it('grants the asserted scopes the resource supports when the request names none', async () => {
      const body = expectIssued(await issue({ scope: 'files:write unknown:scope' }));
      expect(body.scope).toBe('files:write');
    });

    it('grants the resource default scopes when neither request nor assertion names any', async () => {
      expect(expectIssued(await issue({})).scope).toBe('files:read');
    });

    it('narrows the grant to the client allowed scopes', async () => {
      const assertion = await f.otherIdp.mint({
        claims: { client_id: CLIENTS.limited, scope: 'files:read files:write' },
      });
      const outcome = await f.exchange(tokenRequest(assertion, { authorization: basic(CLIENTS.limited, SECRET) }));
      expect(expectIssued(outcome).scope).toBe('files:read');
    });

    it('rejects an assertion none of whose scopes can be granted with invalid_scope', async () => {
      expectRejected(await issue({ scope: 'unknown:scope' }), 'invalid_scope');
    });

    it('issues neither a refresh token nor an ID token', async () => {
      const body = expectIssued(await issue({}));
      expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    });
  });
});
