import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, SignJWT } from 'jose';
import { type LocalServer, startLocalServer } from '../../bin/local/server';
import { KmsSigner } from '../../lambda/adapters/kms-signer';
import { TemporarilyUnavailableError } from '../../lambda/core/errors';
import type { ReplayStore } from '../../lambda/core/ports';
import { hashClientSecret } from '../../lambda/core/secrets';
import type { HttpApiHandler } from '../../lambda/handlers/api';
import {
  basic,
  CLIENT_ASSERTION_TYPE_JWT_BEARER,
  CLIENTS,
  createFixture,
  type Fixture,
  MCP,
  OTHER_MCP,
  SECRET,
  type TokenRequestOptions,
  tokenRequest,
} from '../support/fixture';
import { callHandler, LogCapture, secretFragments, tokenHandler } from '../support/hardening';
import { HttpStub } from '../support/http-stub';
import { KmsStandIn } from '../support/kms-transport';
import { b64json, TestIdp } from '../support/test-idp';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/**
 * Runs realistic traffic (every success path and every rejection and failure class) through the token handler and
 * through the local server over HTTP, capturing everything written: the handlers' logger, console.* and stdout. No
 * line may hold an assertion, an access token, a client assertion or a client secret (right or wrong), whole or in
 * distinctive part (a JWT's signature, its signed header and payload), nor an assertion's raw jti.
 */
describe('log hygiene', () => {
  /** Every secret the traffic used or produced. */
  const secrets = new Set<string>();
  const keep = <T extends string>(value: T): T => {
    secrets.add(value);
    return value;
  };
  const keepJwt = (value: string) => {
    keep(value);
    const jti = decodeJwt(value).jti;
    if (typeof jti === 'string') rawJtis.add(jti);
    return value;
  };
  const rawJtis = new Set<string>();
  const outcomes = new Map<string, number>();
  const count = (status: number, error: unknown) => {
    const key = `${status} ${String(error ?? 'token')}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  };

  function expectClean(text: string): void {
    expect(text.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      for (const fragment of secretFragments(secret)) {
        if (text.includes(fragment)) throw new Error(`a log line holds a secret: ${fragment.slice(0, 24)}…`);
      }
    }
    for (const jti of rawJtis) {
      if (text.includes(jti)) throw new Error(`a log line holds an assertion jti: ${jti}`);
    }
  }

  describe('through the token handler', () => {
    let f: Fixture;
    let kms: KmsStandIn;
    let logs: LogCapture;
    let handler: HttpApiHandler;

    beforeAll(async () => {
      f = await createFixture();
      kms = new KmsStandIn();
      kms.addKey('signing-key');
      const signer = new KmsSigner({
        client: kms.client(),
        keyId: 'signing-key',
        previousKeyIds: [],
        nextKeyIds: [],
        algorithm: 'ES256',
      });
      logs = new LogCapture();
      logs.spyOnConsole();
      // A replay store that fails when told to, for the 503 path.
      let throttled = false;
      const replayStore: ReplayStore = {
        recordOnce: (use, now) =>
          throttled
            ? Promise.reject(new TemporarilyUnavailableError('dynamodb ThrottlingException'))
            : f.replayStore.recordOnce(use, now),
      };
      handler = tokenHandler({ ...f, signer, replayStore }, logs.logger);
      await runTraffic((value) => {
        throttled = value;
      });
    });
    afterAll(() => logs.restore());

    const send = async (assertion: string | undefined, options: TokenRequestOptions = {}) => {
      if (assertion) keepJwt(assertion);
      if (options.authorization) keep(options.authorization);
      const answer = await callHandler(handler, tokenRequest(assertion, options));
      count(answer.status, answer.body.error);
      if (typeof answer.body.access_token === 'string') keep(answer.body.access_token);
      return answer;
    };

    async function runTraffic(throttle: (on: boolean) => void) {
      const { idp, otherIdp } = f;
      // Successes, with every client authentication method.
      await send(await idp.mint());
      await send(await idp.mint({ claims: { email: 'jane@acme.example', scope: 'files:read files:write' } }), {
        form: { scope: 'files:read', resource: MCP },
      });
      await send(await idp.mint({ claims: { client_id: CLIENTS.post } }), {
        authorization: null,
        form: { client_id: CLIENTS.post, client_secret: keep(SECRET) },
      });
      const clientAssertion = keepJwt(await f.clientAssertion());
      await send(await idp.mint({ claims: { client_id: CLIENTS.jwt } }), {
        authorization: null,
        form: { client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER, client_assertion: clientAssertion },
      });
      await send(await idp.mint({ claims: { client_id: CLIENTS.public } }), {
        authorization: null,
        form: { client_id: CLIENTS.public },
      });

      // invalid_request, unsupported_grant_type.
      await send(await idp.mint(), { method: 'GET' });
      await send(await idp.mint(), { headers: { 'content-type': 'application/json' } });
      const twice = await idp.mint();
      await send(twice, { form: { assertion: [twice, twice] } });
      await send(undefined, {
        rawBody: `grant_type=${JWT_BEARER}&assertion=${keepJwt(await idp.mint())}&p=${'x'.repeat(20_000)}`,
      });
      await send(await idp.mint(), { form: { grant_type: 'client_credentials' } });

      // invalid_client: wrong secrets (also secrets: a typo of the real one must not be logged either).
      await send(await idp.mint(), { authorization: basic(CLIENTS.basic, keep(`${SECRET}-typo`)) });
      await send(await idp.mint(), { authorization: basic('nobody', keep('guessed-secret-value-123456')) });
      await send(await idp.mint(), {
        authorization: null,
        form: { client_id: CLIENTS.post, client_secret: keep('wrong-post-secret-0123456789') },
      });
      await send(await idp.mint({ claims: { client_id: CLIENTS.jwt } }), {
        authorization: null,
        form: { client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER, client_assertion: clientAssertion },
      });
      const foreignKey = await f.idp.mint();
      await send(await idp.mint({ claims: { client_id: CLIENTS.jwt } }), {
        authorization: null,
        form: {
          client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER,
          client_assertion: keepJwt(foreignKey),
        },
      });

      // unauthorized_client.
      await send(await idp.mint({ claims: { client_id: CLIENTS.noGrant } }), {
        authorization: basic(CLIENTS.noGrant, SECRET),
      });
      await send(await idp.mint({ claims: { client_id: CLIENTS.limited } }), {
        authorization: basic(CLIENTS.limited, SECRET),
      });

      // invalid_grant: every family of assertion failure.
      const forged = await idp.mint();
      await send(`${forged.split('.').slice(0, 2).join('.')}.${Buffer.from('x'.repeat(256)).toString('base64url')}`);
      await send(await idp.mint({ claims: { exp: f.clock.now() - 3600, iat: f.clock.now() - 3900 } }));
      await send(await idp.mint({ claims: { aud: 'https://elsewhere.example' } }));
      await send(await otherIdp.mint({ claims: { iss: 'https://acme.okta.example' } }));
      await send(await idp.mint({ claims: { iss: 'https://unknown.example' } }));
      await send(await idp.mint({ header: { typ: { toString: 1 } } }));
      await send(await idp.mint({ claims: { cnf: { jkt: 'thumbprint' } } }));
      await send(`${b64json({ alg: 'none', typ: 'oauth-id-jag+jwt' })}.${b64json(idp.claims())}.`);
      const replayed = await idp.mint();
      await send(replayed);
      await send(replayed);
      const attacker = await TestIdp.create({
        issuer: idp.issuer,
        audience: 'https://auth.example.com',
        clientId: CLIENTS.basic,
        kid: idp.kid,
      });
      await send(await attacker.mint());

      // invalid_scope, invalid_target.
      await send(await idp.mint(), { form: { scope: 'other:read' } });
      await send(await idp.mint(), { form: { resource: 'https://evil.example/mcp' } });
      await send(await idp.mint({ claims: { resource: [MCP, OTHER_MCP] } }));

      // temporarily_unavailable and server_error, from the replay store and from KMS.
      throttle(true);
      await send(await idp.mint());
      throttle(false);
      kms.failure = { name: 'ThrottlingException', status: 400, times: 1, operation: 'Sign' };
      await send(await idp.mint());
      kms.failure = { name: 'AccessDeniedException', status: 400, times: 1, operation: 'Sign' };
      await send(await idp.mint());
      const registry = f.registry.getClient;
      f.registry.getClient = () => Promise.reject(new Error('ResourceNotFoundException: table gone'));
      await send(await idp.mint());
      f.registry.getClient = registry;
    }

    it('covered every outcome class: tokens and each RFC error code, 4xx and 5xx', () => {
      const codes = new Set([...outcomes.keys()]);
      for (const expected of [
        '200 token',
        '405 invalid_request',
        '400 invalid_request',
        '400 unsupported_grant_type',
        '401 invalid_client',
        '400 unauthorized_client',
        '400 invalid_grant',
        '400 invalid_scope',
        '400 invalid_target',
        '503 temporarily_unavailable',
        '500 server_error',
      ]) {
        expect(codes).toContain(expected);
      }
      expect(outcomes.get('200 token')).toBe(6);
    });

    it('has a scan that would notice a leak: a signature, a signed header and payload, a secret, a raw jti', () => {
      const token = [...secrets].find((secret) => secret.split('.').length === 3)!;
      const [header, payload, signature] = token.split('.');
      for (const leak of [signature, `${header}.${payload}`, SECRET, [...rawJtis][0]]) {
        expect(() => expectClean(`{"message":"oops","value":"${leak}"}`)).toThrow(/holds/);
      }
    });

    it('wrote one decision per request, and not one secret', () => {
      const decisions = logs.records().filter((record) => record.message === 'token decision');
      expect(decisions).toHaveLength([...outcomes.values()].reduce((a, b) => a + b, 0));
      expect(secrets.size).toBeGreaterThan(40);
      expectClean(logs.text());
    });
  });

  describe('through the local server over HTTP', () => {
    let dataDir: string;
    let idpHost: HttpStub;
    let server: LocalServer;
    let logs: LogCapture;
    const CLIENT = 'hygiene-client';
    const CLIENT_SECRET = 'hygiene-client-secret-0123456789-abcdefghij';

    beforeAll(async () => {
      secrets.add(CLIENT_SECRET);
      dataDir = mkdtempSync(join(tmpdir(), 'id-jag-hygiene-'));
      idpHost = await HttpStub.start();
      const issuer = `${idpHost.origin}/idp`;
      const configPath = join(dataDir, 'config.json');
      writeFileSync(
        configPath,
        JSON.stringify({
          resources: [{ id: MCP, scopes: ['tools:call'] }],
          tenants: [{ id: 'acme', issuers: [{ issuer, jwksUri: `${idpHost.origin}/idp/keys` }] }],
          clients: [
            { clientId: CLIENT, authMethod: 'client_secret_basic', secretHash: hashClientSecret(CLIENT_SECRET) },
          ],
        }),
      );
      logs = new LogCapture();
      logs.spyOnConsole();
      server = await startLocalServer({
        port: 0,
        dataDir,
        configPath,
        inMemory: true,
        write: (line) => logs.lines.push(line),
      });
      const idp = await TestIdp.create({ issuer, audience: server.issuer, clientId: CLIENT });
      idpHost.json('/idp/keys', idp.jwks);

      const post = async (assertion: string, secret = CLIENT_SECRET, extra = '') => {
        keepJwt(assertion);
        const response = await fetch(`${server.url}/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: keep(`Basic ${Buffer.from(`${CLIENT}:${keep(secret)}`).toString('base64')}`),
          },
          body: `${new URLSearchParams({ grant_type: JWT_BEARER, assertion })}${extra}`,
        });
        const body = (await response.json()) as Record<string, unknown>;
        if (typeof body.access_token === 'string') keep(body.access_token);
        return response.status;
      };
      const replayed = await idp.mint();
      expect(await post(replayed)).toBe(200);
      expect(await post(replayed)).toBe(400);
      expect(await post(await idp.mint(), 'wrong-secret-for-the-local-server')).toBe(401);
      expect(await post(await idp.mint({ claims: { iss: 'https://unknown.example' } }))).toBe(400);
      const forged = await new SignJWT(idp.claims())
        .setProtectedHeader({ alg: 'HS256', typ: 'oauth-id-jag+jwt' })
        .sign(new TextEncoder().encode('x'.repeat(32)));
      expect(await post(forged)).toBe(400);
      expect(await post(await idp.mint(), CLIENT_SECRET, `&pad=${'x'.repeat(20_000)}`)).toBe(400);
    });
    afterAll(async () => {
      logs.restore();
      await server.close();
      await idpHost.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('wrote its decisions, and not one secret', () => {
      const decisions = logs.records().filter((record) => record.message === 'token decision');
      expect(decisions.map((record) => record.outcome)).toEqual([
        'issued',
        'rejected',
        'rejected',
        'rejected',
        'rejected',
        'rejected',
      ]);
      expectClean(logs.text());
    });
  });
});
