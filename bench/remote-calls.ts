// Benchmark 5: the remote calls of a warm exchange through the real adapters (DynamoDB on dynalite, KMS through the
// stand-in): how many, which, and whether they overlap. Prints JSON on stdout.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { applyConfig, DynamoRegistry, DynamoReplayStore, RegistryTable } from '../lambda/adapters/dynamodb';
import { KmsSigner } from '../lambda/adapters/kms-signer';
import { parseRegistryConfig } from '../lambda/config/schema';
import { resolveServerConfig } from '../lambda/core/config';
import { systemClock } from '../lambda/core/ports';
import { hashClientSecret } from '../lambda/core/secrets';
import { createTokenEndpoint } from '../lambda/core/token-endpoint';
import { LocalDynamo } from '../test/support/dynalite';
import { basic, tokenRequest } from '../test/support/fixture';
import { KmsStandIn } from '../test/support/kms-transport';
import { MemoryKeyResolver } from '../test/support/memory';
import { TestIdp } from '../test/support/test-idp';

interface Call {
  readonly service: 'dynamodb' | 'kms';
  readonly command: string;
  readonly start: number;
  readonly end: number;
}

function instrument(
  client: { middlewareStack: DynamoDBClient['middlewareStack'] },
  service: Call['service'],
  calls: Call[],
) {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const start = performance.now();
      try {
        return await next(args);
      } finally {
        calls.push({ service, command: String(context.commandName), start, end: performance.now() });
      }
    },
    { step: 'initialize', name: `count-${service}` },
  );
}

async function main() {
  const ISSUER = 'https://auth.example.com';
  const SECRET = 'bench-secret-0123456789abcdefghijklmnopqr';
  const dynamo = await LocalDynamo.start();
  const tableName = await dynamo.createTable();
  const client = dynamo.client();
  const idp = await TestIdp.create({
    issuer: 'https://idp.example',
    audience: ISSUER,
    clientId: 'claude',
    alg: 'ES256',
  });
  const registry = parseRegistryConfig({
    tenants: [{ id: 'acme', issuers: [{ issuer: idp.issuer, jwksUri: 'https://idp.example/keys' }] }],
    clients: [{ clientId: 'claude', authMethod: 'client_secret_basic', secretHash: hashClientSecret(SECRET) }],
  });
  await applyConfig(new RegistryTable({ client, tableName }), registry);
  const kms = new KmsStandIn();
  kms.addKey('signing-key');
  const kmsClient = kms.client();
  const calls: Call[] = [];
  instrument(client, 'dynamodb', calls);
  instrument(kmsClient as unknown as DynamoDBClient, 'kms', calls);
  const keyResolver = new MemoryKeyResolver();
  keyResolver.sets.set('https://idp.example/keys', idp.jwks);

  const exchange = createTokenEndpoint({
    config: resolveServerConfig({
      issuer: ISSUER,
      resources: [{ id: 'https://mcp.example.com/mcp', scopes: ['read'] }],
    }),
    registry: new DynamoRegistry({ client, tableName }),
    replayStore: new DynamoReplayStore({ client, tableName }),
    signer: new KmsSigner({
      client: kmsClient,
      keyId: 'signing-key',
      previousKeyIds: [],
      nextKeyIds: [],
      algorithm: 'ES256',
    }),
    keyResolver,
    clock: systemClock,
  });
  const authorization = basic('claude', SECRET);
  const run = async () => {
    const outcome = await exchange(tokenRequest(await idp.mint(), { authorization }));
    if (outcome.response.status !== 200) throw new Error(outcome.response.body);
  };

  await run();
  const cold = calls.splice(0).map((call) => `${call.service}:${call.command}`);
  const EXCHANGES = 200;
  let overlapping = 0;
  const perExchange: string[][] = [];
  for (let i = 0; i < EXCHANGES; i++) {
    await run();
    const these = calls.splice(0);
    perExchange.push(these.map((call) => `${call.service}:${call.command}`).sort());
    const put = these.find((call) => call.command === 'PutItemCommand');
    const sign = these.find((call) => call.command === 'SignCommand');
    if (put && sign && put.start < sign.end && sign.start < put.end) overlapping++;
  }
  const counts = new Map<string, number>();
  for (const list of perExchange) counts.set(list.join(' + '), (counts.get(list.join(' + ')) ?? 0) + 1);
  process.stdout.write(
    `${JSON.stringify({
      coldExchangeCalls: cold,
      warmExchanges: EXCHANGES,
      warmCallPatterns: Object.fromEntries(counts),
      callsPerWarmExchange: perExchange.reduce((sum, list) => sum + list.length, 0) / EXCHANGES,
      putAndSignOverlapped: `${overlapping}/${EXCHANGES}`,
    })}\n`,
  );
  client.destroy();
  await dynamo.stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
