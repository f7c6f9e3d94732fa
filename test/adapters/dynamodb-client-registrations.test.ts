import { randomBytes } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { RegistryTable } from '../../lambda/adapters/dynamodb/admin-store';
import { DynamoClientRegistrations } from '../../lambda/adapters/dynamodb/client-registrations';
import { dynamicClientItem, dynamicClientKey, keyAttributes } from '../../lambda/adapters/dynamodb/items';
import { DynamoRegistry } from '../../lambda/adapters/dynamodb/registry';
import type { Client } from '../../lambda/core/model';
import { hashClientSecret } from '../../lambda/core/secrets';
import { localDynamoForFile } from '../support/dynalite';

const NOW = 1_800_000_000;
const DAY = 86400;

const newId = () => `dcr_${randomBytes(32).toString('base64url')}`;
const dynamicClient = (fields: Partial<Client> = {}): Client => ({
  clientId: newId(),
  authMethod: 'client_secret_basic',
  secrets: [{ hash: hashClientSecret('s'.repeat(43)) }],
  grantTypes: ['authorization_code', 'refresh_token'],
  tenants: ['*'],
  enabled: true,
  redirectUris: ['http://127.0.0.1/callback'],
  firstParty: false,
  display: { name: 'My client' },
  ...fields,
});

describe('dynamically registered clients in DynamoDB', () => {
  const local = localDynamoForFile();
  let tableName: string;
  let registrations: DynamoClientRegistrations;
  let nowMs: number;
  let registry: DynamoRegistry;
  beforeEach(async () => {
    tableName = await local.dynamo.createTable(local.client);
    registrations = new DynamoClientRegistrations({ client: local.client, tableName });
    nowMs = NOW * 1000;
    registry = new DynamoRegistry({ client: local.client, tableName, cacheMaxAgeMs: 0, nowMs: () => nowMs });
  });

  const options = (fields: { expiresAt?: number; maxClients?: number } = {}) => ({
    expiresAt: NOW + 30 * DAY,
    maxClients: 10,
    ...fields,
  });

  it('stores a registration under DCR#<clientId> with its end as TTL, and the registry finds it', async () => {
    const client = dynamicClient();
    expect(await registrations.register(client, NOW, options())).toBe('registered');
    const { Item } = await local.client.send(
      new GetItemCommand({ TableName: tableName, Key: keyAttributes(dynamicClientKey(client.clientId)) }),
    );
    expect(Item).toMatchObject({
      pk: { S: `DCR#${client.clientId}` },
      gsi1pk: { S: 'DCR' },
      gsi1sk: { S: client.clientId },
      expiresAt: { N: String(NOW + 30 * DAY) },
      type: { S: 'dynamic-client' },
    });
    expect(await registry.getClient(client.clientId)).toEqual({ ...client, registrationEndsAt: NOW + 30 * DAY });
  });

  it('treats an expired registration as unknown, before TTL deletes it and from the cache too', async () => {
    const cached = new DynamoRegistry({ client: local.client, tableName, nowMs: () => nowMs });
    const client = dynamicClient();
    await registrations.register(client, NOW, options({ expiresAt: NOW + DAY }));
    expect(await cached.getClient(client.clientId)).toEqual({ ...client, registrationEndsAt: NOW + DAY });
    nowMs = (NOW + DAY) * 1000;
    expect(await cached.getClient(client.clientId)).toBeUndefined();
    expect(await registry.getClient(client.clientId)).toBeUndefined();
  });

  it('moves a live registration on when its client is used: later only, and an ended one stays ended', async () => {
    const client = dynamicClient();
    await registrations.register(client, NOW, options({ expiresAt: NOW + DAY }));
    const end = async () =>
      (
        await local.client.send(
          new GetItemCommand({ TableName: tableName, Key: keyAttributes(dynamicClientKey(client.clientId)) }),
        )
      ).Item?.expiresAt?.N;

    expect(await registrations.extend(client.clientId, NOW + 30 * DAY, NOW)).toBe('extended');
    expect(await end()).toBe(String(NOW + 30 * DAY));
    expect((await registry.getClient(client.clientId))?.registrationEndsAt).toBe(NOW + 30 * DAY);
    // Never earlier, nor to the same end.
    expect(await registrations.extend(client.clientId, NOW + 10 * DAY, NOW)).toBe('unchanged');
    expect(await registrations.extend(client.clientId, NOW + 30 * DAY, NOW)).toBe('unchanged');
    expect(await end()).toBe(String(NOW + 30 * DAY));
    // Ended (TTL may not have deleted it yet): it is not revived.
    const later = NOW + 30 * DAY;
    expect(await registrations.extend(client.clientId, later + 30 * DAY, later)).toBe('unchanged');
    expect(await end()).toBe(String(NOW + 30 * DAY));
    // Unknown: nothing is created.
    const unknown = newId();
    expect(await registrations.extend(unknown, NOW + 30 * DAY, NOW)).toBe('unchanged');
    const { Item } = await local.client.send(
      new GetItemCommand({ TableName: tableName, Key: keyAttributes(dynamicClientKey(unknown)) }),
    );
    expect(Item).toBeUndefined();
  });

  it('lets exactly one of concurrent renewals write', async () => {
    const client = dynamicClient();
    await registrations.register(client, NOW, options({ expiresAt: NOW + DAY }));
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => registrations.extend(client.clientId, NOW + 30 * DAY, NOW)),
    );
    expect(outcomes.filter((outcome) => outcome === 'extended')).toHaveLength(1);
  });

  it('refuses beyond the cap, counting only unexpired registrations', async () => {
    await registrations.register(dynamicClient(), NOW - 2 * DAY, options({ expiresAt: NOW - DAY }));
    for (let i = 0; i < 3; i++) {
      expect(await registrations.register(dynamicClient(), NOW, options({ maxClients: 3 }))).toBe('registered');
    }
    expect(await registrations.register(dynamicClient(), NOW, options({ maxClients: 3 }))).toBe('full');
    expect(await registrations.register(dynamicClient(), NOW + 31 * DAY, options({ maxClients: 3 }))).toBe(
      'registered',
    );
  });

  it('counts across pages of the index', async () => {
    // Items big enough that a 1 MB Query page cannot hold them all.
    const padding = 'p'.repeat(60_000);
    for (let i = 0; i < 20; i++) {
      const item = dynamicClientItem(dynamicClient(), NOW, NOW + DAY);
      await local.client.send(new PutItemCommand({ TableName: tableName, Item: { ...item, padding: { S: padding } } }));
    }
    let queries = 0;
    const counting = {
      send: (command: { constructor: { name: string } }) => {
        if (command.constructor.name === 'QueryCommand') queries++;
        return local.client.send(command as never);
      },
    } as unknown as DynamoDBClient;
    const paged = new DynamoClientRegistrations({ client: counting, tableName });
    expect(await paged.register(dynamicClient(), NOW, options({ maxClients: 20 }))).toBe('full');
    expect(queries).toBeGreaterThan(1);
    expect(await paged.register(dynamicClient(), NOW, options({ maxClients: 21 }))).toBe('registered');
  });

  it('never makes a stored registration more than a registration may be (first party, jwt-bearer, tenants)', async () => {
    const client = dynamicClient();
    const item = dynamicClientItem(client, NOW, NOW + DAY);
    await local.client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          ...item,
          firstParty: { BOOL: true },
          tenants: { L: [{ S: 'acme' }] },
          grantTypes: { L: [{ S: 'authorization_code' }, { S: 'urn:ietf:params:oauth:grant-type:jwt-bearer' }] },
        },
      }),
    );
    expect(await registry.getClient(client.clientId)).toMatchObject({
      firstParty: false,
      tenants: ['*'],
      grantTypes: ['authorization_code'],
    });
  });

  it('looks a dcr_ id up under DCR# only: an operator client item under CLIENT#dcr_… is never it', async () => {
    const client = dynamicClient();
    const item = dynamicClientItem(client, NOW, NOW + DAY);
    await local.client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { ...item, pk: { S: `CLIENT#${client.clientId}` }, sk: { S: 'CLIENT' }, type: { S: 'client' } },
      }),
    );
    expect(await registry.getClient(client.clientId)).toBeUndefined();
  });

  it('leaves the admin listings and apply alone: registrations are no registry entity', async () => {
    await registrations.register(dynamicClient(), NOW, options());
    const state = await new RegistryTable({ client: local.client, tableName }).loadState();
    expect(state.clients).toEqual([]);
  });
});
