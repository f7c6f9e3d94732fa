import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { HttpRequest } from '../../lambda/core/http';
import type { TokenEndpointDeps } from '../../lambda/core/token-endpoint';
import { createTokenHandler, type HttpApiHandler } from '../../lambda/handlers/api';
import { createLogger, type Logger } from '../../lambda/handlers/logger';
import { httpApiEvent } from './api-gateway';

/** The API Gateway v2 event for a core-level token request, as the service would deliver it to the token function. */
export function tokenEvent(request: HttpRequest): APIGatewayProxyEventV2 {
  const event = httpApiEvent({
    method: request.method,
    path: '/token',
    headers: Object.fromEntries(
      Object.entries(request.headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ),
    body: request.body,
    isBase64Encoded: request.isBase64Encoded,
  });
  return event;
}

/**
 * Everything a token handler writes: its logger's lines and, while `spyOnConsole` is active, console.* and stdout.
 * Log hygiene tests scan `text()` for secrets.
 */
export class LogCapture {
  readonly lines: string[] = [];
  readonly logger: Logger = createLogger({ service: 'token', level: 'debug', write: (line) => this.lines.push(line) });
  private spies: jest.SpyInstance[] = [];

  spyOnConsole(): void {
    const keep =
      (prefix: string) =>
      (...args: unknown[]) => {
        this.lines.push(`${prefix} ${args.map((arg) => (typeof arg === 'string' ? arg : safeJson(arg))).join(' ')}`);
      };
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      this.spies.push(jest.spyOn(console, method).mockImplementation(keep(`console.${method}`)));
    }
    this.spies.push(
      jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        this.lines.push(`stdout ${String(chunk)}`);
        return true;
      }),
      jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
        this.lines.push(`stderr ${String(chunk)}`);
        return true;
      }),
    );
  }

  restore(): void {
    for (const spy of this.spies) spy.mockRestore();
    this.spies = [];
  }

  text(): string {
    return this.lines.join('\n');
  }

  /** The parsed structured records (lines that are JSON objects). */
  records(): Record<string, unknown>[] {
    return this.lines.flatMap((line) => {
      try {
        const value = JSON.parse(line) as unknown;
        return typeof value === 'object' && value !== null ? [value as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  }
}

function safeJson(value: unknown): string {
  try {
    return value instanceof Error ? `${value.name}: ${value.message}\n${value.stack}` : JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** The token handler (the Lambda entry's code path, without its module-scope AWS wiring) over the given ports. */
export function tokenHandler(deps: TokenEndpointDeps, logger: Logger): HttpApiHandler {
  return createTokenHandler(async () => deps, logger);
}

export interface HandlerAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Record<string, unknown>;
  readonly raw: APIGatewayProxyStructuredResultV2;
}

/** Calls the handler with a core request turned into an API Gateway event, and parses the JSON answer. */
export async function callHandler(handler: HttpApiHandler, request: HttpRequest): Promise<HandlerAnswer> {
  const raw = await handler(tokenEvent(request), { awsRequestId: 'hardening' });
  return {
    status: raw.statusCode ?? 0,
    headers: (raw.headers ?? {}) as Record<string, string>,
    body: JSON.parse(String(raw.body)) as Record<string, unknown>,
    raw,
  };
}

/**
 * The strings of a secret a log must never contain: the whole value and, for a JWT, each segment that carries the
 * secret part (the signature; for an access token also its payload, which holds its unique `jti`).
 */
export function secretFragments(value: string): string[] {
  const parts = value.split('.');
  if (parts.length === 3) return [value, parts[2]!, `${parts[0]}.${parts[1]}`].filter((part) => part.length >= 16);
  return [value];
}

export type DynamoFault =
  /** DynamoDB answers with this error (name as in `__type`) and HTTP status. */
  | { readonly kind: 'error'; readonly name: string; readonly status: number }
  /** The connection is closed before the request reaches DynamoDB. */
  | { readonly kind: 'drop' }
  /** The request is carried out by DynamoDB, but its answer is lost on the way back. */
  | { readonly kind: 'lose-answer' };

/**
 * A loopback proxy in front of dynalite that injects faults per DynamoDB operation (GetItem, Query, BatchGetItem,
 * PutItem…): the real DynamoDBClient then deserialises a real error answer, or sees a connection fail. Each fault
 * applies to the next `times` calls of its operation.
 */
export class DynamoFaults {
  readonly calls: string[] = [];
  private readonly faults = new Map<string, { fault: DynamoFault; times: number }>();

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
    private readonly target: URL,
  ) {}

  static async start(target: string): Promise<DynamoFaults> {
    let proxy: DynamoFaults | undefined;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => proxy!.handle(request, Buffer.concat(chunks), response));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    proxy = new DynamoFaults(server, `http://127.0.0.1:${port}`, new URL(target));
    return proxy;
  }

  /** Applies `fault` to the next `times` calls of `operation`. */
  inject(operation: string, fault: DynamoFault, times = 1): void {
    this.faults.set(operation, { fault, times });
  }

  clear(): void {
    this.faults.clear();
  }

  count(operation: string): number {
    return this.calls.filter((call) => call === operation).length;
  }

  /** A client through the proxy. One attempt: the SDK's own retries are what a persistent fault exhausts. */
  client(): DynamoDBClient {
    return new DynamoDBClient({
      endpoint: this.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, body: Buffer, response: import('node:http').ServerResponse): void {
    const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    this.calls.push(operation);
    const pending = this.faults.get(operation);
    const fault = pending && pending.times > 0 ? pending.fault : undefined;
    if (pending && fault) pending.times--;
    if (fault?.kind === 'drop') {
      response.socket?.destroy();
      return;
    }
    if (fault?.kind === 'error') {
      const answer = JSON.stringify({
        __type: `com.amazonaws.dynamodb.v20120810#${fault.name}`,
        message: `${fault.name} injected for arn:aws:dynamodb:us-east-1:123456789012:table/secret-detail`,
      });
      response
        .writeHead(fault.status, {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-errortype': fault.name,
          'content-length': Buffer.byteLength(answer),
        })
        .end(answer);
      return;
    }
    const forwarded = httpRequest(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (upstream) => {
        const chunks: Buffer[] = [];
        upstream.on('data', (chunk: Buffer) => chunks.push(chunk));
        upstream.on('end', () => {
          if (fault?.kind === 'lose-answer') {
            response.socket?.destroy();
            return;
          }
          response.writeHead(upstream.statusCode ?? 500, upstream.headers).end(Buffer.concat(chunks));
        });
      },
    );
    forwarded.on('error', () => response.socket?.destroy());
    forwarded.end(body);
  }
}
