import { createHash } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { KmsSigner } from '../../lambda/adapters/kms-signer';
import { signerConfigFrom } from '../../lambda/adapters/signer-config';
import { signJwt } from '../../lambda/core/access-token';
import { ConfigError } from '../../lambda/core/config';
import { TemporarilyUnavailableError } from '../../lambda/core/errors';
import { createTokenEndpoint } from '../../lambda/core/token-endpoint';
import { createFixture, tokenRequest } from '../support/fixture';
import { KmsStandIn } from '../support/kms-transport';
import { expectRejected } from '../support/outcome';

/** A real KMSClient over HTTP to the stand-in's loopback server. */
const httpClient = (endpoint: string) =>
  new KMSClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });

/** The KMS signer through the real KMSClient, answered by node:crypto keys (there is no KMS emulator). */
describe('KMS signer', () => {
  let kms: KmsStandIn;
  beforeEach(() => {
    kms = new KmsStandIn();
  });

  const signer = (options: Partial<ConstructorParameters<typeof KmsSigner>[0]> = {}) =>
    new KmsSigner({
      client: kms.client(),
      keyId: 'key-a',
      previousKeyIds: [],
      nextKeyIds: [],
      algorithm: 'ES256',
      ...options,
    });
  const verify = async (token: string, published: KmsSigner) =>
    jwtVerify(token, createLocalJWKSet({ keys: [...(await published.publicKeys())] }), { typ: 'at+jwt' });

  it.each([
    ['ES256', 'ECC_NIST_P256', 'ECDSA_SHA_256'],
    ['RS256', 'RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256'],
    ['PS256', 'RSA_2048', 'RSASSA_PSS_SHA_256'],
    ['PS256', 'RSA_3072', 'RSASSA_PSS_SHA_256'],
  ] as const)('signs %s tokens (%s key) that verify against the published JWKS', async (alg, spec, kmsAlgorithm) => {
    kms.addKey('key-a', spec);
    const kmsSigner = signer({ algorithm: alg });
    const token = await signJwt(kmsSigner, { sub: 'alice', iat: 1 });
    const { payload, protectedHeader } = await verify(token, kmsSigner);
    expect(payload.sub).toBe('alice');
    expect(protectedHeader).toMatchObject({ alg, kid: (await kmsSigner.activeKey()).kid });
    const sign = kms.calls.find((call) => call.operation === 'Sign')!;
    expect(sign.input).toMatchObject({ KeyId: 'key-a', MessageType: 'DIGEST', SigningAlgorithm: kmsAlgorithm });
    const signingInput = token.split('.').slice(0, 2).join('.');
    const digest = createHash('sha256').update(signingInput).digest('base64');
    expect(Buffer.from(String(sign.input.Message), 'base64')).toHaveLength(32);
    expect(sign.input.Message).toBe(digest);
  });

  it('publishes the public key with an RFC 7638 thumbprint kid, alg and use, and no private part', async () => {
    kms.addKey('key-a');
    const [jwk] = await signer().publicKeys();
    expect(jwk).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
      alg: 'ES256',
      use: 'sig',
      kid: expect.stringMatching(/^[\w-]{43}$/),
    });
    expect(jwk).not.toHaveProperty('d');
  });

  it('verifies 1,000 ES256 signatures, including ones whose r or s has leading zero bytes', async () => {
    kms.addKey('key-a');
    const kmsSigner = signer();
    const jwks = createLocalJWKSet({ keys: [...(await kmsSigner.publicKeys())] });
    // In JOSE form a leading 0x00 in r or s was a DER integer shorter than 32 bytes (about 2 in 256 signatures);
    // a top bit set was a 33-byte DER integer with a 0x00 sign byte (about 3 in 4 signatures).
    const seen = { signed: 0, shortInteger: 0, signByte: 0 };
    while (seen.signed < 1000 || (seen.shortInteger < 3 && seen.signed < 20_000)) {
      const token = await signJwt(kmsSigner, { i: seen.signed });
      const signature = Buffer.from(token.split('.')[2]!, 'base64url');
      expect(signature).toHaveLength(64);
      if (signature[0] === 0 || signature[32] === 0) seen.shortInteger++;
      if (signature[0]! & 0x80 || signature[32]! & 0x80) seen.signByte++;
      await jwtVerify(token, jwks);
      seen.signed++;
    }
    expect(seen.shortInteger).toBeGreaterThanOrEqual(3);
    expect(seen.signByte).toBeGreaterThan(0);
  }, 120_000);

  it('asks KMS for a public key once, however many tokens are signed and JWKS served', async () => {
    kms.addKey('key-a');
    const kmsSigner = signer();
    await Promise.all(Array.from({ length: 20 }, () => signJwt(kmsSigner, {})));
    await kmsSigner.publicKeys();
    expect(kms.count('GetPublicKey')).toBe(1);
    expect(kms.count('Sign')).toBe(20);
  });

  it('does not cache a failed public key fetch', async () => {
    kms.addKey('key-a');
    kms.failure = { name: 'ThrottlingException', status: 400, times: 1 };
    const kmsSigner = signer();
    await expect(kmsSigner.activeKey()).rejects.toBeInstanceOf(TemporarilyUnavailableError);
    await expect(kmsSigner.activeKey()).resolves.toMatchObject({ alg: 'ES256' });
  });

  describe('rotation', () => {
    it('publishes a next key before it signs, then switches, then retires the old key', async () => {
      kms.addKey('key-a');
      kms.addKey('key-b');
      const before = signer({ nextKeyIds: ['key-b'] });
      const oldToken = await signJwt(before, { sub: 'old' });
      const [activeJwk, nextJwk] = await before.publicKeys();
      expect(decodeProtectedHeader(oldToken).kid).toBe(activeJwk!.kid);

      const signedBy = () => kms.calls.filter((call) => call.operation === 'Sign').map((call) => call.input.KeyId);
      expect(signedBy()).toEqual(['key-a']);

      const after = signer({ keyId: 'key-b', previousKeyIds: ['key-a'] });
      const newToken = await signJwt(after, { sub: 'new' });
      expect(signedBy()).toEqual(['key-a', 'key-b']);
      expect(decodeProtectedHeader(newToken).kid).toBe(nextJwk!.kid);
      await expect(verify(oldToken, after)).resolves.toBeDefined();
      await expect(verify(newToken, after)).resolves.toBeDefined();
      const published = (await after.publicKeys()).map((key) => key.kid);
      expect(published).toEqual([nextJwk!.kid, activeJwk!.kid]);

      const retired = signer({ keyId: 'key-b' });
      await expect(verify(oldToken, retired)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
      await expect(verify(newToken, retired)).resolves.toBeDefined();
    });
  });

  describe('KMS errors', () => {
    it.each(['ThrottlingException', 'LimitExceededException', 'KMSInternalException', 'DependencyTimeoutException'])(
      'turns %s into temporarily_unavailable with a generic description',
      async (name) => {
        kms.addKey('key-a');
        const kmsSigner = signer();
        await kmsSigner.activeKey();
        kms.failure = { name, status: name === 'KMSInternalException' ? 500 : 400, times: 1 };
        const error = await kmsSigner.sign(new Uint8Array([1])).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TemporarilyUnavailableError);
        expect((error as TemporarilyUnavailableError).description).not.toMatch(/kms|arn|secret-detail/i);
      },
    );

    it.each(['DisabledException', 'AccessDeniedException', 'NotFoundException', 'KMSInvalidStateException'])(
      'turns %s into a plain error naming only the KMS error',
      async (name) => {
        kms.addKey('key-a');
        const kmsSigner = signer();
        await kmsSigner.activeKey();
        kms.failure = { name, status: 400, times: 1 };
        const error = await kmsSigner.sign(new Uint8Array([1])).catch((e: Error) => e);
        expect(error).not.toBeInstanceOf(TemporarilyUnavailableError);
        expect((error as Error).message).toBe(`kms Sign failed: ${name}`);
      },
    );

    it('refuses a key whose spec does not fit the algorithm, naming the key', async () => {
      kms.addKey('key-a', 'RSA_2048');
      await expect(signer({ algorithm: 'ES256' }).activeKey()).rejects.toThrow(/key-a .*cannot sign ES256/);
    });

    it('refuses a key that is not for signing, naming the key', async () => {
      kms.addKey('key-a', 'ECC_NIST_P256', { usage: 'KEY_AGREEMENT', signingAlgorithms: [] });
      await expect(signer().sign(new Uint8Array([1]))).rejects.toThrow(/key-a .*KEY_AGREEMENT.*cannot sign ES256/);
      expect(kms.count('Sign')).toBe(0);
    });

    it('refuses a key that KMS does not let sign with the configured algorithm', async () => {
      kms.addKey('key-a', 'RSA_2048', { signingAlgorithms: ['RSASSA_PKCS1_V1_5_SHA_256'] });
      await expect(signer({ algorithm: 'PS256' }).activeKey()).rejects.toThrow(/key-a .*cannot sign PS256/);
    });

    it('turns a connection that fails without an answer into temporarily_unavailable', async () => {
      kms.addKey('key-a');
      const kmsSigner = signer();
      await kmsSigner.activeKey();
      kms.networkFailure = { code: 'ECONNRESET', times: 1 };
      const error = await kmsSigner.sign(new Uint8Array([1])).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TemporarilyUnavailableError);
      expect((error as TemporarilyUnavailableError).reason).toBe('kms Sign: Error (ECONNRESET)');
    });

    it('over loopback HTTP: a dropped connection and a refused one are temporarily_unavailable', async () => {
      kms.addKey('key-a');
      const server = await kms.listen();
      const overHttp = signer({ client: httpClient(server.endpoint) });
      try {
        await expect(signJwt(overHttp, { sub: 'alice' })).resolves.toMatch(/^ey/);
        kms.networkFailure = { code: 'ECONNRESET', times: 1 };
        await expect(overHttp.sign(new Uint8Array([1]))).rejects.toBeInstanceOf(TemporarilyUnavailableError);
      } finally {
        await server.close();
      }
      // Nothing listens there any more: the connection is refused.
      await expect(overHttp.sign(new Uint8Array([1]))).rejects.toBeInstanceOf(TemporarilyUnavailableError);
    });

    it('through the token endpoint: throttling gives 503, a disabled key 500, never a token or KMS detail', async () => {
      const f = await createFixture();
      kms.addKey('key-a');
      const kmsSigner = signer();
      const exchange = createTokenEndpoint({ ...f, signer: kmsSigner });

      kms.failure = { name: 'ThrottlingException', status: 400, times: 1 };
      const throttled = await exchange(tokenRequest(await f.idp.mint()));
      expectRejected(throttled, 'temporarily_unavailable', 503);

      kms.keys.get('key-a')!.enabled = false;
      const disabled = await exchange(tokenRequest(await f.idp.mint()));
      expectRejected(disabled, 'server_error', 500);
      kms.keys.get('key-a')!.enabled = true;
      kms.networkFailure = { code: 'ETIMEDOUT', times: 1 };
      const unreachable = await exchange(tokenRequest(await f.idp.mint()));
      expectRejected(unreachable, 'temporarily_unavailable', 503);
      for (const outcome of [throttled, disabled, unreachable]) {
        expect(outcome.response.body).not.toMatch(/kms|arn|secret-detail|Disabled|Throttling/i);
      }
    });
  });
});

describe('signer configuration from the environment', () => {
  it('reads the active, previous and next keys and the algorithm', () => {
    expect(
      signerConfigFrom({
        SIGNING_KEY_ID: 'arn:b',
        PREVIOUS_SIGNING_KEY_IDS: 'arn:a, arn:z',
        NEXT_SIGNING_KEY_IDS: '',
        SIGNING_ALGORITHM: 'PS256',
      }),
    ).toEqual({ keyId: 'arn:b', previousKeyIds: ['arn:a', 'arn:z'], nextKeyIds: [], algorithm: 'PS256' });
  });

  it('defaults to ES256 with no other keys', () => {
    expect(signerConfigFrom({ SIGNING_KEY_ID: 'k' })).toEqual({
      keyId: 'k',
      previousKeyIds: [],
      nextKeyIds: [],
      algorithm: 'ES256',
    });
  });

  it.each([
    [{}, /SIGNING_KEY_ID is not set/],
    [{ SIGNING_KEY_ID: 'k', SIGNING_ALGORITHM: 'HS256' }, /SIGNING_ALGORITHM must be one of/],
    [{ SIGNING_KEY_ID: 'k', PREVIOUS_SIGNING_KEY_IDS: 'k' }, /listed twice/],
  ])('rejects %j with a message naming the variable', (env, message) => {
    expect(() => signerConfigFrom(env)).toThrow(ConfigError);
    expect(() => signerConfigFrom(env)).toThrow(message);
  });
});
