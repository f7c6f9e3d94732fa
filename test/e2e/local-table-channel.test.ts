import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  QueryCommand,
  ResourceNotFoundException,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type EmbeddedDynamo, socketClient, startEmbeddedDynamo } from '../../bin/local/embedded-dynamodb';
import { CALLS_PER_MESSAGE, type TableCall, tableChannelClient } from '../../bin/local/table-channel';
import { isTransientStoreError } from '../../lambda/adapters/dynamodb/errors';
import { createTableInput } from '../../lambda/adapters/dynamodb/table';

/**
 * The local server talks to its table over a message port (bin/local/table-channel.ts) instead of the SDK client over
 * the socket. Both reach the same dynalite on the same worker; here every kind of call the adapters make, and their
 * failures, go through each to a table of its own, and the answers must be the same, field for field.
 */
describe('the local table channel answers as the SDK client does', () => {
  let dataDir: string;
  let dynamo: EmbeddedDynamo;
  let sdk: DynamoDBClient;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'id-jag-channel-'));
    dynamo = await startEmbeddedDynamo({ dataDir, tableName: 'unused', persist: false });
    sdk = socketClient(dynamo.socketPath);
  });
  afterAll(async () => {
    sdk.destroy();
    await dynamo.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  type Call = (table: string) => { send(client: DynamoDBClient): Promise<unknown> };
  /** Any command class of the SDK, with its own input type. */
  const command =
    <I>(Command: new (input: I) => unknown, input: (table: string) => I): Call =>
    (table) => ({ send: (client) => client.send(new Command(input(table)) as never) });

  const item = (pk: string, sk: string, more: Record<string, unknown> = {}) => ({
    pk: { S: pk },
    sk: { S: sk },
    gsi1pk: { S: 'LIST' },
    gsi1sk: { S: `${pk}#${sk}` },
    ...more,
  });

  /** The same sequence through either client: outputs and failures, with the table name made the same. */
  async function run(client: DynamoDBClient, table: string): Promise<unknown[]> {
    const calls: Call[] = [
      command(CreateTableCommand, (t) => createTableInput(t)),
      command(CreateTableCommand, (t) => createTableInput(t)), // ResourceInUseException
      command(PutItemCommand, (t) => ({
        TableName: t,
        Item: item('A', '1', { n: { N: '1' }, l: { L: [{ S: 'x' }] } }),
      })),
      command(PutItemCommand, (t) => ({
        TableName: t,
        Item: item('A', '1'),
        ConditionExpression: 'attribute_not_exists(pk)',
      })),
      command(PutItemCommand, (t) => ({
        TableName: t,
        Item: item('A', '1', { n: { N: '2' } }),
        ReturnValues: 'ALL_OLD' as const,
      })),
      ...['2', '3', '4', '5'].map((sk) =>
        command(PutItemCommand, (t) => ({
          TableName: t,
          Item: item('B', sk, { m: { M: { flag: { BOOL: true }, set: { SS: ['a', 'b'] } } }, nul: { NULL: true } }),
        })),
      ),
      command(GetItemCommand, (t) => ({ TableName: t, Key: { pk: { S: 'A' }, sk: { S: '1' } }, ConsistentRead: true })),
      command(GetItemCommand, (t) => ({ TableName: t, Key: { pk: { S: 'missing' }, sk: { S: '1' } } })),
      command(GetItemCommand, (t) => ({
        TableName: t,
        Key: { pk: { S: 'B' }, sk: { S: '2' } },
        ProjectionExpression: '#m',
        ExpressionAttributeNames: { '#m': 'm' },
      })),
      command(UpdateItemCommand, (t) => ({
        TableName: t,
        Key: { pk: { S: 'A' }, sk: { S: '1' } },
        UpdateExpression: 'SET #n = #n + :one',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#n': 'n' },
        ExpressionAttributeValues: { ':one': { N: '1' } },
        ReturnValues: 'ALL_NEW' as const,
      })),
      command(UpdateItemCommand, (t) => ({
        TableName: t,
        Key: { pk: { S: 'A' }, sk: { S: '1' } },
        UpdateExpression: 'SET #n = :v',
        ConditionExpression: '#n = :other',
        ExpressionAttributeNames: { '#n': 'n' },
        ExpressionAttributeValues: { ':v': { N: '9' }, ':other': { N: '100' } },
      })),
      command(UpdateItemCommand, (t) => ({
        TableName: t,
        Key: { pk: { S: 'A' }, sk: { S: '1' } },
        UpdateExpression: 'SET = broken',
      })), // ValidationException
      command(QueryCommand, (t) => ({
        TableName: t,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'B' } },
        Limit: 2,
      })),
      command(QueryCommand, (t) => ({
        TableName: t,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'B' } },
        ExclusiveStartKey: { pk: { S: 'B' }, sk: { S: '3' } },
      })),
      command(QueryCommand, (t) => ({
        TableName: t,
        IndexName: 'gsi1',
        KeyConditionExpression: '#pk = :pk',
        FilterExpression: '#sk > :sk',
        ExpressionAttributeNames: { '#pk': 'gsi1pk', '#sk': 'sk' },
        ExpressionAttributeValues: { ':pk': { S: 'LIST' }, ':sk': { S: '3' } },
        Select: 'COUNT' as const,
      })),
      command(BatchGetItemCommand, (t) => ({
        RequestItems: {
          [t]: {
            Keys: [
              { pk: { S: 'B' }, sk: { S: '2' } },
              { pk: { S: 'B' }, sk: { S: '9' } },
            ],
          },
        },
      })),
      command(BatchWriteItemCommand, (t) => ({
        RequestItems: {
          [t]: [
            { PutRequest: { Item: item('C', '1') } },
            { DeleteRequest: { Key: { pk: { S: 'B' }, sk: { S: '5' } } } },
          ],
        },
      })),
      command(DeleteItemCommand, (t) => ({
        TableName: t,
        Key: { pk: { S: 'B' }, sk: { S: '4' } },
        ReturnValues: 'ALL_OLD' as const,
      })),
      command(DeleteItemCommand, (t) => ({
        TableName: t,
        Key: { pk: { S: 'B' }, sk: { S: '2' } },
        ConditionExpression: 'attribute_not_exists(pk)',
      })),
      command(ScanCommand, (t) => ({ TableName: t })),
      command(GetItemCommand, () => ({ TableName: 'no-such-table', Key: { pk: { S: 'A' }, sk: { S: '1' } } })),
    ];
    const answers: unknown[] = [];
    for (const call of calls) {
      try {
        answers.push(normalise(await call(table).send(client), table));
      } catch (error) {
        const { name, message, $fault, $metadata } = error as {
          name: string;
          message: string;
          $fault: string;
          $metadata: { httpStatusCode: number };
        };
        answers.push({
          failed: (error as object).constructor.name,
          name,
          message: message.replaceAll(table, 'TABLE'),
          $fault,
          status: $metadata.httpStatusCode,
        });
      }
    }
    return answers;
  }

  /**
   * Drops what differs by nature: request ids, the table's name, and of a table's description (which no adapter
   * reads, and the SDK reshapes) all but its name, status and keys.
   */
  function normalise(output: unknown, table: string): unknown {
    const {
      $metadata,
      TableDescription: description,
      ...rest
    } = output as {
      $metadata: { httpStatusCode: number };
      TableDescription?: Record<string, unknown>;
    };
    const kept = description && {
      TableDescription: {
        TableName: description.TableName,
        TableStatus: description.TableStatus,
        KeySchema: description.KeySchema,
      },
    };
    const text = JSON.stringify({ ...rest, ...kept }).replaceAll(table, 'TABLE');
    return { status: $metadata.httpStatusCode, ...JSON.parse(text) };
  }

  it('answers every call and every failure the same, through the SDK exception classes', async () => {
    const viaSdk = await run(sdk, 'through-sdk');
    const viaChannel = await run(dynamo.client, 'through-channel');
    expect(viaChannel).toEqual(viaSdk);
    // The run covers what the adapters rely on: conditions failing as the SDK's class, and missing tables.
    const failures = viaChannel.filter((answer) => (answer as { failed?: string }).failed);
    expect(failures.map((answer) => (answer as { name: string }).name)).toEqual([
      'ResourceInUseException',
      'ConditionalCheckFailedException',
      'ConditionalCheckFailedException',
      'ValidationException',
      'ConditionalCheckFailedException',
      'ResourceNotFoundException',
    ]);
    expect(failures.map((answer) => (answer as { failed: string }).failed)).toContain(
      ConditionalCheckFailedException.name,
    );
    expect(failures.map((answer) => (answer as { failed: string }).failed)).toContain(ResourceNotFoundException.name);
  });

  it('refuses a command it does not send and binary attribute values, rather than send them wrongly', async () => {
    for (const unsent of [new ListTablesCommand({}), new DescribeTableCommand({ TableName: 'through-sdk' })]) {
      await expect(dynamo.client.send(unsent as never)).rejects.toThrow(/does not send \w+Command: add it/);
    }
    await expect(
      dynamo.client.send(new PutItemCommand({ TableName: 'x', Item: { pk: { B: new Uint8Array([1]) } } })),
    ).rejects.toThrow(/no binary attribute values/);
  });
});

describe('the local table channel, once the table has stopped', () => {
  it('fails every request as an outage (no answer), which the adapters turn into temporarily_unavailable', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'id-jag-channel-'));
    try {
      const dynamo = await startEmbeddedDynamo({ dataDir, tableName: 'unused', persist: false });
      const { client } = dynamo;
      await dynamo.close();
      const failure = await client
        .send(new GetItemCommand({ TableName: 'unused', Key: { pk: { S: 'A' }, sk: { S: '1' } } }))
        .catch((error: unknown) => error);
      expect(failure).toMatchObject({ name: 'TableClosedError', $metadata: {} });
      expect(isTransientStoreError(failure)).toBe(true);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("the local table channel's messages", () => {
  /** The channel's client, with this test as the table: it records each message's calls and answers them all. */
  function recordedChannel() {
    const { port1, port2 } = new MessageChannel();
    const messages: TableCall[][] = [];
    port2.on('message', (calls: TableCall[]) => {
      messages.push(calls);
      port2.postMessage(calls.map(({ id }) => ({ id, status: 200, requestId: `r${id}`, body: '{}' })));
    });
    return { client: tableChannelClient(port1), messages, close: () => port2.close() };
  }
  const get = (pk: string) => new GetItemCommand({ TableName: 't', Key: { pk: { S: pk }, sk: { S: '1' } } });

  it('sends calls made in one turn together, CALLS_PER_MESSAGE at most, and the rest when the turn ends', async () => {
    const { client, messages, close } = recordedChannel();
    try {
      const keys = Array.from({ length: 2 * CALLS_PER_MESSAGE + 1 }, (_, index) => `k${index}`);
      const answers = await Promise.all(keys.map((pk) => client.send(get(pk))));
      // Two full messages as the calls are made, then the one left over when the turn ends.
      expect(messages.map((calls) => calls.map((call) => JSON.parse(call.body).Key.pk.S))).toEqual([
        keys.slice(0, CALLS_PER_MESSAGE),
        keys.slice(CALLS_PER_MESSAGE, 2 * CALLS_PER_MESSAGE),
        keys.slice(2 * CALLS_PER_MESSAGE),
      ]);
      // Each answer reaches its own call.
      expect(answers.map((answer) => (answer as { $metadata: { requestId: string } }).$metadata.requestId)).toEqual(
        messages.flat().map((call) => `r${call.id}`),
      );
    } finally {
      close();
    }
  });

  it('sends a call made alone by the end of its turn', async () => {
    const { client, messages, close } = recordedChannel();
    try {
      await client.send(get('a'));
      await client.send(get('b'));
      expect(messages.map((calls) => calls.length)).toEqual([1, 1]);
    } finally {
      close();
    }
  });
});
