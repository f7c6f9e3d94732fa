import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createTableInput } from '../../lambda/adapters/dynamodb/table';

/**
 * A real DynamoDB implementation (dynalite) on a random loopback port, for adapter and CLI tests. Each test file starts
 * one in beforeAll and stops it in afterAll; tests get fresh tables so they do not see each other's items.
 */
export class LocalDynamo {
  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(): Promise<LocalDynamo> {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new LocalDynamo(server, `http://127.0.0.1:${port}`);
  }

  /** A client for this server only: static dummy credentials, so nothing is looked up in the environment. */
  client(): DynamoDBClient {
    return new DynamoDBClient({
      endpoint: this.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }

  /**
   * A client of this server that records the name of each command it sends and lets `edit` cut a BatchGetItem on
   * `tableName` short: `edit(call, keys)` says how many of the keys to process, and the rest come back unprocessed, as
   * DynamoDB does under load.
   */
  recordingClient(
    tableName: string,
    edit?: (call: number, keys: unknown[]) => number,
  ): { client: DynamoDBClient; sent: string[] } {
    const sent: string[] = [];
    const recording = this.client();
    let batchCalls = 0;
    recording.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(String(context.commandName));
        if (context.commandName !== 'BatchGetItemCommand' || !edit) return next(args);
        const input = args.input as { RequestItems: Record<string, { Keys: unknown[] }> };
        const request = input.RequestItems[tableName]!;
        const processed = edit(batchCalls++, request.Keys);
        const left = request.Keys.slice(processed);
        const result = await next({
          ...args,
          input: { ...input, RequestItems: { [tableName]: { ...request, Keys: request.Keys.slice(0, processed) } } },
        });
        const output = result.output as { UnprocessedKeys?: Record<string, unknown> };
        if (left.length > 0) output.UnprocessedKeys = { [tableName]: { ...request, Keys: left } };
        return result;
      },
      { step: 'initialize' },
    );
    return { client: recording, sent };
  }

  /** Creates a table with the production key schema under a fresh name. */
  async createTable(client: DynamoDBClient = this.client()): Promise<string> {
    const tableName = `test-${randomUUID()}`;
    await client.send(new CreateTableCommand(createTableInput(tableName)));
    return tableName;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * dynalite for one test file: started before its first test and stopped after its last, with one client. The object
 * is filled in by then (read it inside hooks and tests, not at collection time).
 */
export function localDynamoForFile(): { readonly dynamo: LocalDynamo; readonly client: DynamoDBClient } {
  const local = {} as { dynamo: LocalDynamo; client: DynamoDBClient };
  beforeAll(async () => {
    local.dynamo = await LocalDynamo.start();
    local.client = local.dynamo.client();
  });
  afterAll(async () => {
    local.client.destroy();
    await local.dynamo.stop();
  });
  return local;
}
