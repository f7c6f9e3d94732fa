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
  /** Requests per chunk, counting those for keys DynamoDB left unprocessed. @default 5 */
  readonly attempts?: number;
  /** Waits between attempts (`ms` grows from 50, doubling). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Wraps each request, for a caller that maps the store's errors (storeCall). */
  readonly call?: (send: () => Promise<BatchGetItemCommandOutput>) => Promise<BatchGetItemCommandOutput>;
  /** The error when keys are still unprocessed after the last attempt. */
  readonly unprocessed?: () => Error;
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
    items.push(...(await batchGetChunk(client, tableName, request, options)));
  }
  return items;
}

async function batchGetChunk(
  client: DynamoDBClient,
  tableName: string,
  request: KeysAndAttributes,
  options: BatchGetOptions,
): Promise<Item[]> {
  const { attempts = BATCH_ATTEMPTS, sleep = wait, call = (send) => send() } = options;
  const items: Item[] = [];
  let pending: KeysAndAttributes | undefined = request;
  for (let attempt = 0; pending?.Keys?.length; attempt++) {
    if (attempt === attempts) {
      throw options.unprocessed?.() ?? new Error('DynamoDB left keys unprocessed; try again later');
    }
    if (attempt > 0) await sleep(BACKOFF_BASE_MS * 2 ** (attempt - 1));
    const keys: KeysAndAttributes = pending;
    const result = await call(() => client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: keys } })));
    items.push(...(result.Responses?.[tableName] ?? []));
    pending = result.UnprocessedKeys?.[tableName];
  }
  return items;
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
