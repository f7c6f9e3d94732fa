import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { keyAttributes, replayKey } from '../../lambda/adapters/dynamodb/items';
import { DynamoReplayStore } from '../../lambda/adapters/dynamodb/replay-store';
import { TemporarilyUnavailableError } from '../../lambda/core/errors';
import { type LocalDynamo, localDynamoForFile } from '../support/dynalite';

const USE = { namespace: 'iss', id: 'jti', keepUntil: 1_300 };

/** The replay store against dynalite: one conditional PutItem per record, expiry decided in code. */
describe('DynamoReplayStore', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  let tableName: string;
  let store: DynamoReplayStore;
  /** Records (namespace, id) until `keepUntil`, judged at `now`; true when this call recorded it. */
  let record: (namespace: string, id: string, keepUntil: number, now?: number) => Promise<boolean>;

  const local = localDynamoForFile();
  beforeEach(async () => {
    ({ dynamo, client } = local);
    tableName = await dynamo.createTable(client);
    store = new DynamoReplayStore({ client, tableName });
    record = async (namespace, id, keepUntil, now = 1_000) =>
      (await store.recordOnce({ namespace, id, keepUntil }, now)) !== undefined;
  });

  it('records an id once: the second attempt is refused', async () => {
    expect(await record('https://idp.example', 'jti-1', 1_300)).toBe(true);
    expect(await record('https://idp.example', 'jti-1', 1_300)).toBe(false);
  });

  it('keeps namespaces apart, and ids within a namespace', async () => {
    expect(await record('https://a.example', 'jti', 1_300)).toBe(true);
    expect(await record('https://b.example', 'jti', 1_300)).toBe(true);
    expect(await record('https://a.example', 'jti-2', 1_300)).toBe(true);
    // A separator inside the values cannot make two different pairs collide.
    expect(await record('a\nb', 'c', 1_300)).toBe(true);
    expect(await record('a', 'b\nc', 1_300)).toBe(true);
  });

  it('refuses while the record lives at the given clock (up to and including keepUntil), and accepts once it has expired', async () => {
    expect(await record('iss', 'jti', 1_300, 1_000)).toBe(true);
    expect(await record('iss', 'jti', 1_600, 1_300)).toBe(false);
    // DynamoDB TTL deletes lazily and dynalite never does: the expired record is still there, and counts as absent.
    expect(await record('iss', 'jti', 1_601, 1_301)).toBe(true);
    expect(await record('iss', 'jti', 1_601, 1_301)).toBe(false);
  });

  it('judges liveness at the request clock it is given, not at a clock of its own', async () => {
    // The request that recorded at 1_000 kept the record until 1_300. A request accepted at 1_299 is refused even if
    // its write reaches DynamoDB long after 1_300 by the wall clock: only the request's own reading counts.
    expect(await record('iss', 'jti', 1_300, 1_000)).toBe(true);
    expect(await record('iss', 'jti', 1_300, 1_299)).toBe(false);
  });

  it('a release removes the record its writer made, so the id may be recorded again', async () => {
    const use = { namespace: 'iss', id: 'jti', keepUntil: 1_300 };
    const recorded = await store.recordOnce(use, 1_000);
    expect(recorded).toBeDefined();
    expect(await store.recordOnce(use, 1_000)).toBeUndefined();
    await recorded!.release();
    expect(await store.recordOnce(use, 1_000)).toBeDefined();
  });

  it("a release never removes another writer's record", async () => {
    const use = { namespace: 'iss', id: 'jti', keepUntil: 1_300 };
    const expired = await store.recordOnce({ ...use, keepUntil: 1_100 }, 1_000);
    // Once the first record has expired, a second writer takes the id over; the first writer's late release must not
    // free it.
    const current = await store.recordOnce(use, 1_200);
    expect(current).toBeDefined();
    await expired!.release();
    expect(await store.recordOnce(use, 1_200)).toBeUndefined();
  });

  it('stores a bounded, hashed key with the TTL attribute and no identifier in the clear', async () => {
    const jti = `jti-${'x'.repeat(2000)}`;
    expect(await record('https://idp.example', jti, 1_300)).toBe(true);
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
    const results = await Promise.all(Array.from({ length: 50 }, () => record('iss', 'same', 1_300)));
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
        new DynamoReplayStore({ client: throttled, tableName }).recordOnce(USE, 1_000),
      ).rejects.toBeInstanceOf(TemporarilyUnavailableError);
      await expect(new DynamoReplayStore({ client: invalid, tableName }).recordOnce(USE, 1_000)).rejects.toMatchObject({
        name: 'ValidationException',
      });
    } finally {
      throttled.destroy();
      invalid.destroy();
    }
  });

  it('a missing table is an error, never a "fresh" record', async () => {
    const missing = new DynamoReplayStore({ client, tableName: 'no-such-table' });
    await expect(missing.recordOnce(USE, 1_000)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
