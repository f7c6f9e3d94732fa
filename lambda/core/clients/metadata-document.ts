import type { JSONWebKeySet } from 'jose';
import {
  isLoopbackHost,
  MAX_REDIRECT_URI_LENGTH,
  MAX_REDIRECT_URIS,
  parseHttpsUrl,
  redirectUriProblem,
} from '../config';
import {
  AUTHORIZATION_CODE_GRANT_TYPE,
  type Client,
  type ClientAuthMethod,
  type ClientDisplay,
  REFRESH_TOKEN_GRANT_TYPE,
} from '../model';

/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document-03): a client names itself by an https
 * URL, and the document at that URL is its registration. This module is the pure half: which `client_id` values are
 * such URLs (§3), and the client a fetched document describes (§4, §4.1, §8.2). Fetching and caching are an adapter's.
 */

/** A client described by its metadata document, before any operator policy is applied. */
export interface DocumentedClient {
  readonly client: Client;
  readonly display: ClientDisplay;
}

/** Where a client's metadata document comes from: fetched over the safe fetch, cached within bounds (a port). */
export interface ClientMetadataDocuments {
  /**
   * The parsed JSON the URL serves, for `clientFromMetadataDocument` to validate, or why there is none (unreachable,
   * timeout, not 200, a redirect, too large, not JSON, a URL the safe fetch refuses). An implementation may also refuse
   * a document it already found invalid (it must not cache one). Never throws.
   */
  fetch(url: string): Promise<{ readonly document: unknown } | { readonly problem: string }>;
}

/** Longest client_id URL we accept: it is a cache key and appears in every audit line of the client. */
export const MAX_CLIENT_ID_URL_LENGTH = 1024;
/** Longest `client_name` shown; a longer one is cut with an ellipsis. */
export const MAX_CLIENT_NAME_LENGTH = 100;

/** Methods that need a secret shared with us: a document cannot establish one (draft §4.1). */
const SECRET_AUTH_METHODS = new Set(['client_secret_basic', 'client_secret_post', 'client_secret_jwt']);
/** JWK members that carry private or symmetric key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * True when clientId names a metadata document (draft §3): an https URL with a path other than `/`, no userinfo, no
 * fragment, no `.` or `..` segments (also percent-encoded), at most MAX_CLIENT_ID_URL_LENGTH characters. A query
 * and a port are allowed, as the draft allows them. We also require the URL in its normal form (exactly as the WHATWG
 * URL parser serialises it: lower-case scheme and host, no default port, no stray whitespace or backslashes), which
 * the draft asks of clients (§3, RFC 3986 §6.2.2-6.2.3): since client_id is compared as a string and never
 * normalised, the URL we fetch is then exactly the one the client named. With allowHttpLoopback (local mode, tests)
 * http on a loopback host (127.0.0.1, [::1], localhost) is accepted too.
 */
export function isClientIdMetadataUrl(clientId: string, allowHttpLoopback = false): boolean {
  if (clientId.length > MAX_CLIENT_ID_URL_LENGTH) return false;
  // Most client ids are plain names, asked about on every token request: no URL parse (and its exception) for them.
  if (!clientId.startsWith('https://') && !(allowHttpLoopback && clientId.startsWith('http://'))) return false;
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return false;
  }
  const loopbackHttp = allowHttpLoopback && url.protocol === 'http:' && isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !loopbackHttp) return false;
  if (url.href !== clientId) return false;
  if (url.username || url.password || clientId.includes('#')) return false;
  if (url.pathname === '/' || url.pathname === '') return false;
  const rawPath = clientId.slice(url.origin.length).split('?')[0] ?? '';
  return !rawPath.split('/').some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment));
}

/** The client a fetched document describes, or what is wrong with it (a short sentence, never the document's text). */
export function clientFromMetadataDocument(
  url: string,
  document: unknown,
): DocumentedClient | { readonly problem: string } {
  // http on loopback can only have come from local mode (isClientIdMetadataUrl refuses it otherwise): the document's
  // own URLs (jwks_uri, client_uri, logo_uri) may then be loopback http too.
  if (!isClientIdMetadataUrl(url, true)) return { problem: 'client_id is not a client ID metadata document URL' };
  const local = new URL(url).protocol === 'http:';
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return { problem: 'the metadata document is not a JSON object' };
  }
  const doc = document as Record<string, unknown>;
  const member = (name: string): unknown => (Object.hasOwn(doc, name) ? doc[name] : undefined);

  if (member('client_id') === undefined) return { problem: 'the metadata document has no client_id' };
  if (member('client_id') !== url) return { problem: 'the metadata document names another client_id than its URL' };
  for (const name of ['client_secret', 'client_secret_expires_at']) {
    if (Object.hasOwn(doc, name)) return { problem: `the metadata document must not have ${name}` };
  }

  const redirectUris = redirectUrisOf(member('redirect_uris'));
  if ('problem' in redirectUris) return redirectUris;
  const grantTypes = grantTypesOf(member('grant_types'));
  if ('problem' in grantTypes) return grantTypes;
  const responseTypes = member('response_types');
  if (responseTypes !== undefined && !(isStringArray(responseTypes) && responseTypes.includes('code'))) {
    return { problem: 'response_types must be a list of strings that includes code' };
  }
  const jwks = member('jwks');
  const jwksProblem = jwks === undefined ? undefined : publicKeySetProblem(jwks);
  if (jwksProblem) return { problem: jwksProblem };
  const auth = authenticationOf(member('token_endpoint_auth_method'), jwks, member('jwks_uri'), local);
  if ('problem' in auth) return auth;

  const display = displayOf(url, doc, local);
  const client: Client = {
    clientId: url,
    authMethod: auth.method,
    secrets: [],
    ...(auth.jwks ? { jwks: auth.jwks } : {}),
    ...(auth.jwksUri ? { jwksUri: auth.jwksUri } : {}),
    grantTypes: grantTypes.list,
    tenants: ['*'],
    enabled: true,
    redirectUris: redirectUris.list,
    firstParty: false,
    display,
  };
  return { client, display };
}

function redirectUrisOf(value: unknown): { list: string[] } | { problem: string } {
  if (value === undefined) return { problem: 'the metadata document has no redirect_uris' };
  if (!isStringArray(value) || value.length === 0)
    return { problem: 'redirect_uris must be a non-empty list of strings' };
  if (value.length > MAX_REDIRECT_URIS) return { problem: `redirect_uris must list at most ${MAX_REDIRECT_URIS} URIs` };
  for (const [index, uri] of value.entries()) {
    const problem = redirectUriProblem(uri);
    if (problem) return { problem: `redirect_uris[${index}] ${problem}` };
  }
  return { list: [...value] };
}

/**
 * RFC 7591 §2: absent means `authorization_code`. The document must allow the code grant (the one a CIMD client is
 * for); `refresh_token` is kept when listed; any other grant it names is ignored, never granted: a grant beyond these
 * (jwt-bearer for a listed client) is the operator's to give, not the document's.
 */
function grantTypesOf(value: unknown): { list: string[] } | { problem: string } {
  if (value === undefined) return { list: [AUTHORIZATION_CODE_GRANT_TYPE] };
  if (!isStringArray(value) || !value.includes(AUTHORIZATION_CODE_GRANT_TYPE)) {
    return { problem: 'grant_types must be a list of strings that includes authorization_code' };
  }
  return {
    list: value.includes(REFRESH_TOKEN_GRANT_TYPE)
      ? [AUTHORIZATION_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE]
      : [AUTHORIZATION_CODE_GRANT_TYPE],
  };
}

interface Authentication {
  readonly method: ClientAuthMethod;
  readonly jwks?: JSONWebKeySet;
  readonly jwksUri?: string;
}

/**
 * `none` when absent: RFC 7591's default (`client_secret_basic`) needs a secret a document cannot establish, so an
 * unspecified method can only mean a public client. `private_key_jwt` needs exactly one of `jwks_uri` (https) and
 * `jwks` (RFC 7591 §2: not both). Secret-based methods are refused (draft §4.1), as is any other method.
 */
function authenticationOf(
  value: unknown,
  jwks: unknown,
  jwksUri: unknown,
  local: boolean,
): Authentication | { problem: string } {
  const method = value ?? 'none';
  if (typeof method !== 'string') return { problem: 'token_endpoint_auth_method must be a string' };
  if (SECRET_AUTH_METHODS.has(method)) {
    return {
      problem: `token_endpoint_auth_method ${method} needs a shared secret, which a metadata document cannot have`,
    };
  }
  if (method === 'none') return { method };
  if (method !== 'private_key_jwt') {
    return { problem: `token_endpoint_auth_method ${quoted(method)} is not supported (none or private_key_jwt)` };
  }
  if (jwks !== undefined && jwksUri !== undefined) return { problem: 'jwks and jwks_uri must not both be present' };
  if (jwks !== undefined) return { method, jwks: jwks as JSONWebKeySet };
  if (jwksUri === undefined) return { problem: 'private_key_jwt needs jwks_uri or jwks' };
  if (typeof jwksUri !== 'string') return { problem: 'jwks_uri must be a string' };
  const problem = webUrlProblem(jwksUri, local);
  if (problem) return { problem: `jwks_uri ${problem}` };
  return { method, jwksUri };
}

/** A JWK Set of public keys only (draft §4.1: no private key material; a symmetric `oct` key would be a secret). */
function publicKeySetProblem(value: unknown): string | undefined {
  if (!isObject(value) || !Array.isArray(value.keys)) return 'jwks must be an object with a keys list';
  if (value.keys.length === 0) return 'jwks has no keys';
  for (const [index, key] of value.keys.entries()) {
    if (!isObject(key) || typeof key.kty !== 'string') return `jwks.keys[${index}] is not a JSON Web Key`;
    if (key.kty === 'oct') return `jwks.keys[${index}] is a symmetric key, which a metadata document must not have`;
    if (PRIVATE_JWK_MEMBERS.some((name) => Object.hasOwn(key, name))) {
      return `jwks.keys[${index}] carries private key material, which a metadata document must not have`;
    }
  }
  return undefined;
}

/**
 * What the client says about itself, kept only when well-formed and otherwise dropped (never a refusal: a bad logo
 * must not lock users out): `client_name` without control or format characters (bidi overrides, zero-width), with
 * whitespace collapsed, cut at MAX_CLIENT_NAME_LENGTH; `client_uri` and `logo_uri` as https URLs without credentials.
 * The host is the one verified fact: the document came from it.
 */
function displayOf(url: string, doc: Record<string, unknown>, local: boolean): ClientDisplay {
  const name = displayName(Object.hasOwn(doc, 'client_name') ? doc.client_name : undefined);
  const uri = displayUrl(Object.hasOwn(doc, 'client_uri') ? doc.client_uri : undefined, local);
  const logoUri = displayUrl(Object.hasOwn(doc, 'logo_uri') ? doc.logo_uri : undefined, local);
  return {
    host: new URL(url).host,
    ...(name ? { name } : {}),
    ...(uri ? { uri } : {}),
    ...(logoUri ? { logoUri } : {}),
  };
}

/**
 * A client's self-chosen name made fit to show, or undefined: control and format characters (bidi overrides,
 * zero-width) out, whitespace collapsed, cut at MAX_CLIENT_NAME_LENGTH characters with an ellipsis.
 */
export function displayName(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const clean = value
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const characters = Array.from(clean);
  if (characters.length === 0) return undefined;
  if (characters.length <= MAX_CLIENT_NAME_LENGTH) return clean;
  return `${characters
    .slice(0, MAX_CLIENT_NAME_LENGTH - 1)
    .join('')
    .trimEnd()}…`;
}

function displayUrl(value: unknown, local: boolean): string | undefined {
  if (typeof value !== 'string' || webUrlProblem(value, local)) return undefined;
  return new URL(value).href;
}

/** An https URL (loopback http in local mode) without credentials or fragment, of a sane length, or what is wrong. */
function webUrlProblem(value: string, local: boolean): string | undefined {
  if (value.length > MAX_REDIRECT_URI_LENGTH) return `must be at most ${MAX_REDIRECT_URI_LENGTH} characters`;
  const url = parseHttpsUrl(value, local);
  if (typeof url === 'string') return url;
  if (url.username || url.password) return 'must not carry credentials';
  if (value.includes('#')) return 'must not have a fragment';
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** An attacker's value, made safe for a log line: control characters out, at most 40 characters, JSON-quoted. */
function quoted(value: string): string {
  const clean = value.replace(/\p{Cc}/gu, '?');
  return JSON.stringify(clean.length > 40 ? `${clean.slice(0, 40)}…` : clean);
}
