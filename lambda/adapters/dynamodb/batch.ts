import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  type DynamoDBClient,
  type KeysAndAttributes,
} from '@aws-sdk/client-dynamodb';
import type { Item } from './attributes';

/** Most keys one BatchGetItem may ask for. */
export const BATCH_GET_MAX_KEYS = 100;
const BATCH_ATTEMPTS = 5;
const BACKOFF_BASE_MS = 50;

export interface BatchGetOptions {
  readonly consistentRead?: boolean;
  /** Waits between attempts at keys DynamoDB left unprocessed. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Every item of `keys` that exists, in chunks of 100 keys, asking again (with a growing pause) for the keys DynamoDB
 * leaves unprocessed under load, which the SDK does not retry by itself. Order is not kept.
 */
export async function batchGetItems(
  client: DynamoDBClient,
  tableName: string,
  keys: readonly Item[],
  options: BatchGetOptions = {},
): Promise<Item[]> {
  const items: Item[] = [];
  for (let start = 0; start < keys.length; start += BATCH_GET_MAX_KEYS) {
    const request: KeysAndAttributes = {
      Keys: keys.slice(start, start + BATCH_GET_MAX_KEYS),
      ...(options.consistentRead ? { ConsistentRead: true } : {}),
    };
    items.push(...(await batchGetChunk(client, tableName, request, options.sleep ?? sleep)));
  }
  return items;
}

async function batchGetChunk(
  client: DynamoDBClient,
  tableName: string,
  request: KeysAndAttributes,
  wait: (ms: number) => Promise<void>,
): Promise<Item[]> {
  const items: Item[] = [];
  let pending: KeysAndAttributes | undefined = request;
  for (let attempt = 0; pending?.Keys?.length; attempt++) {
    if (attempt === BATCH_ATTEMPTS) throw new Error('DynamoDB left keys unprocessed; try again later');
    if (attempt > 0) await wait(BACKOFF_BASE_MS * 2 ** (attempt - 1));
    const result: BatchGetItemCommandOutput = await client.send(
      new BatchGetItemCommand({ RequestItems: { [tableName]: pending } }),
    );
    items.push(...(result.Responses?.[tableName] ?? []));
    pending = result.UnprocessedKeys?.[tableName];
  }
  return items;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
