import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { RegistryTable } from '../../lambda/adapters/dynamodb/admin-store';
import {
  clientKey,
  connectionKey,
  type Key,
  keyAttributes,
  tenantKey,
  trustKey,
} from '../../lambda/adapters/dynamodb/items';
import { DynamoRegistry } from '../../lambda/adapters/dynamodb/registry';
import { main } from '../../lambda/admin/main';
import { hashClientSecret } from '../../lambda/core/secrets';
import { createLogger } from '../../lambda/handlers/logger';
import { respond, seedRegistry } from '../../lambda/handlers/seed-registry';
import { LocalDynamo } from '../support/dynalite';
import { HttpStub } from '../support/http-stub';

const SECRET_HASH = hashClientSecret('s'.repeat(40));
const registry = (tenants: string[]) =>
  JSON.stringify({
    tenants: tenants.map((id) => ({ id, issuers: [{ issuer: `https://${id}.idp.example` }] })),
    clients: [{ clientId: 'claude', authMethod: 'client_secret_basic', secretHash: SECRET_HASH }],
  });

function event(type: 'Create' | 'Update' | 'Delete', properties: Record<string, string>, url = 'http://127.0.0.1:1/') {
  return {
    RequestType: type,
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:seed',
    ResponseURL: url,
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1',
    RequestId: 'request-1',
    LogicalResourceId: 'AuthRegistry',
    ResourceType: 'Custom::IdJagRegistry',
    ResourceProperties: { ServiceToken: 'x', ...properties },
    ...(type === 'Create' ? {} : { PhysicalResourceId: 'registry', OldResourceProperties: {} }),
  } as CloudFormationCustomResourceEvent;
}

/** The registry seeding custom resource against dynalite, answering CloudFormation on a loopback URL. */
describe('registry seeding', () => {
  let dynamo: LocalDynamo;
  let table: RegistryTable;
  const logs: string[] = [];
  const logger = createLogger({ service: 'seed', write: (line) => logs.push(line) });

  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
    table = new RegistryTable({ client: dynamo.client(), tableName: await dynamo.createTable() });
  });
  afterAll(() => dynamo.stop());

  it('writes the declared registrations on Create, and an unchanged Update changes nothing', async () => {
    const created = await seedRegistry(event('Create', { Registry: registry(['acme']) }), table, logger);
    expect(created).toEqual({ status: 'SUCCESS', changes: 3 });
    const state = await table.loadState();
    expect(state.tenants.map((tenant) => tenant.value.id)).toEqual(['acme']);
    const again = await seedRegistry(event('Update', { Registry: registry(['acme']) }), table, logger);
    expect(again).toEqual({ status: 'SUCCESS', changes: 0 });
  });

  it('keeps undeclared registrations unless Prune is set', async () => {
    await seedRegistry(event('Update', { Registry: registry(['acme', 'globex']) }), table, logger);
    await seedRegistry(event('Update', { Registry: registry(['globex']), Prune: 'false' }), table, logger);
    expect((await table.loadState()).tenants.map((t) => t.value.id).sort()).toEqual(['acme', 'globex']);
    const pruned = await seedRegistry(
      event('Update', { Registry: registry(['globex']), Prune: 'true' }),
      table,
      logger,
    );
    expect(pruned.status).toBe('SUCCESS');
    expect((await table.loadState()).tenants.map((t) => t.value.id)).toEqual(['globex']);
  });

  it('leaves the registrations in place on Delete', async () => {
    expect(await seedRegistry(event('Delete', {}), table, logger)).toEqual({ status: 'SUCCESS', changes: 0 });
    expect((await table.loadState()).tenants).toHaveLength(1);
  });

  it.each([
    ['an http issuer', JSON.stringify({ tenants: [{ id: 'x', issuers: [{ issuer: 'http://x.example' }] }] }), /https/],
    [
      "a connection secret in a file (the local server's)",
      JSON.stringify({
        tenants: [{ id: 'x', connection: { issuer: 'https://x.example', clientId: 'c', clientSecret: { file: 's' } } }],
      }),
      /secrets in files are for the local server only/,
    ],
    [
      'a plain connection secret',
      JSON.stringify({
        tenants: [{ id: 'x', connection: { issuer: 'https://x.example', clientId: 'c', clientSecret: 'hunter2' } }],
      }),
      /plain secrets are not accepted/,
    ],
    [
      'a secret client without its hash',
      JSON.stringify({ clients: [{ clientId: 'c', authMethod: 'client_secret_post' }] }),
      /secretHash/,
    ],
    ['malformed JSON', '{', /JSON/],
  ])('fails on %s with a reason, writing nothing', async (_, document, reason) => {
    const before = await table.loadState();
    const outcome = await seedRegistry(event('Update', { Registry: document }), table, logger);
    expect(outcome.status).toBe('FAILED');
    expect(outcome.reason).toMatch(reason);
    expect(await table.loadState()).toEqual(before);
  });

  it('answers CloudFormation with a PUT to the response URL', async () => {
    const cloudFormation = await HttpStub.start();
    let received: Record<string, unknown> | undefined;
    cloudFormation.routes.set('/response', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received = { method: request.method, ...JSON.parse(Buffer.concat(chunks).toString()) };
        response.writeHead(200).end();
      });
    });
    try {
      await respond(event('Create', {}, `${cloudFormation.origin}/response`), {
        status: 'FAILED',
        reason: 'bad',
        changes: 0,
      });
      expect(received).toEqual({
        method: 'PUT',
        Status: 'FAILED',
        Reason: 'bad',
        PhysicalResourceId: 'registry',
        StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1',
        RequestId: 'request-1',
        LogicalResourceId: 'AuthRegistry',
        Data: { Changes: 0 },
      });
    } finally {
      await cloudFormation.close();
    }
  });

  describe('connections and interactive clients', () => {
    const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-oidc-AbCdEf';
    const connected = (connections: Record<string, object>) =>
      JSON.stringify({
        tenants: Object.entries(connections).map(([id, connection]) => ({ id, connection })),
        clients: [
          {
            clientId: 'inspector',
            authMethod: 'none',
            grantTypes: ['authorization_code', 'refresh_token'],
            redirectUris: ['http://127.0.0.1/callback'],
            firstParty: true,
          },
        ],
      });
    const ACME = { issuer: 'https://acme.okta.com', clientId: 'mcp', clientSecret: { secretsManager: SECRET_ARN } };
    let tableName: string;
    let seeded: RegistryTable;
    beforeEach(async () => {
      tableName = await dynamo.createTable();
      seeded = new RegistryTable({ client: dynamo.client(), tableName });
    });
    const run = async (type: 'Create' | 'Update', registry: string, properties: Record<string, string> = {}) => {
      const outcome = await seedRegistry(event(type, { Registry: registry, ...properties }), seeded, logger);
      expect(outcome.status).toBe('SUCCESS');
      return outcome;
    };

    it('writes connections, marked as declared, where the server reads them, with the interactive client', async () => {
      expect((await run('Create', connected({ acme: ACME }))).changes).toBe(3);
      const registry = new DynamoRegistry({ client: dynamo.client(), tableName, cacheMaxAgeMs: 0 });
      expect(await registry.connections()).toEqual([
        {
          tenantId: 'acme',
          issuer: 'https://acme.okta.com',
          clientId: 'mcp',
          authMethod: 'client_secret_basic',
          clientSecretRef: `secretsmanager:${SECRET_ARN}`,
          scopes: ['openid', 'email', 'profile'],
          domains: [],
          isDefault: false,
          enabled: true,
        },
      ]);
      expect(await registry.getClient('inspector')).toMatchObject({
        redirectUris: ['http://127.0.0.1/callback'],
        firstParty: true,
      });
      const { Item } = await dynamo
        .client()
        .send(new GetItemCommand({ TableName: tableName, Key: keyAttributes(connectionKey('acme')) }));
      expect(Item?.managedBy?.S).toBe('construct');
      expect((await run('Update', connected({ acme: ACME }))).changes).toBe(0);
    });

    it('restores a connection the CLI changed, lets go of one it no longer declares, and prunes when asked', async () => {
      await run('Create', connected({ acme: ACME, globex: { ...ACME, domains: ['globex.example'] } }));
      const changed = await main(
        ['connections', 'update', 'acme', '--disable', '--endpoint', dynamo.endpoint, '--table', tableName],
        { stdout: { write: () => true }, stderr: { write: () => true }, env: {} },
      );
      expect(changed).toBe(0);
      await run('Update', connected({ acme: ACME, globex: { ...ACME, domains: ['globex.example'] } }));
      expect((await seeded.loadState()).connections.map(({ value }) => value.enabled)).toEqual([true, true]);

      // globex stays declared as a tenant, without its connection: the connection is kept, unmarked.
      const withoutConnection = JSON.stringify({ tenants: [{ id: 'acme', connection: ACME }, { id: 'globex' }] });
      await run('Update', withoutConnection);
      const state = await seeded.loadState();
      expect(state.connections.find(({ value }) => value.tenantId === 'globex')?.managedBy).toBeUndefined();
      await run('Update', withoutConnection, { Prune: 'true' });
      expect((await seeded.loadState()).connections.map(({ value }) => value.tenantId)).toEqual(['acme']);
    });
  });

  /** The seed owns what it declares: it marks it, restores it whenever it runs, and lets go of what it drops. */
  describe('ownership of what it declares', () => {
    let tableName: string;
    let owned: RegistryTable;
    beforeEach(async () => {
      tableName = await dynamo.createTable();
      owned = new RegistryTable({ client: dynamo.client(), tableName });
    });

    const seed = async (type: 'Create' | 'Update', tenants: string[]) => {
      const outcome = await seedRegistry(event(type, { Registry: registry(tenants) }), owned, logger);
      expect(outcome.status).toBe('SUCCESS');
      return outcome;
    };
    const managedBy = async (key: Key) => {
      const { Item } = await dynamo
        .client()
        .send(new GetItemCommand({ TableName: tableName, Key: keyAttributes(key), ConsistentRead: true }));
      return Item?.managedBy?.S;
    };
    const cli = async (...args: string[]) => {
      let stderr = '';
      const code = await main([...args, '--endpoint', dynamo.endpoint, '--table', tableName], {
        stdout: { write: () => true },
        stderr: { write: (text: string) => (stderr += text) },
        env: {},
      });
      return { code, stderr };
    };

    it('marks every registration it writes as declared by the construct', async () => {
      await seed('Create', ['acme']);
      expect(await managedBy(tenantKey('acme'))).toBe('construct');
      expect(await managedBy(trustKey('acme', 'https://acme.idp.example'))).toBe('construct');
      expect(await managedBy(clientKey('claude'))).toBe('construct');
    });

    it('restores what it declares whenever it runs, undoing a CLI disable and a CLI secret rotation', async () => {
      await seed('Create', ['acme']);
      expect((await cli('clients', 'update', 'claude', '--disable')).code).toBe(0);
      expect((await cli('clients', 'rotate-secret', 'claude')).code).toBe(0);
      expect((await cli('tenants', 'update', 'acme', '--disable')).code).toBe(0);

      expect((await seed('Update', ['acme'])).changes).toBe(2);
      const state = await owned.loadState();
      expect(state.tenants.map(({ value }) => value)).toEqual([{ id: 'acme', enabled: true }]);
      expect(state.clients.map(({ value }) => [value.enabled, value.secrets])).toEqual([
        [true, [{ hash: SECRET_HASH }]],
      ]);
      expect(await managedBy(clientKey('claude'))).toBe('construct');
    });

    it('leaves registrations created with the CLI alone, unmarked', async () => {
      await seed('Create', ['acme']);
      expect((await cli('clients', 'add', 'other', '--auth-method', 'none', '--disabled')).code).toBe(0);
      expect((await seed('Update', ['acme'])).changes).toBe(0);
      expect((await owned.loadState()).clients.find(({ value }) => value.clientId === 'other')?.value.enabled).toBe(
        false,
      );
      expect(await managedBy(clientKey('other'))).toBeUndefined();
    });

    it('marks a registration created with the CLI once the registry declares it', async () => {
      expect((await cli('tenants', 'add', 'acme')).code).toBe(0);
      await seed('Create', ['acme']);
      expect(await managedBy(tenantKey('acme'))).toBe('construct');
    });

    it('lets go of a registration it no longer declares: it stays, unmarked, and the CLI no longer warns', async () => {
      await seed('Create', ['acme', 'globex']);
      await seed('Update', ['acme']);
      expect((await owned.loadState()).tenants.map(({ value }) => value.id).sort()).toEqual(['acme', 'globex']);
      expect(await managedBy(tenantKey('globex'))).toBeUndefined();
      expect(await managedBy(trustKey('globex', 'https://globex.idp.example'))).toBeUndefined();
      expect(await managedBy(tenantKey('acme'))).toBe('construct');
      expect(await cli('tenants', 'update', 'globex', '--disable')).toEqual({ code: 0, stderr: '' });
    });

    it('lets go of everything with an empty registry, which is how the prop is removed without leaving marks', async () => {
      await seed('Create', ['acme']);
      const emptied = await seedRegistry(event('Update', { Registry: '{}' }), owned, logger);
      expect(emptied).toEqual({ status: 'SUCCESS', changes: 3 });
      expect(await managedBy(tenantKey('acme'))).toBeUndefined();
      expect(await managedBy(clientKey('claude'))).toBeUndefined();
      expect((await owned.loadState()).clients).toHaveLength(1);
    });
  });
});
