import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createHttpApiServer } from '../../bin/local/http-adapter';
import { header } from '../../lambda/core/http';
import { toHttpRequest, toResult } from '../../lambda/handlers/api';

/** The local server's HTTP adapter carries cookies the way API Gateway does, so the handlers see the same events. */
describe('local HTTP adapter, cookies over HTTP', () => {
  let server: Server;
  let origin: string;
  let events: APIGatewayProxyEventV2[];

  beforeAll(async () => {
    server = createHttpApiServer([
      {
        method: 'GET',
        path: '/echo',
        handler: async (event) => {
          events.push(event);
          const cookie = header(toHttpRequest(event), 'cookie') ?? '';
          return toResult({
            status: 200,
            headers: { 'Content-Type': 'text/plain' },
            body: cookie,
            cookies: [
              '__Host-a=1; Max-Age=60; Path=/; Secure; HttpOnly; SameSite=Lax',
              '__Host-b=2; Max-Age=0; Path=/',
            ],
          });
        },
      },
      {
        method: 'GET',
        path: '/plain',
        handler: async () => toResult({ status: 204, headers: {}, body: '' }),
      },
    ]);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    events = [];
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('moves the Cookie header into event.cookies, one pair each, and out of the headers', async () => {
    await fetch(`${origin}/echo`, { headers: { cookie: 'a=1;  __Host-tx=abc;' } });
    expect(events[0]?.cookies).toEqual(['a=1', '__Host-tx=abc']);
    expect(events[0]?.headers).not.toHaveProperty('cookie');
  });

  it('gives the handler one cookie header back through toHttpRequest', async () => {
    const response = await fetch(`${origin}/echo`, { headers: { cookie: 'a=1; __Host-tx=abc' } });
    expect(await response.text()).toBe('a=1; __Host-tx=abc');
  });

  it('sends no cookies field when the request has none', async () => {
    await fetch(`${origin}/echo`);
    expect(events[0]).not.toHaveProperty('cookies');
  });

  it("writes each of the result's cookies as its own Set-Cookie header", async () => {
    const response = await fetch(`${origin}/echo`);
    expect(response.headers.getSetCookie()).toEqual([
      '__Host-a=1; Max-Age=60; Path=/; Secure; HttpOnly; SameSite=Lax',
      '__Host-b=2; Max-Age=0; Path=/',
    ]);
  });

  it('writes no Set-Cookie header for a result without cookies', async () => {
    const response = await fetch(`${origin}/plain`);
    expect(response.status).toBe(204);
    expect(response.headers.getSetCookie()).toEqual([]);
  });
});
