import { constants, KeyObject, verify, type webcrypto } from 'node:crypto';
import {
  type CompactJWSHeaderParameters,
  type CompactVerifyResult,
  compactVerify,
  errors,
  type JWTVerifyGetKey,
} from 'jose';

/**
 * What jose requires of the CryptoKey for each asymmetric JWS algorithm (its `checkCryptoKey`), and how node:crypto
 * checks the same signature: the same OpenSSL operation WebCrypto performs, without the thread-pool round trip.
 */
interface NodeVerification {
  readonly keyAlgorithm: string;
  readonly keyHash?: string;
  readonly namedCurve?: string;
  /** The digest node:crypto uses (null for EdDSA, which hashes internally). */
  readonly digest: string | null;
  /** The JOSE signature length in bytes; undefined for RSA, whose signature is as long as the modulus. */
  readonly signatureBytes?: number;
  readonly options: { readonly dsaEncoding?: 'ieee-p1363'; readonly padding?: number; readonly saltLength?: number };
}

const rsa = (bits: number): NodeVerification => ({
  keyAlgorithm: 'RSASSA-PKCS1-v1_5',
  keyHash: `SHA-${bits}`,
  digest: `sha${bits}`,
  options: {},
});
const pss = (bits: number): NodeVerification => ({
  keyAlgorithm: 'RSA-PSS',
  keyHash: `SHA-${bits}`,
  digest: `sha${bits}`,
  // RFC 7518 §3.5: the salt is as long as the digest, as jose asks of WebCrypto.
  options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bits / 8 },
});
const ecdsa = (namedCurve: string, bits: number, signatureBytes: number): NodeVerification => ({
  keyAlgorithm: 'ECDSA',
  namedCurve,
  digest: `sha${bits}`,
  signatureBytes,
  options: { dsaEncoding: 'ieee-p1363' },
});
const eddsa: NodeVerification = { keyAlgorithm: 'Ed25519', digest: null, signatureBytes: 64, options: {} };

/** Only asymmetric algorithms: an `HS*`, `none` or anything else never takes the fast path. */
const NODE_VERIFICATIONS: ReadonlyMap<string, NodeVerification> = new Map([
  ['RS256', rsa(256)],
  ['RS384', rsa(384)],
  ['RS512', rsa(512)],
  ['PS256', pss(256)],
  ['PS384', pss(384)],
  ['PS512', pss(512)],
  ['ES256', ecdsa('P-256', 256, 64)],
  ['ES384', ecdsa('P-384', 384, 96)],
  ['ES512', ecdsa('P-521', 512, 132)],
  ['EdDSA', eddsa],
  ['Ed25519', eddsa],
]);

type WebCryptoKey = webcrypto.CryptoKey;
/** The WebCrypto key class: a global (node:crypto's `webcrypto.CryptoKey` is undefined on Node 20). */
const CryptoKeyClass = (globalThis as { CryptoKey?: abstract new () => WebCryptoKey }).CryptoKey;
/** A genuine WebCrypto key, as jose's key sets resolve to; anything else is left to jose. */
const isCryptoKey = (key: unknown): key is WebCryptoKey =>
  CryptoKeyClass !== undefined && key instanceof CryptoKeyClass;

/** The node:crypto form of each resolved CryptoKey; key sets cache their CryptoKeys, so these stay cached too. */
const keyObjects = new WeakMap<WebCryptoKey, KeyObject>();

function keyObjectOf(key: WebCryptoKey): KeyObject {
  let keyObject = keyObjects.get(key);
  if (keyObject === undefined) {
    keyObject = KeyObject.from(key);
    keyObjects.set(key, keyObject);
  }
  return keyObject;
}

/**
 * A compact JWS that passed the syntax check of `decodeUnverified` (three base64url parts, so ASCII), with its
 * protected header parsed as jose parses it (`decodeProtectedHeader`, the same parse `compactVerify` makes).
 */
export interface CompactJws {
  readonly token: string;
  readonly header: CompactJWSHeaderParameters;
  /** Offsets of the two dots. */
  readonly firstDot: number;
  readonly secondDot: number;
}

/** True when base64url text of this length decodes (jose refuses a length of 4n+1; Buffer would drop a character). */
export const decodable = (length: number) => length % 4 !== 1;

/**
 * Verifies a compact JWS with exactly jose's `compactVerify` semantics and result, checking the signature itself with
 * node:crypto when the case is plain: no `crit`, an allowed asymmetric `alg`, a public CryptoKey that jose would
 * accept for that `alg`, a signature of the right length. Every other case, and so every error but a bad signature,
 * is jose's own: the token goes to `compactVerify`, with the key already resolved if it was.
 */
export async function verifyCompactJws(
  jws: CompactJws,
  keys: JWTVerifyGetKey,
  algorithms: readonly string[],
): Promise<CompactVerifyResult> {
  const { token, header, firstDot, secondDot } = jws;
  const alg = Object.hasOwn(header, 'alg') ? header.alg : undefined;
  const verification = typeof alg === 'string' ? NODE_VERIFICATIONS.get(alg) : undefined;
  // The header checks jose makes before resolving a key all pass in this case, so the key may be resolved here.
  if (header.crit !== undefined || verification === undefined || !algorithms.includes(alg as string)) {
    return compactVerify(token, keys, { algorithms: [...algorithms] });
  }
  const encodedPayload = token.slice(firstDot + 1, secondDot);
  const encodedSignature = token.slice(secondDot + 1);
  const key: unknown = await keys(header, {
    payload: encodedPayload,
    protected: token.slice(0, firstDot),
    signature: encodedSignature,
  });
  const signature = decodable(encodedSignature.length) ? Buffer.from(encodedSignature, 'base64url') : undefined;
  if (
    signature === undefined ||
    !decodable(encodedPayload.length) ||
    !isCryptoKey(key) ||
    !acceptedByJose(key, verification, signature.length)
  ) {
    return compactVerify(token, async () => key as never, { algorithms: [...algorithms] });
  }
  const signingInput = Buffer.from(token.slice(0, secondDot), 'latin1');
  let verified: boolean;
  try {
    verified = verify(verification.digest, signingInput, { key: keyObjectOf(key), ...verification.options }, signature);
  } catch (cause) {
    throw new errors.JWSSignatureVerificationFailed(undefined, { cause });
  }
  if (!verified) throw new errors.JWSSignatureVerificationFailed();
  return { payload: Buffer.from(encodedPayload, 'base64url'), protectedHeader: header };
}

/** jose's `prepareKey`, `checkCryptoKey` and `checkModulusLength` for a verification key, plus the signature size. */
function acceptedByJose(key: WebCryptoKey, verification: NodeVerification, signatureBytes: number): boolean {
  const algorithm = key.algorithm as {
    name: string;
    hash?: { name?: string };
    namedCurve?: string;
    modulusLength?: number;
  };
  if (key.type !== 'public' || !key.usages.includes('verify') || algorithm.name !== verification.keyAlgorithm) {
    return false;
  }
  if (verification.keyHash !== undefined && algorithm.hash?.name !== verification.keyHash) return false;
  if (verification.namedCurve !== undefined && algorithm.namedCurve !== verification.namedCurve) return false;
  if (verification.signatureBytes !== undefined) return signatureBytes === verification.signatureBytes;
  const { modulusLength } = algorithm;
  return typeof modulusLength === 'number' && modulusLength >= 2048 && signatureBytes === Math.ceil(modulusLength / 8);
}
