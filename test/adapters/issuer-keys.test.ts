import { type CryptoKey, compactVerify, exportJWK, generateKeyPair, type JSONWebKeySet, type JWK, SignJWT } from 'jose';
import { RemoteKeyResolver } from '../../lambda/adapters/issuer-keys';
import { createSafeFetch, isPrivateAddress, RefusedUrlError } from '../../lambda/adapters/safe-fetch';
import { InvalidGrantError, TemporarilyUnavailableError } from '../../lambda/core/errors';
import { HttpStub } from '../support/http-stub';

interface Key {
  privateKey: CryptoKey;
  jwk: JWK;
}

async function key(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } };
}

const sign = (signer: Key) =>
  new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'ES256', kid: signer.jwk.kid }).sign(signer.privateKey);

/** The issuer key resolver against a real HTTP server on loopback (local mode allows http there). */
describe('issuer key resolver', () => {
  let idp: HttpStub;
  let first: Key;
  let second: Key;
  const local = { allowHttpLoopback: true, allowPrivateAddresses: true, timeoutMs: 500 };

  beforeAll(async () => {
    [first, second] = await Promise.all([key('k1'), key('k2')]);
  });
  beforeEach(async () => {
    idp = await HttpStub.start();
  });
  afterEach(async () => {
    await idp.close();
  });

  const verify = (resolver: RemoteKeyResolver, token: string, source = { jwksUri: `${idp.origin}/keys` }) =>
    compactVerify(token, resolver.keysFor(source), { algorithms: ['ES256'] });

  it('verifies with a registered jwks_uri and caches the key set', async () => {
    idp.json('/keys', { keys: [first.jwk] });
    const resolver = new RemoteKeyResolver(local);
    await verify(resolver, await sign(first));
    await verify(resolver, await sign(first));
    expect(idp.count('/keys')).toBe(1);
  });

  it('refetches for an unknown kid (rotation), but not again within the cooldown', async () => {
    let keys = [first.jwk];
    idp.json('/keys', () => ({ keys }));
    const patient = new RemoteKeyResolver({ ...local, cooldownMs: 60_000 });
    await verify(patient, await sign(first));
    keys = [first.jwk, second.jwk];
    // Fetched moments ago, within the cooldown: an unknown kid does not trigger a refetch yet.
    await expect(verify(patient, await sign(second))).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(idp.count('/keys')).toBe(1);

    const eager = new RemoteKeyResolver({ ...local, cooldownMs: 0 });
    keys = [first.jwk];
    await verify(eager, await sign(first));
    keys = [first.jwk, second.jwk];
    await verify(eager, await sign(second));
    expect(idp.count('/keys')).toBe(3);
  });

  it('discovers jwks_uri from OpenID configuration when none is registered', async () => {
    idp.json('/.well-known/openid-configuration', { issuer: idp.origin, jwks_uri: `${idp.origin}/discovered` });
    idp.json('/discovered', { keys: [first.jwk] });
    const resolver = new RemoteKeyResolver(local);
    await compactVerify(await sign(first), resolver.keysFor({ issuer: idp.origin }), { algorithms: ['ES256'] });
    expect(idp.count('/discovered')).toBe(1);
  });

  it('falls back to RFC 8414 metadata with the well-known segment inserted before the issuer path', async () => {
    const issuer = `${idp.origin}/tenant-a`;
    idp.json('/.well-known/oauth-authorization-server/tenant-a', { issuer, jwks_uri: `${idp.origin}/k` });
    idp.json('/k', { keys: [first.jwk] });
    const resolver = new RemoteKeyResolver(local);
    await compactVerify(await sign(first), resolver.keysFor({ issuer }), { algorithms: ['ES256'] });
    expect(idp.count('/tenant-a/.well-known/openid-configuration')).toBe(1);
  });

  it('does not use discovered metadata that names another issuer: temporarily_unavailable', async () => {
    idp.json('/.well-known/openid-configuration', { issuer: 'https://impostor.example', jwks_uri: `${idp.origin}/k` });
    idp.json('/k', { keys: [first.jwk] });
    const getKey = new RemoteKeyResolver(local).keysFor({ issuer: idp.origin });
    await expect(compactVerify(await sign(first), getKey, { algorithms: ['ES256'] })).rejects.toMatchObject({
      error: 'temporarily_unavailable',
      reason: expect.stringMatching(/names another issuer/),
    });
    expect(idp.count('/k')).toBe(0);
  });

  it('answers an issuer that returns 500 with temporarily_unavailable', async () => {
    idp.routes.set('/keys', (_, response) => response.writeHead(500).end('oops'));
    await expect(verify(new RemoteKeyResolver(local), await sign(first))).rejects.toBeInstanceOf(
      TemporarilyUnavailableError,
    );
  });

  it('answers an unreachable issuer with temporarily_unavailable', async () => {
    const origin = idp.origin;
    await idp.close();
    const resolver = new RemoteKeyResolver(local);
    await expect(verify(resolver, await sign(first), { jwksUri: `${origin}/keys` })).rejects.toBeInstanceOf(
      TemporarilyUnavailableError,
    );
    idp = await HttpStub.start();
  });

  it('gives up on a slow issuer at the timeout with temporarily_unavailable', async () => {
    idp.routes.set('/keys', () => undefined);
    const resolver = new RemoteKeyResolver({ ...local, timeoutMs: 200 });
    await expect(verify(resolver, await sign(first))).rejects.toBeInstanceOf(TemporarilyUnavailableError);
  });

  it('refuses a key set larger than the cap', async () => {
    idp.routes.set('/keys', (_, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(`{"keys":[],"padding":"${'x'.repeat(200_000)}"}`);
    });
    await expect(verify(new RemoteKeyResolver(local), await sign(first))).rejects.toBeInstanceOf(
      TemporarilyUnavailableError,
    );
  });

  it('does not follow a redirect', async () => {
    idp.json('/elsewhere', { keys: [first.jwk] });
    idp.routes.set('/keys', (_, response) => response.writeHead(302, { location: `${idp.origin}/elsewhere` }).end());
    await expect(verify(new RemoteKeyResolver(local), await sign(first))).rejects.toMatchObject({
      error: 'temporarily_unavailable',
      reason: 'issuer keys: HTTP 302',
    });
    expect(idp.count('/elsewhere')).toBe(0);
  });

  it('refuses a body that is not JSON', async () => {
    idp.routes.set('/keys', (_, response) => response.writeHead(200).end('<html>'));
    await expect(verify(new RemoteKeyResolver(local), await sign(first))).rejects.toMatchObject({
      error: 'temporarily_unavailable',
      reason: 'issuer keys: body is not JSON',
    });
  });

  it('refuses plain http outside local mode, without connecting', async () => {
    idp.json('/keys', { keys: [first.jwk] });
    const resolver = new RemoteKeyResolver({ allowPrivateAddresses: true });
    await expect(verify(resolver, await sign(first))).rejects.toBeInstanceOf(TemporarilyUnavailableError);
    expect(idp.count('/keys')).toBe(0);
  });

  it('refuses loopback and private addresses outside local mode, without connecting', async () => {
    idp.json('/keys', { keys: [first.jwk] });
    const resolver = new RemoteKeyResolver({ allowHttpLoopback: true });
    await expect(verify(resolver, await sign(first))).rejects.toBeInstanceOf(TemporarilyUnavailableError);
    expect(idp.count('/keys')).toBe(0);
  });
});

describe('inline key sets', () => {
  let signer: Key;
  beforeAll(async () => {
    signer = await key('k1');
  });
  const verifyWith = async (jwks: unknown) =>
    compactVerify(await sign(signer), new RemoteKeyResolver().keysFor({ jwks: jwks as JSONWebKeySet }), {
      algorithms: ['ES256'],
    });

  it('verifies with the registered keys', async () => {
    await expect(verifyWith({ keys: [signer.jwk] })).resolves.toHaveProperty('payload');
  });

  it('a selected key that cannot be imported is a jose key set error, not a crash', async () => {
    await expect(verifyWith({ keys: [{ ...signer.jwk, x: 'AAAA' }] })).rejects.toMatchObject({
      code: 'ERR_JWKS_INVALID',
      message: expect.stringMatching(/cannot be imported/),
    });
  });

  it('a malformed set is a jose key set error when used, and keysFor does not throw', async () => {
    const resolver = new RemoteKeyResolver();
    expect(() => resolver.keysFor({ jwks: { keys: 'none' } as never })).not.toThrow();
    await expect(verifyWith({ keys: 'none' })).rejects.toMatchObject({ code: 'ERR_JWKS_INVALID' });
  });

  it('a key source with no keys and no issuer is invalid_grant', async () => {
    const getKey = new RemoteKeyResolver().keysFor({});
    await expect(compactVerify(await sign(signer), getKey)).rejects.toBeInstanceOf(InvalidGrantError);
  });
});

describe('safe fetch', () => {
  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.20.0.1', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['::1', true],
    ['fd00::1', true],
    ['fe80::1', true],
    ['::ffff:10.0.0.1', true],
    ['8.8.8.8', false],
    ['2606:4700:4700::1111', false],
  ])('classifies %s as private: %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });

  it('refuses a name that resolves to a private address (no SSRF through DNS)', async () => {
    const fetch = createSafeFetch({ maxBytes: 1000 });
    // "localhost" is a name, not an IP literal: the guarded lookup resolves it and refuses the loopback address.
    await expect(fetch('https://localhost:1/keys')).rejects.toBeInstanceOf(RefusedUrlError);
  });
});
