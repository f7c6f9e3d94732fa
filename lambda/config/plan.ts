import {
  type ClientConfig,
  type RegistryConfig,
  toClient,
  toConnections,
  toIssuerTrusts,
  toTenant,
  usesSecret,
} from './schema';
import {
  describeRef,
  type Entity,
  type EntityRef,
  entitiesOf,
  findEntry,
  type ManagedBy,
  type RegistryState,
  refOf,
  sameRef,
  stateProblems,
  withChanges,
} from './state';

/**
 * What an admin write does, item by item. Every write is conditional on the version that was read, so a concurrent
 * change is detected rather than overwritten.
 */
export type Change =
  | {
      readonly action: 'create' | 'update';
      readonly entity: Entity;
      /** The stored version an update replaces (absent: the stored item has none). */
      readonly previousVersion?: number;
      /** Changed fields, for the plan; never their values (a field may be a secret hash). */
      readonly fields: readonly string[];
      /** A client that needs a secret: one is generated when the change is written, and shown once. */
      readonly generateSecret?: boolean;
      /** The mark the written item carries (absent: none); an edit keeps the stored one. */
      readonly managedBy?: ManagedBy;
    }
  | { readonly action: 'delete'; readonly ref: EntityRef; readonly previousVersion?: number };

export interface Plan {
  readonly changes: readonly Change[];
  /** Registrations in the table but not in the file, left alone because pruning was not asked for. */
  readonly kept: readonly EntityRef[];
  /** Rules the result would break (they were not broken before): the plan must not be applied. */
  readonly problems: readonly string[];
}

export interface PlanOptions {
  /** Remove registrations that the file does not declare. */
  readonly prune?: boolean;
  /**
   * Who declares the file (the construct's seed): every registration it declares is marked so, a missing mark being a
   * change, and a registration that carries the mark but is no longer declared loses it (it is kept, unless pruning).
   * Without it (`id-jag-admin apply`), stored marks are kept as they are and never make a change.
   */
  readonly managedBy?: ManagedBy;
}

/**
 * The changes that make the registry match a configuration file. Pure: the same state and file always give the same
 * plan, and a state that already matches gives no changes, so applying twice changes nothing the second time.
 */
export function planApply(current: RegistryState, config: RegistryConfig, options: PlanOptions = {}): Plan {
  const declared = declaredEntities(current, config);
  const upserts = declared.flatMap((desired) => upsertFor(current, desired, options.managedBy));
  const declaredRefs = declared.map((desired) => refOf(desired.entity));
  const isDeclared = (ref: EntityRef) => declaredRefs.some((declaredRef) => sameRef(declaredRef, ref));
  const undeclared = [
    ...entitiesOf(current).map(({ entity, version }) => ({ ref: refOf(entity), version })),
    ...current.malformed.map((entry) => ({ ref: entry.ref, version: entry.version })),
  ].filter(({ ref }) => !isDeclared(ref));
  const deletes: Change[] = options.prune
    ? undeclared.map(({ ref, version }) => ({ action: 'delete', ref, previousVersion: version }))
    : [];
  const releases = options.managedBy && !options.prune ? released(current, options.managedBy, isDeclared) : [];
  const changes = orderChanges([...upserts, ...releases, ...deletes]);
  return {
    changes,
    kept: options.prune ? [] : undeclared.map(({ ref }) => ref),
    problems: newProblems(current, changes),
  };
}

/** Registrations that carry the owner's mark but are no longer declared: kept, without the mark. */
function released(current: RegistryState, owner: ManagedBy, isDeclared: (ref: EntityRef) => boolean): Change[] {
  return entitiesOf(current)
    .filter(({ entity, managedBy }) => managedBy === owner && !isDeclared(refOf(entity)))
    .map(({ entity, version }) => ({ action: 'update', entity, previousVersion: version, fields: ['managedBy'] }));
}

interface Declared {
  readonly entity: Entity;
  readonly generateSecret?: boolean;
}

function declaredEntities(current: RegistryState, config: RegistryConfig): Declared[] {
  return [
    ...config.tenants.map((tenant): Declared => ({ entity: { kind: 'tenant', value: toTenant(tenant) } })),
    ...config.tenants.flatMap(toIssuerTrusts).map((value): Declared => ({ entity: { kind: 'issuer', value } })),
    ...config.tenants.flatMap(toConnections).map((value): Declared => ({ entity: { kind: 'connection', value } })),
    ...config.clients.map((client) => declaredClient(current, client)),
  ];
}

/**
 * A client's secrets when applying a file: the file's `secretHash` when it gives one (keeping a rotation's grace
 * secret while the file names the current secret); otherwise the secrets already stored; otherwise a new one.
 */
function declaredClient(current: RegistryState, config: ClientConfig): Declared {
  const client = toClient(config);
  const stored = current.clients.find(({ value }) => value.clientId === client.clientId)?.value;
  if (!usesSecret(client.authMethod)) return { entity: { kind: 'client', value: client } };
  if (config.secretHash !== undefined) {
    const keepRotation = stored?.secrets[0]?.hash === config.secretHash;
    const secrets = keepRotation && stored ? stored.secrets : client.secrets;
    return { entity: { kind: 'client', value: { ...client, secrets } } };
  }
  if (stored && usesSecret(stored.authMethod) && stored.secrets.length > 0) {
    return { entity: { kind: 'client', value: { ...client, secrets: stored.secrets } } };
  }
  return { entity: { kind: 'client', value: client }, generateSecret: true };
}

function upsertFor(current: RegistryState, desired: Declared, owner: ManagedBy | undefined): Change[] {
  const stored = findEntry(current, refOf(desired.entity));
  // The seed marks what it declares; `apply` keeps the stored mark.
  const managedBy = owner ?? stored?.managedBy;
  const extra = {
    ...(desired.generateSecret ? { generateSecret: true } : {}),
    ...(managedBy ? { managedBy } : {}),
  };
  if (!stored) return [{ action: 'create', entity: desired.entity, fields: [], ...extra }];
  if (!stored.entity) {
    // The stored item is unreadable: the file's version replaces it.
    return [
      { action: 'update', entity: desired.entity, previousVersion: stored.version, fields: ['(malformed)'], ...extra },
    ];
  }
  const fields = changedFields(stored.entity.value, desired.entity.value);
  if (desired.generateSecret && !fields.includes('secrets')) fields.push('secrets');
  if (managedBy !== stored.managedBy) fields.push('managedBy');
  if (fields.length === 0) return [];
  return [{ action: 'update', entity: desired.entity, previousVersion: stored.version, fields, ...extra }];
}

/** Top-level fields whose values differ (compared as canonical JSON, so key order does not matter). */
export function changedFields(before: object, after: object): string[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const field = (value: object, name: string) => canonical((value as Record<string, unknown>)[name]);
  return names.filter((name) => field(before, name) !== field(after, name));
}

function canonical(value: unknown): string {
  return (
    JSON.stringify(value, (_, inner) =>
      inner && typeof inner === 'object' && !Array.isArray(inner)
        ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => a.localeCompare(b)))
        : inner,
    ) ?? 'undefined'
  );
}

/**
 * Without transactions, order keeps every intermediate state safe: a tenant exists before its issuers and its
 * connection are written, and they are gone before it is. Connections are removed first of all, so that an email
 * domain or the default that one connection gives up is free before another claims it (an update that moves a domain
 * between two kept connections may still claim it twice for a moment, and a domain claimed twice counts as claimed
 * by none). An interrupted run leaves a state that the next run completes.
 */
const WRITE_ORDER: readonly string[] = [
  'delete connection',
  'write tenant',
  'write issuer',
  'write connection',
  'write client',
  'delete client',
  'delete issuer',
  'delete tenant',
];

export function orderChanges(changes: readonly Change[]): Change[] {
  const rank = (change: Change) =>
    WRITE_ORDER.indexOf(change.action === 'delete' ? `delete ${change.ref.kind}` : `write ${change.entity.kind}`);
  return [...changes].sort((a, b) => rank(a) - rank(b));
}

/** Problems of the state after the changes that the state before did not have. */
export function newProblems(current: RegistryState, changes: readonly Change[]): string[] {
  const after = withChanges(
    current,
    changes.map((change) => (change.action === 'delete' ? { remove: change.ref } : { upsert: change.entity })),
  );
  const before = new Set(stateProblems(current));
  return stateProblems(after).filter((problem) => !before.has(problem));
}

export function refOfChange(change: Change): EntityRef {
  return change.action === 'delete' ? change.ref : refOf(change.entity);
}

/** One line per change: `+` create, `~` update (with the changed fields), `-` delete. */
export function describeChange(change: Change): string {
  const name = describeRef(refOfChange(change));
  if (change.action === 'delete') return `- ${name}`;
  const secret = change.generateSecret ? ' (a new secret will be generated)' : '';
  if (change.action === 'create') return `+ ${name}${secret}`;
  return `~ ${name}: ${change.fields.join(', ')}${secret}`;
}
