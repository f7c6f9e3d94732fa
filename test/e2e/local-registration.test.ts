import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalServer, startLocalServer } from '../../bin/local/server';

const json = { 'content-type': 'application/json' };

/** The local server serves POST /register (the same handler as the register function) only when asked to. */
describe('the local server: dynamic client registration', () => {
  const servers: { server: LocalServer; dataDir: string }[] = [];
  async function start(dynamicClientRegistration?: { enabled: boolean; maxClients?: number }) {
    const dataDir = mkdtempSync(join(tmpdir(), 'id-jag-dcr-'));
    const server = await startLocalServer({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      inMemory: true,
      write: () => undefined,
      ...(dynamicClientRegistration ? { dynamicClientRegistration } : {}),
    });
    servers.push({ server, dataDir });
    return server;
  }
  afterAll(async () => {
    for (const { server, dataDir } of servers) {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  const metadata = async (server: LocalServer) =>
    (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
  const register = (server: LocalServer, body: unknown) =>
    fetch(`${server.url}/register`, { method: 'POST', headers: json, body: JSON.stringify(body) });

  it('is off by default: 404 and no registration_endpoint', async () => {
    const server = await start();
    expect(await metadata(server)).not.toHaveProperty('registration_endpoint');
    expect((await register(server, { redirect_uris: ['http://127.0.0.1/cb'] })).status).toBe(404);
  });

  it('registers a client that /authorize then knows, and refuses beyond the cap', async () => {
    const server = await start({ enabled: true, maxClients: 1 });
    expect((await metadata(server)).registration_endpoint).toBe(`${server.issuer}/register`);
    const response = await register(server, {
      redirect_uris: ['http://127.0.0.1/callback'],
      token_endpoint_auth_method: 'none',
      client_name: 'Local app',
    });
    expect(response.status).toBe(201);
    const { client_id: clientId } = (await response.json()) as { client_id: string };
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: 'http://127.0.0.1:4000/callback',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    const page = await fetch(`${server.url}/authorize?${query}`, { redirect: 'manual' });
    // A known client with a registered redirect URI: the sign-in starts (no error page about the client).
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Local app');
    expect(html).not.toMatch(/unknown client|not registered/i);

    const full = await register(server, { redirect_uris: ['http://127.0.0.1/callback'] });
    expect(full.status).toBe(400);
    expect(await full.json()).toMatchObject({ error: 'invalid_client_metadata' });
  });
});
