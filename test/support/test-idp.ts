import { randomUUID } from 'node:crypto';
import {
  type CryptoKey,
  exportJWK,
  FlattenedSign,
  generateKeyPair,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';

export type IdpAlgorithm = 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA';

export interface MintOptions {
  /** Claims to add or replace; a value of `undefined` removes the claim. */
  readonly claims?: Record<string, unknown>;
  /** Protected header fields to add or replace; `undefined` removes. */
  readonly header?: Record<string, unknown>;
}

/**
 * A test identity provider: generates its keys at run time (nothing private is committed) and mints
 * ID-JAG assertions, valid by default, so that each test changes exactly one thing.
 */
export class TestIdp {
  private constructor(
    readonly issuer: string,
    readonly alg: IdpAlgorithm,
    readonly kid: string,
    private readonly privateKey: CryptoKey,
    readonly publicJwk: JWK,
    private readonly defaults: () => Record<string, unknown>,
  ) {}

  static async create(options: {
    issuer: string;
    audience: string;
    clientId: string;
    alg?: IdpAlgorithm;
    kid?: string;
    now?: () => number;
  }): Promise<TestIdp> {
    const alg = options.alg ?? 'RS256';
    const { privateKey, publicKey } = await keysFor(`${options.issuer} ${alg} ${options.kid ?? ''}`, alg);
    const kid = options.kid ?? randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    const now = options.now ?? (() => Math.floor(Date.now() / 1000));
    const defaults = () => {
      const iat = now();
      return {
        iss: options.issuer,
        sub: 'user-00u1',
        aud: options.audience,
        client_id: options.clientId,
        jti: randomUUID(),
        iat,
        exp: iat + 300,
      };
    };
    return new TestIdp(options.issuer, alg, kid, privateKey, publicJwk, defaults);
  }

  get jwks(): JSONWebKeySet {
    return { keys: [this.publicJwk] };
  }

  /** The default claims of a fresh assertion, for tests that state expectations about them. */
  claims(): Record<string, unknown> {
    return this.defaults();
  }

  async mint(options: MintOptions = {}): Promise<string> {
    const claims = withOverrides(this.defaults(), options.claims);
    const header = withOverrides({ alg: this.alg, typ: 'oauth-id-jag+jwt', kid: this.kid }, options.header);
    return new SignJWT(claims as JWTPayload).setProtectedHeader(header as { alg: string }).sign(this.privateKey);
  }

  /**
   * A validly signed RFC 7797 unencoded-payload JWS (`b64: false`) whose payload is the base64url text of valid claims:
   * an unverified base64url read finds those claims, while what was signed is the text itself.
   */
  async mintUnencoded(): Promise<string> {
    const text = b64json(this.defaults());
    const jws = await new FlattenedSign(new TextEncoder().encode(text))
      .setProtectedHeader({ alg: this.alg, typ: 'oauth-id-jag+jwt', kid: this.kid, b64: false, crit: ['b64'] })
      .sign(this.privateKey);
    // jose leaves the payload out of an unencoded JWS (detached); it travels as it is.
    return `${jws.protected}.${text}.${jws.signature}`;
  }
}

/**
 * Key generation (RSA especially) dominates test time, so each issuer's key pair is generated once per test file
 * and reused by every fixture that names the same issuer, algorithm and kid.
 */
const keyCache = new Map<string, ReturnType<typeof generateKeyPair>>();

function keysFor(name: string, alg: IdpAlgorithm) {
  let keys = keyCache.get(name);
  if (!keys) {
    keys = generateKeyPair(alg, { extractable: true });
    keyCache.set(name, keys);
  }
  return keys;
}

function withOverrides(base: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  const result = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete result[key];
    else result[key] = value;
  }
  return result;
}

/** Base64url JSON, for hand-built tokens that jose refuses to produce (alg none, forged headers). */
export function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
