import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { RegistryTable } from '../../lambda/adapters/dynamodb/admin-store';
import { clientKey, type Key, keyAttributes, tenantKey, trustKey } from '../../lambda/adapters/dynamodb/items';
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
