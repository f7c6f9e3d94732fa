import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Route = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * A programmable HTTP server on 127.0.0.1 for issuer key sets and metadata: each path answers through a route
 * the test sets, and every request is counted. Tests close it in afterAll/afterEach.
 */
export class HttpStub {
  readonly routes = new Map<string, Route>();
  readonly hits = new Map<string, number>();
  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(): Promise<HttpStub> {
    let stub: HttpStub | undefined;
    const server = createServer((request, response) => stub!.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    stub = new HttpStub(server, `http://127.0.0.1:${port}`);
    return stub;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const path = new URL(request.url ?? '/', this.origin).pathname;
    this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
    const route = this.routes.get(path);
    if (!route) {
      response.writeHead(404).end();
      return;
    }
    route(request, response);
  }

  json(path: string, body: unknown | (() => unknown)): void {
    this.routes.set(path, (_, response) => {
      const value = typeof body === 'function' ? (body as () => unknown)() : body;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    });
  }

  count(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
