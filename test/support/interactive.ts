import { createHash, randomUUID } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { createAuthorizeEndpoint, type InteractionOutcome } from '../../lambda/core/authorize/endpoint';
import type { Interaction } from '../../lambda/core/authorize/interaction';
import { BROWSER_COOKIE } from '../../lambda/core/authorize/transaction';
import { InvalidGrantError } from '../../lambda/core/errors';
import type { HttpRequest } from '../../lambda/core/http';
import {
  AUTHORIZATION_CODE_GRANT_TYPE,
  type Client,
  type Connection,
  DEFAULT_UPSTREAM_SCOPES,
  REFRESH_TOKEN_GRANT_TYPE,
} from '../../lambda/core/model';
import type {
  AuthorizationCodeGrant,
  CodeRedemption,
  GrantStore,
  LoginTransaction,
  RefreshToken,
  SecretSource,
  UpstreamIdp,
  UpstreamMetadata,
  UserGrant,
} from '../../lambda/core/ports';
import { createTokenEndpoint } from '../../lambda/core/token-endpoint';
import { createFixture, type Fixture, ISSUER, tokenRequest } from './fixture';

/** In memory, with the semantics the DynamoDB adapter has: single use judged at the caller's clock. */
export class MemoryGrantStore implements GrantStore {
  readonly transactions = new Map<string, { transaction: LoginTransaction; used: boolean }>();
  readonly codes = new Map<string, { grant: AuthorizationCodeGrant; redeemed: boolean }>();
  readonly grants = new Map<string, UserGrant>();
  readonly refreshTokens = new Map<string, RefreshToken>();

  async createTransaction(transaction: LoginTransaction): Promise<void> {
    if (this.transactions.has(transaction.id)) throw new Error('transaction id collision');
    this.transactions.set(transaction.id, { transaction, used: false });
  }

  async getTransaction(id: string, now: number): Promise<LoginTransaction | undefined> {
    const entry = this.transactions.get(id);
    return entry && !entry.used && entry.transaction.expiresAt > now ? entry.transaction : undefined;
  }

  async updateTransaction(
    id: string,
    changes: { tenantId?: string; consented?: boolean },
    now: number,
  ): Promise<boolean> {
    const entry = this.transactions.get(id);
    if (!entry || entry.used || entry.transaction.expiresAt <= now) return false;
    entry.transaction = { ...entry.transaction, ...changes };
    return true;
  }

  async consumeTransaction(id: string, now: number): Promise<LoginTransaction | undefined> {
    const entry = this.transactions.get(id);
    if (!entry || entry.used || entry.transaction.expiresAt <= now) return undefined;
    entry.used = true;
    return entry.transaction;
  }

  async createCode(grant: AuthorizationCodeGrant): Promise<void> {
    this.codes.set(grant.codeHash, { grant, redeemed: false });
  }

  async redeemCode(codeHash: string, now: number): Promise<CodeRedemption | undefined> {
    const entry = this.codes.get(codeHash);
    if (!entry) return undefined;
    if (entry.redeemed) return { outcome: 'replayed', grant: entry.grant };
    if (entry.grant.expiresAt <= now) return undefined;
    entry.redeemed = true;
    return { outcome: 'redeemed', grant: entry.grant };
  }

  async createGrant(grant: UserGrant, firstToken: RefreshToken): Promise<boolean> {
    if (this.grants.has(grant.grantId)) return false;
    this.grants.set(grant.grantId, grant);
    await this.addRefreshToken(firstToken);
    return true;
  }

  async getGrant(grantId: string): Promise<UserGrant | undefined> {
    return this.grants.get(grantId);
  }

  async addRefreshToken(token: RefreshToken): Promise<void> {
    if (this.refreshTokens.has(token.tokenHash)) throw new Error('refresh token collision');
    this.refreshTokens.set(token.tokenHash, token);
  }

  async findRefreshToken(tokenHash: string): Promise<RefreshToken | undefined> {
    return this.refreshTokens.get(tokenHash);
  }

  async useRefreshToken(tokenHash: string, clientId: string, now: number): Promise<boolean> {
    const token = this.refreshTokens.get(tokenHash);
    if (!token || token.usedAt !== undefined || token.clientId !== clientId || token.usableUntil <= now) return false;
    this.refreshTokens.set(tokenHash, { ...token, usedAt: now });
    return true;
  }

  async revokeGrant(grantId: string, now: number, keepUntil: number): Promise<void> {
    const grant = this.grants.get(grantId);
    if (grant?.revokedAt !== undefined) return;
    // As the DynamoDB adapter does: a revocation before the grant exists is kept, and the grant can no longer start.
    this.grants.set(grantId, grant ? { ...grant, revokedAt: now } : revokedPlaceholder(grantId, now, keepUntil));
  }

  isGrantRevoked(grantId: string): boolean {
    return this.grants.get(grantId)?.revokedAt !== undefined;
  }
}

function revokedPlaceholder(grantId: string, now: number, keepUntil: number): UserGrant {
  const unknown = '';
  return {
    grantId,
    clientId: unknown,
    tenantId: unknown,
    idpIssuer: unknown,
    idpSubject: unknown,
    subject: unknown,
    resource: unknown,
    scopes: [],
    createdAt: now,
    expiresAt: keepUntil,
    revokedAt: now,
  };
}

export class MemorySecrets implements SecretSource {
  readonly values = new Map<string, string>();
  async secret(ref: string): Promise<string> {
    const value = this.values.get(ref);
    if (value === undefined) throw new Error(`no secret ${ref}`);
    return value;
  }
}

/** What the upstream IdP saw of one authorization request (the browser's visit), by its `state`. */
interface UpstreamVisit {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly nonce: string;
  readonly codeChallenge: string;
  readonly scope: string;
}

/**
 * A test OIDC IdP behind the UpstreamIdp port: it serves metadata, remembers the authorization requests the browser
 * brings, issues a code per sign-in, and at the code exchange checks client, secret, redirect URI and PKCE like a real
 * IdP before minting an ID token with its key (published to the fixture's key resolver). Tests change the ID token's
 * claims and header to prove each rule.
 */
export class TestUpstream implements UpstreamIdp {
  readonly visits = new Map<string, UpstreamVisit>();
  readonly codes = new Map<string, { visit: UpstreamVisit; subject: string; email?: string }>();
  readonly exchanges: { clientId: string; clientSecret?: string; authMethod: string }[] = [];
  /** Applied to every ID token minted: claims to add or replace (`undefined` removes). */
  idTokenClaims: Record<string, unknown> = {};
  idTokenHeader: Record<string, unknown> = {};
  /** Signs ID tokens with this key instead of the published one (a forgery). */
  forgeWith?: CryptoKey;
  metadataFailure?: Error;
  issParameterSupported = true;

  private constructor(
    readonly issuer: string,
    readonly clientId: string,
    readonly clientSecret: string,
    private readonly privateKey: CryptoKey,
    readonly publicJwk: JWK,
    private readonly now: () => number,
  ) {}

  static async create(issuer: string, now: () => number): Promise<TestUpstream> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'upstream-1', alg: 'ES256', use: 'sig' };
    return new TestUpstream(
      issuer,
      `our-client-at-${new URL(issuer).host}`,
      'upstream-secret',
      privateKey,
      publicJwk,
      now,
    );
  }

  async metadata(issuer: string): Promise<UpstreamMetadata> {
    if (this.metadataFailure) throw this.metadataFailure;
    if (issuer !== this.issuer) throw new Error(`metadata of unknown issuer ${issuer}`);
    return {
      issuer,
      authorizationEndpoint: `${issuer}/authorize`,
      tokenEndpoint: `${issuer}/token`,
      issParameterSupported: this.issParameterSupported,
    };
  }

  /** The browser arrives at the IdP with our redirect; the user signs in as `subject`. Returns the callback query. */
  signIn(location: string, subject = 'alice', email = 'alice@acme.example'): string {
    const url = new URL(location);
    expect(url.origin + url.pathname).toBe(`${this.issuer}/authorize`);
    const state = url.searchParams.get('state')!;
    const visit: UpstreamVisit = {
      clientId: url.searchParams.get('client_id')!,
      redirectUri: url.searchParams.get('redirect_uri')!,
      nonce: url.searchParams.get('nonce')!,
      codeChallenge: url.searchParams.get('code_challenge')!,
      scope: url.searchParams.get('scope')!,
    };
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    this.visits.set(state, visit);
    const code = randomUUID();
    this.codes.set(code, { visit, subject, email });
    return new URLSearchParams({ code, state, iss: this.issuer }).toString();
  }

  async exchangeCode(request: Parameters<UpstreamIdp['exchangeCode']>[0]): Promise<{ idToken: string }> {
    this.exchanges.push({
      clientId: request.clientId,
      clientSecret: request.clientSecret,
      authMethod: request.authMethod,
    });
    const issued = this.codes.get(request.code);
    this.codes.delete(request.code);
    const refuse = (reason: string) => new InvalidGrantError('the upstream refused the code', reason);
    if (!issued) throw refuse('unknown upstream code');
    if (request.clientId !== this.clientId || request.clientSecret !== this.clientSecret) throw refuse('client');
    if (request.redirectUri !== issued.visit.redirectUri) throw refuse('redirect_uri');
    const challenge = createHash('sha256').update(request.codeVerifier).digest('base64url');
    if (challenge !== issued.visit.codeChallenge) throw refuse('pkce');
    const now = this.now();
    const claims: Record<string, unknown> = {
      iss: this.issuer,
      sub: issued.subject,
      aud: this.clientId,
      exp: now + 300,
      iat: now,
      nonce: issued.visit.nonce,
      auth_time: now - 5,
      email: issued.email,
      email_verified: true,
    };
    for (const [name, value] of Object.entries(this.idTokenClaims)) {
      if (value === undefined) delete claims[name];
      else claims[name] = value;
    }
    const header = { alg: 'ES256', kid: 'upstream-1', typ: 'JWT', ...this.idTokenHeader };
    const idToken = await new SignJWT(claims)
      .setProtectedHeader(header as { alg: string })
      .sign(this.forgeWith ?? this.privateKey);
    return { idToken };
  }
}

export const CODE_CLIENT = 'mcp-inspector';
export const CONFIDENTIAL_CODE_CLIENT = 'confidential-app';
export const FIRST_PARTY_CLIENT = 'first-party-app';
/** Public clients registered for the refresh_token grant too (first party: no consent page in the way). */
export const REFRESH_CLIENT = 'desktop-app';
export const OTHER_REFRESH_CLIENT = 'other-desktop-app';
export const REDIRECT_URI = 'https://client.example/callback';
export const LOOPBACK_REDIRECT = 'http://127.0.0.1/callback';
export const ACME_OIDC = 'https://login.acme.example';
export const GLOBEX_OIDC = 'https://sso.globex.example';

export interface InteractiveFixture {
  readonly f: Fixture;
  readonly grants: MemoryGrantStore;
  readonly upstream: TestUpstream;
  readonly secrets: MemorySecrets;
  readonly endpoint: ReturnType<typeof createAuthorizeEndpoint>;
  readonly token: ReturnType<typeof createTokenEndpoint>;
  /** The browser's cookie jar: what the endpoints set, sent back on every request. */
  readonly browser: Map<string, string>;
  addConnection(connection: Partial<Connection> & Pick<Connection, 'tenantId' | 'issuer'>): Connection;
  /** A request as the browser sends it (with its cookies). */
  get(path: 'authorize' | 'callback', query: Record<string, string | readonly string[] | undefined>): HttpRequest;
  post(form: Record<string, string | undefined>): HttpRequest;
  /** Runs an endpoint and keeps the cookies it sets. */
  send(step: (request: HttpRequest) => Promise<InteractionOutcome>, request: HttpRequest): Promise<InteractionOutcome>;
}

/**
 * The token fixture plus the interactive flow's in-memory ports: acme has an OIDC connection (the only one unless a
 * test adds more), and code-flow clients are registered: public, confidential, first party, and two first-party ones
 * that may also refresh.
 */
export async function createInteractiveFixture(): Promise<InteractiveFixture> {
  const f = await createFixture();
  const grants = new MemoryGrantStore();
  const secrets = new MemorySecrets();
  const upstream = await TestUpstream.create(ACME_OIDC, () => f.clock.now());
  f.keyResolver.sets.set(`${ACME_OIDC}/.well-known/jwks.json`, { keys: [upstream.publicJwk] });
  secrets.values.set('secretsmanager:acme-oidc', upstream.clientSecret);
  f.registry.tenants.set('acme', { id: 'acme', displayName: 'Acme Corp', enabled: true });
  f.registry.tenants.set('globex', { id: 'globex', displayName: 'Globex', enabled: true });

  const addConnection: InteractiveFixture['addConnection'] = (fields) => {
    const connection: Connection = {
      clientId: upstream.clientId,
      authMethod: 'client_secret_basic',
      clientSecretRef: 'secretsmanager:acme-oidc',
      scopes: [...DEFAULT_UPSTREAM_SCOPES],
      domains: [],
      isDefault: false,
      enabled: true,
      ...fields,
    };
    f.registry.connectionList.push(connection);
    return connection;
  };
  addConnection({ tenantId: 'acme', issuer: ACME_OIDC, domains: ['acme.example'] });

  const codeClient = (fields: Partial<Client> & Pick<Client, 'clientId' | 'authMethod'>): Client => ({
    secrets: [],
    grantTypes: [AUTHORIZATION_CODE_GRANT_TYPE],
    tenants: ['*'],
    enabled: true,
    redirectUris: [REDIRECT_URI, LOOPBACK_REDIRECT],
    scopes: ['files:read', 'files:write'],
    ...fields,
  });
  const confidential = f.registry.clients.get('claude')!;
  for (const client of [
    codeClient({ clientId: CODE_CLIENT, authMethod: 'none' }),
    codeClient({
      clientId: CONFIDENTIAL_CODE_CLIENT,
      authMethod: 'client_secret_basic',
      secrets: confidential.secrets,
    }),
    codeClient({ clientId: FIRST_PARTY_CLIENT, authMethod: 'none', firstParty: true }),
    ...[REFRESH_CLIENT, OTHER_REFRESH_CLIENT].map((clientId) =>
      codeClient({
        clientId,
        authMethod: 'none',
        firstParty: true,
        grantTypes: [AUTHORIZATION_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE],
      }),
    ),
  ]) {
    f.registry.clients.set(client.clientId, client);
  }

  const deps = { ...f, grants, upstream, secrets };
  const endpoint = createAuthorizeEndpoint(deps);
  const token = createTokenEndpoint(deps);
  const browser = new Map<string, string>();
  const cookieHeader = () => [...browser].map(([name, value]) => `${name}=${value}`).join('; ');
  const get: InteractiveFixture['get'] = (_path, query) => {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value === undefined) continue;
      for (const item of typeof value === 'string' ? [value] : value) params.append(name, item);
    }
    return { method: 'GET', headers: browser.size ? { cookie: cookieHeader() } : {}, query: params.toString() };
  };
  const post: InteractiveFixture['post'] = (form) => {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(form)) if (value !== undefined) body.append(name, value);
    return {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(browser.size ? { cookie: cookieHeader() } : {}),
      },
      body: body.toString(),
    };
  };
  const send: InteractiveFixture['send'] = async (step, request) => {
    const outcome = await step(request);
    for (const cookie of outcome.interaction.cookies ?? []) browser.set(cookie.name, cookie.value);
    return outcome;
  };
  return { f, grants, upstream, secrets, endpoint, token, browser, addConnection, get, post, send };
}

/**
 * The browser flow of a first-party public client (no consent page), alice signing in, and the token request that
 * redeems its code: call `redeem` to send it (again, for a replay).
 */
export async function signInFirstParty(
  x: InteractiveFixture,
  clientId: string,
  params: Record<string, string> = {},
): Promise<{
  readonly redeem: () => ReturnType<InteractiveFixture['token']>;
  /** The redemption's form, for a test that authenticates the client itself. */
  readonly form: Record<string, string>;
}> {
  const { verifier, challenge } = pkce();
  const { interaction } = await x.send(
    x.endpoint.authorize,
    x.get('authorize', authorizationParams(challenge, { client_id: clientId, ...params })),
  );
  const query = x.upstream.signIn(location(interaction).toString());
  const back = await x.send(x.endpoint.callback, { ...x.get('callback', {}), query });
  const form = {
    grant_type: AUTHORIZATION_CODE_GRANT_TYPE,
    code: location(back.interaction).searchParams.get('code')!,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
    client_id: clientId,
  };
  return { redeem: () => x.token(tokenRequest(undefined, { authorization: null, form })), form };
}

/** A PKCE pair (RFC 7636, S256). */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = `${randomUUID()}-${randomUUID()}`;
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The parameters of a valid authorization request of the public code client. */
export function authorizationParams(challenge: string, overrides: Record<string, string | undefined> = {}) {
  return {
    response_type: 'code',
    client_id: CODE_CLIENT,
    redirect_uri: REDIRECT_URI,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'client-state-123',
    scope: 'files:read',
    ...overrides,
  };
}

export function location(interaction: Interaction): URL {
  if (interaction.kind !== 'redirect') {
    throw new Error(`expected a redirect, got the ${interaction.page.name} page: ${JSON.stringify(interaction.page)}`);
  }
  return new URL(interaction.location);
}

export { BROWSER_COOKIE, ISSUER };
