import * as v from 'valibot';
import type { Resource } from './model';

/** How the token endpoint behaves: deployment configuration, read once at start. */
export interface ServerConfig {
  /** This server's issuer identifier: the `aud` every assertion must carry and the `iss` of every token. */
  readonly issuer: string;
  readonly resources: readonly Resource[];
  /** The resource a token is bound to when neither the request nor the assertion names one. */
  readonly defaultResource?: string;
  readonly accessTokenTtlSeconds: number;
  readonly clockSkewSeconds: number;
  readonly maxBodyBytes: number;
  readonly maxAssertionBytes: number;
  /** `Cache-Control: max-age` of the metadata and JWKS documents. */
  readonly metadataMaxAgeSeconds: number;
  /** The interactive flow (authorization code + PKCE, brokered to upstream OIDC IdPs); off: jwt-bearer only. */
  readonly interactive: InteractiveConfig;
  /** Clients known by a Client ID Metadata Document (CIMD): an https `client_id` URL naming the client's document. */
  readonly clientIdMetadataDocuments: ClientIdMetadataDocumentPolicy;
  /** Dynamic Client Registration (RFC 7591) at `POST /register`: off unless asked for. */
  readonly dynamicClientRegistration: DynamicClientRegistrationConfig;
}

/**
 * Dynamic Client Registration (RFC 7591, PROTOCOL.md §13): anyone may register a client for the interactive flow,
 * which then always shows the consent page. Registrations count against `maxClients` and end `unusedLifetimeSeconds`
 * after they were made or last used to obtain a token (docs/clients.md).
 */
export interface DynamicClientRegistrationConfig {
  readonly enabled: boolean;
  /** Most unexpired registrations at a time; beyond it `POST /register` refuses (concurrent ones may overshoot). */
  readonly maxClients: number;
  /** How long a registration lives unused: from its registration, and again from each token its client obtains. */
  readonly unusedLifetimeSeconds: number;
}

/**
 * Which CIMD clients this deployment accepts. A client registered under its URL is always accepted (it is listed:
 * its registration says what it may do, the document says what it is); others only when `enabled`, from any host
 * unless `hosts` lists the accepted ones, for the interactive flow only, and always with the consent page.
 */
export interface ClientIdMetadataDocumentPolicy {
  readonly enabled: boolean;
  /** Hosts (`host[:port]`, lower case) whose unlisted clients are accepted; absent: any host; empty: none. */
  readonly hosts?: readonly string[];
}

export interface InteractiveConfig {
  readonly enabled: boolean;
  /** Named on every page (`Sign in to <productName>`). */
  readonly productName: string;
  /** How long a login transaction (from /authorize to /callback) lives. */
  readonly transactionTtlSeconds: number;
  /** How long an authorization code may be redeemed (at most 60 s). */
  readonly codeTtlSeconds: number;
  /** Refresh tokens of the authorization code grant, for clients registered with the `refresh_token` grant. */
  readonly refreshTokens: RefreshTokenLifetimes;
}

/** How long a grant's refresh tokens last; a client's registration may set its own (model.ts). */
export interface RefreshTokenLifetimes {
  /** A refresh token unused for this long no longer works: a user away for longer signs in again. */
  readonly idleSeconds: number;
  /** No refresh token of a grant works after this long from sign-in, however often it was used. */
  readonly absoluteSeconds: number;
}

export const CONFIG_DEFAULTS = {
  accessTokenTtlSeconds: 3600,
  clockSkewSeconds: 60,
  maxBodyBytes: 16 * 1024,
  maxAssertionBytes: 8 * 1024,
  metadataMaxAgeSeconds: 300,
  interactive: {
    enabled: true,
    productName: 'MCP server',
    transactionTtlSeconds: 600,
    codeTtlSeconds: 60,
    // Two weeks of disuse, or a quarter in all, and the user signs in at their IdP again (SECURITY.md explains why).
    refreshTokens: { idleSeconds: 14 * 86400, absoluteSeconds: 90 * 86400 },
  },
  clientIdMetadataDocuments: { enabled: true },
  dynamicClientRegistration: { enabled: false, maxClients: 1000, unusedLifetimeSeconds: 30 * 86400 },
} as const;

/** Bounds of the DCR settings: a cap of 1 to a million clients, a lifetime of an hour to a year. */
export const MAX_DYNAMIC_CLIENTS = 1_000_000;
export const MIN_DYNAMIC_CLIENT_LIFETIME_SECONDS = 3600;
export const MAX_DYNAMIC_CLIENT_LIFETIME_SECONDS = 365 * 86400;

/** Longest access token lifetime the server will ever issue, whatever the configuration says. */
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 24 * 3600;
/** Largest clock skew a deployment may configure; single-use records are kept beyond it (see single-use.ts). */
export const MAX_CLOCK_SKEW_SECONDS = 300;
/** Bounds of either refresh token lifetime, deployment-wide or per client: five minutes to a year. */
export const MIN_REFRESH_TOKEN_LIFETIME_SECONDS = 300;
export const MAX_REFRESH_TOKEN_LIFETIME_SECONDS = 365 * 86400;

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

/** A URL's `host` as the WHATWG URL parser writes it (lower case, IDNA, a port only when not the scheme's default). */
export function isUrlHost(value: string): boolean {
  try {
    return value.length > 0 && new URL(`https://${value}`).host === value;
  } catch {
    return false;
  }
}

/** An absolute URI without a fragment, as RFC 8707 requires of a resource indicator. */
export function isResourceIndicator(value: string): boolean {
  if (value.includes('#')) return false;
  try {
    new URL(value);
    return /^[a-z][a-z0-9+.-]*:/i.test(value);
  } catch {
    return false;
  }
}

export function isLoopbackHost(hostname: string): boolean {
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}

/** An absolute https URL (plain http only for loopback hosts, and only when asked), or what is wrong with it. */
export function parseHttpsUrl(value: string, allowHttpLoopback = false): URL | string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  const loopbackHttp = allowHttpLoopback && url.protocol === 'http:' && isLoopbackHost(url.hostname);
  return url.protocol === 'https:' || loopbackHttp ? url : 'must use https';
}

/**
 * An issuer identifier (RFC 8414 §2): https, no query, no fragment. We also refuse a trailing slash so that
 * endpoint URLs are built unambiguously. Plain http is accepted only for loopback hosts and only when asked.
 */
export function issuerProblem(value: string, allowHttpLoopback = false): string | undefined {
  const url = parseHttpsUrl(value, allowHttpLoopback);
  if (typeof url === 'string') return url;
  if (url.search || value.includes('?')) return 'must not have a query';
  if (url.hash || value.includes('#')) return 'must not have a fragment';
  if (url.username || url.password) return 'must not carry credentials';
  if (value.endsWith('/')) return 'must not end with a slash';
  return undefined;
}

/** Most redirect URIs a client may register, and their longest length. */
export const MAX_REDIRECT_URIS = 20;
export const MAX_REDIRECT_URI_LENGTH = 2048;

/**
 * Schemes that are never a native app's private-use scheme: the browser handles them itself (some run script in the
 * page that follows them), or they name no application at all.
 */
const NON_REDIRECT_SCHEMES = new Set([
  'javascript',
  'vbscript',
  'data',
  'blob',
  'file',
  'filesystem',
  'about',
  'view-source',
  'ftp',
  'ws',
  'wss',
  'mailto',
  'tel',
  'sms',
  'urn',
]);

/**
 * A redirect URI a client may register (OAuth 2.1 §2.3, RFC 8252 §7), or what is wrong with it: absolute, without a
 * fragment or credentials, and
 * - `https`, or
 * - `http` on a loopback host only (`127.0.0.1`, `[::1]`, `localhost`): a native app's loopback redirect, whose port
 *   may vary at authorization time (RFC 8252 §7.3), or
 * - a native app's private-use scheme (RFC 8252 §7.1), such as `com.example.app:/callback`, `cursor://…` or
 *   `chrome-extension://…`; schemes that a browser handles itself (`javascript`, `data`, `file`, `blob`,
 *   `about`…) are refused.
 * Registered URIs are compared with the request's exactly (as strings), so nothing is normalised here.
 */
export function redirectUriProblem(value: string): string | undefined {
  if (value.length > MAX_REDIRECT_URI_LENGTH) return `must be at most ${MAX_REDIRECT_URI_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URI';
  }
  if (!/^[a-z][a-z0-9+.-]*:/i.test(value)) return 'must be an absolute URI';
  if (value.includes('#')) return 'must not have a fragment';
  if (url.username || url.password) return 'must not carry credentials';
  const scheme = url.protocol.slice(0, -1);
  if (scheme === 'https') return undefined;
  if (scheme === 'http') {
    return isLoopbackHost(url.hostname)
      ? undefined
      : 'http is accepted only for loopback hosts (127.0.0.1, [::1], localhost): use https';
  }
  if (NON_REDIRECT_SCHEMES.has(scheme)) return `the ${scheme} scheme cannot be a redirect URI`;
  return undefined;
}

const scopeList = v.pipe(
  v.array(v.pipe(v.string(), v.check(isScopeToken, 'scopes are non-empty strings of printable ASCII without spaces'))),
  v.check((list) => new Set(list).size === list.length, 'scopes must not repeat'),
);

const resourceSchema = v.pipe(
  v.object({
    id: v.pipe(v.string(), v.check(isResourceIndicator, 'resource ids are absolute URIs without a fragment')),
    scopes: scopeList,
    defaultScopes: v.optional(scopeList),
  }),
  v.check(
    (r) => (r.defaultScopes ?? []).every((s) => r.scopes.includes(s)),
    'defaultScopes must be a subset of scopes',
  ),
);

const seconds = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
const refreshLifetime = seconds(MIN_REFRESH_TOKEN_LIFETIME_SECONDS, MAX_REFRESH_TOKEN_LIFETIME_SECONDS);

function serverConfigSchema(allowHttpLoopback: boolean) {
  return v.pipe(
    v.strictObject({
      issuer: v.pipe(
        v.string(),
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed) return;
          const problem = issuerProblem(dataset.value, allowHttpLoopback);
          if (problem) addIssue({ message: `issuer ${problem}` });
        }),
      ),
      resources: v.pipe(
        v.array(resourceSchema),
        v.check((list) => new Set(list.map((r) => r.id)).size === list.length, 'resource ids must be unique'),
      ),
      defaultResource: v.optional(v.string()),
      accessTokenTtlSeconds: v.optional(
        seconds(60, MAX_ACCESS_TOKEN_TTL_SECONDS),
        CONFIG_DEFAULTS.accessTokenTtlSeconds,
      ),
      clockSkewSeconds: v.optional(seconds(0, MAX_CLOCK_SKEW_SECONDS), CONFIG_DEFAULTS.clockSkewSeconds),
      maxBodyBytes: v.optional(seconds(1024, 1024 * 1024), CONFIG_DEFAULTS.maxBodyBytes),
      maxAssertionBytes: v.optional(seconds(512, 64 * 1024), CONFIG_DEFAULTS.maxAssertionBytes),
      metadataMaxAgeSeconds: v.optional(seconds(0, 86400), CONFIG_DEFAULTS.metadataMaxAgeSeconds),
      interactive: v.optional(
        v.strictObject({
          enabled: v.optional(v.boolean(), CONFIG_DEFAULTS.interactive.enabled),
          productName: v.optional(
            v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
            CONFIG_DEFAULTS.interactive.productName,
          ),
          transactionTtlSeconds: v.optional(seconds(60, 3600), CONFIG_DEFAULTS.interactive.transactionTtlSeconds),
          codeTtlSeconds: v.optional(seconds(5, 60), CONFIG_DEFAULTS.interactive.codeTtlSeconds),
          refreshTokens: v.optional(
            v.pipe(
              v.strictObject({
                idleSeconds: v.optional(refreshLifetime, CONFIG_DEFAULTS.interactive.refreshTokens.idleSeconds),
                absoluteSeconds: v.optional(refreshLifetime, CONFIG_DEFAULTS.interactive.refreshTokens.absoluteSeconds),
              }),
              v.check((r) => r.idleSeconds <= r.absoluteSeconds, 'idleSeconds must not exceed absoluteSeconds'),
            ),
            () => ({ ...CONFIG_DEFAULTS.interactive.refreshTokens }),
          ),
        }),
        () => ({ ...CONFIG_DEFAULTS.interactive, refreshTokens: { ...CONFIG_DEFAULTS.interactive.refreshTokens } }),
      ),
      clientIdMetadataDocuments: v.optional(
        v.strictObject({
          enabled: v.optional(v.boolean(), CONFIG_DEFAULTS.clientIdMetadataDocuments.enabled),
          hosts: v.optional(
            v.array(
              v.pipe(v.string(), v.check(isUrlHost, 'hosts are host names in lower case, with a port if not 443')),
            ),
          ),
        }),
        () => ({ ...CONFIG_DEFAULTS.clientIdMetadataDocuments }),
      ),
      dynamicClientRegistration: v.optional(
        v.strictObject({
          enabled: v.optional(v.boolean(), CONFIG_DEFAULTS.dynamicClientRegistration.enabled),
          maxClients: v.optional(seconds(1, MAX_DYNAMIC_CLIENTS), CONFIG_DEFAULTS.dynamicClientRegistration.maxClients),
          unusedLifetimeSeconds: v.optional(
            seconds(MIN_DYNAMIC_CLIENT_LIFETIME_SECONDS, MAX_DYNAMIC_CLIENT_LIFETIME_SECONDS),
            CONFIG_DEFAULTS.dynamicClientRegistration.unusedLifetimeSeconds,
          ),
        }),
        () => ({ ...CONFIG_DEFAULTS.dynamicClientRegistration }),
      ),
    }),
    v.check(
      (c) => c.defaultResource === undefined || c.resources.some((r) => r.id === c.defaultResource),
      'defaultResource must be the id of one of the resources',
    ),
    // Registered clients only have the interactive grants: without the interactive flow they could do nothing.
    v.check(
      (c) => !c.dynamicClientRegistration.enabled || c.interactive.enabled,
      'dynamicClientRegistration needs the interactive flow (interactive.enabled)',
    ),
  );
}

/** Formats valibot issues as `path: message` lines. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string[] {
  return issues.map((issue) => {
    const path = v.getDotPath(issue);
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}

export interface ResolveOptions {
  /** Local mode only: accept an http issuer on a loopback host. */
  readonly allowHttpLoopback?: boolean;
  /** Names the source in error messages (an environment variable, a file). */
  readonly source?: string;
}

/** Validates raw configuration and fills in defaults; throws ConfigError listing every problem. */
export function resolveServerConfig(input: unknown, options: ResolveOptions = {}): ServerConfig {
  const result = v.safeParse(serverConfigSchema(options.allowHttpLoopback ?? false), input);
  if (!result.success) throw new ConfigError(options.source ?? 'server configuration', describeIssues(result.issues));
  const config = result.output;
  // A single resource is the only possible audience, so it is the default unless told otherwise.
  const defaultResource =
    config.defaultResource ?? (config.resources.length === 1 ? config.resources[0]?.id : undefined);
  return { ...config, defaultResource };
}

/** The URLs and routes the server answers on, all derived from the issuer. */
export function endpointsOf(issuer: string) {
  const path = new URL(issuer).pathname.replace(/\/$/, '');
  return {
    tokenEndpoint: `${issuer}/token`,
    revocationEndpoint: `${issuer}/revoke`,
    registrationEndpoint: `${issuer}/register`,
    jwksUri: `${issuer}/jwks.json`,
    authorizationEndpoint: `${issuer}/authorize`,
    /** Where upstream IdPs send the browser back: register it at each IdP as the redirect URI. */
    callbackUri: `${issuer}/callback`,
    routes: {
      token: `${path}/token`,
      revoke: `${path}/revoke`,
      register: `${path}/register`,
      jwks: `${path}/jwks.json`,
      authorize: `${path}/authorize`,
      callback: `${path}/callback`,
      /** RFC 8414 §3.1 inserts the well-known segment before the issuer's path; many clients also try it appended. */
      metadata: [
        ...new Set([
          `/.well-known/oauth-authorization-server${path}`,
          `${path}/.well-known/oauth-authorization-server`,
          `${path}/.well-known/openid-configuration`,
        ]),
      ],
    },
  };
}
