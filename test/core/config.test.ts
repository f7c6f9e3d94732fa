import { ConfigError, resolveServerConfig } from '../../lambda/core/config';

describe('server configuration', () => {
  const valid = {
    issuer: 'https://auth.example.com',
    resources: [{ id: 'https://mcp.example.com', scopes: ['read'] }],
  };

  it('fills in secure defaults and makes a single resource the default', () => {
    expect(resolveServerConfig(valid)).toEqual({
      ...valid,
      defaultResource: 'https://mcp.example.com',
      accessTokenTtlSeconds: 3600,
      clockSkewSeconds: 60,
      maxBodyBytes: 16384,
      maxAssertionBytes: 8192,
      metadataMaxAgeSeconds: 300,
      interactive: {
        enabled: true,
        productName: 'MCP server',
        transactionTtlSeconds: 600,
        codeTtlSeconds: 60,
        refreshTokens: { idleSeconds: 14 * 86400, absoluteSeconds: 90 * 86400 },
      },
      clientIdMetadataDocuments: { enabled: true },
      dynamicClientRegistration: { enabled: false, maxClients: 1000, unusedLifetimeSeconds: 30 * 86400 },
    });
  });

  it.each([
    ['an http issuer', { issuer: 'http://auth.example.com' }, /issuer must use https/],
    ['an issuer with a query', { issuer: 'https://auth.example.com?x=1' }, /must not have a query/],
    ['an issuer with a trailing slash', { issuer: 'https://auth.example.com/' }, /must not end with a slash/],
    ['a relative resource', { resources: [{ id: '/mcp', scopes: [] }] }, /resources\.0\.id/],
    ['a scope with a space', { resources: [{ id: 'https://m.example', scopes: ['a b'] }] }, /scopes/],
    ['a token lifetime above a day', { accessTokenTtlSeconds: 90000 }, /accessTokenTtlSeconds/],
    ['a DCR cap of 0', { dynamicClientRegistration: { enabled: true, maxClients: 0 } }, /maxClients/],
    [
      'a DCR lifetime under an hour',
      { dynamicClientRegistration: { unusedLifetimeSeconds: 60 } },
      /unusedLifetimeSeconds/,
    ],
    ['an unknown DCR setting', { dynamicClientRegistration: { open: true } }, /open/],
    [
      'DCR without the interactive flow',
      { interactive: { enabled: false }, dynamicClientRegistration: { enabled: true } },
      /dynamicClientRegistration needs the interactive flow/,
    ],
    ['an unknown default resource', { defaultResource: 'https://nope.example' }, /defaultResource/],
    ['an unknown key', { issuerr: 'x' }, /issuerr/],
    ['a code lifetime above 60 seconds', { interactive: { codeTtlSeconds: 61 } }, /interactive\.codeTtlSeconds/],
    ['an empty product name', { interactive: { productName: '' } }, /interactive\.productName/],
    [
      'a refresh token idle lifetime longer than the absolute one',
      { interactive: { refreshTokens: { idleSeconds: 7200, absoluteSeconds: 3600 } } },
      /idleSeconds must not exceed absoluteSeconds/,
    ],
    [
      'a refresh token lifetime above a year',
      { interactive: { refreshTokens: { absoluteSeconds: 366 * 86400 } } },
      /interactive\.refreshTokens\.absoluteSeconds/,
    ],
    [
      'a CIMD host with a path',
      { clientIdMetadataDocuments: { hosts: ['app.example.com/path'] } },
      /clientIdMetadataDocuments\.hosts\.0: hosts are host names/,
    ],
    [
      'a CIMD host in upper case',
      { clientIdMetadataDocuments: { hosts: ['App.Example.com'] } },
      /clientIdMetadataDocuments\.hosts\.0/,
    ],
    [
      'a refresh token lifetime under five minutes',
      { interactive: { refreshTokens: { idleSeconds: 60 } } },
      /interactive\.refreshTokens\.idleSeconds/,
    ],
  ])('rejects %s with a message naming the field', (_, change, message) => {
    expect(() => resolveServerConfig({ ...valid, ...change }, { source: 'TEST_CONFIG' })).toThrow(ConfigError);
    expect(() => resolveServerConfig({ ...valid, ...change }, { source: 'TEST_CONFIG' })).toThrow(message);
  });

  it('accepts an http issuer on loopback only when local mode asks for it', () => {
    const local = { ...valid, issuer: 'http://127.0.0.1:3000' };
    expect(() => resolveServerConfig(local)).toThrow(/https/);
    expect(resolveServerConfig(local, { allowHttpLoopback: true }).issuer).toBe('http://127.0.0.1:3000');
    expect(() => resolveServerConfig({ ...valid, issuer: 'http://evil.example' }, { allowHttpLoopback: true })).toThrow(
      /https/,
    );
  });
});
