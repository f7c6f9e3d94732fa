import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type JWK, SignJWT } from 'jose';
import { toOAuthError } from '../../lambda/core/errors';
import { errorResponse, type FormParameters, readForm } from '../../lambda/core/http';
import { type Clock, systemClock } from '../../lambda/core/ports';
import { type HttpApiHandler, toHttpRequest, toResult } from '../../lambda/handlers/api';
import type { Route } from './http-adapter';

/**
 * A demo identity provider for the local server only (it is never part of a Lambda bundle): it publishes its keys and
 * answers an RFC 8693 token exchange with an ID-JAG for whatever user it is asked about. It exists so that a newcomer
 * can see a real exchange within a minute; it authenticates nobody.
 */
export interface DemoIdp {
  readonly issuer: string;
  readonly routes: readonly Route[];
  mint(claims: {
    sub: string;
    clientId: string;
    audience: string;
    scope?: string;
    resource?: string;
    email?: string;
  }): Promise<string>;
}

export interface DemoIdpOptions {
  /** The local server's URL: the IdP's issuer is `<baseUrl>/demo-idp`. */
  readonly baseUrl: string;
  /** Where its signing key persists. */
  readonly dataDir: string;
  /** @default the system clock */
  readonly clock?: Clock;
}

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ID_JAG_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id-jag';

async function loadOrCreateKey(dataDir: string): Promise<{ privateKey: CryptoKey; jwk: JWK }> {
  const file = join(dataDir, 'demo-idp-key.pem');
  let pem: string;
  if (existsSync(file)) {
    pem = readFileSync(file, 'utf8');
  } else {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    pem = await exportPKCS8(privateKey);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, pem, { mode: 0o600 });
  }
  const privateKey = await importPKCS8(pem, 'ES256', { extractable: true });
  const { d: _private, ...jwk } = await exportJWK(privateKey);
  return { privateKey, jwk: { ...jwk, kid: 'demo-idp-1', alg: 'ES256', use: 'sig' } };
}

const json = (statusCode: number, body: unknown) => ({
  statusCode,
  headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  body: JSON.stringify(body),
});

export async function createDemoIdp({ baseUrl, dataDir, clock = systemClock }: DemoIdpOptions): Promise<DemoIdp> {
  const issuer = `${baseUrl}/demo-idp`;
  const { privateKey, jwk } = await loadOrCreateKey(dataDir);

  const mint: DemoIdp['mint'] = ({ sub, clientId, audience, scope, resource, email }) => {
    const now = clock.now();
    return new SignJWT({
      client_id: clientId,
      ...(scope ? { scope } : {}),
      ...(resource ? { resource } : {}),
      ...(email ? { email } : {}),
    })
      .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'oauth-id-jag+jwt' })
      .setIssuer(issuer)
      .setSubject(sub)
      .setAudience(audience)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(privateKey);
  };

  const tokenExchange = async (form: FormParameters) => {
    if (form.get('requested_token_type') !== ID_JAG_TOKEN_TYPE) {
      return json(400, {
        error: 'unsupported_grant_type',
        error_description: 'send an RFC 8693 exchange for an ID-JAG',
      });
    }
    const audience = form.get('audience');
    const clientId = form.get('client_id');
    if (!audience || !clientId)
      return json(400, { error: 'invalid_request', error_description: 'audience and client_id are required' });
    // The "subject token" is taken as the user name: this IdP only pretends that someone signed in.
    const sub = form.get('subject_token') ?? 'demo-user';
    const assertion = await mint({
      sub,
      clientId,
      audience,
      scope: form.get('scope'),
      resource: form.get('resource'),
      email: `${sub}@example.com`,
    });
    return json(200, {
      issued_token_type: ID_JAG_TOKEN_TYPE,
      access_token: assertion,
      token_type: 'N_A',
      expires_in: 300,
    });
  };

  /** The token endpoint: forms read as the server's own token endpoint reads them, then one handler per grant. */
  const token: HttpApiHandler = async (event) => {
    let form: FormParameters;
    try {
      form = readForm(toHttpRequest(event), 16 * 1024, []);
    } catch (error) {
      return toResult(errorResponse(toOAuthError(error)));
    }
    switch (form.get('grant_type')) {
      case TOKEN_EXCHANGE_GRANT:
        return tokenExchange(form);
      default:
        return json(400, {
          error: 'unsupported_grant_type',
          error_description: 'send an RFC 8693 exchange for an ID-JAG',
        });
    }
  };

  return {
    issuer,
    mint,
    routes: [
      {
        method: 'GET',
        path: '/demo-idp/.well-known/openid-configuration',
        handler: async () =>
          json(200, {
            issuer,
            jwks_uri: `${issuer}/jwks`,
            token_endpoint: `${issuer}/token`,
            grant_types_supported: [TOKEN_EXCHANGE_GRANT],
          }),
      },
      { method: 'GET', path: '/demo-idp/jwks', handler: async () => json(200, { keys: [jwk] }) },
      { method: 'POST', path: '/demo-idp/token', handler: token },
    ],
  };
}
