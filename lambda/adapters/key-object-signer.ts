import { constants, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import type { Signer } from '../core/ports';

export type TokenAlgorithm = 'ES256' | 'RS256' | 'PS256';

/** How node:crypto produces each JOSE signature form directly (ECDSA as r‖s, PSS with a digest-sized salt). */
function signWith(alg: TokenAlgorithm, key: KeyObject, input: Uint8Array): Uint8Array {
  switch (alg) {
    case 'ES256':
      return sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return sign('sha256', input, key);
    case 'PS256':
      return sign('sha256', input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  }
}

/** The public JWK of a key as we publish it: `kid` is its RFC 7638 thumbprint. */
export async function publishedJwk(publicKey: KeyObject, alg: TokenAlgorithm): Promise<JWK> {
  const jwk = await exportJWK(publicKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'sig' };
}

/**
 * Signs with a private key held in this process: the local mode's signer, and the in-memory signer of tests and
 * benchmarks. In AWS the KMS signer takes its place; the key never leaves KMS there.
 */
export class KeyObjectSigner implements Signer {
  private readonly active: Promise<JWK>;

  constructor(
    private readonly privateKey: KeyObject,
    private readonly alg: TokenAlgorithm,
    /** Public keys of previously active keys, still published until their tokens expire. */
    private readonly previous: readonly JWK[] = [],
  ) {
    this.active = publishedJwk(createPublicKey(privateKey), alg);
  }

  async activeKey() {
    const { kid } = await this.active;
    return { kid: kid!, alg: this.alg };
  }

  async sign(signingInput: Uint8Array): Promise<Uint8Array> {
    return signWith(this.alg, this.privateKey, signingInput);
  }

  async publicKeys(): Promise<readonly JWK[]> {
    return [await this.active, ...this.previous];
  }
}
