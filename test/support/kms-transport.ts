import { constants, createHash, generateKeyPairSync, type KeyObject, privateEncrypt, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { KMSClient, type KMSClientConfig } from '@aws-sdk/client-kms';

/**
 * A stand-in for the KMS service behind the real KMSClient: its request handler answers the JSON 1.1 protocol
 * (TrentService.Sign and GetPublicKey) with real key material from node:crypto, so the SDK's serialisation, the digest
 * path, KMS's DER signatures and SPKI public keys are all exercised for real. Signing works on the digest alone, as
 * KMS does with MessageType DIGEST.
 */
export type KeySpec = 'ECC_NIST_P256' | 'RSA_2048' | 'RSA_3072' | 'RSA_4096';

/** What GetPublicKey reports beyond the key itself; a test changes them to present a key that does not fit. */
export interface KeyOptions {
  /** @default 'SIGN_VERIFY' */
  readonly usage?: string;
  /** @default - every algorithm KMS offers for the spec */
  readonly signingAlgorithms?: readonly string[];
}

interface StoredKey {
  readonly spec: KeySpec;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly usage: string;
  readonly signingAlgorithms: readonly string[];
  enabled: boolean;
}

export interface RecordedCall {
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

const RSA_ALGORITHMS = ['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PSS_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384'];
const SIGNING_ALGORITHMS: Record<KeySpec, readonly string[]> = {
  ECC_NIST_P256: ['ECDSA_SHA_256'],
  RSA_2048: RSA_ALGORITHMS,
  RSA_3072: RSA_ALGORITHMS,
  RSA_4096: RSA_ALGORITHMS,
};

const generatePair = (spec: KeySpec) =>
  spec === 'ECC_NIST_P256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: Number(spec.slice('RSA_'.length)) });

export class KmsStandIn {
  readonly keys = new Map<string, StoredKey>();
  readonly calls: RecordedCall[] = [];
  /** The next calls fail with this KMS error (name and HTTP status), as many times as `times` says. */
  failure?: { name: string; status: number; times: number; operation?: string };
  /** The next calls get no answer: the connection fails with this Node.js error code (ECONNRESET, ETIMEDOUT…). */
  networkFailure?: { code: string; times: number };

  addKey(keyId: string, spec: KeySpec = 'ECC_NIST_P256', options: KeyOptions = {}): KeyObject {
    const pair = generatePair(spec);
    this.keys.set(keyId, {
      spec,
      ...pair,
      usage: options.usage ?? 'SIGN_VERIFY',
      signingAlgorithms: options.signingAlgorithms ?? SIGNING_ALGORITHMS[spec],
      enabled: true,
    });
    return pair.publicKey;
  }

  count(operation: string): number {
    return this.calls.filter((call) => call.operation === operation).length;
  }

  client(): KMSClient {
    return new KMSClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
      requestHandler: { handle: (request: { headers: Record<string, string>; body: unknown }) => this.handle(request) },
    } as KMSClientConfig);
  }

  /**
   * Serves the same protocol over HTTP on 127.0.0.1, for code that builds its own KMSClient (the Lambda entries):
   * point it here with AWS_ENDPOINT_URL_KMS. Close the returned server when done.
   */
  async listen(): Promise<{ endpoint: string; close: () => Promise<void> }> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', async () => {
        const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
        try {
          const { response: answer } = await this.handle({ headers, body: Buffer.concat(chunks) });
          const body: Buffer[] = [];
          for await (const chunk of answer.body) body.push(chunk as Buffer);
          response.writeHead(answer.statusCode, answer.headers).end(Buffer.concat(body));
        } catch {
          // A network failure (or a stand-in bug) is a connection closed without an answer, as a dead peer would.
          response.socket?.destroy();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      endpoint: `http://127.0.0.1:${port}`,
      close: () => {
        server.closeAllConnections();
        return new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  private async handle(request: { headers: Record<string, string>; body: unknown }) {
    const operation = (request.headers['x-amz-target'] ?? '').replace('TrentService.', '');
    const input = JSON.parse(bodyText(request.body)) as Record<string, unknown>;
    this.calls.push({ operation, input });
    const network = this.networkFailure;
    if (network && network.times > 0) {
      network.times--;
      throw Object.assign(new Error(`connection failed: ${network.code}`), { code: network.code });
    }
    const failure = this.failure;
    if (failure && failure.times > 0 && (failure.operation === undefined || failure.operation === operation)) {
      failure.times--;
      return reply(failure.status, { __type: failure.name, message: `${failure.name} for arn:aws:kms:secret-detail` });
    }
    const key = this.keys.get(String(input.KeyId));
    if (!key) return reply(400, { __type: 'NotFoundException', message: 'key not found' });
    if (!key.enabled) return reply(400, { __type: 'DisabledException', message: 'key is disabled' });
    if (operation === 'GetPublicKey') {
      return reply(200, {
        KeyId: input.KeyId,
        PublicKey: key.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
        KeySpec: key.spec,
        KeyUsage: key.usage,
        SigningAlgorithms: key.signingAlgorithms,
      });
    }
    if (operation === 'Sign') {
      const digest = Buffer.from(String(input.Message), 'base64');
      if (input.MessageType !== 'DIGEST' || digest.length !== 32) {
        return reply(400, { __type: 'ValidationException', message: 'expected a SHA-256 digest' });
      }
      const algorithm = String(input.SigningAlgorithm);
      if (key.usage !== 'SIGN_VERIFY' || !key.signingAlgorithms.includes(algorithm)) {
        return reply(400, { __type: 'InvalidKeyUsageException', message: 'algorithm not valid for this key' });
      }
      const signature = signDigest(key.privateKey, algorithm, digest);
      return reply(200, { KeyId: input.KeyId, Signature: signature.toString('base64'), SigningAlgorithm: algorithm });
    }
    return reply(400, { __type: 'UnsupportedOperationException', message: operation });
  }
}

/**
 * The SDK hands over its JSON body as a Uint8Array that warns when used as a string; decoding the bytes directly
 * avoids that. Over HTTP (`listen`) the body is a Buffer.
 */
function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (ArrayBuffer.isView(body)) return new TextDecoder().decode(body as Uint8Array);
  throw new Error('stand-in expects a JSON request body');
}

function reply(statusCode: number, body: unknown) {
  const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1' };
  const type = (body as { __type?: string }).__type;
  if (type) headers['x-amzn-errortype'] = type;
  return { response: { statusCode, headers, body: Readable.from([Buffer.from(JSON.stringify(body))]) } };
}

function signDigest(privateKey: KeyObject, algorithm: string, digest: Buffer): Buffer {
  switch (algorithm) {
    case 'ECDSA_SHA_256':
      return ecdsaP256Der(privateKey, digest);
    case 'RSASSA_PKCS1_V1_5_SHA_256':
      // EMSA-PKCS1-v1_5 over a given digest: DigestInfo(SHA-256) ‖ digest, then the private-key operation.
      return privateEncrypt(
        { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
        Buffer.concat([SHA256_INFO, digest]),
      );
    case 'RSASSA_PSS_SHA_256':
      // emBits = modBits - 1 (RFC 8017 §8.1.1).
      return privateEncrypt(
        { key: privateKey, padding: constants.RSA_NO_PADDING },
        emsaPss(digest, privateKey.asymmetricKeyDetails!.modulusLength! - 1),
      );
    default:
      throw new Error(`stand-in cannot sign ${algorithm}`);
  }
}

const SHA256_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** RFC 8017 §9.1.1 EMSA-PSS-ENCODE with SHA-256, MGF1-SHA-256 and a 32-byte salt, for a digest computed elsewhere. */
function emsaPss(mHash: Buffer, emBits: number): Buffer {
  const hLen = 32;
  const emLen = Math.ceil(emBits / 8);
  const salt = randomBytes(hLen);
  const h = createHash('sha256')
    .update(Buffer.concat([Buffer.alloc(8), mHash, salt]))
    .digest();
  const db = Buffer.concat([Buffer.alloc(emLen - 2 * hLen - 2), Buffer.from([1]), salt]);
  const mask = mgf1(h, emLen - hLen - 1);
  const maskedDb = Buffer.from(db.map((byte, i) => byte ^ mask[i]!));
  maskedDb[0]! &= 0xff >> (8 * emLen - emBits);
  return Buffer.concat([maskedDb, h, Buffer.from([0xbc])]);
}

function mgf1(seed: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * 32 < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    blocks.push(
      createHash('sha256')
        .update(Buffer.concat([seed, c]))
        .digest(),
    );
  }
  return Buffer.concat(blocks).subarray(0, length);
}

// ECDSA on P-256 over a given digest (node:crypto always hashes its input, KMS with DIGEST does not).
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const A = P - 3n;
const G: Point = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};
type Point = { x: bigint; y: bigint } | null;

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
function inverse(a: bigint, m: bigint): bigint {
  let [oldR, r, oldS, s] = [mod(a, m), m, 1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return mod(oldS, m);
}
function add(p: Point, q: Point): Point {
  if (!p) return q;
  if (!q) return p;
  if (p.x === q.x && mod(p.y + q.y, P) === 0n) return null;
  const slope =
    p.x === q.x && p.y === q.y
      ? mod((3n * p.x * p.x + A) * inverse(2n * p.y, P), P)
      : mod((q.y - p.y) * inverse(q.x - p.x, P), P);
  const x = mod(slope * slope - p.x - q.x, P);
  return { x, y: mod(slope * (p.x - x) - p.y, P) };
}
/** 2^i·G for every bit of a scalar, computed once: k·G is then a sum of table entries. */
const G_POWERS: { x: bigint; y: bigint }[] = [];
for (let point: Point = G, i = 0; i < 256; i++, point = add(point, point)) G_POWERS.push(point!);

type Jacobian = { X: bigint; Y: bigint; Z: bigint };

/** Jacobian + affine point addition (no inversion), so k·G costs one inversion at the end instead of hundreds. */
function addMixed(p: Jacobian | null, q: { x: bigint; y: bigint }): Jacobian | null {
  if (!p) return { X: q.x, Y: q.y, Z: 1n };
  const z2 = mod(p.Z * p.Z, P);
  const u2 = mod(q.x * z2, P);
  const s2 = mod(q.y * z2 * p.Z, P);
  const h = mod(u2 - p.X, P);
  const r = mod(s2 - p.Y, P);
  if (h === 0n) {
    if (r !== 0n) return null;
    // p equals q: fall back to affine doubling, which never happens for distinct table entries in practice.
    const affine = add(toAffine(p), q);
    return affine ? { X: affine.x, Y: affine.y, Z: 1n } : null;
  }
  const h2 = mod(h * h, P);
  const h3 = mod(h2 * h, P);
  const v = mod(p.X * h2, P);
  const X = mod(r * r - h3 - 2n * v, P);
  return { X, Y: mod(r * (v - X) - p.Y * h3, P), Z: mod(p.Z * h, P) };
}

function toAffine(p: Jacobian): { x: bigint; y: bigint } {
  const zInverse = inverse(p.Z, P);
  const z2 = mod(zInverse * zInverse, P);
  return { x: mod(p.X * z2, P), y: mod(p.Y * z2 * zInverse, P) };
}

function multiplyG(k: bigint): Point {
  let result: Jacobian | null = null;
  for (let i = 0; k > 0n; i++, k >>= 1n) {
    if (k & 1n) result = addMixed(result, G_POWERS[i]!);
  }
  return result && toAffine(result);
}
const toBigInt = (bytes: Buffer) => BigInt(`0x${bytes.toString('hex') || '0'}`);

function ecdsaP256Der(privateKey: KeyObject, digest: Buffer): Buffer {
  const d = toBigInt(Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'));
  const z = toBigInt(digest);
  for (;;) {
    const k = mod(toBigInt(randomBytes(32)), N);
    if (k === 0n) continue;
    const r = mod(multiplyG(k)!.x, N);
    const s = mod(inverse(k, N) * (z + r * d), N);
    if (r !== 0n && s !== 0n) return Buffer.concat([Buffer.from([0x30]), derLength(r, s)]);
  }
}

/** DER SEQUENCE body of two minimal, non-negative INTEGERs, as KMS returns it. */
function derLength(r: bigint, s: bigint): Buffer {
  const integer = (value: bigint) => {
    let hex = value.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    let bytes = Buffer.from(hex, 'hex');
    if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
  };
  const body = Buffer.concat([integer(r), integer(s)]);
  return Buffer.concat([Buffer.from([body.length]), body]);
}
