import { createHash } from 'node:crypto';
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type { Signer } from '../../lambda/core/ports';
import type { TokenOutcome } from '../../lambda/core/token-endpoint';

export interface ErrorBody {
  error: string;
  error_description: string;
}

export interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope?: string;
  refresh_token?: string;
}

/**
 * Asserts an OAuth error response: code, status and the no-store headers every token response carries. `reason`
 * matches the internal reason in the audit record, proving which rule rejected the request.
 */
export function expectRejected(outcome: TokenOutcome, error: string, status = 400, reason?: RegExp): ErrorBody {
  const body = JSON.parse(outcome.response.body) as ErrorBody;
  expect({ status: outcome.response.status, error: body.error }).toEqual({ status, error });
  if (reason) expect(outcome.audit.reason).toMatch(reason);
  expect(outcome.response.headers['Cache-Control']).toBe('no-store');
  expect(outcome.response.headers.Pragma).toBe('no-cache');
  expect(outcome.response.headers['Content-Type']).toBe('application/json');
  expect(typeof body.error_description).toBe('string');
  expect(body).not.toHaveProperty('access_token');
  return body;
}

export function expectIssued(outcome: TokenOutcome): TokenBody {
  const body = JSON.parse(outcome.response.body);
  if (outcome.response.status !== 200) {
    throw new Error(
      `expected a token, got ${outcome.response.status} ${outcome.response.body} (${outcome.audit.reason})`,
    );
  }
  expect(outcome.response.headers['Cache-Control']).toBe('no-store');
  expect(outcome.response.headers.Pragma).toBe('no-cache');
  return body as TokenBody;
}

/** Verifies an access token with jose against the signer's published JWKS, as a resource server would. */
export async function verifyAccessToken(token: string, signer: Signer, audience: string, nowSeconds: number) {
  const jwks = createLocalJWKSet({ keys: [...(await signer.publicKeys())] });
  const { payload, protectedHeader } = await jwtVerify<JWTPayload & Record<string, unknown>>(token, jwks, {
    typ: 'at+jwt',
    audience,
    currentDate: new Date(nowSeconds * 1000),
  });
  return { claims: payload, header: protectedHeader };
}

/** The token `sub` as README and docs/resource-server.md define it, computed here independently of the server. */
export function documentedSubject(tenant: string, issuer: string, subject: string): string {
  return createHash('sha256')
    .update(JSON.stringify([tenant, issuer, subject]), 'utf8')
    .digest('base64url');
}
