// `npm run bench -- --soak` (second part): the Lambda token path alone under sustained load, to show it grows by
// nothing of its own: the token handler as the Lambda function wires it (the DynamoDB registry with its 30 s cache,
// the replay store and the grant store on the real SDK client, the KMS signer on the real KMS client answered by the
// stand-in, the remote key resolver over HTTP) fed API Gateway events in process, 16 at a time, each with a fresh
// assertion, against dynalite in another process. Prints RSS, V8 heap and external memory every 10 seconds.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  applyConfig,
  DynamoGrantStore,
  DynamoRegistry,
  DynamoReplayStore,
  RegistryTable,
} from '../lambda/adapters/dynamodb';
import { RemoteKeyResolver } from '../lambda/adapters/issuer-keys';
import { KmsSigner } from '../lambda/adapters/kms-signer';
import { parseRegistryConfig } from '../lambda/config/schema';
import { resolveServerConfig } from '../lambda/core/config';
import { systemClock } from '../lambda/core/ports';
import { hashClientSecret } from '../lambda/core/secrets';
import { createTokenHandler, once } from '../lambda/handlers/api';
import { createLogger } from '../lambda/handlers/logger';
import { httpApiEvent } from '../test/support/api-gateway';
import { basic } from '../test/support/fixture';
import { KmsStandIn } from '../test/support/kms-transport';
import { assertionMinter, idpKey } from './mint';
import { mib, printSample, type Sample, summarise } from './soak-report';

const MINUTES = Number(process.argv[2] ?? 10);
const CONCURRENCY = 16;
const INTERVAL_SECONDS = 10;
const ISSUER = 'https://auth.example.com';
const SECRET = 'bench-secret-0123456789abcdefghijklmnopqr';

/** dynalite in a process of its own, on a loopback port: the DynamoDB the handler talks to over the network. */
async function startDynalite(): Promise<{ endpoint: string; stop(): void }> {
  const source = `const server = require(process.argv[1])({ createTableMs: 0 });
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));`;
  const child = spawn(process.execPath, ['-e', source, require.resolve('dynalite')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve) => child.stdout.once('data', (data: Buffer) => resolve(`${data}`)));
  return { endpoint: `http://127.0.0.1:${port.trim()}`, stop: () => child.kill() };
}

async function main() {
  const totalSeconds = MINUTES * 60;
  const dynamo = await startDynalite();
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const tableName = 'id-jag-soak';
  const table = new RegistryTable({ client, tableName });
  await table.createTable();

  const idp = idpKey();
  const idpServer = createServer((_, response) => response.end(JSON.stringify(idp.jwks)));
  await new Promise<void>((resolve) => idpServer.listen(0, '127.0.0.1', resolve));
  const idpOrigin = `http://127.0.0.1:${(idpServer.address() as AddressInfo).port}`;
  const registry = parseRegistryConfig(
    {
      tenants: [{ id: 'acme', issuers: [{ issuer: `${idpOrigin}/idp`, jwksUri: `${idpOrigin}/keys` }] }],
      clients: [{ clientId: 'claude', authMethod: 'client_secret_basic', secretHash: hashClientSecret(SECRET) }],
    },
    { allowHttpLoopback: true },
  );
  const applied = await applyConfig(table, registry);
  if (applied.error) throw applied.error;

  const kms = new KmsStandIn();
  kms.addKey('signing-key');
  const handler = createTokenHandler(
    once(async () => ({
      config: resolveServerConfig({
        issuer: ISSUER,
        resources: [{ id: 'https://mcp.example.com/mcp', scopes: ['read'] }],
      }),
      registry: new DynamoRegistry({ client, tableName }),
      replayStore: new DynamoReplayStore({ client, tableName }),
      grants: new DynamoGrantStore({ client, tableName }),
      signer: new KmsSigner({
        client: kms.client(),
        keyId: 'signing-key',
        previousKeyIds: [],
        nextKeyIds: [],
        algorithm: 'ES256',
      }),
      // The Lambda resolver, allowed onto loopback for this run only.
      keyResolver: new RemoteKeyResolver({ allowHttpLoopback: true, allowPrivateAddresses: true }),
      clock: systemClock,
    })),
    createLogger({ service: 'soak', write: () => undefined }),
  );
  const mint = assertionMinter({ ...idp, issuer: `${idpOrigin}/idp`, audience: ISSUER, clientId: 'claude' });
  const authorization = basic('claude', SECRET);

  console.log(
    `soak: the Lambda token handler in process (pid ${process.pid}), ${CONCURRENCY} at a time, ${MINUTES} min`,
  );
  let tokens = 0;
  let errors = 0;
  const samples: Sample[] = [];
  const started = Date.now();
  let previous = { seconds: 0, tokens: 0 };
  const sample = () => {
    // The stand-in records every call it answers, for tests; that record is not the handler's memory.
    kms.calls.length = 0;
    const seconds = Math.round((Date.now() - started) / 1000);
    const memory = process.memoryUsage();
    const current: Sample = {
      seconds,
      tokens,
      errors,
      tokensPerSecond: Math.round((tokens - previous.tokens) / Math.max(1, seconds - previous.seconds)),
      rssMiB: mib(memory.rss),
      heapUsedMiB: mib(memory.heapUsed),
      externalMiB: mib(memory.external),
    };
    previous = { seconds, tokens };
    samples.push(current);
    printSample(current);
  };
  sample();
  const timer = setInterval(sample, INTERVAL_SECONDS * 1000);
  const deadline = started + totalSeconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        const event = httpApiEvent({
          method: 'POST',
          path: '/token',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
          body: `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=${mint()}`,
        });
        const result = await handler(event);
        if (result.statusCode === 200) tokens++;
        else errors++;
      }
    }),
  );
  clearInterval(timer);
  sample();
  client.destroy();
  idpServer.close();
  dynamo.stop();
  summarise('soak-lambda', samples, totalSeconds);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
