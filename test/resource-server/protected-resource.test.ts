import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createProtectedResourceMetadataHandler,
  protectedResourceMetadata,
  protectedResourceMetadataPaths,
  protectedResourceMetadataUrl,
} from '../../lib/resource-server';

const ISSUER = 'https://auth.example.com';

describe('protected resource metadata (RFC 9728)', () => {
  it('names the resource, our issuer as its authorization server, the scopes and header-only bearer tokens', () => {
    expect(
      protectedResourceMetadata({
        resource: 'https://mcp.example.com/mcp',
        issuer: ISSUER,
        scopesSupported: ['mcp:tools', 'mcp:resources'],
        resourceName: 'Example MCP',
        resourceDocumentation: 'https://docs.example.com/mcp',
      }),
    ).toEqual({
      resource: 'https://mcp.example.com/mcp',
      authorization_servers: [ISSUER],
      bearer_methods_supported: ['header'],
      scopes_supported: ['mcp:tools', 'mcp:resources'],
      resource_name: 'Example MCP',
      resource_documentation: 'https://docs.example.com/mcp',
    });
  });

  it('leaves out what it was not given, and takes several authorization servers', () => {
    expect(
      protectedResourceMetadata({
        resource: 'https://mcp.example.com',
        authorizationServers: [ISSUER, 'https://b.example'],
      }),
    ).toEqual({
      resource: 'https://mcp.example.com',
      authorization_servers: [ISSUER, 'https://b.example'],
      bearer_methods_supported: ['header'],
    });
  });

  it.each([
    ['no authorization server', { resource: 'https://mcp.example.com/mcp' }, /issuer or authorizationServers/],
    ['a resource with a fragment', { resource: 'https://mcp.example.com/mcp#x', issuer: ISSUER }, /fragment/],
    ['a resource on http off loopback', { resource: 'http://mcp.example.com/mcp', issuer: ISSUER }, /https/],
    ['an http issuer off loopback', { resource: 'https://mcp.example.com/mcp', issuer: 'http://as.example' }, /https/],
    [
      'a scope with a space',
      { resource: 'https://m.example', issuer: ISSUER, scopesSupported: ['a b'] },
      /scope-token/,
    ],
  ])('refuses %s', (_, options, message) => {
    expect(() => protectedResourceMetadata(options)).toThrow(message);
  });

  it('accepts http on loopback, for local development', () => {
    expect(
      protectedResourceMetadata({ resource: 'http://localhost:3001/mcp', issuer: 'http://127.0.0.1:3000' }).resource,
    ).toBe('http://localhost:3001/mcp');
  });

  it.each([
    ['https://mcp.example.com/mcp', 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp'],
    ['https://mcp.example.com/a/b/', 'https://mcp.example.com/.well-known/oauth-protected-resource/a/b'],
    ['https://mcp.example.com', 'https://mcp.example.com/.well-known/oauth-protected-resource'],
    [
      'https://mcp.example.com:8443/mcp?v=1',
      'https://mcp.example.com:8443/.well-known/oauth-protected-resource/mcp?v=1',
    ],
    ['http://localhost:3001/mcp', 'http://localhost:3001/.well-known/oauth-protected-resource/mcp'],
  ])('puts the metadata of %s at %s (well-known segment before the path)', (resource, url) => {
    expect(protectedResourceMetadataUrl(resource)).toBe(url);
  });

  it('serves the path-suffixed form and the bare form', () => {
    expect(protectedResourceMetadataPaths('https://mcp.example.com/mcp')).toEqual([
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource',
    ]);
    expect(protectedResourceMetadataPaths('https://mcp.example.com/')).toEqual([
      '/.well-known/oauth-protected-resource',
    ]);
  });
});

describe('protected resource metadata handler, over HTTP', () => {
  let server: Server;
  let origin: string;
  const passedOn: string[] = [];

  beforeAll(async () => {
    const handler = createProtectedResourceMetadataHandler({
      resource: 'https://mcp.example.com/mcp',
      issuer: ISSUER,
      scopesSupported: ['mcp:tools'],
    });
    server = createServer((request, response) => {
      handler(request, response, () => {
        passedOn.push(request.url ?? '');
        response.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each(['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource'])(
    'serves the document as cacheable, cross-origin readable JSON at %s',
    async (path) => {
      const response = await fetch(`${origin}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(response.headers.get('cache-control')).toBe('public, max-age=3600');
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(await response.json()).toEqual({
        resource: 'https://mcp.example.com/mcp',
        authorization_servers: [ISSUER],
        bearer_methods_supported: ['header'],
        scopes_supported: ['mcp:tools'],
      });
    },
  );

  it('ignores a query string', async () => {
    expect((await fetch(`${origin}/.well-known/oauth-protected-resource/mcp?x=1`)).status).toBe(200);
  });

  it('answers HEAD without a body and OPTIONS as a CORS preflight', async () => {
    const head = await fetch(`${origin}/.well-known/oauth-protected-resource/mcp`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const preflight = await fetch(`${origin}/.well-known/oauth-protected-resource/mcp`, { method: 'OPTIONS' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('GET');
  });

  it('refuses other methods with 405 and Allow', async () => {
    const response = await fetch(`${origin}/.well-known/oauth-protected-resource`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });

  it('passes any other path on to next()', async () => {
    passedOn.length = 0;
    for (const path of ['/mcp', '/.well-known/oauth-protected-resource/other']) {
      expect((await fetch(`${origin}${path}`)).status).toBe(404);
    }
    expect(passedOn).toEqual(['/mcp', '/.well-known/oauth-protected-resource/other']);
  });
});
