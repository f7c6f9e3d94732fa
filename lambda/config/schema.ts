import * as v from 'valibot';
import {
  ConfigError,
  describeIssues,
  isResourceIndicator,
  isScopeToken,
  issuerProblem,
  parseHttpsUrl,
} from '../core/config';
import {
  ALL_TENANTS,
  ASYMMETRIC_ALGORITHMS,
  type AsymmetricAlgorithm,
  CLIENT_AUTH_METHODS,
  type Client,
  type ClientAuthMethod,
  DEFAULT_ASSERTION_ALGORITHMS,
  DEFAULT_MAX_ASSERTION_LIFETIME_SECONDS,
  type IssuerTrust,
  isStorableIdentifier,
  JWT_BEARER_GRANT_TYPE,
  MAX_ISSUER_BYTES,
  type Resource,
  type Tenant,
} from '../core/model';
import { isSecretHash } from '../core/secrets';
import { ambiguousIssuers } from './state';

/**
 * The declarative registry configuration: tenants with their trusted issuers, and clients, as one JSON document.
 * Defined once here and used by the admin CLI's `apply`, the local server and the construct's seeding. Every field is
 * validated with a message of the form `path: problem`; the whole-file rules (duplicates, references) follow.
 */

export interface SchemaOptions {
  /** Local mode only: accept http issuers and key URLs on loopback hosts. */
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

export function tenantSchema(options: SchemaOptions = {}) {
  return object({
    id: tenantId(),
    displayName: v.optional(text(200)),
    enabled: v.optional(boolean(), true),
    issuers: v.optional(v.array(issuerSchema(options), 'must be a list'), () => []),
  });
}

const PLAIN_SECRET_MESSAGE =
  'plain secrets are not accepted: put the output of `id-jag-admin hash-secret` in secretHash, ' +
  'or leave both out and let apply generate a secret';

export function clientSchema(options: SchemaOptions = {}) {
  const fields = object({
    clientId: v.pipe(string(), v.regex(CLIENT_ID_PATTERN, 'must be 1-256 printable ASCII characters without spaces')),
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
    enabled: v.optional(boolean(), true),
  });
  // Which credentials go with which authentication method.
  type Fields = v.InferOutput<typeof fields>;
  const keyed = (c: Fields) => c.jwks !== undefined || c.jwksUri !== undefined;
  return v.pipe(
    fields,
    v.forward(
      v.check(
        (c: Fields) => c.authMethod !== 'private_key_jwt' || keyed(c),
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

export function tenantConfigOf(tenant: Tenant, trusts: readonly IssuerTrust[]): TenantConfig {
  return withoutUndefined({
    id: tenant.id,
    displayName: tenant.displayName,
    enabled: tenant.enabled,
    issuers: trusts.filter((trust) => trust.tenantId === tenant.id).map(issuerConfigOf),
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
    enabled: client.enabled,
  });
}
