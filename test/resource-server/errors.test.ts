import {
  bearerChallenge,
  InsufficientScopeError,
  InvalidTokenError,
  MissingTokenError,
  VerifierUnavailableError,
} from '../../lib/resource-server';

describe('WWW-Authenticate challenges (RFC 6750 §3, RFC 9728 §5.1)', () => {
  const metadata = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';

  it('is a bare Bearer challenge when there is nothing to say', () => {
    expect(bearerChallenge({})).toBe('Bearer');
  });

  it('quotes every attribute and escapes quotes and backslashes', () => {
    expect(bearerChallenge({ realm: 'a "b" \\c', error: 'invalid_token' })).toBe(
      'Bearer realm="a \\"b\\" \\\\c", error="invalid_token"',
    );
  });

  it('replaces characters that cannot appear in a header value', () => {
    expect(bearerChallenge({ errorDescription: 'line\r\nbreak é' })).toBe('Bearer error_description="line??break ?"');
  });

  it('gives a missing token only the resource metadata, no error code', () => {
    const error = new MissingTokenError(undefined, metadata);
    expect(error.wwwAuthenticate).toBe(`Bearer resource_metadata="${metadata}"`);
    expect(error.status).toBe(401);
    expect(error.body).toBeUndefined();
  });

  it('names the scopes the request needs in a 401 challenge when they are set', () => {
    const missing = new MissingTokenError(undefined, metadata);
    missing.scope = ['mcp:tools', 'mcp:resources'];
    expect(missing.wwwAuthenticate).toBe(`Bearer scope="mcp:tools mcp:resources", resource_metadata="${metadata}"`);
    const invalid = new InvalidTokenError('the access token has expired', 'expired', metadata);
    invalid.scope = ['mcp:tools'];
    expect(invalid.wwwAuthenticate).toBe(
      'Bearer error="invalid_token", error_description="the access token has expired", scope="mcp:tools", ' +
        `resource_metadata="${metadata}"`,
    );
  });

  it('gives invalid_token its code, its description and the resource metadata', () => {
    const error = new InvalidTokenError('the access token has expired', 'expired', metadata);
    expect(error.wwwAuthenticate).toBe(
      `Bearer error="invalid_token", error_description="the access token has expired", resource_metadata="${metadata}"`,
    );
    expect(error.body).toEqual({ error: 'invalid_token', error_description: 'the access token has expired' });
    expect(error.headers['Cache-Control']).toBe('no-store');
  });

  it('gives insufficient_scope the scopes the request needs', () => {
    const error = new InsufficientScopeError(['files:read', 'files:write'], metadata);
    expect(error.status).toBe(403);
    expect(error.wwwAuthenticate).toContain('scope="files:read files:write"');
  });

  it('gives an outage no challenge: it is not the client’s token that is at fault', () => {
    const error = new VerifierUnavailableError('authorization server key set: timeout');
    expect(error.status).toBe(503);
    expect(error.wwwAuthenticate).toBeUndefined();
    expect(error.headers).toEqual({ 'Cache-Control': 'no-store', 'Retry-After': '5' });
    expect(error.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
  });
});
