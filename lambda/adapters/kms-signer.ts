import { createHash, createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand, type SigningAlgorithmSpec } from '@aws-sdk/client-kms';
import type { JWK } from 'jose';
import { TemporarilyUnavailableError } from '../core/errors';
import type { Signer } from '../core/ports';
import { derToJose } from './der';
import { publishedJwk, type TokenAlgorithm } from './key-object-signer';
import type { SignerConfig } from './signer-config';

export interface KmsSignerOptions extends SignerConfig {
  /** @default - a client for the function's Region and credentials */
  readonly client?: KMSClient;
}

const KMS_ALGORITHM: Record<TokenAlgorithm, SigningAlgorithmSpec> = {
  ES256: 'ECDSA_SHA_256',
  RS256: 'RSASSA_PKCS1_V1_5_SHA_256',
  PS256: 'RSASSA_PSS_SHA_256',
};

/** KMS answers that mean "not now": retrying later can succeed. */
const TRANSIENT = new Set([
  'ThrottlingException',
  'LimitExceededException',
  'KMSInternalException',
  'DependencyTimeoutException',
  'KeyUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

interface PublishedKey {
  readonly jwk: JWK;
  readonly alg: TokenAlgorithm;
}

/**
 * Signs access tokens with an asymmetric KMS key that never leaves KMS: the signing input is hashed here and KMS signs
 * the digest (`MessageType: DIGEST`), so a token of any size costs one small request. Public keys are fetched once
 * per key and kept for the life of the process (they never change).
 */
export class KmsSigner implements Signer {
  private readonly client: KMSClient;
  private readonly published = new Map<string, Promise<PublishedKey>>();

  constructor(private readonly options: KmsSignerOptions) {
    this.client = options.client ?? new KMSClient({});
  }

  async activeKey() {
    const { jwk, alg } = await this.publicKey(this.options.keyId, this.options.algorithm);
    return { kid: jwk.kid!, alg };
  }

  async sign(signingInput: Uint8Array): Promise<Uint8Array> {
    const { alg } = await this.publicKey(this.options.keyId, this.options.algorithm);
    const digest = createHash('sha256').update(signingInput).digest();
    const output = await kmsCall('Sign', () =>
      this.client.send(
        new SignCommand({
          KeyId: this.options.keyId,
          Message: digest,
          MessageType: 'DIGEST',
          SigningAlgorithm: KMS_ALGORITHM[alg],
        }),
      ),
    );
    if (!output.Signature) throw new Error('kms Sign returned no signature');
    return alg === 'ES256' ? derToJose(output.Signature, 32) : output.Signature;
  }

  /** The active key, then the next ones, then the previous ones. */
  async publicKeys(): Promise<readonly JWK[]> {
    const { keyId, nextKeyIds, previousKeyIds, algorithm } = this.options;
    const keys = await Promise.all([
      this.publicKey(keyId, algorithm),
      ...[...nextKeyIds, ...previousKeyIds].map((id) => this.publicKey(id, undefined)),
    ]);
    return keys.map(({ jwk }) => jwk);
  }

  /**
   * The key's JWK, checked to be a signing key whose spec fits the algorithm. For a published key that is not
   * active, the algorithm follows from its spec (ES256 for P-256; for RSA, the configured RSA algorithm or RS256).
   */
  private publicKey(keyId: string, wanted: TokenAlgorithm | undefined): Promise<PublishedKey> {
    let pending = this.published.get(keyId);
    if (!pending) {
      pending = this.fetchPublicKey(keyId, wanted);
      this.published.set(keyId, pending);
      // A failure is not remembered: the next call asks KMS again.
      pending.catch(() => this.published.delete(keyId));
    }
    return pending;
  }

  private async fetchPublicKey(keyId: string, wanted: TokenAlgorithm | undefined): Promise<PublishedKey> {
    const output = await kmsCall('GetPublicKey', () => this.client.send(new GetPublicKeyCommand({ KeyId: keyId })));
    const spec = output.KeySpec ?? '';
    const alg = wanted ?? (spec.startsWith('RSA_') ? this.rsaAlgorithm() : 'ES256');
    const fits = alg === 'ES256' ? spec === 'ECC_NIST_P256' : /^RSA_(2048|3072|4096)$/.test(spec);
    if (output.KeyUsage !== 'SIGN_VERIFY' || !fits || !output.SigningAlgorithms?.includes(KMS_ALGORITHM[alg])) {
      throw new Error(
        `kms key ${keyId} (${spec}, ${output.KeyUsage}) cannot sign ${alg}: use an ECC_NIST_P256 key for ES256 ` +
          'or an RSA_2048/3072/4096 key for RS256 and PS256, with key usage SIGN_VERIFY',
      );
    }
    if (!output.PublicKey) throw new Error(`kms GetPublicKey returned no key for ${keyId}`);
    const publicKey = createPublicKey({ key: Buffer.from(output.PublicKey), format: 'der', type: 'spki' });
    return { jwk: await publishedJwk(publicKey, alg), alg };
  }

  private rsaAlgorithm(): TokenAlgorithm {
    return this.options.algorithm === 'PS256' ? 'PS256' : 'RS256';
  }
}

/**
 * Throttling and outages become `temporarily_unavailable`; anything else a plain error (the core's server_error).
 * An error without an HTTP status never got an answer from KMS (connection refused or reset, DNS, timeout): the SDK
 * still attaches `$metadata` to those, so the status, not `$metadata` itself, tells them apart.
 */
async function kmsCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const { name = 'Error', code } = (error ?? {}) as { name?: string; code?: string };
    // Only the error's name (and a network error's code): KMS messages can carry key ARNs, which callers need not see.
    const what = code === undefined ? name : `${name} (${code})`;
    if (isTransient(error, name)) throw new TemporarilyUnavailableError(`kms ${operation}: ${what}`);
    throw new Error(`kms ${operation} failed: ${what}`);
  }
}

function isTransient(error: unknown, name: string): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  // No answer at all is an outage, except credentials that cannot be found (a misconfiguration) and our own bugs.
  if (status === undefined) return name !== 'CredentialsProviderError' && !(error instanceof TypeError);
  return TRANSIENT.has(name) || status === 429 || status >= 500;
}
