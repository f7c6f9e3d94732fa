import { KeyObject, sign } from 'node:crypto';
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

    it('accepts a client assertion whose aud is this issuer as a one-element array (RFC 7523bis)', async () => {
      const form = await jwtForm({ aud: [ISSUER] });
      expectIssued(await f.exchange(tokenRequest(await assertionFor(CLIENTS.jwt), { authorization: null, form })));
    });

    it.each(['JWT', 'client-authentication+jwt', 'application/client-authentication+jwt'])(
      'accepts a client assertion typed %s',
      async (typ) => {
        const form = { ...(await jwtForm()), client_assertion: await f.clientAssertion({}, { typ }) };
        expectIssued(await f.exchange(tokenRequest(await assertionFor(CLIENTS.jwt), { authorization: null, form })));
      },
    );

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

    it('rejects a client assertion whose aud is the token endpoint URL (RFC 7523bis: the issuer identifier only)', async () => {
      const form = await jwtForm({ aud: `${ISSUER}/token` });
      expectRejected(await exchangeWith(form), 'invalid_client', 401, /aud is not this issuer alone/);
    });

    it('rejects a client assertion whose aud array names this issuer among others', async () => {
      const form = await jwtForm({ aud: [ISSUER, 'https://elsewhere.example'] });
      expectRejected(await exchangeWith(form), 'invalid_client', 401, /aud is not this issuer alone/);
    });

    it.each(['oauth-id-jag+jwt', 'at+jwt', 'application/at+jwt', 'dpop+jwt'])(
      'rejects a client assertion typed as another kind of token (%s)',
      async (typ) => {
        const form = { ...(await jwtForm()), client_assertion: await f.clientAssertion({}, { typ }) };
        expectRejected(await exchangeWith(form), 'invalid_client', 401, /typ is not that of a client assertion/);
      },
    );

    it('rejects an unencoded-payload client assertion (b64: false) even when its signature is valid', async () => {
      const form = { ...(await jwtForm()), client_assertion: await unencodedClientAssertion(f) };
      expectRejected(await exchangeWith(form), 'invalid_client', 401, /b64/);
    });

    it('rejects a client_id longer than 256 bytes in UTF-8, though not in characters', async () => {
      const form = { client_id: 'é'.repeat(129) };
      const outcome = await f.exchange(tokenRequest(await assertionFor(CLIENTS.basic), { authorization: null, form }));
      expectRejected(outcome, 'invalid_client', 401, /too long or not well-formed/);
    });

    it('rejects a client assertion whose sub is not well-formed Unicode (a lone surrogate) before any lookup', async () => {
      const lone = '\ud800';
      const form = { ...(await jwtForm()), client_assertion: await f.clientAssertion({ iss: lone, sub: lone }) };
      const lookups: string[] = [];
      const getClient = f.registry.getClient.bind(f.registry);
      f.registry.getClient = async (clientId) => {
        lookups.push(clientId);
        return getClient(clientId);
      };
      expectRejected(await exchangeWith(form), 'invalid_client', 401, /too long or not well-formed/);
      expect(lookups).toEqual([]);
    });

    it('rejects a replayed client assertion', async () => {
      const form = await jwtForm();
      expectIssued(await exchangeWith(form));
      expectRejected(await exchangeWith(form), 'invalid_client', 401);
    });

    it('a fresh ID-JAG refused for its replayed client assertion stays usable with a fresh one', async () => {
      const used = await jwtForm();
      expectIssued(await exchangeWith(used));
      const assertion = await assertionFor(CLIENTS.jwt);
      const refused = await f.exchange(tokenRequest(assertion, { authorization: null, form: used }));
      expectRejected(refused, 'invalid_client', 401, /client assertion replayed/);
      expectIssued(await f.exchange(tokenRequest(assertion, { authorization: null, form: await jwtForm() })));
    });

    it('a fresh client assertion refused with a replayed ID-JAG stays usable with a fresh ID-JAG', async () => {
      const assertion = await assertionFor(CLIENTS.jwt);
      expectIssued(await f.exchange(tokenRequest(assertion, { authorization: null, form: await jwtForm() })));
      const form = await jwtForm();
      expectRejected(
        await f.exchange(tokenRequest(assertion, { authorization: null, form })),
        'invalid_grant',
        400,
        /jti replayed/,
      );
      expectIssued(await exchangeWith(form));
    });

    it('rejects a missing or wrong client_assertion_type', async () => {
      const form = await jwtForm();
      expectRejected(await exchangeWith({ ...form, client_assertion_type: 'urn:other' }), 'invalid_client', 401);
    });
  });
});

/** A private_key_jwt assertion with an RFC 7797 unencoded payload, validly signed by the keyed client's key. */
async function unencodedClientAssertion(f: Fixture): Promise<string> {
  const now = f.clock.now();
  const claims = { iss: CLIENTS.jwt, sub: CLIENTS.jwt, aud: ISSUER, jti: `b64-${now}`, iat: now, exp: now + 60 };
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'client-key-1', b64: false, crit: ['b64'] })).toString(
    'base64url',
  );
  // The payload travels as it is (RFC 7797 §3); base64url text, so that it still looks like a compact JWS.
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), {
    key: KeyObject.from(f.clientKey),
    dsaEncoding: 'ieee-p1363',
  });
  return `${header}.${payload}.${signature.toString('base64url')}`;
}
