import { constants, generateKeyPairSync, KeyObject, sign, webcrypto } from 'node:crypto';
import {
  type CompactJWSHeaderParameters,
  type CompactVerifyResult,
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import { type CompactJws, verifyCompactJws } from '../../lambda/core/jws';
import { b64json } from '../support/test-idp';

/**
 * `verifyCompactJws` checks plain signatures with node:crypto and leaves every other case to jose; either way it must
 * answer exactly as jose's `compactVerify` does. Each case runs both and compares result or error.
 */
type Alg = 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA';

interface TestKey {
  readonly alg: Alg;
  readonly privateKey: KeyObject;
  readonly jwk: JWK;
}

const keyPairs: Record<Alg, () => { privateKey: KeyObject; publicKey: KeyObject }> = {
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  PS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  ES384: () => generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  ES512: () => generateKeyPairSync('ec', { namedCurve: 'P-521' }),
  EdDSA: () => generateKeyPairSync('ed25519'),
};

async function testKey(alg: Alg, kid: string = alg): Promise<TestKey> {
  const { privateKey, publicKey } = keyPairs[alg]();
  return { alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

function signWith(alg: string, privateKey: KeyObject, input: string): Buffer {
  const data = Buffer.from(input);
  if (alg.startsWith('ES')) {
    return sign(`sha${alg.slice(2)}`, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  }
  if (alg.startsWith('PS')) {
    return sign(`sha${alg.slice(2)}`, data, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
  }
  if (alg === 'EdDSA') return sign(null, data, privateKey);
  return sign(`sha${alg.slice(2)}`, data, privateKey);
}

/** A compact JWS over any header and claims, signed with `key` by the header's alg (or `signAs`). */
function token(key: TestKey, header: Record<string, unknown> = {}, claims: Record<string, unknown> = {}, signAs?: Alg) {
  const input = `${b64json({ alg: key.alg, kid: key.jwk.kid, ...header })}.${b64json({ sub: 'user', ...claims })}`;
  return `${input}.${signWith(signAs ?? key.alg, key.privateKey, input).toString('base64url')}`;
}

type Outcome = { payload: string; header: unknown } | { error: string; code?: string; message: string };

async function outcome(verification: Promise<CompactVerifyResult>): Promise<Outcome> {
  try {
    const { payload, protectedHeader } = await verification;
    return { payload: Buffer.from(payload).toString('utf8'), header: { ...protectedHeader } };
  } catch (error) {
    const { name, message, code } = error as Error & { code?: string };
    return { error: name, code, message };
  }
}

function compactJws(jws: string): CompactJws {
  const firstDot = jws.indexOf('.');
  const header = decodeProtectedHeader(jws) as CompactJWSHeaderParameters;
  return { token: jws, header, firstDot, secondDot: jws.indexOf('.', firstDot + 1) };
}

/** Runs both verifiers and expects the same answer; returns it for assertions about which answer it is. */
async function bothAgree(jws: string, keys: JWTVerifyGetKey, algorithms: readonly string[]): Promise<Outcome> {
  const ours = await outcome(verifyCompactJws(compactJws(jws), keys, algorithms));
  const jose = await outcome(compactVerify(jws, keys, { algorithms: [...algorithms] }));
  expect(ours).toEqual(jose);
  return ours;
}

const ALL: readonly Alg[] = ['RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'];

describe('compact JWS verification agrees with jose', () => {
  const keys = new Map<Alg, TestKey>();
  let keySet: JWTVerifyGetKey;
  beforeAll(async () => {
    for (const alg of ALL) keys.set(alg, await testKey(alg));
    keySet = createLocalJWKSet({ keys: [...keys.values()].map((key) => key.jwk) });
  });
  const key = (alg: Alg) => keys.get(alg)!;

  describe.each(ALL)('%s', (alg) => {
    it('accepts a valid signature and returns the same payload and header', async () => {
      const result = await bothAgree(token(key(alg)), keySet, ALL);
      expect(result).toMatchObject({ header: { alg }, payload: '{"sub":"user"}' });
    });

    it('checks a plain signature without WebCrypto', async () => {
      const subtleVerify = jest.spyOn(webcrypto.subtle, 'verify');
      try {
        await verifyCompactJws(compactJws(token(key(alg))), keySet, ALL);
        expect(subtleVerify).not.toHaveBeenCalled();
      } finally {
        subtleVerify.mockRestore();
      }
    });

    it('refuses a signature over other claims', async () => {
      const [header, , signature] = token(key(alg)).split('.');
      const forged = `${header}.${b64json({ sub: 'admin' })}.${signature}`;
      expect(await bothAgree(forged, keySet, ALL)).toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    });

    it('refuses a signature with one byte changed', async () => {
      const [header, payload, signature] = token(key(alg)).split('.');
      const bytes = Buffer.from(signature!, 'base64url');
      bytes[5]! ^= 1;
      const forged = `${header}.${payload}.${bytes.toString('base64url')}`;
      expect(await bothAgree(forged, keySet, ALL)).toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    });

    it.each([
      ['empty', () => ''],
      ['one character short (undecodable)', (s: string) => s.slice(0, -1).padEnd(4 * Math.ceil(s.length / 4) + 1, 'A')],
      // The last byte, not the first: an RSA signature that starts with a zero byte still verifies without it.
      ['one byte short', (s: string) => Buffer.from(s, 'base64url').subarray(0, -1).toString('base64url')],
      [
        'one byte long',
        (s: string) => Buffer.concat([Buffer.from(s, 'base64url'), Buffer.of(0)]).toString('base64url'),
      ],
    ])('answers as jose for a signature that is %s', async (_, change) => {
      const [header, payload, signature] = token(key(alg)).split('.');
      const changed = `${header}.${payload}.${change(signature!)}`;
      expect(await bothAgree(changed, keySet, ALL)).toHaveProperty('error');
    });

    it('refuses an alg outside the allowlist', async () => {
      const others = ALL.filter((other) => other !== alg);
      expect(await bothAgree(token(key(alg)), keySet, others)).toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    });

    it('refuses a key of another algorithm under the same kid', async () => {
      const other = key(alg === 'ES256' ? 'RS256' : 'ES256');
      const forged = token({ ...other, jwk: key(alg).jwk }, { alg }, {}, other.alg);
      expect(await bothAgree(forged, keySet, ALL)).toHaveProperty('error');
    });

    it('refuses when no key matches the kid', async () => {
      const result = await bothAgree(token(key(alg), { kid: 'unknown' }), keySet, ALL);
      expect(result).toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    });

    it('passes on the key getter own error', async () => {
      const failing: JWTVerifyGetKey = async () => {
        throw new Error('key set unavailable');
      };
      expect(await bothAgree(token(key(alg)), failing, ALL)).toEqual({
        error: 'Error',
        code: undefined,
        message: 'key set unavailable',
      });
    });
  });

  it.each([
    ['a crit header naming an unknown extension', { crit: ['exp'], exp: 1 }],
    ['a crit header that is not an array', { crit: 'b64' }],
    ['b64 false under crit', { crit: ['b64'], b64: false }],
    ['b64 false without crit', { b64: false }],
    ['alg none', { alg: 'none' }],
    ['alg HS256', { alg: 'HS256' }],
    ['an empty alg', { alg: '' }],
    ['alg as a number', { alg: 256 }],
    ['alg naming a prototype member', { alg: 'toString' }],
    ['alg __proto__', { alg: '__proto__' }],
    ['a jwk in the header', { jwk: { kty: 'EC' } }],
  ])('answers as jose for %s', async (_, header) => {
    await bothAgree(token(key('ES256'), header), keySet, [...ALL, 'HS256']);
  });

  it('answers as jose for a validly signed payload that is not base64url', async () => {
    const signer = key('ES256');
    const input = `${b64json({ alg: 'ES256', kid: signer.jwk.kid })}.e30AA`;
    const jws = `${input}.${signWith('ES256', signer.privateKey, input).toString('base64url')}`;
    expect(await bothAgree(jws, keySet, ALL)).toMatchObject({ code: 'ERR_JWS_INVALID' });
  });

  describe('keys jose would refuse', () => {
    const jws = () => token(key('ES256'));
    type ImportAlgorithm = webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
    /** Imports a public JWK as WebCrypto would for any algorithm and usages, whatever jose would make of it. */
    const importPublic = (jwk: JWK, algorithm: ImportAlgorithm, usages: webcrypto.KeyUsage[] = ['verify']) => {
      const { kid: _kid, alg: _alg, use: _use, ...bare } = jwk;
      return webcrypto.subtle.importKey('jwk', bare as webcrypto.JsonWebKey, algorithm, true, usages);
    };

    it('a CryptoKey that may not verify', async () => {
      const unusable = await importPublic(key('ES256').jwk, { name: 'ECDSA', namedCurve: 'P-256' }, []);
      expect(await bothAgree(jws(), async () => unusable, ALL)).toMatchObject({ error: 'TypeError' });
    });

    it('a CryptoKey for ECDH, not ECDSA', async () => {
      const ecdh = await importPublic(key('ES256').jwk, { name: 'ECDH', namedCurve: 'P-256' }, []);
      expect(await bothAgree(jws(), async () => ecdh, ALL)).toMatchObject({ error: 'TypeError' });
    });

    it('a CryptoKey on another curve', async () => {
      const p384 = await importPublic(key('ES384').jwk, { name: 'ECDSA', namedCurve: 'P-384' });
      expect(await bothAgree(jws(), async () => p384, ALL)).toMatchObject({ error: 'TypeError' });
    });

    it('a private CryptoKey', async () => {
      const privateJwk = key('ES256').privateKey.export({ format: 'jwk' }) as webcrypto.JsonWebKey;
      const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
      const privateKey = await webcrypto.subtle.importKey('jwk', privateJwk, algorithm, false, ['sign']);
      expect(await bothAgree(jws(), async () => privateKey, ALL)).toMatchObject({ error: 'TypeError' });
    });

    it('an RSA key shorter than 2048 bits', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const weak: TestKey = { alg: 'RS256', privateKey, jwk: { ...(await exportJWK(publicKey)), kid: 'weak' } };
      const weakKey = await importPublic(weak.jwk, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' });
      const result = await bothAgree(token(weak), async () => weakKey, ALL);
      expect(result).toMatchObject({ error: 'TypeError', message: expect.stringMatching(/2048/) });
    });

    it('an RSA-PSS key for RS256', async () => {
      const pssKey = await importPublic(key('RS256').jwk, { name: 'RSA-PSS', hash: 'SHA-256' });
      expect(await bothAgree(token(key('RS256')), async () => pssKey, ALL)).toMatchObject({ error: 'TypeError' });
    });

    it('an RSA key imported for another hash', async () => {
      const sha384 = await importPublic(key('RS256').jwk, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' });
      expect(await bothAgree(token(key('RS256')), async () => sha384, ALL)).toMatchObject({ error: 'TypeError' });
    });

    it('a KeyObject (jose verifies with it)', async () => {
      const keyObject = KeyObject.from(await importPublic(key('ES256').jwk, { name: 'ECDSA', namedCurve: 'P-256' }));
      expect(await bothAgree(jws(), async () => keyObject, ALL)).toHaveProperty('payload');
    });

    it('a JWK object (jose imports it)', async () => {
      expect(await bothAgree(jws(), async () => key('ES256').jwk, ALL)).toHaveProperty('payload');
    });

    it('a secret', async () => {
      expect(await bothAgree(jws(), async () => new Uint8Array(32), ALL)).toMatchObject({ error: 'TypeError' });
    });
  });
});
