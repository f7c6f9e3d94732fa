import { generateKeyPair, SignJWT } from 'jose';
import { MAX_CLOCK_SKEW_SECONDS } from '../../lambda/core/config';
import { createFixture, type Fixture, ISSUER, MCP, NOW, tokenRequest } from '../support/fixture';
import { expectIssued, expectRejected } from '../support/outcome';
import { b64json, TestIdp } from '../support/test-idp';

/** PROTOCOL.md §3: every assertion failure is invalid_grant (HTTP 400). */
describe('identity assertion (ID-JAG) validation', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });

  const exchange = async (assertion: string) => f.exchange(tokenRequest(assertion));
  const rejects = async (assertion: string, reason: RegExp) =>
    expectRejected(await exchange(assertion), 'invalid_grant', 400, reason);
  const mint = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    f.idp.mint({ claims, header });

  describe('1. compact JWS with an allowed asymmetric algorithm', () => {
    it('rejects a JWE (five parts)', async () => {
      await rejects(['eyJhbGciOiJSU0EtT0FFUCJ9', 'a', 'b', 'c', 'd'].join('.'), /JWE/);
    });

    it('rejects garbage that is not a JWT', async () => {
      await rejects('not-a-jwt', /not a compact JWS/);
    });

    it('rejects an unsigned JWT (alg none)', async () => {
      const claims = f.idp.claims();
      await rejects(`${b64json({ alg: 'none', typ: 'oauth-id-jag+jwt' })}.${b64json(claims)}.`, /alg none/);
    });

    it('rejects HS256 signed with the issuer public key as the secret (algorithm confusion)', async () => {
      const secret = new TextEncoder().encode(JSON.stringify(f.idp.publicJwk));
      const token = await new SignJWT(f.idp.claims())
        .setProtectedHeader({ alg: 'HS256', typ: 'oauth-id-jag+jwt', kid: f.idp.kid })
        .sign(secret);
      await rejects(token, /alg HS256/);
    });

    it('rejects an asymmetric algorithm the issuer registration does not allow', async () => {
      f.registry.trusts[0] = {
        ...f.registry.trusts[0]!,
        trust: { ...f.registry.trusts[0]!.trust, algorithms: ['ES256'] },
      };
      await rejects(await mint(), /alg RS256/);
    });

    it('rejects an unencoded payload (b64: false), whose signed bytes are not the claims it seems to carry', async () => {
      const token = await f.idp.mintUnencoded();
      await rejects(token, /b64/);
    });

    it('never uses a key embedded in the header (jwk)', async () => {
      const attacker = await TestIdp.create({
        issuer: 'https://attacker.example',
        audience: ISSUER,
        clientId: 'claude',
      });
      const token = await attacker.mint({ claims: { iss: f.idp.issuer }, header: { jwk: attacker.publicJwk } });
      await rejects(token, /signature|ERR_J/);
    });

    it('never fetches keys from a header jku or x5u', async () => {
      const attacker = await TestIdp.create({
        issuer: 'https://attacker.example',
        audience: ISSUER,
        clientId: 'claude',
      });
      f.keyResolver.sets.set('https://attacker.example/keys', attacker.jwks);
      const token = await attacker.mint({
        claims: { iss: f.idp.issuer },
        header: { jku: 'https://attacker.example/keys', x5u: 'https://attacker.example/cert' },
      });
      await rejects(token, /ERR_J/);
      expect(f.keyResolver.requested).not.toContain('https://attacker.example/keys');
      expect(f.keyResolver.requested).toEqual([`${f.idp.issuer}/keys`]);
    });
  });

  describe('2. explicit typing', () => {
    it.each([
      ['missing', undefined],
      ['JWT', 'JWT'],
      ['at+jwt', 'at+jwt'],
      ['an ID token type', 'id_token+jwt'],
    ])('rejects typ %s', async (_, typ) => {
      await rejects(await mint({}, { typ }), /typ/);
    });

    it.each(['OAUTH-ID-JAG+JWT', 'application/oauth-id-jag+jwt'])('accepts typ %s', async (typ) => {
      expectIssued(await exchange(await mint({}, { typ })));
    });
  });

  describe('3. trusted issuer', () => {
    it('rejects an issuer no tenant trusts', async () => {
      const stranger = await TestIdp.create({
        issuer: 'https://stranger.example',
        audience: ISSUER,
        clientId: 'claude',
      });
      f.keyResolver.sets.set('https://stranger.example/keys', stranger.jwks);
      await rejects(await stranger.mint(), /unknown issuer/);
    });

    it('rejects an issuer with a trailing slash added (exact comparison, no normalisation)', async () => {
      await rejects(await mint({ iss: `${f.idp.issuer}/` }), /unknown issuer/);
    });

    it('does not reveal the issuer or which issuers exist in the error description', async () => {
      const body = await rejects(await mint({ iss: 'https://probe.example' }), /unknown issuer/);
      expect(body.error_description).not.toContain('probe.example');
      const known = await rejects(await mint({ iss: f.otherIdp.issuer }), /ERR_J/);
      expect(known.error_description).not.toContain('globex');
    });

    it('rejects a disabled issuer registration', async () => {
      const { trust, tenant } = f.registry.trusts[0]!;
      f.registry.trusts[0] = { trust: { ...trust, enabled: false }, tenant };
      await rejects(await mint(), /disabled or expired/);
    });

    it('rejects an issuer of a disabled tenant', async () => {
      const { trust, tenant } = f.registry.trusts[0]!;
      f.registry.trusts[0] = { trust, tenant: { ...tenant, enabled: false } };
      await rejects(await mint(), /disabled or expired/);
    });

    it('rejects an issuer whose trust has expired', async () => {
      const { trust, tenant } = f.registry.trusts[0]!;
      f.registry.trusts[0] = { trust: { ...trust, notAfter: f.clock.now() - 1 }, tenant };
      await rejects(await mint(), /disabled or expired/);
    });

    describe('a multi-tenant issuer', () => {
      let shared: TestIdp;
      beforeEach(async () => {
        shared = await f.addIdp({
          issuer: 'https://login.shared.example',
          tenantId: 'initech',
          trust: { tenantClaim: 't-1' },
        });
        f.addTrust({ issuer: shared.issuer, tenantId: 'umbrella', tenantClaim: 't-2' });
      });

      it('resolves the tenant from the tenant claim', async () => {
        const outcome = await exchange(await shared.mint({ claims: { tenant: 't-2' } }));
        expectIssued(outcome);
        expect(outcome.audit.tenant).toBe('umbrella');
      });

      it('rejects a tenant claim no registration requires', async () => {
        await rejects(await shared.mint({ claims: { tenant: 't-3' } }), /no registration for this tenant claim/);
      });

      it('rejects an assertion without the tenant claim the registrations require', async () => {
        await rejects(await shared.mint(), /no registration for this tenant claim/);
      });

      it('rejects an assertion that matches two tenants rather than guess', async () => {
        f.addTrust({ issuer: shared.issuer, tenantId: 'hooli' });
        await rejects(await shared.mint({ claims: { tenant: 't-1' } }), /matches 2 registrations/);
      });
    });
  });

  describe('4. signature, with that issuer keys only', () => {
    it('rejects a signature by a key of another trusted issuer', async () => {
      // Signed by globex's IdP (trusted by tenant globex) but claiming to be acme's IdP.
      await rejects(await f.otherIdp.mint({ claims: { iss: f.idp.issuer }, header: { kid: f.idp.kid } }), /ERR_J/);
    });

    it('rejects a token whose payload was altered after signing', async () => {
      const [header, , signature] = (await mint()).split('.');
      const altered = b64json({ ...f.idp.claims(), sub: 'admin' });
      await rejects(`${header}.${altered}.${signature}`, /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
    });

    it('rejects a signature by an unknown key with the issuer kid', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      const token = await new SignJWT(f.idp.claims())
        .setProtectedHeader({ alg: 'RS256', typ: 'oauth-id-jag+jwt', kid: f.idp.kid })
        .sign(privateKey);
      await rejects(token, /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
    });
  });

  describe('5. audience', () => {
    it('accepts aud as an array holding only this issuer', async () => {
      expectIssued(await exchange(await mint({ aud: [ISSUER] })));
    });

    it('rejects aud = the token endpoint URL', async () => {
      await rejects(await mint({ aud: `${ISSUER}/token` }), /aud mismatch/);
    });

    it('rejects aud with two values, even when one is this issuer', async () => {
      await rejects(await mint({ aud: [ISSUER, 'https://other-as.example'] }), /aud mismatch/);
    });

    it('rejects another audience', async () => {
      await rejects(await mint({ aud: 'https://other-as.example' }), /aud mismatch/);
    });

    it('rejects an assertion without aud', async () => {
      await rejects(await mint({ aud: undefined }), /aud mismatch/);
    });
  });

  describe('6. client_id', () => {
    it('rejects a client_id claim that is not the authenticated client', async () => {
      await rejects(await mint({ client_id: 'poster' }), /client_id mismatch/);
    });

    it('rejects an assertion without client_id', async () => {
      await rejects(await mint({ client_id: undefined }), /client_id mismatch/);
    });
  });

  describe('7. subject', () => {
    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['a number', 42],
    ])('rejects a sub that is %s', async (_, sub) => {
      await rejects(await mint({ sub }), /no subject/);
    });
  });

  describe('8. time', () => {
    it('rejects an expired assertion', async () => {
      const now = f.clock.now();
      await rejects(await mint({ iat: now - 200, exp: now - 61 }), /expired/);
    });

    it('accepts an assertion expired by less than the clock skew', async () => {
      const now = f.clock.now();
      expectIssued(await exchange(await mint({ iat: now - 200, exp: now - 30 })));
    });

    it('rejects an assertion without exp', async () => {
      await rejects(await mint({ exp: undefined }), /no expiry/);
    });

    it('rejects an exp that is not a number', async () => {
      await rejects(await mint({ exp: String(f.clock.now() + 100) }), /no expiry/);
    });

    it('rejects an assertion without iat', async () => {
      await rejects(await mint({ iat: undefined }), /no issue time/);
    });

    it('rejects an iat in the future beyond the skew', async () => {
      const now = f.clock.now();
      await rejects(await mint({ iat: now + 120, exp: now + 300 }), /issued in the future/);
    });

    it('rejects an nbf in the future beyond the skew', async () => {
      await rejects(await mint({ nbf: f.clock.now() + 120 }), /not yet valid/);
    });

    it('rejects exp - iat beyond the issuer maximum lifetime', async () => {
      const now = f.clock.now();
      await rejects(await mint({ iat: now, exp: now + 301 }), /lifetime/);
    });

    it('applies a registration-specific maximum lifetime', async () => {
      const { trust, tenant } = f.registry.trusts[0]!;
      f.registry.trusts[0] = { trust: { ...trust, maxAssertionLifetimeSeconds: 60 }, tenant };
      const now = f.clock.now();
      await rejects(await mint({ iat: now, exp: now + 120 }), /lifetime/);
    });
  });

  describe('9. single use', () => {
    it('rejects an assertion without jti', async () => {
      await rejects(await mint({ jti: undefined }), /jti/);
    });

    it('rejects a replayed assertion', async () => {
      const assertion = await mint();
      expectIssued(await exchange(assertion));
      await rejects(assertion, /jti replayed/);
    });

    it('keeps jti namespaces per issuer: the same jti from two issuers is two assertions', async () => {
      expectIssued(await exchange(await mint({ jti: 'same' })));
      expectIssued(await exchange(await f.otherIdp.mint({ claims: { jti: 'same' } })));
    });

    it('lets exactly one of 100 concurrent exchanges of the same assertion succeed', async () => {
      const assertion = await mint();
      const outcomes = await Promise.all(Array.from({ length: 100 }, () => exchange(assertion)));
      const statuses = outcomes.map((outcome) => outcome.response.status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
      expect(outcomes.filter((o) => JSON.parse(o.response.body).error === 'invalid_grant')).toHaveLength(99);
    });

    it('keeps the jti record beyond exp plus the largest clock skew a deployment may configure, judged at the request clock', async () => {
      const claims = { ...f.idp.claims(), exp: NOW + 120.25 };
      const recorded: { keepUntil: number; now: number }[] = [];
      const original = f.replayStore.recordOnce.bind(f.replayStore);
      f.replayStore.recordOnce = async (use, now) => {
        recorded.push({ keepUntil: use.keepUntil, now });
        return original(use, now);
      };
      expectIssued(await exchange(await mint({ exp: claims.exp })));
      expect(recorded).toEqual([{ keepUntil: NOW + 121 + 2 * MAX_CLOCK_SKEW_SECONDS, now: NOW }]);
    });
  });

  describe('10-12. resource, scope and cnf claims', () => {
    it('rejects a resource claim naming a resource not served here', async () => {
      await rejects(await mint({ resource: 'https://unknown.example/mcp' }), /resource not served/);
    });

    it('rejects a malformed resource claim', async () => {
      await rejects(await mint({ resource: 42 }), /resource claim is malformed/);
    });

    it('rejects a scope claim that is not a string', async () => {
      await rejects(await mint({ scope: ['files:read'] }), /scope claim/);
    });

    it('rejects a key-bound assertion (cnf)', async () => {
      await rejects(await mint({ cnf: { jkt: 'abc' } }), /cnf/);
    });

    it('accepts a resource claim naming a served resource', async () => {
      expectIssued(await exchange(await mint({ resource: MCP })));
    });
  });
});
