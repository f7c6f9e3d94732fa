import { type DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import {
  applyConfig,
  ConcurrentChangeError,
  RegistryTable,
  writeChanges,
} from '../../lambda/adapters/dynamodb/admin-store';
import { toItem } from '../../lambda/adapters/dynamodb/attributes';
import { TABLE_KEYS } from '../../lambda/adapters/dynamodb/table';
import { parseRegistryConfig } from '../../lambda/config/schema';
import { ConfigError } from '../../lambda/core/config';
import type { Tenant } from '../../lambda/core/model';
import { verifyClientSecret } from '../../lambda/core/secrets';
import { LocalDynamo } from '../support/dynalite';

const OKTA = 'https://acme.okta.example';
const ACME: Tenant = { id: 'acme', enabled: true };

const CONFIG = {
  tenants: [{ id: 'acme', displayName: 'Acme', issuers: [{ issuer: OKTA, jwksUri: `${OKTA}/keys` }] }],
  clients: [{ clientId: 'claude', authMethod: 'client_secret_basic', scopes: ['files:read'] }],
};

/** Administrative access: listing through the index, consistent re-reads, version-conditioned writes. */
describe('RegistryTable', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  let table: RegistryTable;

  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
    client = dynamo.client();
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.stop();
  });
  beforeEach(async () => {
    table = new RegistryTable({ client, tableName: await dynamo.createTable(client) });
  });

  it('creates the table once and reports an existing one', async () => {
    const fresh = new RegistryTable({ client, tableName: 'created-by-admin' });
    expect(await fresh.createTable()).toBe('created');
    expect(await fresh.createTable()).toBe('exists');
  });

  it('lists every type through the index, so no Scan is needed', async () => {
    await applyConfig(table, parseRegistryConfig(CONFIG));
    const byType = async (type: string) =>
      (
        await client.send(
          new QueryCommand({
            TableName: table.tableName,
            IndexName: TABLE_KEYS.indexName,
            KeyConditionExpression: 'gsi1pk = :type',
            ExpressionAttributeValues: { ':type': { S: type } },
          }),
        )
      ).Items?.length;
    expect([await byType('TENANT'), await byType('ISSUER'), await byType('CLIENT')]).toEqual([1, 1, 1]);
    const state = await table.loadState();
    expect(state.tenants.map(({ value, version }) => [value.id, version])).toEqual([['acme', 1]]);
    expect(state.trusts.map(({ value }) => [value.tenantId, value.issuer])).toEqual([['acme', OKTA]]);
    expect(state.clients.map(({ value }) => value.clientId)).toEqual(['claude']);
  });

  it('applies a configuration, generates a secret only on creation, and changes nothing the second time', async () => {
    const config = parseRegistryConfig(CONFIG);
    const first = await applyConfig(table, config);
    expect(first.error).toBeUndefined();
    expect(first.applied).toHaveLength(3);
    expect(first.secrets).toEqual([{ clientId: 'claude', secret: expect.any(String) }]);
    const stored = (await table.loadState()).clients[0]?.value;
    expect(verifyClientSecret(first.secrets[0]!.secret, stored!.secrets, 0)).toBe(true);

    const second = await applyConfig(table, config);
    expect(second.plan.changes).toEqual([]);
    expect(second.secrets).toEqual([]);
    expect((await table.loadState()).clients[0]?.value.secrets).toEqual(stored!.secrets);
  });

  it('refuses a write planned against a version that has changed since', async () => {
    await writeChanges(table, [{ action: 'create', entity: { kind: 'tenant', value: ACME }, fields: [] }]);
    const stale = (await table.loadState()).tenants[0]!;
    await table.write({
      action: 'update',
      entity: { kind: 'tenant', value: { ...ACME, displayName: 'first' } },
      previousVersion: stale.version,
      fields: ['displayName'],
    });
    const second = table.write({
      action: 'update',
      entity: { kind: 'tenant', value: { ...ACME, displayName: 'second' } },
      previousVersion: stale.version,
      fields: ['displayName'],
    });
    await expect(second).rejects.toBeInstanceOf(ConcurrentChangeError);
    await expect(
      table.write({ action: 'delete', ref: { kind: 'tenant', tenantId: 'acme' }, previousVersion: stale.version }),
    ).rejects.toBeInstanceOf(ConcurrentChangeError);
    const current = (await table.loadState()).tenants[0];
    expect(current).toEqual({ value: { ...ACME, displayName: 'first' }, version: 2 });
  });

  it('refuses to create over an existing item', async () => {
    const create = { action: 'create', entity: { kind: 'tenant', value: ACME }, fields: [] } as const;
    await table.write(create);
    await expect(table.write(create)).rejects.toBeInstanceOf(ConcurrentChangeError);
  });

  it('keeps malformed items aside with their version, and apply repairs them', async () => {
    await client.send(
      new PutItemCommand({
        TableName: table.tableName,
        Item: toItem({ pk: 'TENANT#acme', sk: 'TENANT', gsi1pk: 'TENANT', gsi1sk: 'acme', type: 'tenant', version: 7 }),
      }),
    );
    const state = await table.loadState();
    expect(state.tenants).toEqual([]);
    expect(state.malformed).toEqual([
      { ref: { kind: 'tenant', tenantId: 'acme' }, version: 7, problem: expect.stringContaining('enabled') },
    ]);
    const result = await applyConfig(table, parseRegistryConfig({ tenants: [{ id: 'acme' }] }));
    expect(result.error).toBeUndefined();
    expect(result.plan.changes).toMatchObject([{ action: 'update', previousVersion: 7 }]);
    expect((await table.loadState()).tenants).toEqual([{ value: ACME, version: 8 }]);
  });

  it('stops at the first failed write, keeping the secrets generated before it', async () => {
    const changes = [
      { action: 'create', entity: { kind: 'tenant', value: ACME }, fields: [] },
      {
        action: 'create',
        entity: {
          kind: 'client',
          value: {
            clientId: 'claude',
            authMethod: 'client_secret_basic',
            secrets: [],
            grantTypes: ['x'],
            tenants: ['*'],
            enabled: true,
          },
        },
        fields: [],
        generateSecret: true,
      },
      { action: 'create', entity: { kind: 'tenant', value: ACME }, fields: [] },
      { action: 'create', entity: { kind: 'tenant', value: { id: 'never', enabled: true } }, fields: [] },
    ] as const;
    const result = await writeChanges(table, changes);
    expect(result.applied).toHaveLength(2);
    expect(result.secrets).toHaveLength(1);
    expect(result.error).toBeInstanceOf(ConcurrentChangeError);
    expect((await table.loadState()).tenants.map(({ value }) => value.id)).toEqual(['acme']);
  });

  it('refuses a configuration whose result would be ambiguous with what the table keeps', async () => {
    await applyConfig(table, parseRegistryConfig({ tenants: [{ id: 'old', issuers: [{ issuer: OKTA }] }] }));
    const result = await applyConfig(
      table,
      parseRegistryConfig({ tenants: [{ id: 'acme', issuers: [{ issuer: OKTA }] }] }),
    );
    expect(result.error).toBeInstanceOf(ConfigError);
    expect(String((result.error as Error).message)).toContain('must require a different tenantClaim');
    expect(result.applied).toEqual([]);
    // With pruning the old registration goes, so the result is unambiguous.
    const pruned = await applyConfig(
      table,
      parseRegistryConfig({ tenants: [{ id: 'acme', issuers: [{ issuer: OKTA }] }] }),
      { prune: true },
    );
    expect(pruned.error).toBeUndefined();
    const state = await table.loadState();
    expect(state.tenants.map(({ value }) => value.id)).toEqual(['acme']);
    expect(state.trusts.map(({ value }) => value.tenantId)).toEqual(['acme']);
  });
});
