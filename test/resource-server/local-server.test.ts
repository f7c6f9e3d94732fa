import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalServer, startLocalServer } from '../../bin/local/server';
import { createProtectedMcpServer } from '../../examples/protected-mcp-server';
import { documentedSubject } from '../support/outcome';

/**
 * The example MCP server against `npm start` as a user runs it: the local server in demo mode over HTTP on loopback,
 * discovered through its own metadata, and a token obtained the way `npm run demo` obtains one.
 */
describe('the example MCP server against the local authorization server', () => {
  let dataDir: string;
  let as: LocalServer;
  let mcp: Server;
  let mcpOrigin: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'id-jag-rs-'));
    as = await startLocalServer({ port: 0, dataDir, inMemory: true, write: () => undefined });
    mcp = createProtectedMcpServer({
      issuer: as.issuer,
      resource: as.demo!.resource,
      scopes: ['mcp:tools', 'mcp:resources'],
      log: () => undefined,
    });
    await new Promise<void>((resolve) => mcp.listen(0, '127.0.0.1', resolve));
    mcpOrigin = `http://127.0.0.1:${(mcp.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    mcp.closeAllConnections();
    await new Promise((resolve) => mcp.close(resolve));
    await as.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function demoToken(): Promise<string> {
    const demo = as.demo!;
    const form = (fields: Record<string, string>) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
    const idjag = await fetch(
      `${demo.demoIdp}/token`,
      form({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        requested_token_type: 'urn:ietf:params:oauth:token-type:id-jag',
        audience: as.issuer,
        resource: demo.resource,
        client_id: demo.clientId,
        scope: 'mcp:tools',
        subject_token: 'alice',
      }),
    );
    const { access_token: assertion } = (await idjag.json()) as { access_token: string };
    const request = form({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
    const basic = Buffer.from(`${demo.clientId}:${demo.clientSecret}`).toString('base64');
    const response = await fetch(`${as.url}/token`, {
      ...request,
      headers: { ...request.headers, authorization: `Basic ${basic}` },
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  it('accepts the local server’s token and knows the user', async () => {
    const response = await fetch(`${mcpOrigin}/mcp`, { headers: { authorization: `Bearer ${await demoToken()}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      sub: documentedSubject('demo', as.demo!.demoIdp, 'alice'),
      tenant: 'demo',
      idp_iss: as.demo!.demoIdp,
      idp_sub: 'alice',
      client_id: 'demo-client',
      scopes: ['mcp:tools'],
    });
  });

  it('refuses a token meant for another resource', async () => {
    const other = createProtectedMcpServer({
      issuer: as.issuer,
      resource: 'http://localhost:3002/mcp',
      log: () => undefined,
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}/mcp`;
      const response = await fetch(url, { headers: { authorization: `Bearer ${await demoToken()}` } });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    } finally {
      other.closeAllConnections();
      await new Promise((resolve) => other.close(resolve));
    }
  });
});
