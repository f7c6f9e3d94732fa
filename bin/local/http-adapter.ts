import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { HttpApiHandler } from '../../lambda/handlers/api';

export interface Route {
  /** `ANY` passes every method to the handler, as the API's `ANY /token` route does. */
  readonly method: 'GET' | 'POST' | 'ANY';
  readonly path: string;
  readonly handler: HttpApiHandler;
}

/** API Gateway refuses payloads above 10 MB; we stop reading far earlier, the core caps bodies at 16 KiB anyway. */
const MAX_BODY_BYTES = 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Builds the event API Gateway (HTTP API, payload format 2.0) would hand to the function. */
export function toApiGatewayEvent(request: IncomingMessage, body: Buffer, routeKey: string): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://local');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  // Like API Gateway: the cookies leave the headers for `cookies`, one entry per pair (Node joins Cookie headers by ;).
  const cookies = (headers.cookie ?? '')
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '');
  delete headers.cookie;
  let text: string | undefined;
  try {
    text = utf8.decode(body);
  } catch {
    text = undefined;
  }
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: body.length === 0 ? undefined : (text ?? body.toString('base64')),
    isBase64Encoded: body.length > 0 && text === undefined,
  };
}

function send(response: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const body = result.body === undefined ? '' : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  const headers: Record<string, string | string[]> = { ...(result.headers as Record<string, string>) };
  // As API Gateway does: each entry of `cookies` becomes its own Set-Cookie header.
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(body);
}

function notFound(): APIGatewayProxyStructuredResultV2 {
  return { statusCode: 404, headers: { 'Content-Type': 'application/json' }, body: '{"message":"Not Found"}' };
}

/** Serves routes the way API Gateway does: an event per request in, the handler's result out. */
export function createHttpApiServer(routes: readonly Route[]): Server {
  return createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        send(response, {
          statusCode: 413,
          headers: { 'Content-Type': 'application/json' },
          body: '{"message":"Request Entity Too Large"}',
        });
        request.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    request.on('end', async () => {
      const path = new URL(request.url ?? '/', 'http://local').pathname;
      const method = request.method ?? 'GET';
      const route = routes.find((r) => r.path === path && (r.method === 'ANY' || r.method === method));
      if (!route) return send(response, notFound());
      const event = toApiGatewayEvent(request, Buffer.concat(chunks), `${route.method} ${route.path}`);
      try {
        send(response, await route.handler(event, { awsRequestId: event.requestContext.requestId }));
      } catch {
        send(response, {
          statusCode: 500,
          headers: { 'Content-Type': 'application/json' },
          body: '{"message":"Internal Server Error"}',
        });
      }
    });
  });
}
