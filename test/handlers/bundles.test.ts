import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { applyConfig, RegistryTable } from '../../lambda/adapters/dynamodb';
import { parseRegistryConfig } from '../../lambda/config/schema';
import { hashClientSecret } from '../../lambda/core/secrets';
import { httpApiEvent } from '../support/api-gateway';
import { lambdaLikeEnv } from '../support/bundle-env';
import { LocalDynamo } from '../support/dynalite';
import { KmsStandIn } from '../support/kms-transport';

const run = promisify(execFile);
const assets = join(__dirname, '..', '..', 'assets');
const ISSUER = 'https://auth.example.com';
const SECRET = 'bundle-test-secret-0123456789abcdefghij';

/**
 * The built bundles (what ships and what Lambda runs), each loaded in a fresh Node process with only environment
 * configuration, like a Lambda execution environment: credentials from the environment (the other providers are
 * stubbed out of the bundles), DynamoDB and KMS reached through AWS_ENDPOINT_URL_*.
 */
describe('handler bundles', () => {
  let dynamo: LocalDynamo;
  let kms: { endpoint: string; close: () => Promise<void> };
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    if (!existsSync(join(assets, 'token', 'index.mjs'))) throw new Error('run `npm run build` first (npm test does)');
    dynamo = await LocalDynamo.start();
    const tableName = await dynamo.createTable();
    const registry = parseRegistryConfig({
      clients: [{ clientId: 'claude', authMethod: 'client_secret_basic', secretHash: hashClientSecret(SECRET) }],
    });
    expect(
      (await applyConfig(new RegistryTable({ client: dynamo.client(), tableName }), registry)).error,
    ).toBeUndefined();
    const standIn = new KmsStandIn();
    standIn.addKey('signing-key');
    kms = await standIn.listen();
    env = {
      ...lambdaLikeEnv({ dynamodb: dynamo.endpoint, kms: kms.endpoint }),
      AUTH_SERVER_CONFIG: JSON.stringify({
        issuer: ISSUER,
        resources: [{ id: 'https://mcp.example.com/mcp', scopes: ['read'] }],
      }),
      SIGNING_KEY_ID: 'signing-key',
      TABLE_NAME: tableName,
    };
  });
  afterAll(async () => {
    await Promise.all([dynamo.stop(), kms.close()]);
  });

  /** Invokes a bundle's handler with one event in a fresh process and returns its result. */
  async function invoke(name: string, event: unknown, extraEnv: NodeJS.ProcessEnv = {}) {
    const script = [
      `const { handler } = await import(${JSON.stringify(join(assets, name, 'index.mjs'))});`,
      `const result = await handler(${JSON.stringify(event)}, { awsRequestId: 'r-1' });`,
      `process.stderr.write('RESULT ' + JSON.stringify(result) + '\\n');`,
    ].join('\n');
    const { stderr, stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...env, ...extraEnv },
    });
    const line = stderr.split('\n').find((entry) => entry.startsWith('RESULT '));
    return { result: JSON.parse(line!.slice(7)), logs: stdout };
  }

  it('metadata serves the issuer metadata', async () => {
    const { result } = await invoke(
      'metadata',
      httpApiEvent({ method: 'GET', path: '/.well-known/oauth-authorization-server' }),
    );
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body).issuer).toBe(ISSUER);
  });

  it('jwks publishes the KMS public key', async () => {
    const { result } = await invoke('jwks', httpApiEvent({ method: 'GET', path: '/jwks.json' }));
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body).keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
  });

  it('token authenticates against DynamoDB and answers an unusable assertion with invalid_grant, logging one decision', async () => {
    const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: 'a.b.c' });
    const event = httpApiEvent({
      method: 'POST',
      path: '/token',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`claude:${SECRET}`).toString('base64')}`,
      },
      body: body.toString(),
    });
    const { result, logs } = await invoke('token', event);
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body).error).toBe('invalid_grant');
    const decision = JSON.parse(logs.split('\n').find((line) => line.includes('token decision'))!);
    expect(decision).toMatchObject({ client: 'claude', outcome: 'rejected', error: 'invalid_grant' });
  });

  it('token refuses to run without credentials in the environment rather than look elsewhere', async () => {
    const event = httpApiEvent({
      method: 'POST',
      path: '/token',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`claude:${SECRET}`).toString('base64')}`,
      },
      body: 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c',
    });
    const { result } = await invoke('token', event, { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
    expect(result.statusCode).toBeGreaterThanOrEqual(500);
    expect(JSON.parse(result.body).error).toMatch(/server_error|temporarily_unavailable/);
  });
});
