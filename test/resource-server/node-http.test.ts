import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthInfo as SdkAuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import {
  type AccessTokenAuth,
  type AuthenticatedRequest,
  bearerTokenOf,
  InvalidRequestError,
  requireAccessToken,
} from '../../lib/resource-server';
import { documentedSubject } from '../support/outcome';
import { AuthorizationServer, MCP, OTHER_MCP } from './harness';

const METADATA_URL = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';

/** The middleware in front of a handler that echoes what it attached, over real HTTP on loopback. */
describe('requireAccessToken middleware (node:http)', () => {
  let as: AuthorizationServer;
  let server: Server;
  let url: string;
  const refusals: unknown[] = [];
  let keysOutage = false;

  beforeAll(async () => {
    as = await AuthorizationServer.start();
    const verifier = as.verifier({ jwksCooldownMs: 0 });
    const outage = as.verifier({ jwksUri: 'http://127.0.0.1:9/jwks.json', timeoutMs: 500 });
    const files = requireAccessToken({ verifier, requiredScopes: ['files:read'], onError: (e) => refusals.push(e) });
    const unavailable = requireAccessToken({ verifier: outage });
    server = createServer((request, response) => {
      const middleware = keysOutage ? unavailable : files;
      middleware(request, response, () => {
        const { auth } = request as AuthenticatedRequest;
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ ...auth, token: auth.token.length, resource: auth.resource?.href }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await as.close();
  });

  beforeEach(() => {
    keysOutage = false;
    refusals.length = 0;
  });

  const call = async (authorization?: string) => {
    const response = await fetch(url, { headers: authorization === undefined ? {} : { authorization } });
    const text = await response.text();
    return {
      status: response.status,
      challenge: response.headers.get('www-authenticate'),
      headers: response.headers,
      text,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
    };
  };

  it('passes a valid token through and attaches the claims in the MCP SDK AuthInfo shape', async () => {
    const token = await as.issue({ scope: 'files:read files:write' }, { email: 'jane@acme.example' });
    const response = await call(`Bearer ${token}`);
    const subject = documentedSubject('acme', as.fixture.idp.issuer, 'user-00u1');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      token: token.length,
      clientId: 'claude',
      scopes: ['files:read', 'files:write'],
      expiresAt: as.now() + 3600,
      resource: MCP,
      extra: {
        sub: subject,
        tenant: 'acme',
        idp_iss: as.fixture.idp.issuer,
        idp_sub: 'user-00u1',
        email: 'jane@acme.example',
      },
      claims: { iss: as.issuer, aud: MCP, tenant: 'acme', sub: subject, idp_sub: 'user-00u1', client_id: 'claude' },
    });
  });

  it('types req.auth so that the MCP SDK transport takes it as its AuthInfo (checked by the compiler)', () => {
    const handOff = (request: AuthenticatedRequest): IncomingMessage & { auth?: SdkAuthInfo } => request;
    const info = (auth: AccessTokenAuth): SdkAuthInfo => auth;
    expect([typeof handOff, typeof info]).toEqual(['function', 'function']);
  });

  it('accepts the scheme name in any case', async () => {
    expect((await call(`bearer ${await as.issue()}`)).status).toBe(200);
  });

  it.each([
    ['no Authorization header', undefined],
    ['another scheme (Basic)', `Basic ${Buffer.from('claude:secret').toString('base64')}`],
  ])('answers %s with 401 and a challenge without an error code, naming the scope needed', async (_, authorization) => {
    const response = await call(authorization);
    expect(response.status).toBe(401);
    expect(response.challenge).toBe(`Bearer scope="files:read", resource_metadata="${METADATA_URL}"`);
    expect(response.text).toBe('');
  });

  it.each([
    ['an empty Bearer header', 'Bearer '],
    ['two tokens', 'Bearer abc.def.ghi jkl.mno.pqr'],
    ['characters outside b64token', 'Bearer abc"def'],
  ])('answers %s with 400 invalid_request', async (_, authorization) => {
    const response = await call(authorization);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'invalid_request' });
    expect(response.challenge).toMatch(
      /^Bearer error="invalid_request", error_description="[^"]+", resource_metadata=/,
    );
  });

  it('answers an invalid token with 401 invalid_token, never echoing the token', async () => {
    const token = await as.issue({ resource: OTHER_MCP });
    const response = await call(`Bearer ${token}`);
    expect(response.status).toBe(401);
    expect(response.body).toEqual({
      error: 'invalid_token',
      error_description: 'the access token is for another resource',
    });
    expect(response.challenge).toBe(
      `Bearer error="invalid_token", error_description="the access token is for another resource", ` +
        `scope="files:read", resource_metadata="${METADATA_URL}"`,
    );
    expect(response.headers.get('cache-control')).toBe('no-store');
    const everything = `${response.text}${[...response.headers].join()}${JSON.stringify(refusals.map(String))}`;
    for (const part of token.split('.')) expect(everything).not.toContain(part);
  });

  it('answers a token without the route scope with 403 insufficient_scope naming the scope', async () => {
    const token = await as.issue({ scope: 'files:write' });
    const response = await call(`Bearer ${token}`);
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ error: 'insufficient_scope' });
    expect(response.challenge).toMatch(/^Bearer error="insufficient_scope", .*scope="files:read", resource_metadata=/);
  });

  it('answers 503 with Retry-After and no challenge when the keys cannot be had', async () => {
    keysOutage = true;
    const response = await call(`Bearer ${await as.issue()}`);
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ error: 'temporarily_unavailable' });
    expect(response.headers.get('retry-after')).not.toBeNull();
    expect(response.challenge).toBeNull();
  });

  it('tells onError of each refusal with its internal reason', async () => {
    await call('Bearer abc.def.ghi');
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ error: 'invalid_token', reason: expect.any(String) });
  });
});

describe('bearerTokenOf', () => {
  it('reads the token of a Bearer header', () => {
    expect(bearerTokenOf('Bearer a-b_c.d~e+f/g==')).toBe('a-b_c.d~e+f/g==');
  });

  it('sees no token in a missing header or another scheme', () => {
    expect(bearerTokenOf(undefined)).toBeUndefined();
    expect(bearerTokenOf('')).toBeUndefined();
    expect(bearerTokenOf('Basic Y2xhdWRlOnNlY3JldA==')).toBeUndefined();
    expect(bearerTokenOf('Bearerish abc')).toBeUndefined();
  });

  it('refuses repeated headers as invalid_request', () => {
    expect(() => bearerTokenOf(['Bearer a', 'Bearer b'])).toThrow(InvalidRequestError);
  });
});
