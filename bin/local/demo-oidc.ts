import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type CryptoKey, SignJWT } from 'jose';
import { InvalidClientError, InvalidGrantError, InvalidRequestError, toOAuthError } from '../../lambda/core/errors';
import {
  errorResponse,
  type FormParameters,
  type HttpRequest,
  type HttpResponse,
  header,
  jsonResponse,
  NO_STORE_HEADERS,
  readForm,
} from '../../lambda/core/http';
import type { Clock } from '../../lambda/core/ports';
import { type HttpApiHandler, toHttpRequest } from '../../lambda/handlers/api';
import { errorPage, htmlResponse, loginPage } from './demo-oidc-pages';
import type { Route } from './http-adapter';

/**
 * The demo IdP as an OpenID Connect provider (local mode only, never in a Lambda bundle): the authorization code flow
 * with PKCE for one registered client (our server), a login form with a few demo users who share a printed password,
 * and ID tokens signed with the IdP's key. Everything lives in memory; it is there so that the interactive flow can be
 * tried on a laptop, and it authenticates nobody for real.
 */

export interface DemoUser {
  /** Stable: the same person for the ID-JAG exchange and the interactive flow. */
  readonly sub: string;
  readonly email: string;
  readonly name: string;
}

export const DEMO_USERS: readonly DemoUser[] = [
  { sub: 'alice', email: 'alice@demo.example', name: 'Alice Demo' },
  { sub: 'bob', email: 'bob@demo.example', name: 'Bob Demo' },
];

/** Every demo user's password, printed on the login page. */
export const DEMO_PASSWORD = 'demo-password';

export const DEMO_SCOPES: readonly string[] = ['openid', 'email', 'profile'];

/** The one client this IdP knows: our server, with its callback as the only redirect URI. */
export interface DemoOidcClient {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Compared exactly. */
  readonly redirectUri: string;
}

export interface DemoOidcOptions {
  readonly issuer: string;
  readonly client: DemoOidcClient;
  readonly signingKey: { readonly privateKey: CryptoKey; readonly kid: string; readonly alg: 'ES256' };
  readonly clock: Clock;
}

export interface DemoOidc {
  /** This part's fields of the discovery document. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** `GET <issuer>/authorize` and `POST <issuer>/login`. */
  readonly routes: readonly Route[];
  /** `grant_type=authorization_code` at the IdP's token endpoint, which also serves the ID-JAG exchange. */
  authorizationCodeGrant(request: HttpRequest, form: FormParameters): Promise<HttpResponse>;
}

/** From /authorize to the login form's post. */
const INTERACTION_TTL_SECONDS = 600;
const CODE_TTL_SECONDS = 60;
const ID_TOKEN_TTL_SECONDS = 300;
/** Pending sign-ins and codes kept at most, each: the oldest goes first. */
const MAX_RECORDS = 1000;
const MAX_FORM_BYTES = 4096;

/** RFC 7636 §4.1: 43 to 128 unreserved characters. An S256 challenge is 43 base64url characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

interface PendingSignIn {
  readonly redirectUri: string;
  readonly state: string;
  readonly nonce: string;
  readonly codeChallenge: string;
  readonly scopes: readonly string[];
  readonly expiresAt: number;
}

interface CodeGrant {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly nonce: string;
  readonly scopes: readonly string[];
  readonly user: DemoUser;
  readonly authTime: number;
  readonly expiresAt: number;
}

/** Short-lived records in memory, bounded: expired ones are swept on every write, the oldest dropped when full. */
class ShortLived<T extends { readonly expiresAt: number }> {
  private readonly records = new Map<string, T>();

  add(key: string, record: T, now: number): void {
    for (const [k, r] of this.records) if (r.expiresAt <= now) this.records.delete(k);
    const oldest = this.records.keys().next();
    if (this.records.size >= MAX_RECORDS && !oldest.done) this.records.delete(oldest.value);
    this.records.set(key, record);
  }

  /** The record while it lives. */
  get(key: string | undefined, now: number): T | undefined {
    const record = key === undefined ? undefined : this.records.get(key);
    return record !== undefined && now < record.expiresAt ? record : undefined;
  }

  /** Removes the record and returns it if it was live: whoever takes it first has it. */
  take(key: string | undefined, now: number): T | undefined {
    const record = this.get(key, now);
    if (key !== undefined) this.records.delete(key);
    return record;
  }
}

const randomId = () => randomBytes(32).toString('base64url');
const sha256 = (value: string) => createHash('sha256').update(value).digest();
const sameSecret = (given: string, expected: string) => timingSafeEqual(sha256(given), sha256(expected));

/** A parameter given once and not empty; undefined when absent, empty or repeated. */
function single(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  return values.length === 1 && values[0] !== '' ? values[0] : undefined;
}

interface Refusal {
  readonly error: string;
  readonly description: string;
}

/** One rule of the authorization request, checked once its client and redirect URI are known to be registered. */
type Check = (query: URLSearchParams) => Refusal | undefined;

const invalidRequest = (description: string): Refusal => ({ error: 'invalid_request', description });

const checkNoRepeats: Check = (query) => {
  for (const name of new Set(query.keys())) {
    if (query.getAll(name).length > 1) {
      return invalidRequest(/^[a-z_]{1,40}$/.test(name) ? `${name} must not be repeated` : 'a parameter is repeated');
    }
  }
  return undefined;
};

const checkResponseType: Check = (query) => {
  const responseType = single(query, 'response_type');
  if (responseType === undefined) return invalidRequest('response_type is required');
  return responseType === 'code'
    ? undefined
    : { error: 'unsupported_response_type', description: 'response_type must be code' };
};

const checkScope: Check = (query) =>
  (single(query, 'scope') ?? '').split(' ').includes('openid')
    ? undefined
    : { error: 'invalid_scope', description: 'scope must include openid' };

const checkState: Check = (query) => (single(query, 'state') ? undefined : invalidRequest('state is required'));

const checkNonce: Check = (query) => (single(query, 'nonce') ? undefined : invalidRequest('nonce is required'));

const checkPkce: Check = (query) => {
  if (single(query, 'code_challenge_method') !== 'S256') return invalidRequest('code_challenge_method must be S256');
  return S256_CHALLENGE.test(single(query, 'code_challenge') ?? '')
    ? undefined
    : invalidRequest('code_challenge is required: an S256 PKCE challenge');
};

const AUTHORIZATION_CHECKS: readonly Check[] = [
  checkNoRepeats,
  checkResponseType,
  checkScope,
  checkState,
  checkNonce,
  checkPkce,
];

/** `application/x-www-form-urlencoded` decoding of a Basic credential's halves (RFC 6749 §2.3.1). */
const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));

export function createDemoOidc({ issuer, client, signingKey, clock }: DemoOidcOptions): DemoOidc {
  const path = new URL(issuer).pathname.replace(/\/$/, '');
  const pending = new ShortLived<PendingSignIn>();
  const codes = new ShortLived<CodeGrant>();

  /** Back to the client with RFC 9207's `iss`: only ever to its registered redirect URI. */
  function redirect(statusCode: 302 | 303, params: Record<string, string | undefined>) {
    const location = new URL(client.redirectUri);
    for (const [name, value] of Object.entries({ ...params, iss: issuer })) {
      if (value !== undefined) location.searchParams.set(name, value);
    }
    return {
      statusCode,
      headers: { Location: location.href, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' },
      body: '',
    } satisfies APIGatewayProxyStructuredResultV2;
  }

  const showError = (statusCode: number, error: string, description: string) =>
    htmlResponse(statusCode, errorPage(error, description));

  const showLogin = (statusCode: number, interaction: string, selected: string, problem?: string) =>
    htmlResponse(
      statusCode,
      loginPage({
        interaction,
        clientId: client.clientId,
        users: DEMO_USERS,
        selected,
        password: DEMO_PASSWORD,
        problem,
      }),
      { form: true },
    );

  const authorize: HttpApiHandler = async (event) => {
    const query = new URLSearchParams(event.rawQueryString ?? '');
    // Until the client and its redirect URI are known to be registered, nothing is redirected: an error page.
    const clientId = single(query, 'client_id');
    if (clientId === undefined) return showError(400, 'invalid_request', 'The request does not name an application.');
    if (clientId !== client.clientId) {
      return showError(400, 'invalid_client', 'The application asking for this sign-in is not registered here.');
    }
    const redirectUri = single(query, 'redirect_uri');
    if (redirectUri !== client.redirectUri) {
      return showError(400, 'invalid_request', 'The address to return to is not registered for this application.');
    }
    for (const check of AUTHORIZATION_CHECKS) {
      const refusal = check(query);
      if (refusal) {
        return redirect(302, {
          error: refusal.error,
          error_description: refusal.description,
          state: single(query, 'state'),
        });
      }
    }
    const now = clock.now();
    const interaction = randomId();
    pending.add(
      interaction,
      {
        redirectUri,
        state: single(query, 'state')!,
        nonce: single(query, 'nonce')!,
        codeChallenge: single(query, 'code_challenge')!,
        scopes: single(query, 'scope')!.split(' ').filter(Boolean),
        expiresAt: now + INTERACTION_TTL_SECONDS,
      },
      now,
    );
    const hint = single(query, 'login_hint')?.toLowerCase();
    const hinted = DEMO_USERS.find((user) => user.email === hint || user.sub === hint);
    return showLogin(200, interaction, (hinted ?? DEMO_USERS[0]!).sub);
  };

  const login: HttpApiHandler = async (event) => {
    const request = toHttpRequest(event);
    // Browsers say where a form post comes from (Fetch Metadata): only this IdP's own page may send it.
    const site = header(request, 'sec-fetch-site');
    if (site !== undefined && site !== 'same-origin') {
      return showError(403, 'invalid_request', 'This form can only be sent from the sign-in page.');
    }
    let form: FormParameters;
    try {
      form = readForm(request, MAX_FORM_BYTES, []);
    } catch {
      return showError(400, 'invalid_request', 'The sign-in form could not be read.');
    }
    const now = clock.now();
    const interaction = form.get('interaction');
    const signIn = pending.get(interaction, now);
    if (interaction === undefined || signIn === undefined) {
      return showError(
        400,
        'invalid_request',
        'This sign-in has expired or is already over: start again from the application.',
      );
    }
    const action = form.get('action');
    if (action === 'cancel') {
      pending.take(interaction, now);
      return redirect(303, {
        error: 'access_denied',
        error_description: 'the user cancelled the sign-in',
        state: signIn.state,
      });
    }
    if (action !== 'sign-in') return showError(400, 'invalid_request', 'The sign-in form could not be read.');
    const user = DEMO_USERS.find((candidate) => candidate.sub === form.get('user'));
    if (user === undefined || !sameSecret(form.get('password') ?? '', DEMO_PASSWORD)) {
      return showLogin(400, interaction, user?.sub ?? DEMO_USERS[0]!.sub, 'Wrong user or password.');
    }
    pending.take(interaction, now);
    const code = randomId();
    codes.add(
      code,
      {
        clientId: client.clientId,
        redirectUri: signIn.redirectUri,
        codeChallenge: signIn.codeChallenge,
        nonce: signIn.nonce,
        scopes: signIn.scopes,
        user,
        authTime: now,
        expiresAt: now + CODE_TTL_SECONDS,
      },
      now,
    );
    return redirect(303, { code, state: signIn.state });
  };

  /** `client_secret_basic` or `client_secret_post`, exactly one; any failure is `invalid_client` (401). */
  function authenticateClient(request: HttpRequest, form: FormParameters): void {
    const refused = () =>
      new InvalidClientError('client authentication failed', 'client authentication failed', {
        'WWW-Authenticate': 'Basic realm="demo-idp"',
      });
    const authorization = header(request, 'authorization');
    let id: string | undefined;
    let secret: string | undefined;
    if (authorization !== undefined) {
      if (form.has('client_secret')) throw new InvalidRequestError('use one client authentication method');
      const basic = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(authorization.trim());
      const decoded = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8') : '';
      const colon = decoded.indexOf(':');
      if (colon < 0) throw refused();
      try {
        id = formDecode(decoded.slice(0, colon));
        secret = formDecode(decoded.slice(colon + 1));
      } catch {
        throw refused();
      }
      if (form.has('client_id') && form.get('client_id') !== id) throw refused();
    } else {
      id = form.get('client_id');
      secret = form.get('client_secret');
    }
    const known = id === client.clientId;
    // Compared whatever the id, so that the time taken says nothing about which part was wrong.
    const matches = sameSecret(secret ?? '', client.clientSecret);
    if (!known || !secret || !matches) throw refused();
  }

  function required(form: FormParameters, name: string): string {
    const value = form.get(name);
    if (value === undefined) throw new InvalidRequestError(`${name} is required`);
    return value;
  }

  function signIdToken(grant: CodeGrant, now: number): Promise<string> {
    const { user, scopes } = grant;
    return new SignJWT({
      nonce: grant.nonce,
      auth_time: grant.authTime,
      ...(scopes.includes('email') ? { email: user.email, email_verified: true } : {}),
      ...(scopes.includes('profile') ? { name: user.name } : {}),
    })
      .setProtectedHeader({ alg: signingKey.alg, kid: signingKey.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setSubject(user.sub)
      .setAudience(grant.clientId)
      .setIssuedAt(now)
      .setExpirationTime(now + ID_TOKEN_TTL_SECONDS)
      .sign(signingKey.privateKey);
  }

  async function authorizationCodeGrant(request: HttpRequest, form: FormParameters): Promise<HttpResponse> {
    try {
      authenticateClient(request, form);
      const code = required(form, 'code');
      const redirectUri = required(form, 'redirect_uri');
      const verifier = required(form, 'code_verifier');
      const now = clock.now();
      // Taken, so used once, whatever follows: a code presented with a wrong verifier is gone too.
      const grant = codes.take(code, now);
      if (grant === undefined || grant.clientId !== client.clientId) {
        throw new InvalidGrantError('the code is invalid, expired or already used');
      }
      if (redirectUri !== grant.redirectUri) {
        throw new InvalidGrantError('redirect_uri is not the one of the authorization request');
      }
      const challenge = createHash('sha256').update(verifier, 'ascii').digest('base64url');
      if (!CODE_VERIFIER.test(verifier) || challenge !== grant.codeChallenge) {
        throw new InvalidGrantError('code_verifier does not match the code_challenge');
      }
      return jsonResponse(
        200,
        {
          // Opaque and good for nothing here (there is no userinfo endpoint): the ID token is what clients want.
          access_token: randomId(),
          token_type: 'Bearer',
          expires_in: ID_TOKEN_TTL_SECONDS,
          id_token: await signIdToken(grant, now),
          scope: grant.scopes.join(' '),
        },
        { ...NO_STORE_HEADERS },
      );
    } catch (error) {
      return errorResponse(toOAuthError(error));
    }
  }

  return {
    metadata: {
      authorization_endpoint: `${issuer}/authorize`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      code_challenge_methods_supported: ['S256'],
      id_token_signing_alg_values_supported: [signingKey.alg],
      scopes_supported: DEMO_SCOPES,
      subject_types_supported: ['public'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      authorization_response_iss_parameter_supported: true,
      claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'email', 'email_verified', 'name'],
    },
    routes: [
      { method: 'GET', path: `${path}/authorize`, handler: authorize },
      { method: 'POST', path: `${path}/login`, handler: login },
    ],
    authorizationCodeGrant,
  };
}
