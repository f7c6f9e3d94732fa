// Fresh ID-JAGs minted fast (node:crypto, synchronous), for the soaks, which need more assertions than can be minted
// ahead: a 10-minute run at full speed uses hundreds of thousands.
import { createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import type { JSONWebKeySet, JWK } from 'jose';

export interface MintKey {
  readonly issuer: string;
  readonly audience: string;
  readonly clientId: string;
  readonly kid: string;
  /** An ES256 private key. */
  readonly privateJwk: JWK;
}

/** A fresh ES256 key of an IdP: the private JWK to mint with, and the key set to publish. */
export function idpKey(): { readonly kid: string; readonly privateJwk: JWK; readonly jwks: JSONWebKeySet } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomUUID();
  return {
    kid,
    privateJwk: privateKey.export({ format: 'jwk' }) as JWK,
    jwks: { keys: [{ ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'ES256', use: 'sig' }] },
  };
}

export type IdpKey = MintKey & { readonly jwks: JSONWebKeySet };

export function assertionMinter(key: MintKey): () => string {
  const privateKey = createPrivateKey({ key: key.privateJwk as never, format: 'jwk' });
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'oauth-id-jag+jwt', kid: key.kid })).toString(
    'base64url',
  );
  return () => {
    const iat = Math.floor(Date.now() / 1000);
    const claims = {
      iss: key.issuer,
      sub: 'user-00u1',
      aud: key.audience,
      client_id: key.clientId,
      jti: randomUUID(),
      iat,
      exp: iat + 300,
    };
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  };
}
