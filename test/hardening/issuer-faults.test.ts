import { sign as cryptoSign, generateKeyPairSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { RemoteKeyResolver, type RemoteKeyResolverOptions } from '../../lambda/adapters/issuer-keys';
import { createTokenEndpoint, type TokenOutcome } from '../../lambda/core/token-endpoint';
import {
  CLIENT_ASSERTION_TYPE_JWT_BEARER,
  CLIENTS,
  createFixture,
  type Fixture,
  ISSUER,
  tokenRequest,
} from '../support/fixture';
import { HttpStub } from '../support/http-stub';
import { expectIssued, expectRejected } from '../support/outcome';
import { TestIdp } from '../support/test-idp';

/**
 * Issuer key set faults through the token endpoint, with the real key resolver and safe fetch against IdPs on
 * loopback that misbehave on purpose. Local mode allows http and loopback addresses; Lambda mode does not.
 */
const TIMEOUT_MS = 300;
const LOCAL: RemoteKeyResolverOptions = {
  allowHttpLoopback: true,
  allowPrivateAddresses: true,
  timeoutMs: TIMEOUT_MS,
  cooldownMs: 30_000,
};
/** Every fault ends well within this, and jest fails the test if it does not. */
const BOUND_MS = 3_000;

describe('issuer key set faults, through the token endpoint', () => {
  let f: Fixture;
  let idpHost: HttpStub;
  let otherHost: HttpStub;

  beforeEach(async () => {
    f = await createFixture();
    [idpHost, otherHost] = await Promise.all([HttpStub.start(), HttpStub.start()]);
  });
  afterEach(async () => {
    await Promise.all([idpHost.close(), otherHost.close()]);
  });

  /** Registers an IdP whose keys live at `host` + `/<name>/keys`, and returns it. */
  async function registerIdp(host: HttpStub, name: string, jwksUri = `${host.origin}/${name}/keys`) {
    const issuer = `${host.origin}/${name}`;
    const idp = await TestIdp.create({ issuer, audience: ISSUER, clientId: CLIENTS.basic, now: () => f.clock.now() });
    f.addTrust({ tenantId: name, issuer, jwksUri });
    return idp;
  }

  function endpoint(options: RemoteKeyResolverOptions = LOCAL) {
    return createTokenEndpoint({ ...f, keyResolver: new RemoteKeyResolver(options) });
  }

  const hang = () => undefined;
  const tenMegabytes = (declared: boolean) => (_: IncomingMessage, response: ServerResponse) => {
    response.writeHead(200, {
      'content-type': 'application/json',
      ...(declared ? { 'content-length': String(10 * 1024 * 1024) } : {}),
    });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = () => {
      while (sent < 10 * 1024 * 1024) {
        sent += chunk.length;
        if (!response.write(chunk)) return void response.once('drain', pump);
      }
      response.end();
    };
    response.write('{"keys":[],"padding":"');
    pump();
  };

  describe('each fault ends in a clean 503 (the key set cannot be had), never a token', () => {
    it.each<[string, (request: IncomingMessage, response: ServerResponse) => void, RegExp]>([
      ['answers 500', (_, response) => response.writeHead(500).end('oops'), /HTTP 500/],
      ['answers 503', (_, response) => response.writeHead(503).end(), /HTTP 503/],
      ['answers with HTML', (_, response) => response.writeHead(200).end('<html>'), /not JSON/],
      [
        'answers JSON that is not a key set',
        (_, response) => response.writeHead(200).end('{"keys":"none"}'),
        /not a JSON Web Key Set/,
      ],
      ['answers 404', (_, response) => response.writeHead(404).end(), /HTTP 404/],
      ['sends a declared 10 MB body', tenMegabytes(true), /declared 10485760 bytes/],
      ['streams a 10 MB body with no length', tenMegabytes(false), /more than 65536 bytes/],
      ['hangs without answering', hang, /timeout/],
      [
        'sends headers, then never finishes the body',
        (_, response) => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.write('{"keys":[');
        },
        /timeout|aborted/i,
      ],
    ])(
      'an issuer that %s',
      async (_, route, reason) => {
        const idp = await registerIdp(idpHost, 'acme2');
        idpHost.routes.set('/acme2/keys', route);
        const outcome = await endpoint()(tokenRequest(await idp.mint()));
        expectRejected(outcome, 'temporarily_unavailable', 503, reason);
        expect(outcome.response.headers['Retry-After']).toBe('1');
        expect(outcome.audit.outcome).toBe('failed');
        expect(idpHost.count('/acme2/keys')).toBe(1);
      },
      BOUND_MS,
    );

    it(
      'an issuer that is down (connection refused)',
      async () => {
        const idp = await registerIdp(idpHost, 'acme2');
        await idpHost.close();
        const outcome = await endpoint()(tokenRequest(await idp.mint()));
        expectRejected(outcome, 'temporarily_unavailable', 503, /ECONNREFUSED/);
        idpHost = await HttpStub.start();
      },
      BOUND_MS,
    );

    it(
      'an issuer whose key set redirects to another host: the redirect is not followed',
      async () => {
        const idp = await registerIdp(idpHost, 'acme2');
        otherHost.json('/keys', idp.jwks);
        idpHost.routes.set('/acme2/keys', (_, response) =>
          response.writeHead(302, { location: `${otherHost.origin}/keys` }).end(),
        );
        const outcome = await endpoint()(tokenRequest(await idp.mint()));
        expectRejected(outcome, 'temporarily_unavailable', 503, /HTTP 302/);
        expect(otherHost.count('/keys')).toBe(0);
      },
      BOUND_MS,
    );
  });

  it(
    'a hung issuer gets one key set request however many token requests wait for it, and each ends at the timeout',
    async () => {
      const idp = await registerIdp(idpHost, 'acme2');
      idpHost.routes.set('/acme2/keys', hang);
      const exchange = endpoint();
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, async () => exchange(tokenRequest(await idp.mint()))),
      );
      for (const outcome of outcomes) expectRejected(outcome, 'temporarily_unavailable', 503, /timeout/);
      expect(idpHost.count('/acme2/keys')).toBe(1);
    },
    BOUND_MS,
  );

  it(
    'one hung issuer does not hold up requests for another issuer',
    async () => {
      const slow = await registerIdp(idpHost, 'slow');
      const healthy = await registerIdp(otherHost, 'healthy');
      idpHost.routes.set('/slow/keys', hang);
      otherHost.json('/healthy/keys', healthy.jwks);
      const exchange = endpoint({ ...LOCAL, timeoutMs: 1_000 });
      const finished: string[] = [];
      const track = (name: string, pending: Promise<TokenOutcome>) =>
        pending.then((outcome) => {
          finished.push(name);
          return outcome;
        });

      const slowRequest = track('slow', exchange(tokenRequest(await slow.mint())));
      // The slow issuer's key set request is in flight (and hanging) before the healthy one starts.
      await waitFor(() => idpHost.count('/slow/keys') === 1);
      const healthyOutcome = await track('healthy', exchange(tokenRequest(await healthy.mint())));
      expectIssued(healthyOutcome);
      expect(finished).toEqual(['healthy']);

      expectRejected(await slowRequest, 'temporarily_unavailable', 503, /timeout/);
      expect(finished).toEqual(['healthy', 'slow']);
    },
    BOUND_MS,
  );

  describe('rotation: an unknown kid', () => {
    it("makes one refetch, which finds the issuer's new key", async () => {
      const idp = await registerIdp(idpHost, 'acme2');
      const rotated = await TestIdp.create({
        issuer: idp.issuer,
        audience: ISSUER,
        clientId: CLIENTS.basic,
        kid: 'rotated-key',
        alg: 'ES256',
        now: () => f.clock.now(),
      });
      let keys = idp.jwks.keys;
      idpHost.json('/acme2/keys', () => ({ keys }));
      const exchange = endpoint({ ...LOCAL, cooldownMs: 0 });
      expectIssued(await exchange(tokenRequest(await idp.mint())));
      keys = [...keys, rotated.publicJwk];

      expectIssued(await exchange(tokenRequest(await rotated.mint())));
      expect(idpHost.count('/acme2/keys')).toBe(2);
      // Known keys are served from the cache.
      expectIssued(await exchange(tokenRequest(await idp.mint())));
      expectIssued(await exchange(tokenRequest(await rotated.mint())));
      expect(idpHost.count('/acme2/keys')).toBe(2);
    });

    it('is rate-limited: a flood of forged kids within the cooldown fetches nothing more', async () => {
      const idp = await registerIdp(idpHost, 'acme2');
      idpHost.json('/acme2/keys', idp.jwks);
      const exchange = endpoint();
      expectIssued(await exchange(tokenRequest(await idp.mint())));
      const forged = await Promise.all(
        Array.from({ length: 25 }, async (_, i) =>
          exchange(tokenRequest(await idp.mint({ header: { kid: `k${i}` } }))),
        ),
      );
      for (const outcome of forged) expectRejected(outcome, 'invalid_grant', 400, /NO_MATCHING_KEY/);
      expect(idpHost.count('/acme2/keys')).toBe(1);
    });
  });
});

/**
 * The documented bounds of the key resolver, pinned here: the tests below use the defaults and move an injected clock
 * (milliseconds) across them; nothing waits for wall-clock time.
 */
const MAX_AGE_MS = 600_000;
const UNKNOWN_KID_COOLDOWN_MS = 30_000;
const FAILURE_COOLDOWN_MS = 10_000;
const STALE_IF_ERROR_MS = 3_600_000;
const DISCOVERY_MAX_AGE_MS = 3_600_000;

describe('issuer key set outages, through the token endpoint', () => {
  let f: Fixture;
  let host: HttpStub;
  let nowMs: number;
  let exchange: ReturnType<typeof createTokenEndpoint>;

  beforeEach(async () => {
    f = await createFixture();
    host = await HttpStub.start();
    nowMs = 1_000_000;
    const { allowHttpLoopback, allowPrivateAddresses, timeoutMs } = LOCAL;
    const resolver = new RemoteKeyResolver({ allowHttpLoopback, allowPrivateAddresses, timeoutMs, now: () => nowMs });
    exchange = createTokenEndpoint({ ...f, keyResolver: resolver });
  });
  afterEach(async () => {
    await host.close();
  });

  async function registerIdp(options: { discovered?: boolean } = {}) {
    const issuer = `${host.origin}/acme2`;
    const idp = await TestIdp.create({ issuer, audience: ISSUER, clientId: CLIENTS.basic, now: () => f.clock.now() });
    f.addTrust({ tenantId: 'acme2', issuer, jwksUri: options.discovered ? undefined : `${issuer}/keys` });
    return idp;
  }
  const answer = (status: number) => (_: IncomingMessage, response: ServerResponse) => response.writeHead(status).end();
  const exchangeAll = (idp: TestIdp, count: number) =>
    Promise.all(Array.from({ length: count }, async () => exchange(tokenRequest(await idp.mint()))));

  it.each([429, 500])(
    'a key set answering HTTP %d is 503 temporarily_unavailable, audited as a dependency failure',
    async (status) => {
      const idp = await registerIdp();
      host.routes.set('/acme2/keys', answer(status));
      const outcome = await exchange(tokenRequest(await idp.mint()));
      expectRejected(outcome, 'temporarily_unavailable', 503, new RegExp(`^issuer keys: HTTP ${status}$`));
      expect(outcome.response.headers['Retry-After']).toBe('1');
      expect(outcome.audit).toMatchObject({ outcome: 'failed', error: 'temporarily_unavailable' });
    },
  );

  it('after a failed fetch, concurrent and later requests within the failure cooldown get 503 without a refetch', async () => {
    const idp = await registerIdp();
    host.routes.set('/acme2/keys', answer(429));
    for (const outcome of await exchangeAll(idp, 10)) {
      expectRejected(outcome, 'temporarily_unavailable', 503, /HTTP 429/);
    }
    expect(host.count('/acme2/keys')).toBe(1);

    nowMs += FAILURE_COOLDOWN_MS - 1;
    for (const outcome of await exchangeAll(idp, 10)) {
      expectRejected(outcome, 'temporarily_unavailable', 503, /HTTP 429/);
    }
    expect(host.count('/acme2/keys')).toBe(1);
  });

  it('when the failure cooldown ends, one refetch serves every waiting request', async () => {
    const idp = await registerIdp();
    host.routes.set('/acme2/keys', answer(503));
    expectRejected(await exchange(tokenRequest(await idp.mint())), 'temporarily_unavailable', 503);
    host.json('/acme2/keys', idp.jwks);
    nowMs += FAILURE_COOLDOWN_MS - 1;
    expectRejected(await exchange(tokenRequest(await idp.mint())), 'temporarily_unavailable', 503, /HTTP 503/);
    expect(host.count('/acme2/keys')).toBe(1);

    nowMs += 1;
    for (const outcome of await exchangeAll(idp, 10)) expectIssued(outcome);
    expect(host.count('/acme2/keys')).toBe(2);
  });

  it('when a refresh of stale keys fails, the last good keys serve until an hour past their max age', async () => {
    const idp = await registerIdp();
    host.json('/acme2/keys', idp.jwks);
    expectIssued(await exchange(tokenRequest(await idp.mint())));
    host.routes.set('/acme2/keys', answer(503));

    nowMs += MAX_AGE_MS;
    expectIssued(await exchange(tokenRequest(await idp.mint())));
    expect(host.count('/acme2/keys')).toBe(2);
    // Within the failure cooldown the stale keys serve without another attempt; after it, one more attempt.
    nowMs += FAILURE_COOLDOWN_MS - 1;
    expectIssued(await exchange(tokenRequest(await idp.mint())));
    expect(host.count('/acme2/keys')).toBe(2);
    nowMs += STALE_IF_ERROR_MS - FAILURE_COOLDOWN_MS;
    expectIssued(await exchange(tokenRequest(await idp.mint())));
    expect(host.count('/acme2/keys')).toBe(3);
  });

  it('beyond the stale-if-error bound, keys whose refresh fails are not used: 503', async () => {
    const idp = await registerIdp();
    host.json('/acme2/keys', idp.jwks);
    expectIssued(await exchange(tokenRequest(await idp.mint())));
    host.routes.set('/acme2/keys', answer(503));

    nowMs += MAX_AGE_MS + STALE_IF_ERROR_MS;
    const outcome = await exchange(tokenRequest(await idp.mint()));
    expectRejected(outcome, 'temporarily_unavailable', 503, /^issuer keys: HTTP 503$/);
    expect(outcome.audit.outcome).toBe('failed');
  });

  it('a refresh that succeeds after stale keys served replaces them', async () => {
    const idp = await registerIdp();
    host.json('/acme2/keys', idp.jwks);
    expectIssued(await exchange(tokenRequest(await idp.mint())));
    host.routes.set('/acme2/keys', answer(429));
    nowMs += MAX_AGE_MS;
    expectIssued(await exchange(tokenRequest(await idp.mint())));
    // The IdP recovers having removed the key (it was compromised, say): once refreshed, the old key is refused.
    host.json('/acme2/keys', { keys: [] });
    nowMs += FAILURE_COOLDOWN_MS;
    expectRejected(await exchange(tokenRequest(await idp.mint())), 'invalid_grant', 400, /NO_MATCHING_KEY/);
    expect(host.count('/acme2/keys')).toBe(3);
  });

  it('an unknown kid whose refetch fails is 503, and the failure is not retried within the cooldown', async () => {
    const idp = await registerIdp();
    host.json('/acme2/keys', idp.jwks);
    expectIssued(await exchange(tokenRequest(await idp.mint())));
    host.routes.set('/acme2/keys', answer(429));
    nowMs += UNKNOWN_KID_COOLDOWN_MS;

    const rotated = await exchange(tokenRequest(await idp.mint({ header: { kid: 'rotated' } })));
    expectRejected(rotated, 'temporarily_unavailable', 503, /HTTP 429/);
    // The keys in hand are still fresh: the known kid is unaffected.
    expectIssued(await exchange(tokenRequest(await idp.mint())));
    const again = await exchange(tokenRequest(await idp.mint({ header: { kid: 'rotated' } })));
    expectRejected(again, 'temporarily_unavailable', 503, /HTTP 429/);
    expect(host.count('/acme2/keys')).toBe(2);
  });

  describe('discovery', () => {
    it('a failing discovery is 503 and cooled down: no metadata refetch within the failure cooldown', async () => {
      const idp = await registerIdp({ discovered: true });
      host.routes.set('/acme2/.well-known/openid-configuration', answer(429));
      for (const outcome of await exchangeAll(idp, 5)) {
        expectRejected(outcome, 'temporarily_unavailable', 503, /issuer metadata: .*HTTP 429/);
        expect(outcome.audit.outcome).toBe('failed');
      }
      nowMs += FAILURE_COOLDOWN_MS - 1;
      expectRejected(await exchange(tokenRequest(await idp.mint())), 'temporarily_unavailable', 503, /HTTP 429/);
      expect(host.count('/acme2/.well-known/openid-configuration')).toBe(1);
      expect(host.count('/.well-known/oauth-authorization-server/acme2')).toBe(1);

      host.json('/acme2/.well-known/openid-configuration', { issuer: idp.issuer, jwks_uri: `${idp.issuer}/keys` });
      host.json('/acme2/keys', idp.jwks);
      nowMs += 1;
      expectIssued(await exchange(tokenRequest(await idp.mint())));
      expect(host.count('/acme2/.well-known/openid-configuration')).toBe(2);
    });

    it('metadata naming another issuer, or no jwks_uri, is a 503 (the IdP is misconfigured, not the caller)', async () => {
      const idp = await registerIdp({ discovered: true });
      host.json('/acme2/.well-known/openid-configuration', { issuer: 'https://impostor.example', jwks_uri: 'x' });
      host.json('/.well-known/oauth-authorization-server/acme2', { issuer: idp.issuer });
      const outcome = await exchange(tokenRequest(await idp.mint()));
      expectRejected(
        outcome,
        'temporarily_unavailable',
        503,
        /names another issuer \(openid-configuration\); jwks_uri missing .*\(oauth-authorization-server\)/,
      );
    });

    it('a discovered jwks_uri is kept when rediscovery fails, until an hour past its max age', async () => {
      const idp = await registerIdp({ discovered: true });
      host.json('/acme2/.well-known/openid-configuration', { issuer: idp.issuer, jwks_uri: `${idp.issuer}/keys` });
      host.json('/acme2/keys', idp.jwks);
      expectIssued(await exchange(tokenRequest(await idp.mint())));
      host.routes.set('/acme2/.well-known/openid-configuration', answer(503));

      nowMs += DISCOVERY_MAX_AGE_MS;
      expectIssued(await exchange(tokenRequest(await idp.mint())));
      expect(host.count('/acme2/.well-known/openid-configuration')).toBe(2);
      nowMs += STALE_IF_ERROR_MS;
      const outcome = await exchange(tokenRequest(await idp.mint()));
      expectRejected(outcome, 'temporarily_unavailable', 503, /issuer metadata: .*HTTP 503/);
    });
  });
});

describe("unusable keys in a key set are the key owner's fault: a rejection, never a 500", () => {
  let f: Fixture;
  let host: HttpStub;

  beforeEach(async () => {
    f = await createFixture();
    host = await HttpStub.start();
  });
  afterEach(async () => {
    await host.close();
  });

  async function idpServing(keys: (idp: TestIdp) => JWK[]) {
    const issuer = `${host.origin}/acme2`;
    const idp = await TestIdp.create({ issuer, audience: ISSUER, clientId: CLIENTS.basic, now: () => f.clock.now() });
    f.addTrust({ tenantId: 'acme2', issuer, jwksUri: `${issuer}/keys` });
    host.json('/acme2/keys', { keys: keys(idp) });
    return idp;
  }
  const exchange = () => createTokenEndpoint({ ...f, keyResolver: new RemoteKeyResolver(LOCAL) });

  it("a key in the issuer's key set that cannot be imported, selected by kid, is 400 invalid_grant", async () => {
    const idp = await idpServing((idp) => [{ ...idp.publicJwk, n: undefined }]);
    const outcome = await exchange()(tokenRequest(await idp.mint()));
    expectRejected(outcome, 'invalid_grant', 400, /cannot be imported/);
    expect(outcome.audit.outcome).toBe('rejected');
  });

  it("an RSA key shorter than 2048 bits in the issuer's key set is 400 invalid_grant", async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const idp = await idpServing(() => [{ ...publicKey.export({ format: 'jwk' }), kid: 'short', alg: 'RS256' }]);
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'oauth-id-jag+jwt', kid: 'short' })).toString(
      'base64url',
    );
    const payload = Buffer.from(JSON.stringify(idp.claims())).toString('base64url');
    const signature = cryptoSign('sha256', Buffer.from(`${header}.${payload}`), privateKey).toString('base64url');
    const outcome = await exchange()(tokenRequest(`${header}.${payload}.${signature}`));
    expectRejected(outcome, 'invalid_grant', 400, /2048/);
  });

  it("a key in a client's inline key set that cannot be imported is 401 invalid_client", async () => {
    const registered = f.registry.clients.get(CLIENTS.jwt)!;
    const [jwk] = registered.jwks!.keys as [JWK];
    f.registry.clients.set(CLIENTS.jwt, { ...registered, jwks: { keys: [{ ...jwk, x: 'AAAA' }] } });
    const outcome = await exchange()(
      tokenRequest(await f.idp.mint({ claims: { client_id: CLIENTS.jwt } }), {
        authorization: null,
        form: { client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER, client_assertion: await f.clientAssertion() },
      }),
    );
    expectRejected(outcome, 'invalid_client', 401, /cannot be imported/);
  });
});

describe('issuer fetch safety', () => {
  let f: Fixture;
  let host: HttpStub;
  /** Every path the host was asked for (HttpStub counts each request, whatever its path). */
  const fetched = () => [...host.hits.keys()];

  beforeEach(async () => {
    f = await createFixture();
    host = await HttpStub.start();
  });
  afterEach(async () => {
    await host.close();
  });

  const exchangeWith = (options: RemoteKeyResolverOptions) =>
    createTokenEndpoint({ ...f, keyResolver: new RemoteKeyResolver(options) });

  it('fetches nothing for an unregistered issuer, even one that serves metadata and keys', async () => {
    const issuer = `${host.origin}/rogue`;
    const rogue = await TestIdp.create({ issuer, audience: ISSUER, clientId: CLIENTS.basic, now: () => f.clock.now() });
    host.json('/rogue/.well-known/openid-configuration', { issuer, jwks_uri: `${host.origin}/rogue/keys` });
    host.json('/rogue/keys', rogue.jwks);
    const outcome = await exchangeWith(LOCAL)(tokenRequest(await rogue.mint()));
    expectRejected(outcome, 'invalid_grant', 400, /unknown issuer/);
    expect(fetched()).toEqual([]);
  });

  it('fetches only the registered key set: jku, x5u, jwk and a URL in kid lead nowhere', async () => {
    const issuer = `${host.origin}/acme2`;
    const idp = await TestIdp.create({ issuer, audience: ISSUER, clientId: CLIENTS.basic, now: () => f.clock.now() });
    f.addTrust({ tenantId: 'acme2', issuer, jwksUri: `${host.origin}/acme2/keys` });
    host.json('/acme2/keys', idp.jwks);
    const attacker = await generateKeyPair('RS256', { extractable: true });
    const exchange = exchangeWith(LOCAL);
    const planted = {
      jwk: await exportJWK(attacker.publicKey),
      jku: `${host.origin}/evil/jwks`,
      x5u: `${host.origin}/evil/cert`,
      kid: `${host.origin}/evil/kid`,
    };
    const forged = await new SignJWT(idp.claims())
      .setProtectedHeader({ alg: 'RS256', typ: 'oauth-id-jag+jwt', ...planted })
      .sign(attacker.privateKey);
    expectRejected(await exchange(tokenRequest(forged)), 'invalid_grant', 400, /NO_MATCHING_KEY/);
    // The real IdP's assertion, carrying the same planted headers (but its own kid), still verifies with the
    // registered keys only.
    const genuine = await idp.mint({ header: { jku: planted.jku, x5u: planted.x5u } });
    expectIssued(await exchange(tokenRequest(genuine)));
    expect(fetched()).toEqual(['/acme2/keys']);
  });

  describe('in Lambda (no local allowances)', () => {
    it.each([
      ['loopback', (origin: string) => `https://${new URL(origin).host}/keys`, /private address/],
      ['the instance metadata service (link-local)', () => 'https://169.254.169.254/latest/keys', /private address/],
      ['a private IPv4 address', () => 'https://10.0.0.1/keys', /private address/],
      ['a unique local IPv6 address', () => 'https://[fd00::1]/keys', /private address/],
      ['an IPv4-mapped IPv6 metadata address', () => 'https://[::ffff:169.254.169.254]/keys', /private address/],
      // Regression: NAT64 and IPv4-compatible IPv6 forms were not refused.
      ['a NAT64 address embedding the metadata service', () => 'https://[64:ff9b::a9fe:a9fe]/keys', /private address/],
      ['a NAT64 local-use address embedding 10.0.0.1', () => 'https://[64:ff9b:1::a00:1]/keys', /private address/],
      ['an IPv4-compatible IPv6 loopback', () => 'https://[::127.0.0.1]/keys', /private address/],
      [
        'a name that resolves to loopback',
        (origin: string) => `https://localhost:${new URL(origin).port}/keys`,
        /refused address/,
      ],
      ['plain http', (origin: string) => `${origin}/keys`, /http: URL/],
    ])('refuses a key set URL on %s without connecting', async (_, uri, reason) => {
      const issuer = 'https://registered.example';
      const idp = await TestIdp.create({ issuer, audience: ISSUER, clientId: CLIENTS.basic, now: () => f.clock.now() });
      f.addTrust({ tenantId: 'registered', issuer, jwksUri: uri(host.origin) });
      host.json('/keys', idp.jwks);
      const outcome = await exchangeWith({})(tokenRequest(await idp.mint()));
      // A registration the server will not fetch is the operator's to fix: a dependency failure, not the caller's.
      expectRejected(outcome, 'temporarily_unavailable', 503, reason);
      expect(outcome.audit.reason).toMatch(/refus/);
      expect(fetched()).toEqual([]);
    });

    it('while local mode, configured to allow it, fetches the same loopback key set', async () => {
      const issuer = 'https://registered.example';
      const idp = await TestIdp.create({ issuer, audience: ISSUER, clientId: CLIENTS.basic, now: () => f.clock.now() });
      f.addTrust({ tenantId: 'registered', issuer, jwksUri: `${host.origin}/keys` });
      host.json('/keys', idp.jwks);
      expectIssued(await exchangeWith(LOCAL)(tokenRequest(await idp.mint())));
      expect(fetched()).toEqual(['/keys']);
    });
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
