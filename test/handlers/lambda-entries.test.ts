import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { applyConfig, DynamoRegistry, RegistryTable } from '../../lambda/adapters/dynamodb';
import { parseRegistryConfig } from '../../lambda/config/schema';
import { hashClientSecret } from '../../lambda/core/secrets';
import type { HttpApiHandler } from '../../lambda/handlers/api';
import { httpApiEvent } from '../support/api-gateway';
import { LocalDynamo } from '../support/dynalite';
import { HttpStub } from '../support/http-stub';
import { KmsStandIn } from '../support/kms-transport';
import { TestIdp } from '../support/test-idp';

const ISSUER = 'https://auth.example.com';
const RESOURCE = 'https://mcp.example.com/mcp';
const SECRET = 'lambda-entry-test-secret-0123456789abcdef';
const SERVER_CONFIG = JSON.stringify({ issuer: ISSUER, resources: [{ id: RESOURCE, scopes: ['read'] }] });

/**
 * The Lambda entry modules as Lambda loads them: configuration from the environment, AWS clients built by the module,
 * DynamoDB (dynalite) and KMS (the stand-in) reached through AWS_ENDPOINT_URL_*, real API Gateway v2 events in.
 */
describe('Lambda entry modules', () => {
  let dynamo: LocalDynamo;
  let kms: KmsStandIn;
  let kmsServer: { endpoint: string; close: () => Promise<void> };
  let idpHost: HttpStub;
  let tableName: string;
  let lines: string[];
  const saved = { ...process.env };

  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
    tableName = await dynamo.createTable();
    kms = new KmsStandIn();
    kms.addKey('signing-key');
    kmsServer = await kms.listen();
    idpHost = await HttpStub.start();
  });
  afterAll(async () => {
    await Promise.all([dynamo.stop(), kmsServer.close(), idpHost.close()]);
  });
  beforeEach(() => {
    lines = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_KMS: kmsServer.endpoint,
      AUTH_SERVER_CONFIG: SERVER_CONFIG,
      SIGNING_KEY_ID: 'signing-key',
      TABLE_NAME: tableName,
      METRICS_NAMESPACE: 'IdJagAuthorizationServer',
      METRICS_SERVER_NAME: 'test-server',
    });
  });
  afterEach(() => {
    jest.restoreAllMocks();
    process.env = { ...saved };
  });

  /** Loads an entry module afresh, as a new execution environment would. */
  const load = (name: 'metadata' | 'jwks' | 'token' | 'authorize' | 'register'): HttpApiHandler => {
    let handler: HttpApiHandler | undefined;
    jest.isolateModules(() => {
      handler = require(`../../lambda/handlers/${name}`).handler;
    });
    return handler!;
  };
  const json = (result: APIGatewayProxyStructuredResultV2) => JSON.parse(String(result.body));

  it('metadata: answers from AUTH_SERVER_CONFIG', async () => {
    const result = await load('metadata')(
      httpApiEvent({ method: 'GET', path: '/.well-known/oauth-authorization-server' }),
    );
    expect(result.statusCode).toBe(200);
    expect(json(result)).toMatchObject({ issuer: ISSUER, token_endpoint: `${ISSUER}/token` });
  });

  it('metadata: a missing variable gives an OAuth server_error and a log line naming it', async () => {
    delete process.env.AUTH_SERVER_CONFIG;
    const result = await load('metadata')(
      httpApiEvent({ method: 'GET', path: '/.well-known/oauth-authorization-server' }),
    );
    expect(result.statusCode).toBe(500);
    expect(json(result)).toMatchObject({ error: 'server_error' });
    expect(lines.join('')).toContain('AUTH_SERVER_CONFIG is not set');
  });

  it('register: registers a client in the table, logs the decision without the secret, and the token path finds it', async () => {
    process.env.AUTH_SERVER_CONFIG = JSON.stringify({
      ...JSON.parse(SERVER_CONFIG),
      dynamicClientRegistration: { enabled: true },
    });
    const event = httpApiEvent({
      method: 'POST',
      path: '/register',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://app.example/cb'], client_name: 'App' }),
    });
    const result = await load('register')(event);
    expect(result.statusCode).toBe(201);
    const body = json(result);
    expect(body.client_id).toMatch(/^dcr_/);
    const decision = JSON.parse(lines.find((line) => line.includes('registration decision'))!);
    expect(decision).toMatchObject({ service: 'register', outcome: 'registered', client: body.client_id });
    expect(lines.join('')).not.toContain(body.client_secret);
    const registry = new DynamoRegistry({ client: dynamo.client(), tableName, cacheMaxAgeMs: 0 });
    expect(await registry.getClient(body.client_id)).toMatchObject({ display: { name: 'App' }, firstParty: false });
  });

  it('register: answers 404 when registration is off', async () => {
    const result = await load('register')(
      httpApiEvent({ method: 'POST', path: '/register', headers: { 'content-type': 'application/json' }, body: '{}' }),
    );
    expect(result.statusCode).toBe(404);
  });

  it('jwks: publishes the KMS key through the SDK over HTTP', async () => {
    const result = await load('jwks')(httpApiEvent({ method: 'GET', path: '/jwks.json' }));
    expect(result.statusCode).toBe(200);
    expect(json(result).keys).toEqual([expect.objectContaining({ kty: 'EC', alg: 'ES256', use: 'sig' })]);
  });

  it('authorize: answers from the table and logs the decision with the sign-in metrics', async () => {
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: 'unregistered-client',
      redirect_uri: 'https://client.example/callback',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    const event = httpApiEvent({ method: 'GET', path: '/authorize', query: query.toString() });
    const result = await load('authorize')(event);
    // An unknown client is shown an error page, never redirected (PROTOCOL.md §9): the table was asked.
    expect(result.statusCode).toBe(400);
    expect(result.headers?.['Content-Type']).toMatch(/^text\/html/);

    const decision = JSON.parse(lines.find((line) => line.includes('authorization decision'))!);
    expect(decision).toMatchObject({
      service: 'authorize',
      outcome: 'rejected',
      requestId: event.requestContext.requestId,
      Server: 'test-server',
      Error: 'invalid_request',
      SignInRejections: 1,
      _aws: { CloudWatchMetrics: [expect.objectContaining({ Namespace: 'IdJagAuthorizationServer' })] },
    });
  });

  it('token: serves the route ANY /revoke with the revocation endpoint, from the table, with its metrics', async () => {
    const table = new RegistryTable({ client: dynamo.client(), tableName });
    const registry = parseRegistryConfig({
      clients: [
        {
          clientId: 'inspector',
          authMethod: 'none',
          grantTypes: ['authorization_code', 'refresh_token'],
          redirectUris: ['http://127.0.0.1/callback'],
        },
      ],
    });
    expect((await applyConfig(table, registry)).error).toBeUndefined();
    const event = httpApiEvent({
      method: 'POST',
      path: '/revoke',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: 'a'.repeat(43), client_id: 'inspector' }).toString(),
    });
    // API Gateway names the route as the construct registers it, whatever the request's method.
    const routed = {
      ...event,
      routeKey: 'ANY /revoke',
      requestContext: { ...event.requestContext, routeKey: 'ANY /revoke' },
    };

    const result = await load('token')(routed);

    // RFC 7009 §2.2: an unknown token is answered 200, as a revoked one.
    expect(result.statusCode).toBe(200);
    const decision = JSON.parse(lines.find((line) => line.includes('revocation decision'))!);
    expect(decision).toMatchObject({
      service: 'token',
      event: 'token_revocation',
      outcome: 'ignored',
      client: 'inspector',
      requestId: event.requestContext.requestId,
      Server: 'test-server',
      RevocationsIgnored: 1,
    });
    expect(lines.join('')).not.toContain('token decision');
  });

  it('token: refuses to fetch keys of an http issuer, even one registered, and logs the decision with metrics', async () => {
    const issuer = `${idpHost.origin}/idp`;
    const idp = await TestIdp.create({ issuer, audience: ISSUER, clientId: 'claude' });
    idpHost.json('/idp/keys', idp.jwks);
    const table = new RegistryTable({ client: dynamo.client(), tableName });
    const registry = parseRegistryConfig(
      {
        tenants: [{ id: 'acme', issuers: [{ issuer, jwksUri: `${idpHost.origin}/idp/keys` }] }],
        clients: [{ clientId: 'claude', authMethod: 'client_secret_basic', secretHash: hashClientSecret(SECRET) }],
      },
      { allowHttpLoopback: true },
    );
    expect((await applyConfig(table, registry)).error).toBeUndefined();

    const body = new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: await idp.mint(),
    });
    const event = httpApiEvent({
      method: 'POST',
      path: '/token',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`claude:${SECRET}`).toString('base64')}`,
      },
      body: Buffer.from(body.toString()).toString('base64'),
      isBase64Encoded: true,
    });
    const result = await load('token')(event);
    // A key set URL the server will not fetch is the operator's to fix: a dependency failure, counted and alarmed.
    expect(result.statusCode).toBe(503);
    expect(json(result)).toMatchObject({ error: 'temporarily_unavailable' });
    expect(idpHost.count('/idp/keys')).toBe(0);

    const decision = JSON.parse(lines.find((line) => line.includes('token decision'))!);
    expect(decision).toMatchObject({
      outcome: 'failed',
      reason: expect.stringContaining('refusing to fetch'),
      tenant: 'acme',
      requestId: event.requestContext.requestId,
      Server: 'test-server',
      Error: 'temporarily_unavailable',
      TokenFailures: 1,
      _aws: { CloudWatchMetrics: [expect.objectContaining({ Namespace: 'IdJagAuthorizationServer' })] },
    });
  });
});
