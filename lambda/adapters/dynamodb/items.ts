import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { type Entity, type EntityRef, type ManagedBy, refOf } from '../../config/state';
import { MAX_REFRESH_TOKEN_LIFETIME_SECONDS, MIN_REFRESH_TOKEN_LIFETIME_SECONDS } from '../../core/config';
import {
  ASYMMETRIC_ALGORITHMS,
  CLIENT_AUTH_METHODS,
  type Client,
  type Connection,
  INTERACTIVE_GRANT_TYPES,
  type IssuerTrust,
  isDynamicClientId,
  isEmailDomain,
  parseSecretRef,
  type Tenant,
  UPSTREAM_AUTH_METHODS,
  upstreamUsesSecret,
} from '../../core/model';
import { isSecretHash } from '../../core/secrets';
import { fromItem, type Item, type Plain, toItem } from './attributes';
import { TABLE_KEYS } from './table';

/**
 * Item layout of the single table. Every configuration item also carries `gsi1pk` = its type and `gsi1sk` = a sort
 * key within the type, so the admin tools list a type with one Query on the index.
 *
 * | item         | pk                    | sk                | gsi1pk       | gsi1sk              |
 * |--------------|-----------------------|-------------------|--------------|---------------------|
 * | tenant       | `TENANT#<id>`         | `TENANT`          | `TENANT`     | `<id>`              |
 * | issuer trust | `ISSUER#<issuer>`     | `TENANT#<tenant>` | `ISSUER`     | `<tenant>#<issuer>` |
 * | connection   | `CONNECTION#<tenant>` | `CONNECTION`      | `CONNECTION` | `<tenant>`          |
 * | client       | `CLIENT#<clientId>`   | `CLIENT`          | `CLIENT`     | `<clientId>`        |
 * | replay       | `REPLAY#<sha256>`     | `REPLAY`          | –            | –                   |
 *
 * The interactive flow's records (GRANT_ITEM_PREFIX, written by grant-store.ts) index only grants, under partitions
 * of their own (GRANT_INDEX_PREFIX).
 */
export const ITEM_PREFIX = {
  tenant: 'TENANT',
  issuer: 'ISSUER',
  client: 'CLIENT',
  connection: 'CONNECTION',
  replay: 'REPLAY',
} as const;

/**
 * The interactive flow's records, kept apart from ITEM_PREFIX (they are no registration kind); here rather than in
 * grant-store.ts so that the construct can name them in its IAM conditions without importing the AWS SDK. A grant has
 * two items, so that an operator finds it both by user and by client with one Query on the index each:
 *
 * | item                  | pk                  | sk        | gsi1pk                    | gsi1sk                  |
 * |-----------------------|---------------------|-----------|---------------------------|-------------------------|
 * | login transaction     | `LOGIN#<id>`        | `LOGIN`   | –                         | –                       |
 * | authorization code    | `CODE#<sha256>`     | `CODE`    | –                         | –                       |
 * | grant                 | `GRANT#<grantId>`   | `GRANT`   | `USER_GRANTS#<tenant>`    | `<subject>#<grantId>`   |
 * | grant, by its client  | `GRANT#<grantId>`   | `CLIENT`  | `CLIENT_GRANTS#<clientId>`| `<grantId>`             |
 * | refresh token         | `REFRESH#<sha256>`  | `REFRESH` | –                         | –                       |
 */
export const GRANT_ITEM_PREFIX = { login: 'LOGIN', code: 'CODE', grant: 'GRANT', refresh: 'REFRESH' } as const;

/** The index partitions of grants: a tenant's (sorted by user) and a client's. */
export const GRANT_INDEX_PREFIX = { user: 'USER_GRANTS', client: 'CLIENT_GRANTS' } as const;

/**
 * Dynamically registered clients (RFC 7591) live apart from the operator's registrations, so that `apply --prune` and
 * the admin listings never see them and IAM confines the register function's writes to them. Each item carries its
 * end in `expiresAt` (TTL deletes it later; reads treat it as gone at once). The index entry is sparse: the one
 * `DCR` partition, counted with a Query to enforce the cap.
 *
 * | item              | pk                | sk    | gsi1pk | gsi1sk       |
 * |-------------------|-------------------|-------|--------|--------------|
 * | registered client | `DCR#<clientId>`  | `DCR` | `DCR`  | `<clientId>` |
 */
export const DYNAMIC_CLIENT_PREFIX = 'DCR';

export function dynamicClientKey(clientId: string): Key {
  return { pk: `${DYNAMIC_CLIENT_PREFIX}#${clientId}`, sk: DYNAMIC_CLIENT_PREFIX };
}

export interface Key {
  readonly pk: string;
  readonly sk: string;
}

export function tenantKey(tenantId: string): Key {
  return { pk: `${ITEM_PREFIX.tenant}#${tenantId}`, sk: ITEM_PREFIX.tenant };
}

/** All trusts of one issuer share a partition, so resolving an assertion's `iss` is one Query. */
export function issuerPartition(issuer: string): string {
  return `${ITEM_PREFIX.issuer}#${issuer}`;
}

export function trustKey(tenantId: string, issuer: string): Key {
  return { pk: issuerPartition(issuer), sk: `${ITEM_PREFIX.tenant}#${tenantId}` };
}

/** A tenant has at most one connection, so the tenant id names it. */
export function connectionKey(tenantId: string): Key {
  return { pk: `${ITEM_PREFIX.connection}#${tenantId}`, sk: ITEM_PREFIX.connection };
}

export function clientKey(clientId: string): Key {
  return { pk: `${ITEM_PREFIX.client}#${clientId}`, sk: ITEM_PREFIX.client };
}

/** A digest of (namespace, id), so the key is bounded whatever the `jti`, and holds no identifier in the clear. */
export function replayKey(namespace: string, id: string): Key {
  const digest = createHash('sha256')
    .update(JSON.stringify([namespace, id]))
    .digest('base64url');
  return { pk: `${ITEM_PREFIX.replay}#${digest}`, sk: ITEM_PREFIX.replay };
}

export function loginKey(id: string): Key {
  return { pk: `${GRANT_ITEM_PREFIX.login}#${id}`, sk: GRANT_ITEM_PREFIX.login };
}

/** `hash` is the SHA-256 of the code: the code itself is never stored. */
export function codeKey(hash: string): Key {
  return { pk: `${GRANT_ITEM_PREFIX.code}#${hash}`, sk: GRANT_ITEM_PREFIX.code };
}

export function grantKey(grantId: string): Key {
  return { pk: `${GRANT_ITEM_PREFIX.grant}#${grantId}`, sk: GRANT_ITEM_PREFIX.grant };
}

/** The grant's second item, by which its client's grants are listed. */
export function grantByClientKey(grantId: string): Key {
  return { pk: `${GRANT_ITEM_PREFIX.grant}#${grantId}`, sk: ITEM_PREFIX.client };
}

/** `hash` is the SHA-256 of the refresh token: the token itself is never stored. */
export function refreshTokenKey(hash: string): Key {
  return { pk: `${GRANT_ITEM_PREFIX.refresh}#${hash}`, sk: GRANT_ITEM_PREFIX.refresh };
}

export function userGrantsPartition(tenantId: string): string {
  return `${GRANT_INDEX_PREFIX.user}#${tenantId}`;
}

export function clientGrantsPartition(clientId: string): string {
  return `${GRANT_INDEX_PREFIX.client}#${clientId}`;
}

export function keyOf(ref: EntityRef): Key {
  switch (ref.kind) {
    case 'tenant':
      return tenantKey(ref.tenantId);
    case 'issuer':
      return trustKey(ref.tenantId, ref.issuer);
    case 'connection':
      return connectionKey(ref.tenantId);
    case 'client':
      return clientKey(ref.clientId);
  }
}

/** The registration an item's key names, readable even when the rest of the item is malformed. */
export function refOfKey(key: Partial<Key>): EntityRef | undefined {
  const { pk = '', sk = '' } = key;
  const after = (value: string, prefix: string) =>
    value.startsWith(`${prefix}#`) ? value.slice(prefix.length + 1) : '';
  if (sk === ITEM_PREFIX.tenant && after(pk, ITEM_PREFIX.tenant)) {
    return { kind: 'tenant', tenantId: after(pk, ITEM_PREFIX.tenant) };
  }
  if (sk === ITEM_PREFIX.client && after(pk, ITEM_PREFIX.client)) {
    return { kind: 'client', clientId: after(pk, ITEM_PREFIX.client) };
  }
  if (sk === ITEM_PREFIX.connection && after(pk, ITEM_PREFIX.connection)) {
    return { kind: 'connection', tenantId: after(pk, ITEM_PREFIX.connection) };
  }
  if (after(pk, ITEM_PREFIX.issuer) && after(sk, ITEM_PREFIX.tenant)) {
    return { kind: 'issuer', issuer: after(pk, ITEM_PREFIX.issuer), tenantId: after(sk, ITEM_PREFIX.tenant) };
  }
  return undefined;
}

export function keyAttributes(key: Key): Item {
  return { [TABLE_KEYS.partitionKey]: { S: key.pk }, [TABLE_KEYS.sortKey]: { S: key.sk } };
}

function indexAttributes(ref: EntityRef): { [name: string]: string } {
  return { [TABLE_KEYS.indexPartitionKey]: ITEM_PREFIX[ref.kind], [TABLE_KEYS.indexSortKey]: indexSortKey(ref) };
}

function indexSortKey(ref: EntityRef): string {
  switch (ref.kind) {
    case 'tenant':
    case 'connection':
      return ref.tenantId;
    case 'issuer':
      return `${ref.tenantId}#${ref.issuer}`;
    case 'client':
      return ref.clientId;
  }
}

/** The index partition that lists one type; the issuers of one tenant share the sort key prefix `<tenant>#`. */
export function indexPartition(kind: Exclude<keyof typeof ITEM_PREFIX, 'replay'>): string {
  return ITEM_PREFIX[kind];
}

// ---- writing ----

/**
 * The full item for a registration; `version` increases with every write (optimistic concurrency for admin tools).
 * `managedBy` marks a registration declared in the construct's `registry` prop; the server never reads it.
 */
export function entityItem(entity: Entity, version: number, managedBy?: ManagedBy): Item {
  const ref = refOf(entity);
  const key = keyOf(ref);
  return toItem({
    [TABLE_KEYS.partitionKey]: key.pk,
    [TABLE_KEYS.sortKey]: key.sk,
    ...indexAttributes(ref),
    type: entity.kind,
    ...fieldsOf(entity),
    version,
    managedBy,
  });
}

function fieldsOf(entity: Entity): { [name: string]: Plain | undefined } {
  switch (entity.kind) {
    case 'tenant': {
      const { id, ...rest } = entity.value;
      return { tenantId: id, ...rest };
    }
    case 'issuer':
    case 'connection':
    case 'client':
      // Model objects hold only strings, numbers, booleans, lists and plain objects (a JWKS is JSON).
      return { ...(entity.value as unknown as { [name: string]: Plain | undefined }) };
  }
}

// ---- reading ----

/** Stored items are checked as strictly as the server relies on them: a partial or odd item must never grant trust. */
const text = v.pipe(v.string(), v.minLength(1));
const version = v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)));

const tenantItemSchema = v.looseObject({
  type: v.literal('tenant'),
  tenantId: text,
  displayName: v.optional(v.string()),
  enabled: v.boolean(),
  version,
});

const trustItemSchema = v.looseObject({
  type: v.literal('issuer'),
  tenantId: text,
  issuer: text,
  jwksUri: v.optional(text),
  tenantClaim: v.optional(text),
  algorithms: v.pipe(v.array(v.picklist(ASYMMETRIC_ALGORITHMS)), v.minLength(1)),
  maxAssertionLifetimeSeconds: v.pipe(v.number(), v.integer(), v.minValue(1)),
  enabled: v.boolean(),
  notAfter: v.optional(v.pipe(v.number(), v.integer())),
  version,
});

/** Within the bounds the configuration enforces: an odd stored lifetime must never let a grant live longer. */
const refreshLifetime = v.optional(
  v.pipe(
    v.number(),
    v.integer(),
    v.minValue(MIN_REFRESH_TOKEN_LIFETIME_SECONDS),
    v.maxValue(MAX_REFRESH_TOKEN_LIFETIME_SECONDS),
  ),
);

const refreshTokensItemSchema = v.pipe(
  v.strictObject({ idleSeconds: refreshLifetime, absoluteSeconds: refreshLifetime }),
  v.check(
    (r) => r.idleSeconds === undefined || r.absoluteSeconds === undefined || r.idleSeconds <= r.absoluteSeconds,
    'idleSeconds at most absoluteSeconds',
  ),
);

const clientItemSchema = v.looseObject({
  type: v.literal('client'),
  clientId: text,
  authMethod: v.picklist(CLIENT_AUTH_METHODS),
  secrets: v.array(
    v.strictObject({
      hash: v.pipe(v.string(), v.check(isSecretHash, 'not a secret hash')),
      notAfter: v.optional(v.pipe(v.number(), v.integer())),
    }),
  ),
  jwks: v.optional(v.looseObject({ keys: v.array(v.looseObject({ kty: text })) })),
  jwksUri: v.optional(text),
  grantTypes: v.array(text),
  scopes: v.optional(v.array(text)),
  tenants: v.array(text),
  enabled: v.boolean(),
  redirectUris: v.optional(v.array(text)),
  firstParty: v.optional(v.boolean()),
  refreshTokens: v.optional(refreshTokensItemSchema),
  version,
});

/**
 * A connection tells the server where to send users and which secret to present: its secret reference must be one the
 * server can resolve, present exactly when the method uses a secret, and its domains in the form home realm discovery
 * compares (lower case).
 */
const connectionItemSchema = v.pipe(
  v.looseObject({
    type: v.literal('connection'),
    tenantId: text,
    issuer: text,
    clientId: text,
    authMethod: v.picklist(UPSTREAM_AUTH_METHODS),
    clientSecretRef: v.optional(
      v.pipe(
        v.string(),
        v.check((ref) => parseSecretRef(ref) !== undefined, 'must be a secretsmanager: or file: reference'),
      ),
    ),
    scopes: v.pipe(
      v.array(text),
      v.check((list) => list.includes('openid'), 'must include openid'),
    ),
    domains: v.array(v.pipe(v.string(), v.check(isEmailDomain, 'must be a lower-case domain name'))),
    isDefault: v.boolean(),
    enabled: v.boolean(),
    version,
  }),
  v.forward(
    v.check(
      (item) => upstreamUsesSecret(item.authMethod) === (item.clientSecretRef !== undefined),
      'must be present exactly when the auth method uses a secret',
    ),
    ['clientSecretRef'],
  ),
);

export type Decoded<T> = { ok: true; value: T; version?: number } | { ok: false; problem: string };

/**
 * Problems named by path and expectation only: the message never quotes a stored value, so a report cannot leak a
 * secret hash (or anything else) into logs.
 */
function problemOf(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 5)
    .map(
      (issue) => `${v.getDotPath(issue) ?? 'item'}: ${issue.expected ? `expected ${issue.expected}` : issue.message}`,
    )
    .join('; ');
}

function decode<S extends v.GenericSchema>(
  schema: S,
  item: Item,
  consistent: (value: v.InferOutput<S>, key: Key) => boolean,
): Decoded<v.InferOutput<S>> {
  const record = fromItem(item);
  const result = v.safeParse(schema, record, { message: (issue) => issue.expected ?? 'invalid' });
  if (!result.success) return { ok: false, problem: problemOf(result.issues) };
  const key = { pk: String(record[TABLE_KEYS.partitionKey]), sk: String(record[TABLE_KEYS.sortKey]) };
  // An item copied under another key would otherwise lend its trust to that key's issuer or client.
  if (!consistent(result.output, key)) return { ok: false, problem: 'key does not match the item' };
  return { ok: true, value: result.output, version: (result.output as { version?: number }).version };
}

function sameKey(a: Key, b: Key): boolean {
  return a.pk === b.pk && a.sk === b.sk;
}

export function decodeTenant(item: Item): Decoded<Tenant> {
  const decoded = decode(tenantItemSchema, item, (value, key) => sameKey(key, tenantKey(value.tenantId)));
  if (!decoded.ok) return decoded;
  const { tenantId, displayName, enabled } = decoded.value;
  return { ok: true, version: decoded.version, value: compact({ id: tenantId, displayName, enabled }) };
}

export function decodeTrust(item: Item): Decoded<IssuerTrust> {
  const decoded = decode(trustItemSchema, item, (value, key) => sameKey(key, trustKey(value.tenantId, value.issuer)));
  if (!decoded.ok) return decoded;
  const { tenantId, issuer, jwksUri, tenantClaim, algorithms, maxAssertionLifetimeSeconds, enabled, notAfter } =
    decoded.value;
  return {
    ok: true,
    version: decoded.version,
    value: compact({
      tenantId,
      issuer,
      jwksUri,
      tenantClaim,
      algorithms,
      maxAssertionLifetimeSeconds,
      enabled,
      notAfter,
    }),
  };
}

export function decodeClient(item: Item): Decoded<Client> {
  const decoded = decode(clientItemSchema, item, (value, key) => sameKey(key, clientKey(value.clientId)));
  if (!decoded.ok) return decoded;
  const {
    clientId,
    authMethod,
    secrets,
    jwks,
    jwksUri,
    grantTypes,
    scopes,
    tenants,
    enabled,
    redirectUris,
    firstParty,
    refreshTokens,
  } = decoded.value;
  return {
    ok: true,
    version: decoded.version,
    value: compact({
      clientId,
      authMethod,
      secrets: secrets.map((secret) => compact(secret)),
      jwks: jwks as Client['jwks'],
      jwksUri,
      grantTypes,
      scopes,
      tenants,
      enabled,
      redirectUris,
      firstParty,
      refreshTokens: refreshTokens === undefined ? undefined : compact(refreshTokens),
    }),
  };
}

/** A dynamically registered client as stored: the Client fields plus its self-chosen name and its end. */
export function dynamicClientItem(client: Client, now: number, expiresAt: number): Item {
  const key = dynamicClientKey(client.clientId);
  // The end is an attribute of its own (the TTL), not a client field.
  const { display, registrationEndsAt: _, ...fields } = client;
  return toItem({
    [TABLE_KEYS.partitionKey]: key.pk,
    [TABLE_KEYS.sortKey]: key.sk,
    [TABLE_KEYS.indexPartitionKey]: DYNAMIC_CLIENT_PREFIX,
    [TABLE_KEYS.indexSortKey]: client.clientId,
    type: 'dynamic-client',
    ...(fields as unknown as { [name: string]: Plain | undefined }),
    clientName: display?.name,
    createdAt: now,
    [TABLE_KEYS.ttlAttribute]: expiresAt,
  });
}

const dynamicClientItemSchema = v.looseObject({
  ...clientItemSchema.entries,
  type: v.literal('dynamic-client'),
  clientId: v.pipe(v.string(), v.check(isDynamicClientId, 'a dcr_ client id')),
  authMethod: v.picklist(['none', 'client_secret_basic', 'client_secret_post']),
  clientName: v.optional(v.string()),
  expiresAt: v.pipe(v.number(), v.integer()),
});

/**
 * A dynamically registered client, its end as `registrationEndsAt`. Whatever the item says, it is what a registration
 * may be: every tenant, any scope, never first party (the consent page always shows), its name only as its own claim.
 */
export function decodeDynamicClient(item: Item): Decoded<Client> {
  const decoded = decode(dynamicClientItemSchema, item, (value, key) => sameKey(key, dynamicClientKey(value.clientId)));
  if (!decoded.ok) return decoded;
  const { clientId, authMethod, secrets, grantTypes, enabled, redirectUris, clientName, expiresAt } = decoded.value;
  const client: Client = compact({
    clientId,
    authMethod,
    secrets: secrets.map((secret) => compact(secret)),
    grantTypes: grantTypes.filter((grant) => INTERACTIVE_GRANT_TYPES.includes(grant)),
    tenants: ['*'],
    enabled,
    redirectUris,
    firstParty: false,
    display: clientName === undefined ? undefined : { name: clientName },
    registrationEndsAt: expiresAt,
  });
  return { ok: true, value: client };
}

/**
 * The mark of a registration declared in the construct's `registry` prop. Read apart from the item schemas, which
 * accept it as an extra attribute: it is advice for the admin tools, so an odd value is no mark rather than a
 * malformed item the server would refuse.
 */
export function managedByOf(item: Item): ManagedBy | undefined {
  return item.managedBy?.S === 'construct' ? 'construct' : undefined;
}

export function decodeConnection(item: Item): Decoded<Connection> {
  const decoded = decode(connectionItemSchema, item, (value, key) => sameKey(key, connectionKey(value.tenantId)));
  if (!decoded.ok) return decoded;
  const { tenantId, issuer, clientId, authMethod, clientSecretRef, scopes, domains, isDefault, enabled } =
    decoded.value;
  return {
    ok: true,
    version: decoded.version,
    value: compact({ tenantId, issuer, clientId, authMethod, clientSecretRef, scopes, domains, isDefault, enabled }),
  };
}

/** Decodes any configuration item by its `type`; replay records and unknown types are `undefined`. */
export function decodeEntity(item: Item): Decoded<Entity> | undefined {
  const type = item.type?.S;
  const as = <K extends Entity['kind'], T>(kind: K, decoded: Decoded<T>): Decoded<Entity> =>
    decoded.ok ? { ok: true, version: decoded.version, value: { kind, value: decoded.value } as Entity } : decoded;
  if (type === 'tenant') return as('tenant', decodeTenant(item));
  if (type === 'issuer') return as('issuer', decodeTrust(item));
  if (type === 'connection') return as('connection', decodeConnection(item));
  if (type === 'client') return as('client', decodeClient(item));
  return undefined;
}

/** Drops `undefined` fields, so that a decoded registration equals the one that was written. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

/** How a malformed item is reported: its key only, never its attributes, which may hold secret hashes. */
export function describeMalformed(item: Item, problem: string): string {
  const pk = item[TABLE_KEYS.partitionKey]?.S ?? '?';
  const sk = item[TABLE_KEYS.sortKey]?.S ?? '?';
  return `ignoring malformed item (pk=${pk}, sk=${sk}): ${problem}`;
}
