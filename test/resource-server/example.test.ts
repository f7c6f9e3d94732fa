import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProtectedMcpServer } from '../../examples/protected-mcp-server';
import { documentedSubject } from '../support/outcome';
import { AuthorizationServer, MCP } from './harness';

/** examples/protected-mcp-server.ts, as documented, against tokens of the real core. */
describe('the protected MCP server example', () => {
  let as: AuthorizationServer;
  let server: Server;
  let origin: string;
  const logs: string[] = [];

  beforeAll(async () => {
    as = await AuthorizationServer.start();
    server = createProtectedMcpServer({
      issuer: as.issuer,
      resource: MCP,
      scopes: ['files:read'],
      verifier: { now: as.now },
      log: (line) => logs.push(line),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await as.close();
  });

  it('publishes its protected resource metadata pointing at the issuer', async () => {
    const metadata = await (await fetch(`${origin}/.well-known/oauth-protected-resource/mcp`)).json();
    expect(metadata).toMatchObject({
      resource: MCP,
      authorization_servers: [as.issuer],
      scopes_supported: ['files:read'],
    });
  });

  it('challenges a request without a token towards that metadata', async () => {
    const response = await fetch(`${origin}/mcp`, { method: 'POST' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"',
    );
  });

  it('tells the holder of a valid token who they are, and logs refusals without the token', async () => {
    const token = await as.issue({}, { email: 'jane@acme.example' });
    const response = await fetch(`${origin}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      sub: documentedSubject('acme', as.fixture.idp.issuer, 'user-00u1'),
      tenant: 'acme',
      idp_iss: as.fixture.idp.issuer,
      idp_sub: 'user-00u1',
      email: 'jane@acme.example',
      client_id: 'claude',
      scopes: ['files:read'],
    });
    const forged = `${token.slice(0, -4)}AAAA`;
    expect((await fetch(`${origin}/mcp`, { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
    expect(logs.at(-1)).toMatch(/"reason":"bad signature"/);
    expect(logs.join('\n')).not.toContain(token.split('.')[1]);
  });
});
