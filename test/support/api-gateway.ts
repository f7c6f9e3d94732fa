import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** An API Gateway HTTP API (payload format 2.0) event, as the service delivers it to the function. */
export function httpApiEvent(request: {
  method: string;
  path: string;
  /** The raw query string, without `?`. */
  query?: string;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
  /** The request's cookies, which payload 2.0 delivers here and not in `headers`, one `name=value` per entry. */
  cookies?: string[];
}): APIGatewayProxyEventV2 {
  const now = new Date();
  return {
    version: '2.0',
    routeKey: `${request.method} ${request.path}`,
    rawPath: request.path,
    rawQueryString: request.query ?? '',
    ...(request.query ? { queryStringParameters: Object.fromEntries(new URLSearchParams(request.query)) } : {}),
    ...(request.cookies ? { cookies: request.cookies } : {}),
    headers: { host: 'abc123.execute-api.eu-west-1.amazonaws.com', ...request.headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: request.method,
        path: request.path,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'test',
      },
      requestId: randomUUID(),
      routeKey: `${request.method} ${request.path}`,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: request.body,
    isBase64Encoded: request.isBase64Encoded ?? false,
  };
}
