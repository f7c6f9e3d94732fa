import { generateKeyPair, SignJWT } from 'jose';
import { hashClientSecret } from '../../lambda/core/secrets';
import {
  basic,
  CLIENT_ASSERTION_TYPE_JWT_BEARER,
  CLIENTS,
  createFixture,
  type Fixture,
  ISSUER,
  SECRET,
  tokenRequest,
} from '../support/fixture';
import { expectIssued, expectRejected } from '../support/outcome';

/** PROTOCOL.md §2: client authentication. */
describe('client authentication', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });

  /** An assertion issued to `clientId`, so that only the authentication under test can fail. */
  const assertionFor = (clientId: string) => f.idp.mint({ claims: { client_id: clientId } });
  const jwtForm = async (claims: Record<string, unknown> = {}) => ({
    client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER,
    client_assertion: await f.clientAssertion(claims),
  });

  describe('accepted methods', () => {
    it('accepts client_secret_basic', async () => {
      expectIssued(await f.exchange(tokenRequest(await assertionFor(CLIENTS.basic))));
    });

    it('accepts client_secret_basic with form-urlencoded credentials (RFC 6749 §2.3.1)', async () => {
      const secret = 'with space+plus:colon%';
      f.registry.clients.set('odd id', {
        ...f.registry.clients.get(CLIENTS.basic)!,
        clientId: 'odd id',
        secrets: [{ hash: hashClientSecret(secret) }],
      });
      const outcome = await f.exchange(
        tokenRequest(await assertionFor('odd id'), { authorization: basic('odd id', secret) }),
      );
      expectIssued(outcome);
    });

    it('accepts client_secret_post', async () => {
      const form = { client_id: CLIENTS.post, client_secret: SECRET };
      expectIssued(await f.exchange(tokenRequest(await assertionFor(CLIENTS.post), { authorization: null, form })));
    });

    it('accepts private_key_jwt', async () => {
      const form = await jwtForm();
      expectIssued(await f.exchange(tokenRequest(await assertionFor(CLIENTS.jwt), { authorization: null, form })));
    });

    it('accepts a client assertion whose aud is the token endpoint URL', async () => {
      const form = await jwtForm({ aud: `${ISSUER}/token` });
      expectIssued(await f.exchange(tokenRequest(await assertionFor(CLIENTS.jwt), { authorization: null, form })));
    });

    it('accepts a client registered as public with only its client_id', async () => {
      const form = { client_id: CLIENTS.public };
      expectIssued(await f.exchange(tokenRequest(await assertionFor(CLIENTS.public), { authorization: null, form })));
    });

    it('accepts the previous secret during its rotation grace period, and not after', async () => {
      const newSecret = 'the-new-secret-after-rotation-0123456789';
      f.registry.clients.set(CLIENTS.basic, {
        ...f.registry.clients.get(CLIENTS.basic)!,
        secrets: [
          { hash: hashClientSecret(newSecret) },
          { hash: hashClientSecret(SECRET), notAfter: f.clock.now() + 60 },
        ],
      });
      expectIssued(await f.exchange(tokenRequest(await f.idp.mint())));
      expectIssued(
        await f.exchange(tokenRequest(await f.idp.mint(), { authorization: basic(CLIENTS.basic, newSecret) })),
      );
      f.clock.seconds += 61;
      expectRejected(await f.exchange(tokenRequest(await f.idp.mint())), 'invalid_client', 401);
    });
  });

  describe('rejections', () => {
    it('rejects an unknown client with 401 invalid_client and a Basic challenge', async () => {
      const outcome = await f.exchange(tokenRequest(await f.idp.mint(), { authorization: basic('nobody', SECRET) }));
      expectRejected(outcome, 'invalid_client', 401);
      expect(outcome.response.headers['WWW-Authenticate']).toMatch(/^Basic /);
    });

    it('rejects a wrong secret with 401 invalid_client and a Basic challenge', async () => {
      const outcome = await f.exchange(
        tokenRequest(await f.idp.mint(), { authorization: basic(CLIENTS.basic, 'wrong') }),
      );
      expectRejected(outcome, 'invalid_client', 401);
      expect(outcome.response.headers['WWW-Authenticate']).toMatch(/^Basic /);
    });

    it('answers an unknown client and a wrong secret with the same description (no client enumeration)', async () => {
      const assertion = await f.idp.mint();
      const unknown = expectRejected(
        await f.exchange(tokenRequest(assertion, { authorization: basic('nobody', SECRET) })),
        'invalid_client',
        401,
      );
      const wrong = expectRejected(
        await f.exchange(tokenRequest(assertion, { authorization: basic(CLIENTS.basic, 'wrong') })),
        'invalid_client',
        401,
      );
      expect(unknown.error_description).toBe(wrong.error_description);
    });

    it('rejects a wrong client_secret_post secret with 401 and no Basic challenge', async () => {
      const form = { client_id: CLIENTS.post, client_secret: 'wrong' };
      const outcome = await f.exchange(tokenRequest(await assertionFor(CLIENTS.post), { authorization: null, form }));
      expectRejected(outcome, 'invalid_client', 401);
      expect(outcome.response.headers['WWW-Authenticate']).toBeUndefined();
    });

    it('rejects two authentication methods at once (Basic and client_secret)', async () => {
      const form = { client_secret: SECRET };
      expectRejected(await f.exchange(tokenRequest(await f.idp.mint(), { form })), 'invalid_client', 401);
    });

    it('rejects two authentication methods at once (client_secret and client_assertion)', async () => {
      const form = { client_id: CLIENTS.jwt, client_secret: SECRET, ...(await jwtForm()) };
      const outcome = await f.exchange(tokenRequest(await assertionFor(CLIENTS.jwt), { authorization: null, form }));
      expectRejected(outcome, 'invalid_client', 401);
    });

    it('rejects a method other than the registered one', async () => {
      const outcome = await f.exchange(
        tokenRequest(await assertionFor(CLIENTS.post), { authorization: basic(CLIENTS.post, SECRET) }),
      );
      expectRejected(outcome, 'invalid_client', 401);
    });

    it('rejects a confidential client presenting only its client_id', async () => {
      const form = { client_id: CLIENTS.basic };
      expectRejected(
        await f.exchange(tokenRequest(await f.idp.mint(), { authorization: null, form })),
        'invalid_client',
        401,
      );
    });

    it('rejects a request with no client at all', async () => {
      expectRejected(
        await f.exchange(tokenRequest(await f.idp.mint(), { authorization: null })),
        'invalid_client',
        401,
      );
    });

    it('rejects a disabled client', async () => {
      f.registry.clients.set(CLIENTS.basic, { ...f.registry.clients.get(CLIENTS.basic)!, enabled: false });
      expectRejected(await f.exchange(tokenRequest(await f.idp.mint())), 'invalid_client', 401);
    });

    it('rejects a client_id parameter that differs from the Authorization header', async () => {
      const outcome = await f.exchange(tokenRequest(await f.idp.mint(), { form: { client_id: CLIENTS.post } }));
      expectRejected(outcome, 'invalid_client', 401);
    });

    it.each([
      ['a Bearer scheme', 'Bearer abc'],
      ['no colon', `Basic ${Buffer.from('claude').toString('base64')}`],
      ['an empty secret', `Basic ${Buffer.from('claude:').toString('base64')}`],
      ['broken percent-encoding', `Basic ${Buffer.from('cl%zzaude:x').toString('base64')}`],
    ])('rejects an Authorization header with %s', async (_, authorization) => {
      const outcome = await f.exchange(tokenRequest(await f.idp.mint(), { authorization }));
      expectRejected(outcome, 'invalid_client', 401);
      expect(outcome.response.headers['WWW-Authenticate']).toMatch(/^Basic /);
    });

    it('rejects a client without the jwt-bearer grant with unauthorized_client', async () => {
      const outcome = await f.exchange(
        tokenRequest(await assertionFor(CLIENTS.noGrant), { authorization: basic(CLIENTS.noGrant, SECRET) }),
      );
      expectRejected(outcome, 'unauthorized_client');
    });

    it('rejects a client not allowed for the tenant the assertion resolves to with unauthorized_client', async () => {
      // limited-client may serve tenant globex only; this assertion comes from acme's IdP.
      const outcome = await f.exchange(
        tokenRequest(await assertionFor(CLIENTS.limited), { authorization: basic(CLIENTS.limited, SECRET) }),
      );
      expectRejected(outcome, 'unauthorized_client');
    });

    it('accepts that same client for its own tenant', async () => {
      const assertion = await f.otherIdp.mint({ claims: { client_id: CLIENTS.limited } });
      expectIssued(await f.exchange(tokenRequest(assertion, { authorization: basic(CLIENTS.limited, SECRET) })));
    });
  });

  describe('private_key_jwt client assertions', () => {
    const exchangeWith = async (form: Record<string, string>) =>
      f.exchange(tokenRequest(await assertionFor(CLIENTS.jwt), { authorization: null, form }));

    it('rejects a client assertion signed by a key the client did not register', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const now = f.clock.now();
      const forged = await new SignJWT({
        iss: CLIENTS.jwt,
        sub: CLIENTS.jwt,
        aud: ISSUER,
        jti: 'j1',
        iat: now,
        exp: now + 60,
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'client-key-1' })
        .sign(privateKey);
      const form = { client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER, client_assertion: forged };
      expectRejected(await exchangeWith(form), 'invalid_client', 401);
    });

    it('rejects an expired client assertion', async () => {
      const now = f.clock.now();
      expectRejected(await exchangeWith(await jwtForm({ iat: now - 600, exp: now - 300 })), 'invalid_client', 401);
    });

    it('rejects a client assertion for another audience', async () => {
      expectRejected(await exchangeWith(await jwtForm({ aud: 'https://elsewhere.example' })), 'invalid_client', 401);
    });

    it('rejects a client assertion whose iss is not the client', async () => {
      expectRejected(await exchangeWith(await jwtForm({ iss: 'someone-else' })), 'invalid_client', 401);
    });

    it('rejects a client assertion without jti', async () => {
      expectRejected(await exchangeWith(await jwtForm({ jti: undefined })), 'invalid_client', 401);
    });

    it('rejects a client assertion with a lifetime beyond five minutes', async () => {
      const now = f.clock.now();
      expectRejected(await exchangeWith(await jwtForm({ iat: now, exp: now + 3600 })), 'invalid_client', 401);
    });

    it('rejects a replayed client assertion', async () => {
      const form = await jwtForm();
      expectIssued(await exchangeWith(form));
      expectRejected(await exchangeWith(form), 'invalid_client', 401);
    });

    it('rejects a missing or wrong client_assertion_type', async () => {
      const form = await jwtForm();
      expectRejected(await exchangeWith({ ...form, client_assertion_type: 'urn:other' }), 'invalid_client', 401);
    });
  });
});
