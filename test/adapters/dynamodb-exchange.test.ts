import { generateKeyPairSync } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RegistryTable, writeChanges } from '../../lambda/adapters/dynamodb/admin-store';
import { DynamoRegistry } from '../../lambda/adapters/dynamodb/registry';
import { DynamoReplayStore } from '../../lambda/adapters/dynamodb/replay-store';
import { KeyObjectSigner } from '../../lambda/adapters/key-object-signer';
import { planApply } from '../../lambda/config/plan';
import { parseRegistryConfig } from '../../lambda/config/schema';
import { EMPTY_STATE } from '../../lambda/config/state';
import { hashClientSecret } from '../../lambda/core/secrets';
import { createTokenEndpoint } from '../../lambda/core/token-endpoint';
import { LocalDynamo } from '../support/dynalite';
import { basic, CLIENTS, ISSUER, MCP, NOW, SECRET, testConfig, tokenRequest } from '../support/fixture';
import { FixedClock, MemoryKeyResolver } from '../support/memory';
import { expectIssued, expectRejected, verifyAccessToken } from '../support/outcome';
import { TestIdp } from '../support/test-idp';

const ACME_IDP = 'https://acme.okta.example';

/** The core's token endpoint over the DynamoDB registry and replay store, seeded through the config schema. */
describe('token exchange over DynamoDB', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  let tableName: string;
  let idp: TestIdp;
  const clock = new FixedClock(NOW);

  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
    client = dynamo.client();
    tableName = await dynamo.createTable(client);
    const config = parseRegistryConfig({
      tenants: [
        {
          id: 'acme',
          issuers: [{ issuer: ACME_IDP, jwksUri: `${ACME_IDP}/keys`, algorithms: ['RS256'] }],
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
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.stop();
  });

  function endpoint() {
    const keyResolver = new MemoryKeyResolver();
    keyResolver.sets.set(`${ACME_IDP}/keys`, idp.jwks);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signer = new KeyObjectSigner(privateKey, 'ES256');
    const exchange = createTokenEndpoint({
      config: testConfig(),
      registry: new DynamoRegistry({ client, tableName }),
      replayStore: new DynamoReplayStore({ client, tableName, clock }),
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
    expect(claims).toMatchObject({ tenant: 'acme', client_id: CLIENTS.basic, sub: 'user-00u1' });
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
