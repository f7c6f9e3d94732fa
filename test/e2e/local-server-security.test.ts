import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalServer, startLocalServer } from '../../bin/local/server';
import { hashClientSecret } from '../../lambda/core/secrets';
import { HttpStub } from '../support/http-stub';
import { b64json, TestIdp } from '../support/test-idp';

const RESOURCE = 'https://mcp.example.com/mcp';
const CLIENT_ID = 'security-client';
const SECRET = 'security-client-secret-0123456789-abcdefghij';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/**
 * Security review findings, black box: the local server over real HTTP on 127.0.0.1 (its embedded dynalite, the real
 * DynamoDB adapter, the system clock), with test IdPs whose key sets it fetches over loopback.
 */
describe('local server security, end to end over HTTP', () => {
  let dataDir: string;
  let idpHost: HttpStub;
  let server: LocalServer;
  /** Trusted by tenant acme with the default algorithms. */
  let idp: TestIdp;
  /** Trusted by tenant strict, which allows ES256 only; this IdP signs RS256. */
  let strictIdp: TestIdp;
  /** Same issuer and kid as `idp`, another private key: a forgery. */
  let forger: TestIdp;
  /** Nobody trusts it. */
  let stranger: TestIdp;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'id-jag-security-'));
    idpHost = await HttpStub.start();
    const issuer = `${idpHost.origin}/idp`;
    const strictIssuer = `${idpHost.origin}/strict`;
    idpHost.json('/idp/keys', () => idp.jwks);
    idpHost.json('/strict/keys', () => strictIdp.jwks);
    const configPath = join(dataDir, 'config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        resources: [{ id: RESOURCE, scopes: ['tools:call'] }],
        tenants: [
          { id: 'acme', issuers: [{ issuer, jwksUri: `${issuer}/keys` }] },
          { id: 'strict', issuers: [{ issuer: strictIssuer, jwksUri: `${strictIssuer}/keys`, algorithms: ['ES256'] }] },
        ],
        clients: [{ clientId: CLIENT_ID, authMethod: 'client_secret_basic', secretHash: hashClientSecret(SECRET) }],
      }),
    );
    server = await startLocalServer({ port: 0, dataDir, configPath, inMemory: true, write: () => undefined });
    const audience = server.issuer;
    idp = await TestIdp.create({ issuer, audience, clientId: CLIENT_ID, kid: 'idp-key' });
    // Another key under the same kid, minting in the trusted issuer's name.
    forger = await TestIdp.create({ issuer: `${issuer}/forger`, audience, clientId: CLIENT_ID, kid: 'idp-key' });
    strictIdp = await TestIdp.create({ issuer: strictIssuer, audience, clientId: CLIENT_ID });
    stranger = await TestIdp.create({ issuer: `${idpHost.origin}/stranger`, audience, clientId: CLIENT_ID });
  });

  afterAll(async () => {
    await server.close();
    await idpHost.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const exchange = async (assertion: string) => {
    const response = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: JWT_BEARER, assertion }).toString(),
    });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  };

  it('of many requests carrying one assertion across its exp + skew boundary, exactly one ever gets a token', async () => {
    // The server accepts an assertion while floor(now) - 60 < exp. With exp = B - 59.5 for a whole second B just
    // ahead, it is accepted until the clock reaches B + 1; the replays run from shortly before that until after it.
    const boundary = Math.ceil(Date.now() / 1000) + 1;
    const exp = boundary - 60 + 0.5;
    const assertion = await idp.mint({ claims: { exp, iat: Math.floor(exp) - 200 } });
    const first = await exchange(assertion);
    expect(first.status).toBe(200);

    const start = (boundary + 0.8) * 1000;
    const stop = (boundary + 1.4) * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, start - Date.now())));
    const statuses: number[] = [];
    const replayer = async () => {
      while (Date.now() < stop) statuses.push((await exchange(assertion)).status);
    };
    await Promise.all(Array.from({ length: 16 }, replayer));

    // Every replayer sent at least one request within the window (a loaded machine may manage no more than that).
    expect(statuses.length).toBeGreaterThanOrEqual(16);
    expect(statuses.filter((status) => status === 200)).toEqual([]);
    expect(new Set(statuses)).toEqual(new Set([400]));
  });

  it('answers every assertion refused before its signature is verified the same way', async () => {
    const refusals = await Promise.all(
      [
        stranger.mint(),
        forger.mint({ claims: { iss: idp.issuer } }),
        strictIdp.mint(),
        idp.mint({ header: { typ: 'JWT' } }),
        idp.mint({ claims: { iss: undefined } }),
        Promise.resolve('not-a-jwt'),
        Promise.resolve(['eyJhbGciOiJSU0EtT0FFUCJ9', 'a', 'b', 'c', 'd'].join('.')),
        Promise.resolve(`${b64json({ alg: 'none', typ: 'oauth-id-jag+jwt' })}.${b64json({ iss: idp.issuer })}.`),
      ].map(async (pending) => exchange(await pending)),
    );
    for (const refusal of refusals) expect(refusal).toEqual(refusals[0]);
    expect(refusals[0]).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'assertion is not a valid ID-JAG signed by a trusted issuer' },
    });
    // The same IdP's genuine assertion is still accepted: the refusals above were the forgeries'.
    expect((await exchange(await idp.mint())).status).toBe(200);
  });
});
