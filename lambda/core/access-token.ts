import { randomBytes } from 'node:crypto';
import { base64url } from 'jose';
import type { IdentityAssertion } from './assertion';
import type { Grant } from './grant';
import type { Tenant } from './model';
import type { Signer } from './ports';

export interface AccessTokenInput {
  readonly issuer: string;
  readonly assertion: IdentityAssertion;
  readonly tenant: Tenant;
  readonly grant: Grant;
  readonly issuedAt: number;
  readonly lifetimeSeconds: number;
}

/** RFC 9068 claims. `sub` is the IdP's subject; `tenant` beside it makes the pair unambiguous across tenants. */
export function accessTokenClaims(input: AccessTokenInput): Record<string, unknown> {
  const { assertion, grant } = input;
  return {
    iss: input.issuer,
    sub: assertion.subject,
    aud: grant.resource.id,
    client_id: assertion.clientId,
    iat: input.issuedAt,
    exp: input.issuedAt + input.lifetimeSeconds,
    jti: randomBytes(16).toString('base64url'),
    ...(grant.scopes.length > 0 ? { scope: grant.scopes.join(' ') } : {}),
    tenant: input.tenant.id,
    ...(assertion.email !== undefined ? { email: assertion.email } : {}),
    ...(assertion.authTime !== undefined ? { auth_time: assertion.authTime } : {}),
    ...(assertion.acr !== undefined ? { acr: assertion.acr } : {}),
    ...(assertion.amr !== undefined ? { amr: assertion.amr } : {}),
  };
}

const ascii = new TextEncoder();

/**
 * Builds a compact JWS with `typ: at+jwt` (RFC 9068 §2.1) around an external signer: jose cannot sign with a key it
 * does not hold, so we assemble the three parts with jose's base64url and let the signer produce the signature.
 */
export async function signJwt(signer: Signer, claims: Record<string, unknown>, typ = 'at+jwt'): Promise<string> {
  const { alg, kid } = await signer.activeKey();
  const header = base64url.encode(JSON.stringify({ alg, kid, typ }));
  const payload = base64url.encode(JSON.stringify(claims));
  const signingInput = `${header}.${payload}`;
  const signature = await signer.sign(ascii.encode(signingInput));
  return `${signingInput}.${base64url.encode(signature)}`;
}
