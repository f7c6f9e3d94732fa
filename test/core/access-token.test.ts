import { generateKeyPairSync } from 'node:crypto';
import { base64url, decodeProtectedHeader } from 'jose';
import { KeyObjectSigner } from '../../lambda/adapters/key-object-signer';
import { randomTokenId, signJwt } from '../../lambda/core/access-token';
import type { Signer } from '../../lambda/core/ports';
import { createTokenEndpoint } from '../../lambda/core/token-endpoint';
import { createFixture, type Fixture, ISSUER, MCP, testConfig, tokenRequest } from '../support/fixture';
import { documentedSubject, expectIssued, verifyAccessToken } from '../support/outcome';
import type { IdpAlgorithm } from '../support/test-idp';

/** PROTOCOL.md §5 and §6: the access token (RFC 9068) and the success response. */
describe('access token', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });

  it('exchanges an assertion shaped like Okta publishes it (RS256, kid, email) for a verifiable token', async () => {
    const okta = await f.addIdp({ issuer: 'https://acme.okta.com', tenantId: 'acme-okta', alg: 'RS256' });
    const assertion = await okta.mint({
      claims: {
        sub: '00u8abcdEFGHijkl0697',
        email: 'jane.doe@acme.example',
        scope: 'files:read files:write',
        resource: MCP,
        auth_time: f.clock.now() - 30,
        amr: ['pwd', 'mfa'],
      },
    });
    expect(decodeProtectedHeader(assertion)).toMatchObject({ alg: 'RS256', kid: okta.kid, typ: 'oauth-id-jag+jwt' });
    const body = expectIssued(await f.exchange(tokenRequest(assertion)));
    const { claims, header } = await verifyAccessToken(body.access_token, f.signer, MCP, f.clock.now());
    expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256', kid: (await f.signer.activeKey()).kid });
    expect(claims).toMatchObject({
      iss: ISSUER,
      sub: documentedSubject('acme-okta', 'https://acme.okta.com', '00u8abcdEFGHijkl0697'),
      aud: MCP,
      client_id: 'claude',
      scope: 'files:read files:write',
      tenant: 'acme-okta',
      idp_iss: 'https://acme.okta.com',
      idp_sub: '00u8abcdEFGHijkl0697',
      email: 'jane.doe@acme.example',
      auth_time: f.clock.now() - 30,
      amr: ['pwd', 'mfa'],
      iat: f.clock.now(),
      exp: f.clock.now() + 3600,
    });
    expect(typeof claims.jti).toBe('string');
  });

  it.each<IdpAlgorithm>(['ES256', 'ES384', 'PS256', 'EdDSA'])('accepts a %s assertion', async (alg) => {
    const idp = await f.addIdp({ issuer: `https://${alg.toLowerCase()}.idp.example`, tenantId: alg, alg });
    const body = expectIssued(await f.exchange(tokenRequest(await idp.mint())));
    const { claims } = await verifyAccessToken(body.access_token, f.signer, MCP, f.clock.now());
    expect(claims.tenant).toBe(alg);
  });

  it('returns token_type Bearer, expires_in and the granted scope', async () => {
    const body = expectIssued(await f.exchange(tokenRequest(await f.idp.mint())));
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'files:read' });
  });

  it('gives every token a fresh jti', async () => {
    const first = expectIssued(await f.exchange(tokenRequest(await f.idp.mint())));
    const second = expectIssued(await f.exchange(tokenRequest(await f.idp.mint())));
    const jtiOf = async (token: string) => (await verifyAccessToken(token, f.signer, MCP, f.clock.now())).claims.jti;
    expect(await jtiOf(first.access_token)).not.toBe(await jtiOf(second.access_token));
  });

  it('draws each jti from 128 fresh random bits, also across refills of the random pool', () => {
    const ids = Array.from({ length: 1000 }, () => randomTokenId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
  });

  it('encodes header, claims and signature as unpadded base64url of their exact bytes', async () => {
    const signature = new Uint8Array(300).map((_, i) => (i * 7) & 0xff).subarray(3, 259);
    const signer: Signer = {
      activeKey: async () => ({ alg: 'RS256', kid: 'kid-ü' }),
      sign: async () => signature,
      publicKeys: async () => [],
    };
    const claims = { sub: 'jöhn 🙂', odd: '\ud800', n: 1 };
    const [header, payload, encodedSignature] = (await signJwt(signer, claims)).split('.');
    expect(header).toBe(base64url.encode(JSON.stringify({ alg: 'RS256', kid: 'kid-ü', typ: 'at+jwt' })));
    expect(payload).toBe(base64url.encode(JSON.stringify(claims)));
    expect(encodedSignature).toBe(base64url.encode(signature));
  });

  it('writes the header of the key active at each signature', async () => {
    let kid = 'first';
    const signer: Signer = {
      activeKey: async () => ({ alg: 'ES256', kid }),
      sign: async () => new Uint8Array(64),
      publicKeys: async () => [],
    };
    const headerOf = async (typ?: string) => decodeProtectedHeader(await signJwt(signer, {}, typ));
    expect(await headerOf()).toEqual({ alg: 'ES256', kid: 'first', typ: 'at+jwt' });
    kid = 'second';
    expect(await headerOf()).toEqual({ alg: 'ES256', kid: 'second', typ: 'at+jwt' });
    expect(await headerOf('JWT')).toEqual({ alg: 'ES256', kid: 'second', typ: 'JWT' });
  });

  it('honours a configured token lifetime', async () => {
    const config = testConfig({ accessTokenTtlSeconds: 600 });
    const exchange = createTokenEndpoint({ ...f, config });
    const body = expectIssued(await exchange(tokenRequest(await f.idp.mint())));
    expect(body.expires_in).toBe(600);
    const { claims } = await verifyAccessToken(body.access_token, f.signer, MCP, f.clock.now());
    expect(claims.exp! - claims.iat!).toBe(600);
  });

  it('omits email when the assertion has none, and never copies other assertion claims', async () => {
    const body = expectIssued(await f.exchange(tokenRequest(await f.idp.mint({ claims: { groups: ['admins'] } }))));
    const { claims } = await verifyAccessToken(body.access_token, f.signer, MCP, f.clock.now());
    expect(claims).not.toHaveProperty('email');
    expect(claims).not.toHaveProperty('groups');
  });

  it.each(['RS256', 'PS256'] as const)('signs with %s when the signing key is RSA', async (alg) => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signer = new KeyObjectSigner(privateKey, alg);
    const exchange = createTokenEndpoint({ ...f, signer });
    const body = expectIssued(await exchange(tokenRequest(await f.idp.mint())));
    const { header } = await verifyAccessToken(body.access_token, signer, MCP, f.clock.now());
    expect(header.alg).toBe(alg);
  });
});
