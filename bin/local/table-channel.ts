import type { MessagePort } from 'node:worker_threads';
import * as dynamodb from '@aws-sdk/client-dynamodb';

/**
 * The local server's client for its embedded table: the commands of `@aws-sdk/client-dynamodb`, as the adapters build
 * them, sent over a message port to the table's worker, where dynalite's own HTTP request handler answers them
 * (embedded-dynamodb.ts). The adapters and dynalite are the ones the server always uses; what this replaces is the
 * SDK client's request path (some twenty async middlewares, SigV4, an HTTP request over the socket and dynalite's
 * HTTP parsing), which cost more CPU per token than the whole OAuth exchange (BENCHMARKS.md, section 3).
 *
 * It speaks the DynamoDB JSON protocol, in which a low-level command's input is the request body as it is, and
 * answers as the SDK client does: the output's fields with `$metadata`, failures as the SDK's own exception classes.
 * Binary attributes (`B`, `BS`), which the SDK converts and the adapters never use, are refused; table descriptions
 * (CreateTable's answer) come as dynalite writes them, where the SDK would make Dates of their times and drop members
 * it does not model: nothing reads them. The admin CLI keeps the socket and the real SDK client;
 * test/e2e/local-table-channel.test.ts checks that both answer alike.
 */
export function tableChannelClient(port: MessagePort): dynamodb.DynamoDBClient {
  let nextId = 0;
  let closed = false;
  const pending = new Map<number, { resolve(answer: TableAnswer): void; reject(error: Error): void }>();
  port.on('message', (answers: readonly TableAnswer[]) => {
    for (const answer of answers) {
      const request = pending.get(answer.id);
      pending.delete(answer.id);
      request?.resolve(answer);
    }
  });
  // Requests made in one turn of the event loop share a message, CALLS_PER_MESSAGE at most: each message wakes the
  // table's thread, and under load that wake-up cost more than the rest of the request's way there.
  let batch: TableCall[] = [];
  const flush = () => {
    if (batch.length === 0) return;
    port.postMessage(batch);
    batch = [];
  };
  // The table stopped: what it will never answer fails as the SDK fails a request without an answer (an outage).
  port.on('close', () => {
    closed = true;
    for (const request of pending.values()) request.reject(noAnswer());
    pending.clear();
  });
  // Answers come only for requests made: the port keeps no process alive on its own.
  port.unref();

  const send = async (command: { readonly input: unknown }): Promise<unknown> => {
    const operation = operationOf(command);
    if (closed) throw noAnswer();
    const body = JSON.stringify(command.input, refuseBinary);
    const id = nextId++;
    const answer = await new Promise<TableAnswer>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      port.ref();
      if (batch.length === 0) setImmediate(flush);
      batch.push({ id, target: `${TARGET_PREFIX}${operation}`, body });
      if (batch.length === CALLS_PER_MESSAGE) flush();
    }).finally(() => {
      if (pending.size === 0) port.unref();
    });
    const $metadata = { httpStatusCode: answer.status, requestId: answer.requestId, attempts: 1, totalRetryDelay: 0 };
    const parsed = answer.body === '' ? {} : (JSON.parse(answer.body) as Record<string, unknown>);
    if (answer.status === 200) return { ...parsed, $metadata };
    throw serviceException(parsed, $metadata);
  };
  return {
    send,
    destroy: () => {
      closed = true;
      port.close();
    },
  } as unknown as dynamodb.DynamoDBClient;
}

/**
 * The most calls one message carries. One message per turn would be fewest, but a turn of the server's event loop
 * that takes in many requests then holds all their calls until it ends, and the table gets them as one convoy: idle
 * before, the server idle after. Sending every second call as it is made lets the table start on the first calls
 * while the server prepares the next. Measured at 16 requests in flight, in 11 pairs of runs taking turns: 2,504
 * tokens/s median against 1,824 (BENCHMARKS.md, section 3). One call per message was no better at 16 and worse at 64,
 * which pays a wake-up of the table's thread per call.
 */
export const CALLS_PER_MESSAGE = 2;

/** A request to the table's worker: the JSON protocol's target header and body. */
export interface TableCall {
  readonly id: number;
  readonly target: string;
  readonly body: string;
}

/** dynalite's answer: the status, the `x-amzn-RequestId` header and the body, as it wrote them. */
export interface TableAnswer {
  readonly id: number;
  readonly status: number;
  readonly requestId?: string;
  readonly body: string;
}

const TARGET_PREFIX = 'DynamoDB_20120810.';

/** The commands the adapters send, by class: a bundler may rename classes, so their names are not read. */
const OPERATIONS = new Map<unknown, string>([
  [dynamodb.BatchGetItemCommand, 'BatchGetItem'],
  [dynamodb.BatchWriteItemCommand, 'BatchWriteItem'],
  [dynamodb.CreateTableCommand, 'CreateTable'],
  [dynamodb.DeleteItemCommand, 'DeleteItem'],
  [dynamodb.GetItemCommand, 'GetItem'],
  [dynamodb.PutItemCommand, 'PutItem'],
  [dynamodb.QueryCommand, 'Query'],
  [dynamodb.ScanCommand, 'Scan'],
  [dynamodb.UpdateItemCommand, 'UpdateItem'],
]);

function operationOf(command: { readonly input: unknown }): string {
  const operation = OPERATIONS.get(command.constructor);
  if (operation === undefined) {
    throw new Error(`the local table client does not send ${command.constructor.name}: add it to OPERATIONS`);
  }
  return operation;
}

function noAnswer(): Error {
  return Object.assign(new Error('the embedded table is closed'), { name: 'TableClosedError', $metadata: {} });
}

function refuseBinary(_key: string, value: unknown): unknown {
  if (ArrayBuffer.isView(value)) throw new Error('the local table client sends no binary attribute values');
  return value;
}

/** The SDK's exception class for dynalite's `__type`, as the SDK client would throw it. */
function serviceException(body: Record<string, unknown>, $metadata: { httpStatusCode: number }): Error {
  const name = String(body.__type ?? 'UnknownError')
    .split('#')
    .pop()!;
  // As the SDK: an empty message is 'UnknownError'.
  const message = String(body.message || body.Message || 'UnknownError');
  const { __type: _, message: __, Message: ___, ...members } = body;
  const known = (dynamodb as Record<string, unknown>)[name];
  if (typeof known === 'function' && known.prototype instanceof dynamodb.DynamoDBServiceException) {
    const Exception = known as new (options: Record<string, unknown>) => Error;
    return new Exception({ ...members, message, $metadata });
  }
  return new dynamodb.DynamoDBServiceException({
    name,
    $fault: $metadata.httpStatusCode >= 500 ? 'server' : 'client',
    message,
    $metadata,
  });
}
