import { applyConfig, DynamoRegistry, DynamoReplayStore, RegistryTable } from '../../lambda/adapters/dynamodb';
import { KmsSigner } from '../../lambda/adapters/kms-signer';
import { parseRegistryConfig } from '../../lambda/config/schema';
import { hashClientSecret } from '../../lambda/core/secrets';
import { createTokenEndpoint, type TokenOutcome } from '../../lambda/core/token-endpoint';
import { LocalDynamo } from '../support/dynalite';
import { CLIENTS, ISSUER, MCP, NOW, SECRET, testConfig, tokenRequest } from '../support/fixture';
import { type DynamoFault, DynamoFaults } from '../support/hardening';
import { KmsStandIn } from '../support/kms-transport';
import { FixedClock, MemoryKeyResolver } from '../support/memory';
import { expectIssued, expectRejected, verifyAccessToken } from '../support/outcome';
import { TestIdp } from '../support/test-idp';

const ACME_IDP = 'https://acme.okta.example';
const KEY_ID = 'signing-key';

/**
 * DynamoDB (dynalite behind a fault-injecting proxy) and KMS (the stand-in behind the real KMSClient) failing at each
 * step of an exchange: the caller gets server_error or temporarily_unavailable, never a token, and the single-use
 * record never lets one assertion earn two tokens, whatever failed and however often the caller retries.
 */
describe('store and signer faults at each step of an exchange', () => {
  let dynamo: LocalDynamo;
  let faults: DynamoFaults;
  let tableName: string;
  let idp: TestIdp;
  let kms: KmsStandIn;
  const clock = new FixedClock(NOW);

  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
    tableName = await dynamo.createTable();
    faults = await DynamoFaults.start(dynamo.endpoint);
    const seeded = await applyConfig(
      new RegistryTable({ client: dynamo.client(), tableName }),
      parseRegistryConfig({
        tenants: [{ id: 'acme', issuers: [{ issuer: ACME_IDP, jwksUri: `${ACME_IDP}/keys` }] }],
        clients: [{ clientId: CLIENTS.basic, authMethod: 'client_secret_basic', secretHash: hashClientSecret(SECRET) }],
      }),
    );
    expect(seeded.error).toBeUndefined();
    idp = await TestIdp.create({ issuer: ACME_IDP, audience: ISSUER, clientId: CLIENTS.basic, now: () => clock.now() });
  });
  afterAll(async () => {
    await faults.close();
    await dynamo.stop();
  });
  beforeEach(() => {
    faults.clear();
    kms = new KmsStandIn();
    kms.addKey(KEY_ID);
  });

  /** A fresh endpoint (no cached registrations, no cached public key), so every step makes its remote call. */
  function endpoint() {
    const keyResolver = new MemoryKeyResolver();
    keyResolver.sets.set(`${ACME_IDP}/keys`, idp.jwks);
    const client = faults.client();
    const signer = new KmsSigner({
      client: kms.client(),
      keyId: KEY_ID,
      previousKeyIds: [],
      nextKeyIds: [],
      algorithm: 'ES256',
    });
    const exchange = createTokenEndpoint({
      config: testConfig(),
      registry: new DynamoRegistry({ client, tableName, cacheMaxAgeMs: 0 }),
      replayStore: new DynamoReplayStore({ client, tableName }),
      signer,
      keyResolver,
      clock,
    });
    return { exchange, signer };
  }

  /** A 5xx answer with nothing of the dependency's own words in it. */
  function expectFailure(outcome: TokenOutcome, error: string, status: number): void {
    expectRejected(outcome, error, status);
    expect(outcome.audit.outcome).toBe('failed');
    expect(outcome.response.body).not.toMatch(/secret-detail|arn:|dynamodb|kms|Exception/i);
  }

  const dynamoFaults: [string, DynamoFault, string, number][] = [
    ['throttled', { kind: 'error', name: 'ThrottlingException', status: 400 }, 'temporarily_unavailable', 503],
    [
      'over its provisioned throughput',
      { kind: 'error', name: 'ProvisionedThroughputExceededException', status: 400 },
      'temporarily_unavailable',
      503,
    ],
    ['failing inside', { kind: 'error', name: 'InternalServerError', status: 500 }, 'temporarily_unavailable', 503],
    ['missing its table', { kind: 'error', name: 'ResourceNotFoundException', status: 400 }, 'server_error', 500],
    ['refusing the request', { kind: 'error', name: 'AccessDeniedException', status: 400 }, 'server_error', 500],
  ];
  // GetItem: the client; Query and BatchGetItem: the issuer's trusts and their tenants; PutItem: the single-use record.
  const steps = ['GetItem', 'Query', 'BatchGetItem', 'PutItem'];

  describe.each(steps)('DynamoDB %s', (operation) => {
    it.each(dynamoFaults)(
      '%s: fails the exchange, and the assertion stays usable exactly once',
      async (_, fault, error, status) => {
        const { exchange } = endpoint();
        const assertion = await idp.mint();
        faults.inject(operation, fault);
        expectFailure(await exchange(tokenRequest(assertion)), error, status);
        expect(faults.count(operation)).toBeGreaterThan(0);

        // Nothing was recorded, so the caller's retry succeeds, once.
        expectIssued(await exchange(tokenRequest(assertion)));
        expectRejected(await exchange(tokenRequest(assertion)), 'invalid_grant', 400, /jti replayed/);
      },
    );

    it('a dropped connection: fails the exchange with a 5xx, and the assertion stays usable exactly once', async () => {
      const { exchange } = endpoint();
      const assertion = await idp.mint();
      faults.inject(operation, { kind: 'drop' });
      const outcome = await exchange(tokenRequest(assertion));
      expectFailure(outcome, 'temporarily_unavailable', 503);
      expectIssued(await exchange(tokenRequest(assertion)));
      expectRejected(await exchange(tokenRequest(assertion)), 'invalid_grant', 400, /jti replayed/);
    });
  });

  it('a single-use record written but whose answer was lost spends the assertion: no token now or on retry', async () => {
    const { exchange } = endpoint();
    const assertion = await idp.mint();
    faults.inject('PutItem', { kind: 'lose-answer' });
    expectFailure(await exchange(tokenRequest(assertion)), 'temporarily_unavailable', 503);
    expectRejected(await exchange(tokenRequest(assertion)), 'invalid_grant', 400, /jti replayed/);
  });

  describe.each(['GetPublicKey', 'Sign'])('KMS %s', (operation) => {
    it.each([
      ['throttled', 'ThrottlingException', 400, 'temporarily_unavailable', 503],
      ['failing inside', 'KMSInternalException', 500, 'temporarily_unavailable', 503],
      ['with the key unavailable', 'KeyUnavailableException', 500, 'temporarily_unavailable', 503],
      ['with the key disabled', 'DisabledException', 400, 'server_error', 500],
      ['refusing access', 'AccessDeniedException', 400, 'server_error', 500],
    ])(
      '%s: no token, and the assertion (recorded concurrently, then released) stays usable exactly once',
      async (_, name, kmsStatus, error, status) => {
        const { exchange } = endpoint();
        const assertion = await idp.mint();
        kms.failure = { name, status: kmsStatus, times: 1, operation };
        expectFailure(await exchange(tokenRequest(assertion)), error, status);
        expect(kms.count(operation)).toBeGreaterThan(0);
        expectIssued(await exchange(tokenRequest(assertion)));
        expectRejected(await exchange(tokenRequest(assertion)), 'invalid_grant', 400, /jti replayed/);
        // The next assertion goes through: the fault was transient, and nothing bad was cached.
        expectIssued(await exchange(tokenRequest(await idp.mint())));
      },
    );

    it('unanswered (connection timed out): 503, no token, and the assertion stays usable exactly once', async () => {
      const { exchange } = endpoint();
      const assertion = await idp.mint();
      // The stand-in fails the next request of any operation; make it the one under test.
      if (operation === 'Sign') await exchange(tokenRequest(await idp.mint()));
      kms.networkFailure = { code: 'ETIMEDOUT', times: 1 };
      expectFailure(await exchange(tokenRequest(assertion)), 'temporarily_unavailable', 503);
      expect(kms.calls.at(-1)?.operation).toBe(operation);
      expectIssued(await exchange(tokenRequest(assertion)));
      expectRejected(await exchange(tokenRequest(assertion)), 'invalid_grant', 400, /jti replayed/);
    });
  });

  it('of 30 concurrent exchanges of one assertion and 5 retries, while DynamoDB and KMS fail now and then, exactly one gets a token', async () => {
    const { exchange, signer } = endpoint();
    const assertion = await idp.mint();
    faults.inject('PutItem', { kind: 'error', name: 'ThrottlingException', status: 400 }, 5);
    faults.inject('Query', { kind: 'error', name: 'InternalServerError', status: 500 }, 3);
    kms.failure = { name: 'ThrottlingException', status: 400, times: 4, operation: 'Sign' };
    const outcomes = await Promise.all(Array.from({ length: 30 }, () => exchange(tokenRequest(assertion))));
    const retries = await Promise.all(Array.from({ length: 5 }, () => exchange(tokenRequest(assertion))));
    const all = [...outcomes, ...retries];
    const tokens = all.filter((outcome) => outcome.response.status === 200);
    // Failed requests release what they recorded, so the faults cost no token: one of them gets it, never two.
    expect(tokens).toHaveLength(1);
    for (const outcome of all.filter((o) => o.response.status !== 200)) {
      expect(outcome.response.body).not.toContain('access_token');
      expect([400, 500, 503]).toContain(outcome.response.status);
    }
    // Once the faults have run out, the assertion has been spent by whoever got the token.
    expectRejected(await exchange(tokenRequest(assertion)), 'invalid_grant', 400, /jti replayed/);
    for (const token of tokens) {
      const body = JSON.parse(token.response.body) as { access_token: string };
      await verifyAccessToken(body.access_token, signer, MCP, NOW);
    }
  });
});
