import { generateKeyPairSync } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RegistryTable, writeChanges } from '../../lambda/adapters/dynamodb/admin-store';
import { DynamoRegistry } from '../../lambda/adapters/dynamodb/registry';
import { DynamoReplayStore } from '../../lambda/adapters/dynamodb/replay-store';
import { KeyObjectSigner } from '../../lambda/adapters/key-object-signer';
import { planApply } from '../../lambda/config/plan';
import { parseRegistryConfig } from '../../lambda/config/schema';
import { EMPTY_STATE } from '../../lambda/config/state';
import { MAX_CLOCK_SKEW_SECONDS, type ServerConfig } from '../../lambda/core/config';
import type { KeyResolver } from '../../lambda/core/ports';
import { hashClientSecret } from '../../lambda/core/secrets';
import { createTokenEndpoint } from '../../lambda/core/token-endpoint';
import { LocalDynamo } from '../support/dynalite';
import { basic, CLIENTS, ISSUER, MCP, NOW, SECRET, testConfig, tokenRequest } from '../support/fixture';
import { FixedClock, MemoryKeyResolver } from '../support/memory';
import { documentedSubject, expectIssued, expectRejected, verifyAccessToken } from '../support/outcome';
import { TestIdp } from '../support/test-idp';

const ACME_IDP = 'https://acme.okta.example';
/** A second IdP trusted by the same tenant (a merger, a migration): its subjects are its own. */
const ACME_SECOND_IDP = 'https://acme.entra.example';

/** The core's token endpoint over the DynamoDB registry and replay store, seeded through the config schema. */
describe('token exchange over DynamoDB', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  let tableName: string;
  let idp: TestIdp;
  let secondIdp: TestIdp;
  const clock = new FixedClock(NOW);

  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
    client = dynamo.client();
    tableName = await dynamo.createTable(client);
    const config = parseRegistryConfig({
      tenants: [
        {
          id: 'acme',
          issuers: [
            { issuer: ACME_IDP, jwksUri: `${ACME_IDP}/keys`, algorithms: ['RS256'] },
            { issuer: ACME_SECOND_IDP, jwksUri: `${ACME_SECOND_IDP}/keys`, algorithms: ['RS256'] },
          ],
        },
        { id: 'dormant', enabled: false, issuers: [{ issuer: 'https://dormant.example' }] },
      ],
      clients: [
        { clientId: CLIENTS.basic, authMethod: 'client_secret_basic', secretHash: hashClientSecret(SECRET) },
        {
          clientId: 'elsewhere',
          authMethod: 'client_secret_basic',
          secretHash: hashClientSecret(SECRET),
          tenants: ['dormant'],
        },
      ],
    });
    const plan = planApply(EMPTY_STATE, config);
    const written = await writeChanges(new RegistryTable({ client, tableName }), plan.changes);
    expect(written.error).toBeUndefined();
    idp = await TestIdp.create({ issuer: ACME_IDP, audience: ISSUER, clientId: CLIENTS.basic, now: () => clock.now() });
    secondIdp = await TestIdp.create({
      issuer: ACME_SECOND_IDP,
      audience: ISSUER,
      clientId: CLIENTS.basic,
      now: () => clock.now(),
    });
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.stop();
  });

  beforeEach(() => {
    clock.seconds = NOW;
  });

  /** The endpoint over DynamoDB; `keysFetched` runs whenever an issuer's keys are asked for (a slow key fetch). */
  function endpoint(options: { config?: ServerConfig; keysFetched?: () => void } = {}) {
    const memoryKeys = new MemoryKeyResolver();
    memoryKeys.sets.set(`${ACME_IDP}/keys`, idp.jwks);
    memoryKeys.sets.set(`${ACME_SECOND_IDP}/keys`, secondIdp.jwks);
    const keyResolver: KeyResolver = {
      keysFor: (source) => {
        const keys = memoryKeys.keysFor(source);
        return async (header, token) => {
          options.keysFetched?.();
          return keys(header, token);
        };
      },
    };
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signer = new KeyObjectSigner(privateKey, 'ES256');
    const exchange = createTokenEndpoint({
      config: options.config ?? testConfig(),
      registry: new DynamoRegistry({ client, tableName }),
      replayStore: new DynamoReplayStore({ client, tableName }),
      signer,
      keyResolver,
      clock,
    });
    return { exchange, signer };
  }

  it('issues a token for a valid assertion, with the tenant from the registry', async () => {
    const { exchange, signer } = endpoint();
    const body = expectIssued(await exchange(tokenRequest(await idp.mint())));
    const { claims } = await verifyAccessToken(body.access_token, signer, MCP, NOW);
    expect(claims).toMatchObject({
      tenant: 'acme',
      client_id: CLIENTS.basic,
      sub: documentedSubject('acme', ACME_IDP, 'user-00u1'),
      idp_iss: ACME_IDP,
      idp_sub: 'user-00u1',
    });
  });

  describe('identity: the token sub is unique across the server and stable for one person', () => {
    const subjectOf = async (from: TestIdp, subject: string) => {
      const { exchange, signer } = endpoint();
      const body = expectIssued(await exchange(tokenRequest(await from.mint({ claims: { sub: subject } }))));
      return (await verifyAccessToken(body.access_token, signer, MCP, NOW)).claims;
    };

    it('gives two different subs to two IdPs of one tenant that both assert sub alice', async () => {
      const first = await subjectOf(idp, 'alice');
      const second = await subjectOf(secondIdp, 'alice');
      expect(first.tenant).toBe(second.tenant);
      expect(first.sub).not.toBe(second.sub);
      expect([first.idp_iss, second.idp_iss]).toEqual([ACME_IDP, ACME_SECOND_IDP]);
      expect([first.idp_sub, second.idp_sub]).toEqual(['alice', 'alice']);
    });

    it('gives the same sub to one person on every exchange', async () => {
      expect((await subjectOf(idp, 'alice')).sub).toBe((await subjectOf(idp, 'alice')).sub);
    });
  });

  describe('single use, judged on one clock', () => {
    const skew = testConfig().clockSkewSeconds;

    it('refuses a replay accepted just before exp + skew whose write lands after it (a slow key fetch)', async () => {
      const assertion = await idp.mint({ claims: { exp: NOW + 100 } });
      expectIssued(await endpoint().exchange(tokenRequest(assertion)));
      // The replay is accepted at the last second of its window; fetching the keys takes two seconds.
      clock.seconds = NOW + 100 + skew - 1;
      const slow = endpoint({ keysFetched: () => (clock.seconds += 2) });
      expectRejected(await slow.exchange(tokenRequest(assertion)), 'invalid_grant', 400, /jti replayed/);
    });

    it('refuses a replay of an assertion whose exp is fractional, near exp + skew', async () => {
      const assertion = await idp.mint({ claims: { exp: NOW + 100.5 } });
      expectIssued(await endpoint().exchange(tokenRequest(assertion)));
      clock.seconds = NOW + 100 + skew;
      const slow = endpoint({ keysFetched: () => (clock.seconds += 1) });
      expectRejected(await slow.exchange(tokenRequest(assertion)), 'invalid_grant', 400, /jti replayed/);
    });

    it('refuses a replay after the deployment raises its clock skew to the maximum', async () => {
      const assertion = await idp.mint({ claims: { exp: NOW + 100 } });
      expectIssued(await endpoint().exchange(tokenRequest(assertion)));
      clock.seconds = NOW + 100 + MAX_CLOCK_SKEW_SECONDS - 1;
      const widened = endpoint({ config: testConfig({ clockSkewSeconds: MAX_CLOCK_SKEW_SECONDS }) });
      expectRejected(await widened.exchange(tokenRequest(assertion)), 'invalid_grant', 400, /jti replayed/);
    });

    it('of 50 concurrent replays straddling exp + skew, none gets a token', async () => {
      const assertion = await idp.mint({ claims: { exp: NOW + 100 } });
      expectIssued(await endpoint().exchange(tokenRequest(assertion)));
      clock.seconds = NOW + 100 + skew - 1;
      const slow = endpoint({ keysFetched: () => (clock.seconds += 1) });
      const outcomes = await Promise.all(Array.from({ length: 50 }, () => slow.exchange(tokenRequest(assertion))));
      expect(outcomes.filter((outcome) => outcome.response.status === 200)).toHaveLength(0);
    });
  });

  it('of 100 concurrent exchanges of one assertion, exactly one gets a token and 99 get invalid_grant', async () => {
    const { exchange } = endpoint();
    const assertion = await idp.mint();
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => exchange(tokenRequest(assertion))));
    const issued = outcomes.filter((outcome) => outcome.response.status === 200);
    const replayed = outcomes.filter((outcome) => outcome.audit.reason === 'jti replayed');
    expect(issued).toHaveLength(1);
    expect(replayed).toHaveLength(99);
    for (const outcome of replayed) expectRejected(outcome, 'invalid_grant', 400);
  });

  it('rejects a wrong client secret, an unknown issuer and a disabled tenant', async () => {
    const { exchange } = endpoint();
    const wrongSecret = tokenRequest(await idp.mint(), { authorization: basic(CLIENTS.basic, 'wrong') });
    expectRejected(await exchange(wrongSecret), 'invalid_client', 401, /wrong secret/);

    const stranger = await TestIdp.create({ issuer: 'https://stranger.example', audience: ISSUER, clientId: 'claude' });
    expectRejected(await exchange(tokenRequest(await stranger.mint())), 'invalid_grant', 400, /unknown issuer/);

    const dormant = await TestIdp.create({ issuer: 'https://dormant.example', audience: ISSUER, clientId: 'claude' });
    expectRejected(await exchange(tokenRequest(await dormant.mint())), 'invalid_grant', 400, /disabled/);
  });

  it('refuses a client not allowed for the tenant the assertion resolves to', async () => {
    const { exchange } = endpoint();
    const assertion = await idp.mint({ claims: { client_id: 'elsewhere' } });
    const request = tokenRequest(assertion, { authorization: basic('elsewhere', SECRET) });
    expectRejected(await exchange(request), 'unauthorized_client', 400, /not allowed for tenant/);
  });
});
