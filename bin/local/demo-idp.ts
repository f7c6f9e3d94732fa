import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type JWK, SignJWT } from 'jose';
import { toOAuthError } from '../../lambda/core/errors';
import { errorResponse, type FormParameters, readForm } from '../../lambda/core/http';
import { AUTHORIZATION_CODE_GRANT_TYPE } from '../../lambda/core/model';
import { type Clock, systemClock } from '../../lambda/core/ports';
import { generateClientSecret } from '../../lambda/core/secrets';
import { type HttpApiHandler, toHttpRequest, toResult } from '../../lambda/handlers/api';
import { createDemoOidc, DEMO_SCOPES, DEMO_USERS } from './demo-oidc';
import type { Route } from './http-adapter';

/**
 * A demo identity provider for the local server only (it is never part of a Lambda bundle). It is an ID-JAG issuer:
 * it answers an RFC 8693 token exchange with an ID-JAG for whatever user it is asked about. And it is a small OpenID
 * Connect provider (demo-oidc.ts): a login form with demo users, the authorization code flow with PKCE for one client
 * (our server), and ID tokens. One key, published at `<issuer>/jwks`, signs both. It exists so that a newcomer can
 * see both flows within a minute; it authenticates nobody for real.
 */
export interface DemoIdp {
  readonly issuer: string;
  readonly routes: readonly Route[];
  /** Our server's registration here: what the local server registers as the demo tenant's OIDC connection. */
  readonly client: DemoIdpClient;
  mint(claims: {
    sub: string;
    clientId: string;
    audience: string;
    scope?: string;
    resource?: string;
    email?: string;
  }): Promise<string>;
}

/** Our server as this IdP's client, in the terms of a registry connection (lambda/core/model.ts `Connection`). */
export interface DemoIdpClient {
  readonly clientId: string;
  /** Our server's callback (`endpointsOf(issuer).callbackUri`), the only redirect URI allowed, compared exactly. */
  readonly redirectUri: string;
  readonly authMethod: 'client_secret_basic';
  /** Where the client secret is (`file:<name>`, a 0600 file in `<dataDir>/secrets/`): a connection's `clientSecretRef`. */
  readonly clientSecretRef: string;
  readonly scopes: readonly string[];
}

export interface DemoIdpOptions {
  /** The local server's URL: the IdP's issuer is `<baseUrl>/demo-idp`. */
  readonly baseUrl: string;
  /** Where its signing key and its client's secret persist. */
  readonly dataDir: string;
  /** Our server's callback URI, registered as its client's redirect URI. */
  readonly redirectUri: string;
  /** @default the system clock */
  readonly clock?: Clock;
}

export const DEMO_IDP_CLIENT_ID = 'id-jag-local';
export const DEMO_IDP_CLIENT_SECRET_FILE = 'demo-idp-client-secret';

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

/** Generated once, kept in a 0600 file with nothing else in it (what a local secret reference reads). */
function loadOrCreateClientSecret(dataDir: string): string {
  const folder = join(dataDir, 'secrets');
  const file = join(folder, DEMO_IDP_CLIENT_SECRET_FILE);
  const existing = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (existing !== '') return existing;
  const secret = generateClientSecret();
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  writeFileSync(file, secret, { mode: 0o600 });
  chmodSync(file, 0o600); // an empty file that was there keeps its mode through writeFileSync
  return secret;
}

const json = (statusCode: number, body: unknown) => ({
  statusCode,
  headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  body: JSON.stringify(body),
});

export async function createDemoIdp({
  baseUrl,
  dataDir,
  redirectUri,
  clock = systemClock,
}: DemoIdpOptions): Promise<DemoIdp> {
  const issuer = `${baseUrl}/demo-idp`;
  const { privateKey, jwk } = await loadOrCreateKey(dataDir);
  const client: DemoIdpClient = {
    clientId: DEMO_IDP_CLIENT_ID,
    redirectUri,
    authMethod: 'client_secret_basic',
    clientSecretRef: `file:${DEMO_IDP_CLIENT_SECRET_FILE}`,
    scopes: DEMO_SCOPES,
  };
  const oidc = createDemoOidc({
    issuer,
    client: { clientId: client.clientId, clientSecret: loadOrCreateClientSecret(dataDir), redirectUri },
    signingKey: { privateKey, kid: jwk.kid!, alg: 'ES256' },
    clock,
  });

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
      // A demo user is the same person here as on the login form.
      email: DEMO_USERS.find((user) => user.sub === sub)?.email ?? `${sub}@demo.example`,
    });
    return json(200, {
      issued_token_type: ID_JAG_TOKEN_TYPE,
      access_token: assertion,
      token_type: 'N_A',
      expires_in: 300,
    });
  };

  /**
   * The token endpoint: forms read as the server's own token endpoint reads them, then one handler per grant, the
   * ID-JAG exchange and the OIDC code grant.
   */
  const token: HttpApiHandler = async (event) => {
    const request = toHttpRequest(event);
    let form: FormParameters;
    try {
      form = readForm(request, 16 * 1024, []);
    } catch (error) {
      return toResult(errorResponse(toOAuthError(error)));
    }
    switch (form.get('grant_type')) {
      case AUTHORIZATION_CODE_GRANT_TYPE:
        return toResult(await oidc.authorizationCodeGrant(request, form));
      case TOKEN_EXCHANGE_GRANT:
        return tokenExchange(form);
      default:
        return json(400, {
          error: 'unsupported_grant_type',
          error_description: `use ${AUTHORIZATION_CODE_GRANT_TYPE} or an RFC 8693 exchange for an ID-JAG`,
        });
    }
  };

  return {
    issuer,
    client,
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
            grant_types_supported: [AUTHORIZATION_CODE_GRANT_TYPE, TOKEN_EXCHANGE_GRANT],
            ...oidc.metadata,
          }),
      },
      { method: 'GET', path: '/demo-idp/jwks', handler: async () => json(200, { keys: [jwk] }) },
      { method: 'POST', path: '/demo-idp/token', handler: token },
      ...oidc.routes,
    ],
  };
}
