import * as v from 'valibot';
import { isClientIdMetadataUrl } from '../core/clients/metadata-document';
import {
  ConfigError,
  describeIssues,
  isResourceIndicator,
  isScopeToken,
  issuerProblem,
  MAX_REDIRECT_URIS,
  MAX_REFRESH_TOKEN_LIFETIME_SECONDS,
  MIN_REFRESH_TOKEN_LIFETIME_SECONDS,
  parseHttpsUrl,
  redirectUriProblem,
} from '../core/config';
import {
  ALL_TENANTS,
  ASYMMETRIC_ALGORITHMS,
  type AsymmetricAlgorithm,
  AUTHORIZATION_CODE_GRANT_TYPE,
  CLIENT_AUTH_METHODS,
  type Client,
  type ClientAuthMethod,
  type Connection,
  DEFAULT_ASSERTION_ALGORITHMS,
  DEFAULT_MAX_ASSERTION_LIFETIME_SECONDS,
  DEFAULT_UPSTREAM_SCOPES,
  DYNAMIC_CLIENT_ID_PREFIX,
  formatSecretRef,
  type IssuerTrust,
  isEmailDomain,
  isSecretFileName,
  isSecretsManagerId,
  isStorableIdentifier,
  JWT_BEARER_GRANT_TYPE,
  MAX_ISSUER_BYTES,
  parseSecretRef,
  REFRESH_TOKEN_GRANT_TYPE,
  type Resource,
  type Tenant,
  UPSTREAM_AUTH_METHODS,
  upstreamUsesSecret,
} from '../core/model';
import { isSecretHash } from '../core/secrets';
import { ambiguousIssuers } from './state';

/**
 * The declarative registry configuration: tenants with their trusted issuers and their upstream OIDC connection, and
 * clients, as one JSON document.
 * Defined once here and used by the admin CLI's `apply`, the local server and the construct's seeding. Every field is
 * validated with a message of the form `path: problem`; the whole-file rules (duplicates, references) follow.
 */

export interface SchemaOptions {
  /**
   * Local mode (the local server, the admin CLI on a loopback endpoint): accept http issuers and key URLs on loopback
   * hosts, and connection secrets kept in a file of the local server's data directory (`{ "file": "<name>" }`), which
   * a Lambda function could never read.
   */
  readonly allowHttpLoopback?: boolean;
}

export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const CLIENT_ID_PATTERN = /^[\x21-\x7E]{1,256}$/;
export const MAX_ASSERTION_LIFETIME_LIMIT = 3600;
/** An instant with a time zone, so that `notAfter` means the same everywhere. */
const TIMESTAMP_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
/** JWK members that only private or symmetric keys have. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

const SECRET_METHODS: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post'];

export function usesSecret(method: ClientAuthMethod): boolean {
  return SECRET_METHODS.includes(method);
}

// ---- building blocks, each with a message that names the rule and never quotes a secret ----

/** Objects refuse unknown fields, so a misspelt field is an error rather than a silently ignored setting. */
function object<E extends v.ObjectEntries>(entries: E) {
  return v.pipe(
    // valibot takes an array for an object; a list where a document belongs is a mistake to report.
    v.custom<Record<string, unknown>>((input) => isRecord(input), 'must be an object'),
    v.strictObject(entries, (issue) => {
      if (issue.expected === 'never') return 'is not a known field';
      if (issue.input === undefined && issue.expected?.startsWith('"')) return 'is required';
      return 'must be an object';
    }),
  );
}

function isRecord(input: unknown): boolean {
  return typeof input === 'object' && input !== null && !Array.isArray(input);
}

const string = () => v.string('must be a string');
const boolean = () => v.boolean('must be true or false');
const text = (max: number) =>
  v.pipe(string(), v.minLength(1, 'must not be empty'), v.maxLength(max, `must be at most ${max} characters`));

function uniqueList<T extends v.GenericSchema<unknown, string>>(item: T, what: string) {
  return v.pipe(
    v.array(item, 'must be a list'),
    v.check((list) => new Set(list).size === list.length, `${what} must not repeat`),
  );
}

const tenantId = () =>
  v.pipe(
    string(),
    v.regex(TENANT_ID_PATTERN, 'must be 1-63 lowercase letters, digits or hyphens, starting with a letter or digit'),
  );

const scopeList = () =>
  uniqueList(
    v.pipe(string(), v.check(isScopeToken, 'scopes are non-empty printable ASCII without spaces or quotes')),
    'scopes',
  );

function issuerUrl(options: SchemaOptions) {
  return v.pipe(
    string(),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      // The issuer is part of DynamoDB keys, which are bounded in bytes and must be valid UTF-8.
      if (!isStorableIdentifier(dataset.value, MAX_ISSUER_BYTES)) {
        return addIssue({ message: `must be at most ${MAX_ISSUER_BYTES} bytes of well-formed text` });
      }
      const problem = issuerProblem(dataset.value, options.allowHttpLoopback ?? false);
      if (problem) addIssue({ message: withLoopbackHint(problem, options) });
    }),
  );
}

/** Key set URLs: https (http on loopback in local mode), no credentials, no fragment; a query is allowed. */
export function keyUrlProblem(value: string, allowHttpLoopback = false): string | undefined {
  const url = parseHttpsUrl(value, allowHttpLoopback);
  if (typeof url === 'string') return url;
  if (url.username || url.password) return 'must not carry credentials';
  if (value.includes('#')) return 'must not have a fragment';
  return undefined;
}

function keyUrl(options: SchemaOptions) {
  return v.pipe(
    string(),
    v.maxLength(2048, 'must be at most 2048 characters'),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const problem = keyUrlProblem(dataset.value, options.allowHttpLoopback ?? false);
      if (problem) addIssue({ message: withLoopbackHint(problem, options) });
    }),
  );
}

function withLoopbackHint(problem: string, options: SchemaOptions): string {
  return problem === 'must use https' && !options.allowHttpLoopback
    ? 'must use https (http is accepted only for 127.0.0.1 or localhost, in local mode)'
    : problem;
}

const algorithms = () =>
  v.pipe(
    uniqueList(
      v.pipe(
        string(),
        v.check(
          (alg) => (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg),
          (issue) =>
            `${String(issue.input)} is not allowed: only asymmetric algorithms (${ASYMMETRIC_ALGORITHMS.join(', ')})`,
        ),
      ),
      'algorithms',
    ),
    v.minLength(1, 'must name at least one algorithm'),
  );

const timestamp = () =>
  v.pipe(
    string(),
    v.check(
      (value) => TIMESTAMP_PATTERN.test(value) && Number.isFinite(Date.parse(value)),
      'must be an ISO 8601 date-time with a time zone, such as 2027-01-01T00:00:00Z',
    ),
  );

const jwks = () =>
  object({
    keys: v.pipe(
      v.array(
        v.pipe(
          v.looseObject({ kty: v.pipe(string(), v.minLength(1, 'must not be empty')) }, 'must be a JWK object'),
          v.check((key) => key.kty !== 'oct', 'must be a public key: symmetric keys (kty oct) are not accepted'),
          v.check(
            (key) => privateMembers(key).length === 0,
            (issue) => `must be a public key: remove ${privateMembers(issue.input as object).join(', ')}`,
          ),
        ),
        'must be a list',
      ),
      v.minLength(1, 'must hold at least one key'),
    ),
  });

function privateMembers(key: object): string[] {
  return PRIVATE_JWK_MEMBERS.filter((member) => member in key);
}

// ---- the registrations ----

export function resourceSchema() {
  return v.pipe(
    object({
      id: v.pipe(string(), v.check(isResourceIndicator, 'must be an absolute URI without a fragment')),
      scopes: scopeList(),
      defaultScopes: v.optional(scopeList()),
    }),
    v.forward(
      v.check(
        (resource) => (resource.defaultScopes ?? []).every((scope) => resource.scopes.includes(scope)),
        'must be a subset of scopes',
      ),
      ['defaultScopes'],
    ),
  );
}

export function issuerSchema(options: SchemaOptions = {}) {
  return object({
    issuer: issuerUrl(options),
    jwksUri: v.optional(keyUrl(options)),
    tenantClaim: v.optional(text(256)),
    algorithms: v.optional(algorithms(), () => [...DEFAULT_ASSERTION_ALGORITHMS]),
    maxAssertionLifetimeSeconds: v.optional(
      v.pipe(
        v.number('must be a number'),
        v.integer('must be a whole number of seconds'),
        v.minValue(1, 'must be at least 1'),
        v.maxValue(MAX_ASSERTION_LIFETIME_LIMIT, `must be at most ${MAX_ASSERTION_LIFETIME_LIMIT}`),
      ),
      DEFAULT_MAX_ASSERTION_LIFETIME_SECONDS,
    ),
    enabled: v.optional(boolean(), true),
    notAfter: v.optional(timestamp()),
  });
}

/** Most email domains one connection may claim, and most scopes it may ask for (both end up in one item). */
export const MAX_CONNECTION_DOMAINS = 100;
export const MAX_CONNECTION_SCOPES = 20;

const PLAIN_CONNECTION_SECRET_MESSAGE =
  'plain secrets are not accepted: keep the secret in AWS Secrets Manager and give ' +
  '{ "secretsManager": "<secret ARN or name>" } (for the local server: a file in its data directory, ' +
  'given as { "file": "<name>" })';

/** Where the connection's client secret is kept: a reference, never the secret (a string is refused unread). */
function secretReference(options: SchemaOptions) {
  return v.pipe(
    v.custom<Record<string, unknown>>((input) => isRecord(input), PLAIN_CONNECTION_SECRET_MESSAGE),
    object({
      secretsManager: v.optional(
        v.pipe(
          string(),
          v.check(
            isSecretsManagerId,
            'must be a Secrets Manager secret ARN, or a name of 1-512 letters, digits or /_+=.@-',
          ),
        ),
      ),
      file: v.optional(
        v.pipe(
          string(),
          v.check(
            isSecretFileName,
            'must be a plain file name in the data directory: letters, digits, ".", "_" or "-", not starting with "."',
          ),
          v.check(
            () => options.allowHttpLoopback === true,
            'secrets in files are for the local server only: in AWS keep the secret in Secrets Manager (secretsManager)',
          ),
        ),
      ),
    }),
    v.check(
      (reference) => (reference.secretsManager === undefined) !== (reference.file === undefined),
      'give exactly one of secretsManager and file',
    ),
  );
}

const emailDomains = () =>
  v.pipe(
    v.array(
      v.pipe(
        string(),
        v.toLowerCase(),
        v.check(
          isEmailDomain,
          'must be a domain name such as example.com (ASCII: an internationalised domain in its xn-- form)',
        ),
      ),
      'must be a list',
    ),
    v.check((list) => new Set(list).size === list.length, 'domains must not repeat'),
    v.maxLength(MAX_CONNECTION_DOMAINS, `must list at most ${MAX_CONNECTION_DOMAINS} domains`),
  );

/** A tenant's upstream OpenID Connect IdP, where its users sign in during the interactive flow. */
export function connectionSchema(options: SchemaOptions = {}) {
  const fields = object({
    issuer: issuerUrl(options),
    clientId: v.pipe(string(), v.regex(CLIENT_ID_PATTERN, 'must be 1-256 printable ASCII characters without spaces')),
    authMethod: v.optional(
      v.picklist(UPSTREAM_AUTH_METHODS, `must be one of ${UPSTREAM_AUTH_METHODS.join(', ')}`),
      'client_secret_basic',
    ),
    clientSecret: v.optional(secretReference(options)),
    scopes: v.optional(
      v.pipe(
        scopeList(),
        v.check((list) => list.includes('openid'), 'must include openid'),
        v.maxLength(MAX_CONNECTION_SCOPES, `must list at most ${MAX_CONNECTION_SCOPES} scopes`),
      ),
      () => [...DEFAULT_UPSTREAM_SCOPES],
    ),
    domains: v.optional(emailDomains(), () => []),
    default: v.optional(boolean(), false),
    enabled: v.optional(boolean(), true),
  });
  type Fields = v.InferOutput<typeof fields>;
  return v.pipe(
    fields,
    v.forward(
      v.check(
        (c: Fields) => !upstreamUsesSecret(c.authMethod) || c.clientSecret !== undefined,
        (issue) =>
          `${(issue.input as Fields).authMethod} needs clientSecret: where the secret is kept, ` +
          '{ "secretsManager": "<secret ARN or name>" }',
      ),
      ['clientSecret'],
    ),
    v.forward(
      v.check(
        (c: Fields) => upstreamUsesSecret(c.authMethod) || c.clientSecret === undefined,
        'a connection with authMethod none has no client secret',
      ),
      ['clientSecret'],
    ),
  );
}

export function tenantSchema(options: SchemaOptions = {}) {
  return object({
    id: tenantId(),
    displayName: v.optional(text(200)),
    enabled: v.optional(boolean(), true),
    issuers: v.optional(v.array(issuerSchema(options), 'must be a list'), () => []),
    connection: v.optional(connectionSchema(options)),
  });
}

const PLAIN_SECRET_MESSAGE =
  'plain secrets are not accepted: put the output of `id-jag-admin hash-secret` in secretHash, ' +
  'or leave both out and let apply generate a secret';

export function clientSchema(options: SchemaOptions = {}) {
  const fields = object({
    clientId: v.pipe(
      string(),
      v.regex(CLIENT_ID_PATTERN, 'must be 1-256 printable ASCII characters without spaces'),
      // Reserved for Dynamic Client Registration (RFC 7591): such ids are looked up among registrations only.
      v.check(
        (id) => !id.startsWith(DYNAMIC_CLIENT_ID_PREFIX),
        `must not start with ${DYNAMIC_CLIENT_ID_PREFIX}: reserved for dynamically registered clients`,
      ),
    ),
    authMethod: v.picklist(CLIENT_AUTH_METHODS, `must be one of ${CLIENT_AUTH_METHODS.join(', ')}`),
    secretHash: v.optional(
      v.pipe(
        string(),
        v.check(isSecretHash, 'must be a hash made by `id-jag-admin hash-secret` (hs256$<salt>$<digest>)'),
      ),
    ),
    secret: v.optional(v.never(PLAIN_SECRET_MESSAGE)),
    scopes: v.optional(scopeList()),
    tenants: v.optional(clientTenants(), () => [ALL_TENANTS]),
    grantTypes: v.optional(
      v.pipe(uniqueList(text(256), 'grant types'), v.minLength(1, 'must name at least one grant type')),
      () => [JWT_BEARER_GRANT_TYPE],
    ),
    jwks: v.optional(jwks()),
    jwksUri: v.optional(keyUrl(options)),
    redirectUris: v.optional(redirectUris()),
    refreshTokens: v.optional(refreshTokenLifetimes()),
    firstParty: v.optional(boolean(), false),
    enabled: v.optional(boolean(), true),
  });
  // Which credentials go with which authentication method.
  type Fields = v.InferOutput<typeof fields>;
  const keyed = (c: Fields) => c.jwks !== undefined || c.jwksUri !== undefined;
  const interactive = (c: Fields) => c.grantTypes.includes(AUTHORIZATION_CODE_GRANT_TYPE);
  // A client registered under its metadata document's URL (CIMD): the document gives its redirect URIs and keys.
  const documented = (c: Fields) => isClientIdMetadataUrl(c.clientId, options.allowHttpLoopback);
  return v.pipe(
    fields,
    // The authorization code flow sends the browser back to a registered URI, and only that flow uses one.
    v.forward(
      v.check(
        (c: Fields) => !interactive(c) || c.redirectUris !== undefined || documented(c),
        'the authorization_code grant needs at least one redirect URI',
      ),
      ['redirectUris'],
    ),
    v.forward(
      v.check(
        (c: Fields) => !documented(c) || c.redirectUris === undefined,
        'a client known by its metadata document (CIMD) takes its redirect URIs from the document: leave redirectUris out',
      ),
      ['redirectUris'],
    ),
    v.forward(
      v.check(
        (c: Fields) => interactive(c) || c.redirectUris === undefined,
        'redirect URIs are used only by the authorization_code grant: add it to grantTypes',
      ),
      ['redirectUris'],
    ),
    v.forward(
      v.check(
        (c: Fields) => interactive(c) || !c.grantTypes.includes(REFRESH_TOKEN_GRANT_TYPE),
        'refresh_token needs the authorization_code grant (no other grant issues refresh tokens)',
      ),
      ['grantTypes'],
    ),
    // Lifetimes of refresh tokens the client can never receive would be a setting that silently does nothing.
    v.forward(
      v.check(
        (c: Fields) => c.refreshTokens === undefined || c.grantTypes.includes(REFRESH_TOKEN_GRANT_TYPE),
        'refresh token lifetimes are used only by the refresh_token grant: add it to grantTypes',
      ),
      ['refreshTokens'],
    ),
    v.forward(
      v.check(
        (c: Fields) => c.authMethod !== 'private_key_jwt' || keyed(c) || documented(c),
        'private_key_jwt needs the client public keys: jwks or jwksUri',
      ),
      ['jwks'],
    ),
    v.forward(
      v.check((c: Fields) => c.jwks === undefined || c.jwksUri === undefined, 'give jwks or jwksUri, not both'),
      ['jwksUri'],
    ),
    v.forward(
      v.check(
        (c: Fields) => c.authMethod === 'private_key_jwt' || !keyed(c),
        'only private_key_jwt clients have keys (jwks, jwksUri)',
      ),
      ['jwks'],
    ),
    v.forward(
      v.check(
        (c: Fields) => usesSecret(c.authMethod) || c.secretHash === undefined,
        'only client_secret_basic and client_secret_post clients have a secret',
      ),
      ['secretHash'],
    ),
  );
}

function redirectUris() {
  return v.pipe(
    uniqueList(
      v.pipe(
        string(),
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed) return;
          const problem = redirectUriProblem(dataset.value);
          if (problem) addIssue({ message: problem });
        }),
      ),
      'redirect URIs',
    ),
    v.minLength(1, 'must list at least one redirect URI (or leave redirectUris out)'),
    v.maxLength(MAX_REDIRECT_URIS, `must list at most ${MAX_REDIRECT_URIS} redirect URIs`),
  );
}

/**
 * A client's own refresh token lifetimes, either or both (the deployment's apply to the other): whole seconds within
 * the bounds that hold deployment-wide, and the idle lifetime never longer than the absolute one when both are set.
 */
function refreshTokenLifetimes() {
  const lifetime = v.pipe(
    v.number('must be a number'),
    v.integer('must be a whole number of seconds'),
    v.minValue(MIN_REFRESH_TOKEN_LIFETIME_SECONDS, `must be at least ${MIN_REFRESH_TOKEN_LIFETIME_SECONDS}`),
    v.maxValue(MAX_REFRESH_TOKEN_LIFETIME_SECONDS, `must be at most ${MAX_REFRESH_TOKEN_LIFETIME_SECONDS} (a year)`),
  );
  return v.pipe(
    object({ idleSeconds: v.optional(lifetime), absoluteSeconds: v.optional(lifetime) }),
    v.check(
      (r) => r.idleSeconds !== undefined || r.absoluteSeconds !== undefined,
      'must set idleSeconds, absoluteSeconds or both (or leave refreshTokens out)',
    ),
    v.forward(
      v.check(
        (r) => r.idleSeconds === undefined || r.absoluteSeconds === undefined || r.idleSeconds <= r.absoluteSeconds,
        'must not exceed absoluteSeconds',
      ),
      ['idleSeconds'],
    ),
  );
}

function clientTenants() {
  return v.pipe(
    uniqueList(
      v.pipe(
        string(),
        v.check((id) => id === ALL_TENANTS || TENANT_ID_PATTERN.test(id), 'must be a tenant id or "*" (every tenant)'),
      ),
      'tenants',
    ),
    v.minLength(1, 'must name at least one tenant, or "*" for every tenant'),
    v.check(
      (list) => !list.includes(ALL_TENANTS) || list.length === 1,
      '"*" already means every tenant: list it alone',
    ),
  );
}

export function registryConfigSchema(options: SchemaOptions = {}) {
  return object({
    resources: v.optional(v.array(resourceSchema(), 'must be a list')),
    defaultResource: v.optional(string()),
    tenants: v.optional(v.array(tenantSchema(options), 'must be a list'), () => []),
    clients: v.optional(v.array(clientSchema(options), 'must be a list'), () => []),
  });
}

export type ResourceConfig = v.InferOutput<ReturnType<typeof resourceSchema>>;
export type IssuerConfig = v.InferOutput<ReturnType<typeof issuerSchema>>;
export type ConnectionConfig = v.InferOutput<ReturnType<typeof connectionSchema>>;
export type TenantConfig = v.InferOutput<ReturnType<typeof tenantSchema>>;
export type ClientConfig = v.InferOutput<ReturnType<typeof clientSchema>>;
export type RegistryConfig = v.InferOutput<ReturnType<typeof registryConfigSchema>>;

export interface ParseOptions extends SchemaOptions {
  /** Names the source in the error (a file name). */
  readonly source?: string;
}

/**
 * Validates a configuration document and fills in defaults; throws ConfigError listing every problem as
 * `path: message`. Field rules come first; the rules across the file run once every field is valid.
 */
export function parseRegistryConfig(input: unknown, options: ParseOptions = {}): RegistryConfig {
  const config = parseWith(registryConfigSchema(options), input, options.source ?? 'configuration');
  const problems = fileProblems(config);
  if (problems.length > 0) throw new ConfigError(options.source ?? 'configuration', problems);
  return config;
}

/** JSON text to a validated configuration; a syntax error is reported with its position. */
export function parseRegistryConfigText(text: string, options: ParseOptions = {}): RegistryConfig {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new ConfigError(options.source ?? 'configuration', [`not valid JSON: ${detail}`]);
  }
  return parseRegistryConfig(input, options);
}

/** Validates one registration (the CLI builds these from its flags). */
export function parseWith<S extends v.GenericSchema>(schema: S, input: unknown, source: string): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (!result.success) throw new ConfigError(source, describeIssues(result.issues));
  return result.output;
}

/** Rules that span the file: unique ids, references between sections, unambiguous issuers. */
export function fileProblems(config: RegistryConfig): string[] {
  const problems: string[] = [];
  const duplicates = (ids: readonly string[], path: (index: number) => string, what: string) =>
    ids.forEach((id, index) => {
      if (ids.indexOf(id) !== index) problems.push(`${path(index)}: ${what} ${id} is declared more than once`);
    });

  duplicates(
    config.tenants.map((tenant) => tenant.id),
    (index) => `tenants.${index}.id`,
    'tenant',
  );
  config.tenants.forEach((tenant, t) => {
    duplicates(
      tenant.issuers.map((issuer) => issuer.issuer),
      (index) => `tenants.${t}.issuers.${index}.issuer`,
      `tenant ${tenant.id} trusts issuer`,
    );
  });
  duplicates(
    config.clients.map((client) => client.clientId),
    (index) => `clients.${index}.clientId`,
    'client',
  );

  const tenantIds = new Set(config.tenants.map((tenant) => tenant.id));
  config.clients.forEach((client, c) => {
    client.tenants.forEach((id, index) => {
      if (id !== ALL_TENANTS && !tenantIds.has(id)) {
        problems.push(`clients.${c}.tenants.${index}: tenant ${id} is not declared in tenants`);
      }
    });
  });

  problems.push(...resourceProblems(config));
  problems.push(...ambiguousIssuers(config.tenants.flatMap(toIssuerTrusts)).map((problem) => `tenants: ${problem}`));
  problems.push(...fileConnectionProblems(config));
  return problems;
}

/**
 * Home realm discovery must never have to guess: an email domain leads to one connection at most, and at most one
 * connection is the default. Each problem is reported where the second claim is made.
 */
function fileConnectionProblems(config: RegistryConfig): string[] {
  const problems: string[] = [];
  const claimedBy = new Map<string, string>();
  let defaultTenant: string | undefined;
  config.tenants.forEach((tenant, t) => {
    const connection = tenant.connection;
    if (!connection) return;
    connection.domains.forEach((domain, d) => {
      const other = claimedBy.get(domain);
      if (other !== undefined) {
        problems.push(
          `tenants.${t}.connection.domains.${d}: domain ${domain} is already claimed by the connection of tenant ${other}`,
        );
      } else {
        claimedBy.set(domain, tenant.id);
      }
    });
    if (connection.default) {
      if (defaultTenant !== undefined) {
        problems.push(
          `tenants.${t}.connection.default: only one connection may be the default, and tenant ${defaultTenant}'s is`,
        );
      } else {
        defaultTenant = tenant.id;
      }
    }
  });
  return problems;
}

function resourceProblems(config: RegistryConfig): string[] {
  const resources = config.resources;
  const problems: string[] = [];
  if (resources === undefined) {
    if (config.defaultResource !== undefined) problems.push('defaultResource: needs resources to choose from');
    return problems;
  }
  resources.forEach((resource, index) => {
    if (resources.findIndex((other) => other.id === resource.id) !== index) {
      problems.push(`resources.${index}.id: resource ${resource.id} is declared more than once`);
    }
  });
  if (config.defaultResource !== undefined && !resources.some((resource) => resource.id === config.defaultResource)) {
    problems.push('defaultResource: must be the id of one of the resources');
  }
  const supported = new Set(resources.flatMap((resource) => resource.scopes));
  config.clients.forEach((client, c) => {
    client.scopes?.forEach((scope, index) => {
      if (!supported.has(scope)) problems.push(`clients.${c}.scopes.${index}: no resource supports scope ${scope}`);
    });
  });
  return problems;
}

// ---- conversion to the core's model ----

export function toResource(resource: ResourceConfig): Resource {
  return resource;
}

export function toTenant(tenant: TenantConfig): Tenant {
  return withoutUndefined({ id: tenant.id, displayName: tenant.displayName, enabled: tenant.enabled });
}

/** `notAfter` becomes epoch seconds, as the core compares it. */
export function toIssuerTrust(tenantId: string, issuer: IssuerConfig): IssuerTrust {
  return withoutUndefined({
    tenantId,
    issuer: issuer.issuer,
    jwksUri: issuer.jwksUri,
    tenantClaim: issuer.tenantClaim,
    algorithms: issuer.algorithms as AsymmetricAlgorithm[],
    maxAssertionLifetimeSeconds: issuer.maxAssertionLifetimeSeconds,
    enabled: issuer.enabled,
    notAfter: issuer.notAfter === undefined ? undefined : epochSeconds(issuer.notAfter),
  });
}

export function toIssuerTrusts(tenant: TenantConfig): IssuerTrust[] {
  return tenant.issuers.map((issuer) => toIssuerTrust(tenant.id, issuer));
}

/**
 * A connection as the core sees it. The secret reference becomes `clientSecretRef`: `secretsmanager:<arn-or-name>`
 * or `file:<name>` (see SecretRef in the core model).
 */
export function toConnection(tenantId: string, connection: ConnectionConfig): Connection {
  const secret = connection.clientSecret;
  const clientSecretRef =
    secret === undefined
      ? undefined
      : formatSecretRef(
          secret.secretsManager !== undefined
            ? { kind: 'secretsmanager', secretId: secret.secretsManager }
            : { kind: 'file', name: secret.file ?? '' },
        );
  return withoutUndefined({
    tenantId,
    issuer: connection.issuer,
    clientId: connection.clientId,
    authMethod: connection.authMethod,
    clientSecretRef,
    scopes: connection.scopes,
    domains: connection.domains,
    isDefault: connection.default,
    enabled: connection.enabled,
  });
}

/** The tenant's connection, if the file declares one. */
export function toConnections(tenant: TenantConfig): Connection[] {
  return tenant.connection ? [toConnection(tenant.id, tenant.connection)] : [];
}

/** A client as the core sees it; without a `secretHash` it has no secret yet (apply generates one). */
export function toClient(client: ClientConfig): Client {
  return withoutUndefined({
    clientId: client.clientId,
    authMethod: client.authMethod,
    secrets: client.secretHash === undefined ? [] : [{ hash: client.secretHash }],
    jwks: client.jwks as Client['jwks'],
    jwksUri: client.jwksUri,
    grantTypes: client.grantTypes,
    scopes: client.scopes,
    tenants: client.tenants,
    enabled: client.enabled,
    redirectUris: client.redirectUris,
    refreshTokens: client.refreshTokens === undefined ? undefined : withoutUndefined({ ...client.refreshTokens }),
    // Stored only when set, so that clients registered before the flag existed read back unchanged.
    firstParty: client.firstParty ? true : undefined,
  });
}

export function epochSeconds(timestamp: string): number {
  return Math.floor(Date.parse(timestamp) / 1000);
}

/** The inverse of epochSeconds, for showing `notAfter` in the file's format. */
export function isoTimestamp(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

// ---- and back, for showing registrations in the file's format and editing them ----

export function issuerConfigOf(trust: IssuerTrust): IssuerConfig {
  return withoutUndefined({
    issuer: trust.issuer,
    jwksUri: trust.jwksUri,
    tenantClaim: trust.tenantClaim,
    algorithms: [...trust.algorithms],
    maxAssertionLifetimeSeconds: trust.maxAssertionLifetimeSeconds,
    enabled: trust.enabled,
    notAfter: trust.notAfter === undefined ? undefined : isoTimestamp(trust.notAfter),
  });
}

/** The reference a stored `clientSecretRef` names, in the file's form. */
export function secretReferenceOf(ref: string): NonNullable<ConnectionConfig['clientSecret']> {
  const parsed = parseSecretRef(ref);
  if (!parsed) throw new Error('not a secret reference');
  return parsed.kind === 'secretsmanager' ? { secretsManager: parsed.secretId } : { file: parsed.name };
}

export function connectionConfigOf(connection: Connection): ConnectionConfig {
  return withoutUndefined({
    issuer: connection.issuer,
    clientId: connection.clientId,
    authMethod: connection.authMethod,
    clientSecret: connection.clientSecretRef === undefined ? undefined : secretReferenceOf(connection.clientSecretRef),
    scopes: [...connection.scopes],
    domains: [...connection.domains],
    default: connection.isDefault,
    enabled: connection.enabled,
  });
}

export function tenantConfigOf(
  tenant: Tenant,
  trusts: readonly IssuerTrust[],
  connections: readonly Connection[] = [],
): TenantConfig {
  const connection = connections.find((candidate) => candidate.tenantId === tenant.id);
  return withoutUndefined({
    id: tenant.id,
    displayName: tenant.displayName,
    enabled: tenant.enabled,
    issuers: trusts.filter((trust) => trust.tenantId === tenant.id).map(issuerConfigOf),
    connection: connection === undefined ? undefined : connectionConfigOf(connection),
  });
}

/** Secrets are left out: a configuration never needs the stored hashes back. */
export function clientConfigOf(client: Client): Omit<ClientConfig, 'secretHash' | 'secret'> {
  return withoutUndefined({
    clientId: client.clientId,
    authMethod: client.authMethod,
    scopes: client.scopes === undefined ? undefined : [...client.scopes],
    tenants: [...client.tenants],
    grantTypes: [...client.grantTypes],
    jwks: client.jwks as ClientConfig['jwks'],
    jwksUri: client.jwksUri,
    redirectUris: client.redirectUris === undefined ? undefined : [...client.redirectUris],
    refreshTokens: client.refreshTokens === undefined ? undefined : withoutUndefined({ ...client.refreshTokens }),
    firstParty: client.firstParty === true,
    enabled: client.enabled,
  });
}
