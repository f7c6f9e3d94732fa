import { isResourceIndicator, isScopeToken, type ServerConfig } from '../config';
import {
  InvalidRequestError,
  InvalidScopeError,
  InvalidTargetError,
  UnauthorizedClientError,
  UnsupportedResponseTypeError,
} from '../errors';
import { decideResource } from '../grant';
import type { FormParameters } from '../http';
import {
  AUTHORIZATION_CODE_GRANT_TYPE,
  type Client,
  isStorableIdentifier,
  MAX_CLIENT_ID_BYTES,
  type Resource,
} from '../model';
import type { Registry } from '../ports';

/**
 * The authorization request (PROTOCOL.md §9) as a sequence of small checks. The first two establish whom the browser
 * may be sent back to: until they pass, every failure is shown on an error page, never redirected (an open redirector
 * otherwise). Every later failure is redirected to the client with `state` and `iss`.
 */

/** A client and redirect URI we may send the browser back to. */
export interface VerifiedTarget {
  readonly client: Client;
  readonly redirectUri: string;
  readonly state?: string;
}

export interface AuthorizationRequest extends VerifiedTarget {
  readonly codeChallenge: string;
  readonly resource: Resource;
  readonly scopes: readonly string[];
  /** `login_hint`, when it is an email address: home realm discovery by its domain. */
  readonly loginHint?: string;
  /** `tenant`: a tenant id the client already knows the user belongs to. */
  readonly tenantHint?: string;
}

/** Longest `state` we carry around (it is echoed to the client, stored meanwhile). */
const MAX_STATE_LENGTH = 2048;
/** RFC 7636 §4.2: an S256 challenge is the base64url SHA-256 of the verifier, 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** Step one: the client and the redirect URI. Failures here are shown on a page. */
export async function verifyTarget(params: FormParameters, registry: Registry): Promise<VerifiedTarget> {
  const client = await checkClient(params.get('client_id'), registry);
  const redirectUri = checkRedirectUri(params.get('redirect_uri'), client);
  const state = params.get('state');
  return { client, redirectUri, ...(state === undefined ? {} : { state }) };
}

/** Step two: everything else, for a verified target. Failures here are redirected to the client. */
export function checkAuthorizationRequest(
  params: FormParameters,
  target: VerifiedTarget,
  config: ServerConfig,
): AuthorizationRequest {
  checkState(target.state);
  checkGrantType(target.client);
  checkResponseType(params.get('response_type'));
  const codeChallenge = checkPkce(params.get('code_challenge'), params.get('code_challenge_method'));
  const resource = checkResource(params.getAll('resource'), config);
  const scopes = checkScope(params.get('scope'), target.client, resource);
  const loginHint = params.get('login_hint');
  const tenantHint = params.get('tenant');
  return {
    ...target,
    codeChallenge,
    resource,
    scopes,
    ...(loginHint?.includes('@') && loginHint.length <= 320 ? { loginHint } : {}),
    ...(tenantHint === undefined ? {} : { tenantHint }),
  };
}

async function checkClient(clientId: string | undefined, registry: Registry): Promise<Client> {
  if (clientId === undefined) throw new InvalidRequestError('client_id is required');
  const client = isStorableIdentifier(clientId, MAX_CLIENT_ID_BYTES) ? await registry.getClient(clientId) : undefined;
  if (!client?.enabled)
    throw new InvalidRequestError('the client is not registered here', 'unknown or disabled client');
  return client;
}

function checkRedirectUri(redirectUri: string | undefined, client: Client): string {
  if (redirectUri === undefined) throw new InvalidRequestError('redirect_uri is required');
  if (!(client.redirectUris ?? []).some((registered) => redirectUriMatches(registered, redirectUri))) {
    throw new InvalidRequestError('the redirect_uri is not registered for this client', 'redirect_uri not registered');
  }
  return redirectUri;
}

/** `http://<loopback host>[:port]<rest>`: a native client's loopback redirect URI (RFC 8252 §7.3). */
const LOOPBACK = /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost)(?::\d{1,5})?(\/[^#]*)?$/;

/**
 * Redirect URIs compare exactly (string comparison), with one exception: for a loopback redirect URI the port may
 * differ, since a native client listens on whatever port it gets (RFC 8252 §7.3). Host, path and query still match.
 */
export function redirectUriMatches(registered: string, requested: string): boolean {
  if (registered === requested) return true;
  const a = LOOPBACK.exec(registered);
  const b = LOOPBACK.exec(requested);
  return a !== null && b !== null && a[1] === b[1] && (a[2] ?? '') === (b[2] ?? '');
}

function checkState(state: string | undefined): void {
  if (state !== undefined && state.length > MAX_STATE_LENGTH) throw new InvalidRequestError('state is too long');
}

function checkGrantType(client: Client): void {
  if (!client.grantTypes.includes(AUTHORIZATION_CODE_GRANT_TYPE)) {
    throw new UnauthorizedClientError('the client may not use the authorization code flow');
  }
}

function checkResponseType(responseType: string | undefined): void {
  if (responseType === undefined) throw new InvalidRequestError('response_type is required');
  if (responseType !== 'code') throw new UnsupportedResponseTypeError('only response_type=code is supported');
}

/** OAuth 2.1 makes PKCE mandatory; `plain` would give the challenge away, so S256 only. */
function checkPkce(challenge: string | undefined, method: string | undefined): string {
  if (challenge === undefined) throw new InvalidRequestError('code_challenge is required (PKCE)');
  if (method !== 'S256') throw new InvalidRequestError('code_challenge_method must be S256');
  if (!S256_CHALLENGE.test(challenge)) throw new InvalidRequestError('code_challenge is malformed');
  return challenge;
}

function checkResource(requested: readonly string[], config: ServerConfig): Resource {
  if (requested.some((resource) => !isResourceIndicator(resource))) {
    throw new InvalidTargetError('resource must be an absolute URI without a fragment');
  }
  return decideResource(requested, undefined, config);
}

/**
 * Requested ∩ the resource's ∩ the client's (PROTOCOL.md §9): scopes nobody may grant are dropped, and a request of
 * which nothing remains is `invalid_scope`. Without `scope`, the resource's default scopes the client may have.
 */
function checkScope(scope: string | undefined, client: Client, resource: Resource): string[] {
  const requested = scope?.split(' ').filter(Boolean);
  if (requested?.some((token) => !isScopeToken(token))) throw new InvalidScopeError('scope is malformed');
  const allowed = (token: string) =>
    resource.scopes.includes(token) && (client.scopes === undefined || client.scopes.includes(token));
  const granted = [...new Set(requested ?? resource.defaultScopes ?? resource.scopes)].filter(allowed);
  if (requested !== undefined && requested.length > 0 && granted.length === 0) {
    throw new InvalidScopeError('none of the requested scopes is available to this client for this resource');
  }
  return granted;
}
