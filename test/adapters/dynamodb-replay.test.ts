import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { keyAttributes, replayKey } from '../../lambda/adapters/dynamodb/items';
import { DynamoReplayStore } from '../../lambda/adapters/dynamodb/replay-store';
import { TemporarilyUnavailableError } from '../../lambda/core/errors';
import { LocalDynamo } from '../support/dynalite';
import { FixedClock } from '../support/memory';

/** The replay store against dynalite: one conditional PutItem per record, expiry decided in code. */
describe('DynamoReplayStore', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  let tableName: string;
  let clock: FixedClock;
  let store: DynamoReplayStore;

  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
    client = dynamo.client();
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.stop();
  });
  beforeEach(async () => {
    tableName = await dynamo.createTable(client);
    clock = new FixedClock(1_000);
    store = new DynamoReplayStore({ client, tableName, clock });
  });

  it('records an id once: the second attempt is refused', async () => {
    expect(await store.recordOnce('https://idp.example', 'jti-1', 1_300)).toBe(true);
    expect(await store.recordOnce('https://idp.example', 'jti-1', 1_300)).toBe(false);
  });

  it('keeps namespaces apart, and ids within a namespace', async () => {
    expect(await store.recordOnce('https://a.example', 'jti', 1_300)).toBe(true);
    expect(await store.recordOnce('https://b.example', 'jti', 1_300)).toBe(true);
    expect(await store.recordOnce('https://a.example', 'jti-2', 1_300)).toBe(true);
    // A separator inside the values cannot make two different pairs collide.
    expect(await store.recordOnce('a\nb', 'c', 1_300)).toBe(true);
    expect(await store.recordOnce('a', 'b\nc', 1_300)).toBe(true);
  });

  it('refuses while the record lives (up to and including expiresAt), and accepts once it has expired', async () => {
    expect(await store.recordOnce('iss', 'jti', 1_300)).toBe(true);
    clock.seconds = 1_300;
    expect(await store.recordOnce('iss', 'jti', 1_600)).toBe(false);
    clock.seconds = 1_301;
    // DynamoDB TTL deletes lazily and dynalite never does: the expired record is still there, and counts as absent.
    expect(await store.recordOnce('iss', 'jti', 1_601)).toBe(true);
    expect(await store.recordOnce('iss', 'jti', 1_601)).toBe(false);
  });

  it('stores a bounded, hashed key with the TTL attribute and no identifier in the clear', async () => {
    const jti = `jti-${'x'.repeat(2000)}`;
    expect(await store.recordOnce('https://idp.example', jti, 1_300)).toBe(true);
    const key = replayKey('https://idp.example', jti);
    const { Item } = await client.send(
      new GetItemCommand({ TableName: tableName, Key: keyAttributes(key), ConsistentRead: true }),
    );
    expect(Item?.expiresAt).toEqual({ N: '1300' });
    expect(key.pk.length).toBeLessThan(64);
    expect(JSON.stringify(Item)).not.toContain('jti-');
    expect(JSON.stringify(Item)).not.toContain('idp.example');
  });

  it('of many concurrent records of one id, exactly one succeeds', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => store.recordOnce('iss', 'same', 1_300)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('maps throttling to temporarily_unavailable and lets other errors through', async () => {
    const failing = (name: string) => {
      const failingClient = dynamo.client();
      failingClient.middlewareStack.add(
        () => () => {
          throw Object.assign(new Error(name), { name, $fault: 'client' });
        },
        { step: 'initialize' },
      );
      return failingClient;
    };
    const throttled = failing('ProvisionedThroughputExceededException');
    const invalid = failing('ValidationException');
    try {
      await expect(
        new DynamoReplayStore({ client: throttled, tableName, clock }).recordOnce('iss', 'jti', 1_300),
      ).rejects.toBeInstanceOf(TemporarilyUnavailableError);
      await expect(
        new DynamoReplayStore({ client: invalid, tableName, clock }).recordOnce('iss', 'jti', 1_300),
      ).rejects.toMatchObject({ name: 'ValidationException' });
    } finally {
      throttled.destroy();
      invalid.destroy();
    }
  });

  it('a missing table is an error, never a "fresh" record', async () => {
    const missing = new DynamoReplayStore({ client, tableName: 'no-such-table', clock });
    await expect(missing.recordOnce('iss', 'jti', 1_300)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
