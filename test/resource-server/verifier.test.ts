import { decodeProtectedHeader, SignJWT } from 'jose';
import {
  type AccessTokenVerifier,
  createAccessTokenVerifier,
  InsufficientScopeError,
  InvalidTokenError,
  MissingTokenError,
  type ResourceServerError,
  VerifierUnavailableError,
  verifyAccessToken,
} from '../../lib/resource-server';
import { HttpStub } from '../support/http-stub';
import { documentedSubject } from '../support/outcome';
import { b64json } from '../support/test-idp';
import { AuthorizationServer, impostor, MCP, OTHER_MCP } from './harness';

const METADATA_URL = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';

/** Rejects with the given error class and RFC 6750 code, and a challenge naming the resource metadata. */
async function expectRefused<T extends ResourceServerError>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
  error: string | undefined,
): Promise<T> {
  const thrown = await promise.then(
    () => {
      throw new Error('expected the token to be refused');
    },
    (reason: unknown) => reason,
  );
  expect(thrown).toBeInstanceOf(type);
  const refusal = thrown as T;
  expect(refusal.error).toBe(error);
  if (refusal.status !== 503) {
    expect(refusal.wwwAuthenticate).toContain(`resource_metadata="${METADATA_URL}"`);
  }
  return refusal;
}

describe('access token verifier', () => {
  let as: AuthorizationServer;
  let verifier: AccessTokenVerifier;

  beforeAll(async () => {
    as = await AuthorizationServer.start();
  });
  afterAll(() => as.close());
  beforeEach(() => {
    verifier = as.verifier();
  });

  describe('accepts', () => {
    it('a token issued by our token endpoint, returning its typed claims', async () => {
      const token = await as.issue({ scope: 'files:read files:write' }, { email: 'jane@acme.example' });
      const claims = await verifier.verify(token);
      expect(claims).toMatchObject({
        iss: as.issuer,
        sub: documentedSubject('acme', as.fixture.idp.issuer, 'user-00u1'),
        aud: MCP,
        tenant: 'acme',
        idp_iss: as.fixture.idp.issuer,
        idp_sub: 'user-00u1',
        client_id: 'claude',
        scope: 'files:read files:write',
        email: 'jane@acme.example',
        iat: as.now(),
        exp: as.now() + 3600,
      });
    });

    it('a token carrying every required scope', async () => {
      const token = await as.issue({ scope: 'files:read files:write' });
      await expect(verifier.verify(token, { requiredScopes: ['files:write', 'files:read'] })).resolves.toMatchObject({
        idp_sub: 'user-00u1',
      });
    });

    it('typ application/at+jwt, the media type form of RFC 9068 §2.1', async () => {
      const token = await as.sign(await as.claims(), 'application/at+jwt');
      await expect(verifier.verify(token)).resolves.toMatchObject({ tenant: 'acme' });
    });

    it('a token expired by less than the clock tolerance', async () => {
      const token = await as.issue();
      const late = as.verifier({ now: () => as.now() + 3600 + 59 });
      await expect(late.verify(token)).resolves.toMatchObject({ tenant: 'acme' });
    });

    it('discovers the key set once from the issuer metadata and then uses its cache', async () => {
      const before = { metadata: as.metadataFetches, jwks: as.jwksFetches };
      const own = as.verifier();
      await own.verify(await as.issue());
      await own.verify(await as.issue());
      expect({ metadata: as.metadataFetches - before.metadata, jwks: as.jwksFetches - before.jwks }).toEqual({
        metadata: 1,
        jwks: 1,
      });
    });
  });

  describe('refuses with invalid_token', () => {
    it('a token for another resource (aud)', async () => {
      const token = await as.issue({ resource: OTHER_MCP });
      const refusal = await expectRefused(verifier.verify(token), InvalidTokenError, 'invalid_token');
      expect(refusal.description).toBe('the access token is for another resource');
      expect(refusal.status).toBe(401);
    });

    it('an expired token', async () => {
      const token = await as.issue();
      const late = as.verifier({ now: () => as.now() + 3600 + 61 });
      const refusal = await expectRefused(late.verify(token), InvalidTokenError, 'invalid_token');
      expect(refusal.description).toBe('the access token has expired');
    });

    it('a token issued in the future beyond the clock tolerance', async () => {
      const token = await as.issue();
      const early = as.verifier({ now: () => as.now() - 61 });
      const refusal = await expectRefused(early.verify(token), InvalidTokenError, 'invalid_token');
      expect(refusal.description).toBe('the access token was issued in the future');
    });

    it.each([['JWT'], ['oauth-id-jag+jwt'], ['application/jwt']])('a token of typ %s', async (typ) => {
      const token = await as.sign(await as.claims(), typ);
      const refusal = await expectRefused(verifier.verify(token), InvalidTokenError, 'invalid_token');
      expect(refusal.description).toMatch(/typ must be at\+jwt/);
    });

    it('a token without typ', async () => {
      const claims = await as.claims();
      const signer = as.fixture.signer;
      const { kid } = await signer.activeKey();
      const input = `${b64json({ alg: 'ES256', kid })}.${b64json(claims)}`;
      const signature = Buffer.from(await signer.sign(new TextEncoder().encode(input))).toString('base64url');
      await expectRefused(verifier.verify(`${input}.${signature}`), InvalidTokenError, 'invalid_token');
    });

    it('an unsigned token (alg none)', async () => {
      const token = `${b64json({ alg: 'none', typ: 'at+jwt' })}.${b64json(await as.claims())}.`;
      await expectRefused(verifier.verify(token), InvalidTokenError, 'invalid_token');
    });

    it('an HS256 token, without fetching any key', async () => {
      const { kid } = await as.fixture.signer.activeKey();
      const before = as.jwksFetches;
      const token = await new SignJWT(await as.claims())
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid })
        .sign(new TextEncoder().encode('a-shared-secret-anyone-could-guess-0123'));
      const refusal = await expectRefused(verifier.verify(token), InvalidTokenError, 'invalid_token');
      expect(refusal.description).toMatch(/algorithm/);
      expect(as.jwksFetches).toBe(before);
    });

    it('a token signed by an unknown key (kid not in the JWKS)', async () => {
      const token = await as.sign(await as.claims(), 'at+jwt', impostor('no-such-kid'));
      const refusal = await expectRefused(verifier.verify(token), InvalidTokenError, 'invalid_token');
      expect(refusal.description).toBe('the access token is signed with an unknown key');
    });

    it('a token signed by another key that claims our kid', async () => {
      const { kid } = await as.fixture.signer.activeKey();
      const token = await as.sign(await as.claims(), 'at+jwt', impostor(kid));
      expect(decodeProtectedHeader(token).kid).toBe(kid);
      const refusal = await expectRefused(verifier.verify(token), InvalidTokenError, 'invalid_token');
      expect(refusal.description).toBe('the access token signature is invalid');
    });

    it('a token whose signature was altered', async () => {
      const [header, payload] = (await as.issue()).split('.');
      const forged = `${header}.${payload}.${Buffer.from('not a signature').toString('base64url')}`;
      await expectRefused(verifier.verify(forged), InvalidTokenError, 'invalid_token');
    });

    it('a token from another authorization server (its own keys and issuer)', async () => {
      const other = await AuthorizationServer.start();
      try {
        const token = await other.issue();
        await expectRefused(verifier.verify(token), InvalidTokenError, 'invalid_token');
        expect(other.jwksFetches).toBe(0);
      } finally {
        await other.close();
      }
    });

    it('a token signed with our key that names another issuer', async () => {
      const token = await as.sign({ ...(await as.claims()), iss: 'https://evil.example' });
      const refusal = await expectRefused(verifier.verify(token), InvalidTokenError, 'invalid_token');
      expect(refusal.description).toBe('the access token was issued by another issuer');
    });

    it.each(['sub', 'client_id', 'tenant', 'idp_iss', 'idp_sub', 'jti', 'exp', 'iat'])(
      'a token without %s',
      async (claim) => {
        const claims = await as.claims();
        delete claims[claim];
        await expectRefused(verifier.verify(await as.sign(claims)), InvalidTokenError, 'invalid_token');
      },
    );

    it.each([
      ['scope', ['files:read']],
      ['email', 42],
      ['sub', ''],
      ['amr', 'pwd'],
    ])('a token whose %s claim has the wrong type', async (claim, value) => {
      const token = await as.sign({ ...(await as.claims()), [claim]: value });
      await expectRefused(verifier.verify(token), InvalidTokenError, 'invalid_token');
    });

    it.each([
      ['an opaque string', 'opaque-token-value'],
      ['a JWE-shaped token', 'a.b.c.d.e'],
      ['undecodable parts', 'e30.e30.e30'],
    ])('%s', async (_, token) => {
      const refusal = await expectRefused(verifier.verify(token), InvalidTokenError, 'invalid_token');
      expect(refusal.description).toMatch(/malformed|not an access token/);
    });
  });

  describe('refuses with insufficient_scope', () => {
    it('a valid token without a scope the request needs, naming the scopes in the challenge', async () => {
      const token = await as.issue({ scope: 'files:read' });
      const refusal = await expectRefused(
        verifier.verify(token, { requiredScopes: ['files:read', 'files:write'] }),
        InsufficientScopeError,
        'insufficient_scope',
      );
      expect(refusal.status).toBe(403);
      expect(refusal.wwwAuthenticate).toBe(
        `Bearer error="insufficient_scope", error_description="the access token lacks a required scope", ` +
          `scope="files:read files:write", resource_metadata="${METADATA_URL}"`,
      );
    });

    it('a token without the scopes the verifier always requires', async () => {
      const strict = as.verifier({ requiredScopes: ['admin'] });
      await expectRefused(strict.verify(await as.issue()), InsufficientScopeError, 'insufficient_scope');
    });
  });

  it('refuses a missing token with a challenge that has no error code (RFC 6750 §3.1)', async () => {
    for (const token of [undefined, null, '']) {
      const refusal = await expectRefused(verifier.verify(token), MissingTokenError, undefined);
      expect(refusal.status).toBe(401);
      expect(refusal.wwwAuthenticate).toBe(`Bearer resource_metadata="${METADATA_URL}"`);
      expect(refusal.body).toBeUndefined();
    }
  });

  it('names every scope it requires in the challenge of a 401, so that MCP clients ask for exactly those', async () => {
    const strict = as.verifier({ requiredScopes: ['files:read'] });
    const missing = await expectRefused(
      strict.verify(undefined, { requiredScopes: ['files:write'] }),
      MissingTokenError,
      undefined,
    );
    expect(missing.wwwAuthenticate).toBe(`Bearer scope="files:read files:write", resource_metadata="${METADATA_URL}"`);
    const expired = await as.sign({ ...(await as.claims()), exp: as.now() - 3600, iat: as.now() - 7200 });
    const invalid = await expectRefused(strict.verify(expired), InvalidTokenError, 'invalid_token');
    expect(invalid.wwwAuthenticate).toMatch(
      /^Bearer error="invalid_token", .*, scope="files:read", resource_metadata=/,
    );
  });

  it('never puts the token in an error', async () => {
    const token = await as.issue({ resource: OTHER_MCP });
    const refusal = await expectRefused(verifier.verify(token), InvalidTokenError, 'invalid_token');
    const everything = JSON.stringify([refusal.message, refusal.description, refusal.reason, refusal.headers]);
    for (const part of token.split('.')) expect(everything).not.toContain(part);
  });

  describe('key rotation', () => {
    it('follows a new key published after start-up with one refetch', async () => {
      const local = await AuthorizationServer.start();
      try {
        const own = local.verifier({ jwksCooldownMs: 0 });
        await own.verify(await local.issue());
        expect(local.jwksFetches).toBe(1);
        const next = await local.rotate();
        const token = await local.issue();
        expect(decodeProtectedHeader(token).kid).toBe((await next.activeKey()).kid);
        await expect(own.verify(token)).resolves.toMatchObject({ tenant: 'acme' });
        expect(local.jwksFetches).toBe(2);
      } finally {
        await local.close();
      }
    });

    it('does not refetch the key set for an unknown kid within the cooldown', async () => {
      const local = await AuthorizationServer.start();
      try {
        const own = local.verifier();
        await own.verify(await local.issue());
        for (let i = 0; i < 3; i++) {
          const token = await local.sign(await local.claims(), 'at+jwt', impostor(`kid-${i}`));
          await expectRefused(own.verify(token), InvalidTokenError, 'invalid_token');
        }
        expect(local.jwksFetches).toBe(1);
      } finally {
        await local.close();
      }
    });
  });

  describe('discovery and outages: a 503-class VerifierUnavailableError, never invalid_token and never success', () => {
    let other: HttpStub;
    beforeEach(async () => {
      other = await HttpStub.start();
    });
    afterEach(() => other.close());

    it('refuses authorization server metadata that names another issuer', async () => {
      other.json('/.well-known/oauth-authorization-server', { issuer: as.issuer, jwks_uri: `${as.issuer}/jwks.json` });
      const own = as.verifier({ issuer: other.origin });
      const refusal = await expectRefused(
        own.verify(await as.issue()),
        VerifierUnavailableError,
        'temporarily_unavailable',
      );
      expect(refusal.status).toBe(503);
      expect(refusal.reason).toMatch(/is not the configured/);
      expect(refusal.wwwAuthenticate).toBeUndefined();
      expect(refusal.headers).toMatchObject({ 'Retry-After': expect.any(String) });
    });

    it('refuses a jwks_uri on plain http off loopback', async () => {
      other.json('/.well-known/oauth-authorization-server', {
        issuer: other.origin,
        jwks_uri: 'http://keys.example.com/jwks.json',
      });
      const own = as.verifier({ issuer: other.origin });
      await expectRefused(own.verify(await as.issue()), VerifierUnavailableError, 'temporarily_unavailable');
    });

    it('answers 503 while the metadata is unavailable, and discovers again on the next request', async () => {
      const own = as.verifier({ issuer: other.origin });
      const token = await as.sign({ ...(await as.claims()), iss: other.origin });
      const refusal = await expectRefused(own.verify(token), VerifierUnavailableError, 'temporarily_unavailable');
      expect(refusal.reason).toMatch(/HTTP 404/);
      other.json('/.well-known/oauth-authorization-server', {
        issuer: other.origin,
        jwks_uri: `${as.issuer}/jwks.json`,
      });
      await expect(own.verify(token)).resolves.toMatchObject({ iss: other.origin });
    });

    it('answers 503 when the key set cannot be fetched', async () => {
      other.routes.set('/jwks.json', (_, response) => void response.writeHead(500).end());
      const own = as.verifier({ jwksUri: `${other.origin}/jwks.json` });
      await expectRefused(own.verify(await as.issue()), VerifierUnavailableError, 'temporarily_unavailable');
    });

    it('answers 503 when the key set is not a JWKS', async () => {
      other.json('/jwks.json', { keys: 'none' });
      const own = as.verifier({ jwksUri: `${other.origin}/jwks.json` });
      await expectRefused(own.verify(await as.issue()), VerifierUnavailableError, 'temporarily_unavailable');
    });

    it('answers 503 when the authorization server does not answer at all', async () => {
      const origin = other.origin;
      await other.close();
      other = await HttpStub.start();
      const own = as.verifier({ issuer: origin });
      await expectRefused(own.verify(await as.issue()), VerifierUnavailableError, 'temporarily_unavailable');
    });

    it('finds the metadata of an issuer with a path at the RFC 8414 path-inserted URL', async () => {
      const issuer = `${other.origin}/tenant-a`;
      other.json('/.well-known/oauth-authorization-server/tenant-a', { issuer, jwks_uri: `${as.issuer}/jwks.json` });
      const token = await as.sign({ ...(await as.claims()), iss: issuer });
      await expect(as.verifier({ issuer }).verify(token)).resolves.toMatchObject({ iss: issuer });
      expect(other.count('/.well-known/oauth-authorization-server/tenant-a')).toBe(1);
    });

    it('skips discovery when given the jwks_uri', async () => {
      const before = as.metadataFetches;
      const own = as.verifier({ jwksUri: `${as.issuer}/jwks.json` });
      await expect(own.verify(await as.issue())).resolves.toMatchObject({ tenant: 'acme' });
      expect(as.metadataFetches).toBe(before);
    });
  });

  describe('options', () => {
    it.each([
      ['an http issuer off loopback', { issuer: 'http://auth.example.com' }, /issuer must use https/],
      ['an issuer with a trailing slash', { issuer: 'https://auth.example.com/' }, /must not end with a slash/],
      ['an issuer that is not a URL', { issuer: 'auth.example.com' }, /absolute URL/],
      ['a symmetric algorithm', { algorithms: ['ES256', 'HS256'] }, /HS256 is not an accepted/],
      ['alg none', { algorithms: ['none'] }, /none is not an accepted/],
      ['an empty audience', { audience: '' }, /audience/],
      ['a negative clock tolerance', { clockToleranceSeconds: -1 }, /clockToleranceSeconds/],
    ])('refuses %s when the verifier is created', (_, options, message) => {
      expect(() =>
        createAccessTokenVerifier({ issuer: 'https://auth.example.com', audience: MCP, ...options }),
      ).toThrow(message);
    });

    it('derives the resource_metadata URL from the audience unless told', () => {
      expect(createAccessTokenVerifier({ issuer: as.issuer, audience: MCP }).resourceMetadataUrl).toBe(METADATA_URL);
      const told = createAccessTokenVerifier({
        issuer: as.issuer,
        audience: 'urn:example:mcp',
        resourceMetadataUrl: 'https://mcp.example.com/.well-known/oauth-protected-resource',
      });
      expect(told.resourceMetadataUrl).toBe('https://mcp.example.com/.well-known/oauth-protected-resource');
    });

    it('verifyAccessToken reuses one verifier, and its keys, for the same options', async () => {
      const local = await AuthorizationServer.start();
      try {
        const options = { issuer: local.issuer, audience: MCP, now: local.now };
        await expect(verifyAccessToken(await local.issue(), options)).resolves.toMatchObject({ tenant: 'acme' });
        await expect(verifyAccessToken(await local.issue(), { ...options })).resolves.toMatchObject({ tenant: 'acme' });
        await expectRefused(
          verifyAccessToken(await local.issue(), { ...options, requiredScopes: ['admin'] }),
          InsufficientScopeError,
          'insufficient_scope',
        );
        expect({ metadata: local.metadataFetches, jwks: local.jwksFetches }).toEqual({ metadata: 1, jwks: 1 });
      } finally {
        await local.close();
      }
    });
  });
});
