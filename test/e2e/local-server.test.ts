import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { type LocalServer, startLocalServer } from '../../bin/local/server';
import { hashClientSecret } from '../../lambda/core/secrets';
import { HttpStub } from '../support/http-stub';
import { documentedSubject } from '../support/outcome';
import { TestIdp } from '../support/test-idp';

const RESOURCE = 'https://mcp.example.com/mcp';
const CLIENT_ID = 'e2e-client';
const SECRET = 'e2e-client-secret-0123456789-abcdefghijklmnop';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/**
 * The local server over real HTTP on 127.0.0.1, with its embedded dynalite, and a separate test IdP on loopback whose
 * JWKS the server fetches over HTTP (allowed in local mode only).
 */
describe('local server, end to end over HTTP', () => {
  let dataDir: string;
  let idpHost: HttpStub;
  let idp: TestIdp;
  let server: LocalServer;
  const logs: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'id-jag-e2e-'));
    idpHost = await HttpStub.start();
    const issuer = `${idpHost.origin}/idp`;
    idpHost.json('/idp/keys', () => idp.jwks);
    const configPath = join(dataDir, 'config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        resources: [{ id: RESOURCE, scopes: ['tools:call', 'tools:list'], defaultScopes: ['tools:list'] }],
        tenants: [{ id: 'acme', issuers: [{ issuer, jwksUri: `${idpHost.origin}/idp/keys` }] }],
        clients: [{ clientId: CLIENT_ID, authMethod: 'client_secret_basic', secretHash: hashClientSecret(SECRET) }],
      }),
    );
    server = await startLocalServer({ port: 0, dataDir, configPath, inMemory: true, write: (line) => logs.push(line) });
    // The IdP mints for this server, whose issuer (its URL) is known once it listens.
    idp = await TestIdp.create({ issuer, audience: server.issuer, clientId: CLIENT_ID });
  });

  afterAll(async () => {
    await server.close();
    await idpHost.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const basic = (id = CLIENT_ID, secret = SECRET) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const post = async (body: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(), ...headers },
      body,
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, string>,
    };
  };
  const exchange = async (assertion: string, headers: Record<string, string> = {}) =>
    post(new URLSearchParams({ grant_type: JWT_BEARER, assertion }).toString(), headers);

  it('serves RFC 8414 metadata whose issuer is the URL it was fetched under', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const response = await fetch(`${server.url}${path}`);
      const metadata = (await response.json()) as Record<string, unknown>;
      expect(metadata.issuer).toBe(server.url);
      expect(metadata.grant_types_supported).toEqual(['authorization_code', 'refresh_token', JWT_BEARER]);
      expect(metadata.token_endpoint).toBe(`${server.url}/token`);
      expect(response.headers.get('cache-control')).toMatch(/^public, max-age=/);
    }
  });

  it('serves the JWKS with public keys only', async () => {
    const { keys } = (await (await fetch(`${server.url}/jwks.json`)).json()) as { keys: Record<string, unknown>[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'EC', alg: 'ES256', use: 'sig' });
    expect(keys[0]).not.toHaveProperty('d');
  });

  it('exchanges a valid assertion for a token that verifies against the served JWKS', async () => {
    const response = await exchange(await idp.mint({ claims: { email: 'jane@acme.example' } }));
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const { payload } = await jwtVerify(
      response.body.access_token!,
      createRemoteJWKSet(new URL(`${server.url}/jwks.json`)),
      {
        issuer: server.issuer,
        audience: RESOURCE,
        typ: 'at+jwt',
      },
    );
    expect(payload).toMatchObject({
      sub: documentedSubject('acme', idp.issuer, 'user-00u1'),
      idp_sub: 'user-00u1',
      tenant: 'acme',
      client_id: CLIENT_ID,
      scope: 'tools:list',
    });
    expect(idpHost.count('/idp/keys')).toBeGreaterThanOrEqual(1);
  });

  it('logs one audit line per decision without the assertion or the token', async () => {
    const assertion = await idp.mint();
    const { body } = await exchange(assertion);
    const line = logs.find((entry) => entry.includes(decodeJwt(body.access_token!).jti as string));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ message: 'token decision', outcome: 'issued', tenant: 'acme' });
    const all = logs.join('\n');
    expect(all).not.toContain(assertion.split('.')[2]);
    expect(all).not.toContain(body.access_token!.split('.')[2]);
    expect(all).not.toContain(SECRET);
  });

  it('rejects a bad signature', async () => {
    const [header, payload] = (await idp.mint()).split('.');
    const forged = `${header}.${payload}.${Buffer.from('not a signature').toString('base64url')}`;
    expect(await exchange(forged)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('rejects an unknown issuer', async () => {
    const assertion = await idp.mint({ claims: { iss: 'https://unknown.example' } });
    expect(await exchange(assertion)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('rejects a replayed assertion', async () => {
    const assertion = await idp.mint();
    expect((await exchange(assertion)).status).toBe(200);
    expect(await exchange(assertion)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('rejects a bad client with 401 and a Basic challenge', async () => {
    const response = await exchange(await idp.mint(), { authorization: basic(CLIENT_ID, 'wrong') });
    expect(response).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic/);
  });

  it('rejects a wrong content type', async () => {
    const body = JSON.stringify({ grant_type: JWT_BEARER, assertion: await idp.mint() });
    expect(await post(body, { 'content-type': 'application/json' })).toMatchObject({
      status: 400,
      body: { error: 'invalid_request' },
    });
  });

  it('rejects duplicate parameters', async () => {
    const assertion = await idp.mint();
    const body = `grant_type=${encodeURIComponent(JWT_BEARER)}&assertion=${assertion}&assertion=${assertion}`;
    expect(await post(body)).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });

  it('rejects an oversized body', async () => {
    const body = `grant_type=${encodeURIComponent(JWT_BEARER)}&assertion=${await idp.mint()}&pad=${'x'.repeat(20_000)}`;
    expect(await post(body)).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });

  it('answers GET /token with 405 and Allow: POST', async () => {
    const response = await fetch(`${server.url}/token`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});

describe('local server demo mode', () => {
  it('seeds a demo tenant, IdP and client, and the demo exchange works over HTTP', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'id-jag-demo-'));
    const server = await startLocalServer({ port: 0, dataDir, inMemory: true, write: () => undefined });
    try {
      const demo = server.demo!;
      expect(demo.clientId).toBe('demo-client');
      const idjag = await fetch(`${demo.demoIdp}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          requested_token_type: 'urn:ietf:params:oauth:token-type:id-jag',
          audience: server.issuer,
          client_id: demo.clientId,
          subject_token: 'alice',
        }),
      });
      const { access_token: assertion } = (await idjag.json()) as { access_token: string };
      const token = await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${demo.clientId}:${demo.clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: JWT_BEARER, assertion }),
      });
      expect(token.status).toBe(200);
      const { access_token } = (await token.json()) as { access_token: string };
      expect(decodeJwt(access_token)).toMatchObject({
        sub: documentedSubject('demo', demo.demoIdp, 'alice'),
        idp_iss: demo.demoIdp,
        idp_sub: 'alice',
        tenant: 'demo',
        aud: demo.resource,
      });
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
