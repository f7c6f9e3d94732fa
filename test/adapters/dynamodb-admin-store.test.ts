import { type DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import {
  applyConfig,
  ConcurrentChangeError,
  RegistryTable,
  writeChanges,
} from '../../lambda/adapters/dynamodb/admin-store';
import { toItem } from '../../lambda/adapters/dynamodb/attributes';
import { TABLE_KEYS } from '../../lambda/adapters/dynamodb/table';
import {
  clientConfigOf,
  parseRegistryConfig,
  tenantConfigOf,
  toClient,
  toConnections,
} from '../../lambda/config/schema';
import { ConfigError } from '../../lambda/core/config';
import type { Tenant } from '../../lambda/core/model';
import { verifyClientSecret } from '../../lambda/core/secrets';
import { type LocalDynamo, localDynamoForFile } from '../support/dynalite';

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

  const local = localDynamoForFile();
  beforeEach(async () => {
    ({ dynamo, client } = local);
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

  describe('connections and interactive clients', () => {
    const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-oidc-AbCdEf';
    const INTERACTIVE = {
      tenants: [
        {
          id: 'acme',
          issuers: [{ issuer: OKTA }],
          connection: {
            issuer: OKTA,
            clientId: 'mcp-acme',
            clientSecret: { secretsManager: SECRET_ARN },
            domains: ['acme.com'],
            default: true,
          },
        },
        { id: 'globex', connection: { issuer: 'https://globex.idp.example', clientId: 'mcp', authMethod: 'none' } },
      ],
      clients: [
        {
          clientId: 'inspector',
          authMethod: 'none',
          grantTypes: ['authorization_code', 'refresh_token'],
          redirectUris: ['http://127.0.0.1/callback', 'com.example.inspector:/cb'],
          firstParty: true,
        },
      ],
    };

    it('writes connections and reads them back through the index exactly as declared', async () => {
      const config = parseRegistryConfig(INTERACTIVE);
      const result = await applyConfig(table, config);
      expect(result.error).toBeUndefined();
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
        ).Items?.map((item) => item.gsi1sk?.S);
      expect((await byType('CONNECTION'))?.sort()).toEqual(['acme', 'globex']);
      const state = await table.loadState();
      expect(state.connections).toEqual(config.tenants.flatMap(toConnections).map((value) => ({ value, version: 1 })));
      expect(state.malformed).toEqual([]);
      // And back to the file's form, secret reference included.
      const acme = state.tenants.find(({ value }) => value.id === 'acme')!.value;
      expect(
        tenantConfigOf(
          acme,
          state.trusts.map(({ value }) => value),
          state.connections.map(({ value }) => value),
        ),
      ).toEqual(config.tenants[0]);
      expect((await applyConfig(table, config)).plan.changes).toEqual([]);
    });

    it('keeps redirect URIs and the first-party flag of a client on a round trip', async () => {
      const config = parseRegistryConfig(INTERACTIVE);
      await applyConfig(table, config);
      const stored = (await table.loadState()).clients[0]!.value;
      expect(stored).toEqual(toClient(config.clients[0]!));
      expect(clientConfigOf(stored)).toEqual(config.clients[0]);
    });

    it('updates a connection conditionally on its version', async () => {
      await applyConfig(table, parseRegistryConfig(INTERACTIVE));
      const stored = (await table.loadState()).connections.find(({ value }) => value.tenantId === 'globex')!;
      const update = {
        action: 'update',
        entity: { kind: 'connection', value: { ...stored.value, enabled: false } },
        previousVersion: stored.version,
        fields: ['enabled'],
      } as const;
      await table.write(update);
      await expect(table.write(update)).rejects.toBeInstanceOf(ConcurrentChangeError);
      const after = (await table.loadState()).connections.find(({ value }) => value.tenantId === 'globex');
      expect(after).toEqual({ value: { ...stored.value, enabled: false }, version: 2 });
    });

    it('removes a tenant with its connection when pruning', async () => {
      await applyConfig(table, parseRegistryConfig(INTERACTIVE));
      const result = await applyConfig(table, parseRegistryConfig({ tenants: [INTERACTIVE.tenants[0]] }), {
        prune: true,
      });
      expect(result.error).toBeUndefined();
      const state = await table.loadState();
      expect(state.tenants.map(({ value }) => value.id)).toEqual(['acme']);
      expect(state.connections.map(({ value }) => value.tenantId)).toEqual(['acme']);
    });

    it('keeps a malformed connection aside with its version, and apply repairs it', async () => {
      await client.send(
        new PutItemCommand({
          TableName: table.tableName,
          Item: toItem({
            pk: 'CONNECTION#globex',
            sk: 'CONNECTION',
            gsi1pk: 'CONNECTION',
            gsi1sk: 'globex',
            type: 'connection',
            tenantId: 'globex',
            clientSecretRef: 'not-a-reference',
            version: 4,
          }),
        }),
      );
      const state = await table.loadState();
      expect(state.connections).toEqual([]);
      expect(state.malformed).toEqual([
        {
          ref: { kind: 'connection', tenantId: 'globex' },
          version: 4,
          problem: expect.stringContaining('pk=CONNECTION#globex'),
        },
      ]);
      expect(state.malformed[0]?.problem).not.toContain('not-a-reference');
      const result = await applyConfig(table, parseRegistryConfig(INTERACTIVE));
      expect(result.error).toBeUndefined();
      expect(result.plan.changes).toContainEqual(
        expect.objectContaining({ action: 'update', previousVersion: 4, fields: ['(malformed)'] }),
      );
      expect((await table.loadState()).connections.map(({ value, version }) => [value.tenantId, version])).toEqual(
        expect.arrayContaining([['globex', 5]]),
      );
    });
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
