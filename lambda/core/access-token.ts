import { randomFillSync } from 'node:crypto';
import type { Grant } from './grant';
import { subjectIdentifier, type UpstreamIdentity } from './identity';
import type { Signer } from './ports';

export interface AccessTokenInput {
  readonly issuer: string;
  readonly clientId: string;
  /** Who the token is about: the tenant, and the IdP's issuer and subject for the person. */
  readonly identity: UpstreamIdentity;
  /** What the IdP said about the authentication, passed through (RFC 9068 §2.2.1). */
  readonly user?: UserDetails;
  readonly grant: Grant;
  readonly issuedAt: number;
  readonly lifetimeSeconds: number;
}

export interface UserDetails {
  readonly email?: string;
  readonly authTime?: number;
  readonly acr?: string;
  readonly amr?: readonly string[];
}

/**
 * RFC 9068 claims. `sub` identifies the person across the whole server (identity.ts); `tenant`, `idp_iss` and
 * `idp_sub` say who vouched for them and what their IdP calls them. The same for every grant.
 */
export function accessTokenClaims(input: AccessTokenInput): Record<string, unknown> {
  const { identity, grant, user = {} } = input;
  return {
    iss: input.issuer,
    sub: subjectIdentifier(identity),
    aud: grant.resource.id,
    client_id: input.clientId,
    iat: input.issuedAt,
    exp: input.issuedAt + input.lifetimeSeconds,
    jti: randomTokenId(),
    ...(grant.scopes.length > 0 ? { scope: grant.scopes.join(' ') } : {}),
    tenant: identity.tenant,
    idp_iss: identity.issuer,
    idp_sub: identity.subject,
    ...(user.email !== undefined ? { email: user.email } : {}),
    ...(user.authTime !== undefined ? { auth_time: user.authTime } : {}),
    ...(user.acr !== undefined ? { acr: user.acr } : {}),
    ...(user.amr !== undefined ? { amr: user.amr } : {}),
  };
}

/**
 * 128 random bits for a token's `jti`, base64url. The CSPRNG is asked for 256 ids at a time, as node:crypto's own
 * `randomUUID` does, since one call per token costs more than the bits; each id is used once, then overwritten.
 */
const TOKEN_ID_BYTES = 16;
const tokenIdPool = Buffer.alloc(TOKEN_ID_BYTES * 256);
let tokenIdOffset = tokenIdPool.length;

export function randomTokenId(): string {
  if (tokenIdOffset === tokenIdPool.length) {
    randomFillSync(tokenIdPool);
    tokenIdOffset = 0;
  }
  const id = tokenIdPool.toString('base64url', tokenIdOffset, tokenIdOffset + TOKEN_ID_BYTES);
  tokenIdOffset += TOKEN_ID_BYTES;
  return id;
}

const ascii = new TextEncoder();

/** base64url without padding (RFC 7515 §2), as jose's `base64url.encode` writes it, by node:crypto's Buffer. */
function base64url(bytes: Uint8Array | string): string {
  return (
    typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  ).toString('base64url');
}

/** The last protected header encoded: the active key changes only on rotation. */
let lastHeader: { alg: string; kid: string; typ: string; encoded: string } | undefined;

function encodedHeader(alg: string, kid: string, typ: string): string {
  if (lastHeader?.alg !== alg || lastHeader.kid !== kid || lastHeader.typ !== typ) {
    lastHeader = { alg, kid, typ, encoded: base64url(JSON.stringify({ alg, kid, typ })) };
  }
  return lastHeader.encoded;
}

/**
 * Builds a compact JWS with `typ: at+jwt` (RFC 9068 §2.1) around an external signer: jose cannot sign with a key it
 * does not hold, so we assemble the three parts and let the signer produce the signature.
 */
export async function signJwt(signer: Signer, claims: Record<string, unknown>, typ = 'at+jwt'): Promise<string> {
  const { alg, kid } = await signer.activeKey();
  const signingInput = `${encodedHeader(alg, kid, typ)}.${base64url(JSON.stringify(claims))}`;
  const signature = await signer.sign(ascii.encode(signingInput));
  return `${signingInput}.${base64url(signature)}`;
}
