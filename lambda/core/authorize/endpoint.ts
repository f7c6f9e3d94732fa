import { endpointsOf, type ServerConfig } from '../config';
import {
  AccessDeniedError,
  InvalidRequestError,
  type OAuthError,
  ServerError,
  TemporarilyUnavailableError,
  toOAuthError,
} from '../errors';
import { type FormParameters, type HttpRequest, header, parseParameters, readForm } from '../http';
import { type Client, clientServesTenant, isDynamicClientId } from '../model';
import type { Clock, GrantStore, KeyResolver, LoginTransaction, Registry, SecretSource, UpstreamIdp } from '../ports';
import { readCookie } from './cookies';
import { discoverRealm, type Realm, realmOfEmail, realmOfTenant } from './home-realm';
import { type ClientView, type Cookie, FORM_FIELDS, type Interaction, type PageView } from './interaction';
import { checkAuthorizationRequest, type VerifiedTarget, verifyTarget } from './request';
import {
  BROWSER_COOKIE,
  isRandomValue,
  randomValue,
  safeEqual,
  sha256,
  type TransactionSecrets,
  transactionSecrets,
} from './transaction';
import { upstreamAuthorizationUrl, validateIdToken } from './upstream';

export interface AuthorizeEndpointDeps {
  readonly config: ServerConfig;
  readonly registry: Registry;
  readonly grants: GrantStore;
  readonly upstream: UpstreamIdp;
  readonly secrets: SecretSource;
  /** Resolves upstream IdPs' keys (by discovery) for their ID tokens. */
  readonly keyResolver: KeyResolver;
  readonly clock: Clock;
  /** Milliseconds from a monotonic clock, for the audit record's latency. */
  readonly elapsedMs?: () => number;
}

/** One record per browser-facing decision; never a code, a cookie, a token or an email address. */
export interface InteractionAudit {
  readonly event: 'authorization_request' | 'authorization_form' | 'authorization_callback';
  /** `page`: a page was shown; `upstream`: sent to the IdP; `code`: a code was issued; `denied`: the user refused. */
  readonly outcome: 'page' | 'upstream' | 'code' | 'denied' | 'rejected' | 'failed';
  readonly error?: string;
  readonly reason?: string;
  readonly client?: string;
  readonly tenant?: string;
  /** The page shown, when one was. */
  readonly page?: PageView['name'];
  readonly latencyMs: number;
}

export interface InteractionOutcome {
  readonly interaction: Interaction;
  readonly audit: InteractionAudit;
}

type AuditContext = { client?: string; tenant?: string };

/** Stands for an upstream failure that must go back to the client, where the client can start again. */
class ClientRedirect extends Error {
  constructor(
    readonly error: OAuthError,
    readonly target: VerifiedTarget,
  ) {
    super(error.reason);
  }
}

/**
 * The browser-facing endpoints of the interactive flow: `GET /authorize` (PROTOCOL.md §9), the forms it shows posting
 * back to `POST /authorize` (home realm discovery, consent), and `GET /callback` from the upstream IdP (§10), which
 * ends with an authorization code (§11). Each answers with an Interaction (a redirect or a page to render) and one
 * audit record; none ever throws.
 */
export function createAuthorizeEndpoint(deps: AuthorizeEndpointDeps) {
  const { config, registry, grants, clock } = deps;
  const elapsedMs = deps.elapsedMs ?? (() => performance.now());
  const { callbackUri } = endpointsOf(config.issuer);
  const interactive = config.interactive;

  /** Runs one step; turns what it throws into an error page, or a redirect once the target is verified. */
  const run =
    (event: InteractionAudit['event'], step: (request: HttpRequest, context: AuditContext) => Promise<Interaction>) =>
    async (request: HttpRequest): Promise<InteractionOutcome> => {
      const started = elapsedMs();
      const context: AuditContext = {};
      const finish = (interaction: Interaction, fields: Partial<InteractionAudit>): InteractionOutcome => ({
        interaction,
        audit: {
          event,
          outcome: 'page',
          ...context,
          ...(interaction.kind === 'page' ? { page: interaction.page.name } : {}),
          ...fields,
          latencyMs: Math.round(elapsedMs() - started),
        },
      });
      try {
        const interaction = await step(request, context);
        const outcome = outcomeOf(interaction);
        return finish(interaction, { outcome });
      } catch (thrown) {
        if (thrown instanceof ClientRedirect) {
          const error = thrown.error;
          const outcome = error instanceof AccessDeniedError && error.reason === 'user denied' ? 'denied' : 'rejected';
          return finish(errorRedirect(thrown.target, error), {
            outcome: error.status >= 500 ? 'failed' : outcome,
            error: error.error,
            reason: error.reason,
          });
        }
        const error = toOAuthError(thrown);
        return finish(errorPage(error), {
          outcome: error.status >= 500 ? 'failed' : 'rejected',
          error: error.error,
          reason: error.reason,
        });
      }
    };

  /** GET /authorize: check the request, start a login transaction, and take the first step of the login. */
  const authorize = run('authorization_request', async (request, context) => {
    if (!interactive.enabled) throw new InvalidRequestError('sign-in is not enabled on this server', 'interactive off');
    const params = parseParameters(request.query ?? '', ['resource']);
    const target = await verifyTarget(params, registry);
    context.client = target.client.clientId;
    const authorization = redirectOnError(target, () => checkAuthorizationRequest(params, target, config));
    const realm = await redirectOnErrorAsync(target, () =>
      discoverRealm({ tenant: authorization.tenantHint, email: authorization.loginHint }, registry),
    );
    const now = clock.now();
    const browser = browserValue(request);
    const id = randomValue();
    const secrets = transactionSecrets(browser.value, id);
    const transaction: LoginTransaction = {
      id,
      browserBinding: secrets.binding,
      clientId: target.client.clientId,
      redirectUri: target.redirectUri,
      ...(target.state === undefined ? {} : { state: target.state }),
      codeChallenge: authorization.codeChallenge,
      resource: authorization.resource.id,
      scopes: authorization.scopes,
      ...(realm ? { tenantId: realm.tenant.id } : {}),
      consented: target.client.firstParty === true,
      createdAt: now,
      expiresAt: now + interactive.transactionTtlSeconds,
    };
    if (realm) checkClientForTenant(target, realm);
    await grants.createTransaction(transaction);
    const next = await nextStep(transaction, secrets, target.client, realm, authorization.loginHint);
    context.tenant = realm?.tenant.id;
    return withCookies(next, browser.cookie ? [browser.cookie] : []);
  });

  /** POST /authorize: the home realm form (a work email) or the consent form (approve or deny). */
  const interact = run('authorization_form', async (request, context) => {
    if (!interactive.enabled) throw new InvalidRequestError('sign-in is not enabled on this server', 'interactive off');
    const form = readForm(request, config.maxBodyBytes, []);
    const { transaction, secrets } = await liveTransaction(request, form.get(FORM_FIELDS.transaction));
    if (!safeEqual(form.get(FORM_FIELDS.csrf) ?? '', secrets.csrfToken)) {
      throw new InvalidRequestError('this form has expired', 'csrf token mismatch');
    }
    const client = await clientOf(transaction);
    context.client = client.clientId;
    const target = targetOf(transaction, client);
    const action = form.get(FORM_FIELDS.action);

    if (action === 'deny') {
      await grants.consumeTransaction(transaction.id, clock.now());
      throw new ClientRedirect(new AccessDeniedError('the user did not approve the request', 'user denied'), target);
    }
    if (action === 'email') {
      const email = form.get(FORM_FIELDS.email) ?? '';
      const realm = email.length <= 320 ? await realmOfEmail(email, registry) : undefined;
      if (!realm) return homeRealmPage(transaction, secrets, client, email.slice(0, 320));
      context.tenant = realm.tenant.id;
      checkClientForTenant(target, realm);
      const changed = { ...transaction, tenantId: realm.tenant.id };
      await updateLive(transaction.id, { tenantId: realm.tenant.id });
      return nextStep(changed, secrets, client, realm, email);
    }
    if (action === 'approve') {
      const realm = transaction.tenantId ? await realmOfTenant(transaction.tenantId, registry) : undefined;
      context.tenant = transaction.tenantId;
      const approved = { ...transaction, consented: true };
      await updateLive(transaction.id, { consented: true });
      return nextStep(approved, secrets, client, realm);
    }
    throw new InvalidRequestError('unknown form action', 'unknown action');
  });

  /** GET /callback: the upstream IdP's answer; ends with an authorization code for the client (§10, §11). */
  const callback = run('authorization_callback', async (request, context) => {
    if (!interactive.enabled) throw new InvalidRequestError('sign-in is not enabled on this server', 'interactive off');
    const params = parseParameters(request.query ?? '', []);
    const { transaction, secrets } = await liveTransaction(request, params.get('state'));
    const now = clock.now();
    // Used once, before anything else can happen with it: a replayed callback finds nothing.
    if (!(await grants.consumeTransaction(transaction.id, now))) {
      throw new InvalidRequestError('this sign-in has already been completed or has expired', 'transaction used');
    }
    const client = await clientOf(transaction);
    context.client = client.clientId;
    context.tenant = transaction.tenantId;
    const target = targetOf(transaction, client);
    const realm = transaction.tenantId ? await realmOfTenant(transaction.tenantId, registry) : undefined;
    if (!realm) {
      throw new ClientRedirect(new AccessDeniedError('sign-in is not available for your organisation'), target);
    }
    const code = await redirectOnErrorAsync(target, () => completeSignIn(params, transaction, secrets, realm, now));
    const location = new URL(target.redirectUri);
    location.searchParams.set('code', code);
    if (target.state !== undefined) location.searchParams.set('state', target.state);
    location.searchParams.set('iss', config.issuer);
    return { kind: 'redirect', location: location.toString() };
  });

  /** The upstream answer, the code exchange, the ID token, then our authorization code. */
  async function completeSignIn(
    params: FormParameters,
    transaction: LoginTransaction,
    secrets: TransactionSecrets,
    realm: Realm,
    now: number,
  ): Promise<string> {
    const { connection } = realm;
    const metadata = await deps.upstream.metadata(connection.issuer);
    const iss = params.get('iss');
    // RFC 9207: an answer naming another issuer is a mix-up; one that should name its issuer and does not, too.
    if (iss !== undefined ? iss !== connection.issuer : metadata.issParameterSupported) {
      throw new AccessDeniedError(
        'the sign-in answer did not come from your identity provider',
        'upstream iss mismatch',
      );
    }
    const upstreamError = params.get('error');
    if (upstreamError !== undefined) {
      if (upstreamError === 'access_denied' || upstreamError === 'login_required') {
        throw new AccessDeniedError('sign-in was cancelled or refused', `upstream ${upstreamError.slice(0, 40)}`);
      }
      throw new ServerError(`upstream error ${upstreamError.slice(0, 40)}`);
    }
    const upstreamCode = params.get('code');
    if (upstreamCode === undefined) throw new ServerError('upstream answer without code');
    const clientSecret = connection.clientSecretRef ? await deps.secrets.secret(connection.clientSecretRef) : undefined;
    const { idToken } = await deps.upstream
      .exchangeCode({
        tokenEndpoint: metadata.tokenEndpoint,
        clientId: connection.clientId,
        authMethod: connection.authMethod,
        ...(clientSecret === undefined ? {} : { clientSecret }),
        code: upstreamCode,
        redirectUri: callbackUri,
        codeVerifier: secrets.upstreamCodeVerifier,
      })
      .catch((error: unknown) => {
        // A refused exchange is between us and the IdP (our credentials, its code): a server error for the client.
        const oauth = toOAuthError(error);
        throw oauth instanceof TemporarilyUnavailableError ? oauth : new ServerError(`code exchange: ${oauth.reason}`);
      });
    const user = await validateIdToken(idToken, {
      connection,
      nonce: secrets.upstreamNonce,
      keyResolver: deps.keyResolver,
      now,
      clockSkewSeconds: config.clockSkewSeconds,
    }).catch((error: unknown) => {
      // An ID token we cannot accept is the IdP's fault, never the client's request.
      const oauth = toOAuthError(error);
      throw oauth instanceof TemporarilyUnavailableError
        ? oauth
        : new AccessDeniedError(oauth.description, oauth.reason);
    });

    const code = randomValue();
    await grants.createCode({
      codeHash: sha256(code),
      grantId: randomValue(),
      clientId: transaction.clientId,
      redirectUri: transaction.redirectUri,
      codeChallenge: transaction.codeChallenge,
      resource: transaction.resource,
      scopes: transaction.scopes,
      tenantId: realm.tenant.id,
      idpIssuer: user.issuer,
      idpSubject: user.subject,
      ...(user.email === undefined ? {} : { email: user.email }),
      ...(user.authTime === undefined ? {} : { authTime: user.authTime }),
      ...(user.acr === undefined ? {} : { acr: user.acr }),
      ...(user.amr === undefined ? {} : { amr: user.amr }),
      issuedAt: now,
      expiresAt: now + interactive.codeTtlSeconds,
    });
    return code;
  }

  /** Where the login goes next: ask the organisation, ask consent, or go to the IdP. */
  async function nextStep(
    transaction: LoginTransaction,
    secrets: TransactionSecrets,
    client: Client,
    realm: Realm | undefined,
    loginHint?: string,
  ): Promise<Interaction> {
    if (!realm) return homeRealmPage(transaction, secrets, client);
    if (!transaction.consented) {
      return page(200, {
        name: 'consent',
        transactionId: transaction.id,
        csrfToken: secrets.csrfToken,
        client: clientView(client),
        redirectUri: transaction.redirectUri,
        resource: transaction.resource,
        scopes: transaction.scopes,
        tenantName: realm.tenant.displayName ?? realm.tenant.id,
      });
    }
    const target = targetOf(transaction, client);
    const metadata = await redirectOnErrorAsync(target, () => deps.upstream.metadata(realm.connection.issuer));
    return {
      kind: 'redirect',
      location: upstreamAuthorizationUrl({
        metadata,
        connection: realm.connection,
        callbackUri,
        transactionId: transaction.id,
        nonce: secrets.upstreamNonce,
        codeVerifier: secrets.upstreamCodeVerifier,
        ...(loginHint === undefined ? {} : { loginHint }),
      }),
    };
  }

  /** The transaction a form or the callback names, if this browser started it and it is still live. */
  async function liveTransaction(request: HttpRequest, id: string | undefined) {
    const browser = readCookie(header(request, 'cookie'), BROWSER_COOKIE);
    if (!isRandomValue(id)) throw new InvalidRequestError(SESSION_LOST, 'no or malformed transaction id');
    if (!isRandomValue(browser)) throw new InvalidRequestError(SESSION_LOST, 'no browser cookie');
    const transaction = await grants.getTransaction(id, clock.now());
    if (!transaction) throw new InvalidRequestError(SESSION_LOST, 'unknown, used or expired transaction');
    const secrets = transactionSecrets(browser, id);
    // Login CSRF: the answer must reach the browser that started the login.
    if (!safeEqual(secrets.binding, transaction.browserBinding)) {
      throw new InvalidRequestError(SESSION_LOST, 'transaction started by another browser');
    }
    return { transaction, secrets };
  }

  async function updateLive(id: string, changes: { tenantId?: string; consented?: boolean }): Promise<void> {
    if (!(await grants.updateTransaction(id, changes, clock.now()))) {
      throw new InvalidRequestError(SESSION_LOST, 'transaction ended meanwhile');
    }
  }

  async function clientOf(transaction: LoginTransaction): Promise<Client> {
    const client = await registry.getClient(transaction.clientId);
    // Disabled meanwhile: its redirect URI is no longer one we vouch for.
    if (!client?.enabled) throw new InvalidRequestError('the client is not registered here', 'client disabled');
    return client;
  }

  /** The browser's login cookie, or a new one to set. */
  function browserValue(request: HttpRequest): { value: string; cookie?: Cookie } {
    const existing = readCookie(header(request, 'cookie'), BROWSER_COOKIE);
    if (isRandomValue(existing)) return { value: existing };
    const value = randomValue();
    return { value, cookie: { name: BROWSER_COOKIE, value, maxAgeSeconds: interactive.transactionTtlSeconds } };
  }

  /** The error redirect of RFC 6749 §4.1.2.1, with RFC 9207 `iss`. */
  function errorRedirect(target: VerifiedTarget, error: OAuthError): Interaction {
    const location = new URL(target.redirectUri);
    location.searchParams.set('error', error.error);
    location.searchParams.set('error_description', error.description);
    if (target.state !== undefined) location.searchParams.set('state', target.state);
    location.searchParams.set('iss', config.issuer);
    return { kind: 'redirect', location: location.toString() };
  }

  return { authorize, interact, callback };
}

const SESSION_LOST = 'this sign-in has expired, or was started in another browser';

function page(status: number, view: PageView): Interaction {
  return { kind: 'page', status, page: view };
}

function errorPage(error: OAuthError): Interaction {
  return page(error.status, { name: 'error', error: error.error, description: error.description });
}

function homeRealmPage(
  transaction: LoginTransaction,
  secrets: TransactionSecrets,
  client: Client,
  email?: string,
): Interaction {
  return page(200, {
    name: 'home-realm',
    transactionId: transaction.id,
    csrfToken: secrets.csrfToken,
    client: clientView(client),
    ...(email === undefined
      ? {}
      : {
          email,
          problem: 'No organisation signs in with this email address here. Check it, or ask your administrator.',
        }),
  });
}

function withCookies(interaction: Interaction, cookies: readonly Cookie[]): Interaction {
  return cookies.length === 0 ? interaction : { ...interaction, cookies: [...(interaction.cookies ?? []), ...cookies] };
}

function outcomeOf(interaction: Interaction): InteractionAudit['outcome'] {
  if (interaction.kind === 'page') return interaction.status >= 400 ? 'rejected' : 'page';
  return new URL(interaction.location).searchParams.has('code') ? 'code' : 'upstream';
}

/** A client as pages name it: by its id; for an https URL id (CIMD), by its host too. */
export function clientView(client: Client): ClientView {
  // A CIMD client's host is where its document came from; a name is the client's own claim (the page marks it
  // unverified); a self-registered client's id is random, so the page names it as what it is.
  const host = client.display ? client.display.host : httpsHost(client.clientId);
  const name = client.display?.name;
  return {
    clientId: client.clientId,
    ...(host === undefined ? {} : { host }),
    ...(name === undefined ? {} : { name }),
    ...(isDynamicClientId(client.clientId) ? { selfRegistered: true } : {}),
  };
}

/** The host of a client id that is an https URL. */
function httpsHost(clientId: string): string | undefined {
  try {
    const url = new URL(clientId);
    return url.protocol === 'https:' ? url.host : undefined;
  } catch {
    return undefined;
  }
}

function targetOf(transaction: LoginTransaction, client: Client): VerifiedTarget {
  return {
    client,
    redirectUri: transaction.redirectUri,
    ...(transaction.state === undefined ? {} : { state: transaction.state }),
  };
}

function checkClientForTenant(target: VerifiedTarget, realm: Realm): void {
  if (!clientServesTenant(target.client, realm.tenant.id)) {
    throw new ClientRedirect(
      new AccessDeniedError('this application is not available for your organisation', 'client not allowed for tenant'),
      target,
    );
  }
}

function redirectOnError<T>(target: VerifiedTarget, step: () => T): T {
  try {
    return step();
  } catch (error) {
    throw error instanceof ClientRedirect ? error : new ClientRedirect(toOAuthError(error), target);
  }
}

async function redirectOnErrorAsync<T>(target: VerifiedTarget, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw error instanceof ClientRedirect ? error : new ClientRedirect(toOAuthError(error), target);
  }
}
