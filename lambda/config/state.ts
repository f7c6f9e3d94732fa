import { ALL_TENANTS, type Client, type Connection, type IssuerTrust, type Tenant } from '../core/model';

/**
 * The registry as a whole (tenants, issuer trusts, connections, clients), as the admin tools see it: what a table
 * holds, or what a configuration file asks for. Pure data and pure functions; the DynamoDB adapter loads and writes it.
 */

/**
 * Names one registration; issuer trusts are identified by the (issuer, tenant) pair, a connection by its tenant (a
 * tenant has one at most).
 */
export type EntityRef =
  | { readonly kind: 'tenant'; readonly tenantId: string }
  | { readonly kind: 'issuer'; readonly tenantId: string; readonly issuer: string }
  | { readonly kind: 'connection'; readonly tenantId: string }
  | { readonly kind: 'client'; readonly clientId: string };

export type Entity =
  | { readonly kind: 'tenant'; readonly value: Tenant }
  | { readonly kind: 'issuer'; readonly value: IssuerTrust }
  | { readonly kind: 'connection'; readonly value: Connection }
  | { readonly kind: 'client'; readonly value: Client };

export type EntityKind = Entity['kind'];

/**
 * Who declares a registration, when it is not the admin CLI: `construct` for the construct's `registry` prop, whose
 * seed restores what it declares each time it runs. The admin CLI warns before changing such a registration.
 */
export type ManagedBy = 'construct';

/** A registration as stored, with the version its next conditional write must match. */
export interface Stored<T> {
  readonly value: T;
  /** Absent for items written without one (by hand, for example). */
  readonly version?: number;
  /** Absent for registrations that only the admin CLI manages. */
  readonly managedBy?: ManagedBy;
}

/** A stored item that failed validation: it is treated as absent by the server, and shown to the operator. */
export interface MalformedEntry {
  readonly ref: EntityRef;
  readonly version?: number;
  readonly managedBy?: ManagedBy;
  readonly problem: string;
}

export interface RegistryState {
  readonly tenants: readonly Stored<Tenant>[];
  readonly trusts: readonly Stored<IssuerTrust>[];
  readonly connections: readonly Stored<Connection>[];
  readonly clients: readonly Stored<Client>[];
  readonly malformed: readonly MalformedEntry[];
}

export const EMPTY_STATE: RegistryState = { tenants: [], trusts: [], connections: [], clients: [], malformed: [] };

export function refOf(entity: Entity): EntityRef {
  switch (entity.kind) {
    case 'tenant':
      return { kind: 'tenant', tenantId: entity.value.id };
    case 'issuer':
      return { kind: 'issuer', tenantId: entity.value.tenantId, issuer: entity.value.issuer };
    case 'connection':
      return { kind: 'connection', tenantId: entity.value.tenantId };
    case 'client':
      return { kind: 'client', clientId: entity.value.clientId };
  }
}

/** A readable, unique name for a registration, used in plans and messages. */
export function describeRef(ref: EntityRef): string {
  switch (ref.kind) {
    case 'tenant':
      return `tenant ${ref.tenantId}`;
    case 'issuer':
      return `issuer ${ref.issuer} for tenant ${ref.tenantId}`;
    case 'connection':
      return `connection for tenant ${ref.tenantId}`;
    case 'client':
      return `client ${ref.clientId}`;
  }
}

export function sameRef(a: EntityRef, b: EntityRef): boolean {
  return describeRef(a) === describeRef(b);
}

/** A stored registration with what its next write needs: the version to match, and the mark to keep. */
export interface StoredEntity {
  readonly entity: Entity;
  readonly version?: number;
  readonly managedBy?: ManagedBy;
}

/** Every registration in the state, as entities with their stored versions and marks. */
export function entitiesOf(state: RegistryState): StoredEntity[] {
  return [
    ...state.tenants.map(({ value, ...stored }) => ({ entity: { kind: 'tenant', value } as Entity, ...stored })),
    ...state.trusts.map(({ value, ...stored }) => ({ entity: { kind: 'issuer', value } as Entity, ...stored })),
    ...state.connections.map(({ value, ...stored }) => ({
      entity: { kind: 'connection', value } as Entity,
      ...stored,
    })),
    ...state.clients.map(({ value, ...stored }) => ({ entity: { kind: 'client', value } as Entity, ...stored })),
  ];
}

/** Finds a registration (well-formed or not) by reference. */
export function findEntry(state: RegistryState, ref: EntityRef): Partial<StoredEntity> | undefined {
  const found = entitiesOf(state).find(({ entity }) => sameRef(refOf(entity), ref));
  if (found) return found;
  const malformed = state.malformed.find((entry) => sameRef(entry.ref, ref));
  return malformed ? { version: malformed.version, managedBy: malformed.managedBy } : undefined;
}

/** The state after writing or removing registrations: used to check a change before it is made. */
export function withChanges(
  state: RegistryState,
  changes: readonly ({ upsert: Entity } | { remove: EntityRef })[],
): RegistryState {
  let next = state;
  for (const change of changes) {
    const ref = 'upsert' in change ? refOf(change.upsert) : change.remove;
    next = without(next, ref);
    if ('upsert' in change) next = withEntity(next, change.upsert);
  }
  return next;
}

function without(state: RegistryState, ref: EntityRef): RegistryState {
  const keep =
    <T>(toRef: (value: T) => EntityRef) =>
    (stored: Stored<T>) =>
      !sameRef(toRef(stored.value), ref);
  return {
    tenants: state.tenants.filter(keep((value) => refOf({ kind: 'tenant', value }))),
    trusts: state.trusts.filter(keep((value) => refOf({ kind: 'issuer', value }))),
    connections: state.connections.filter(keep((value) => refOf({ kind: 'connection', value }))),
    clients: state.clients.filter(keep((value) => refOf({ kind: 'client', value }))),
    malformed: state.malformed.filter((entry) => !sameRef(entry.ref, ref)),
  };
}

function withEntity(state: RegistryState, entity: Entity): RegistryState {
  switch (entity.kind) {
    case 'tenant':
      return { ...state, tenants: [...state.tenants, { value: entity.value }] };
    case 'issuer':
      return { ...state, trusts: [...state.trusts, { value: entity.value }] };
    case 'connection':
      return { ...state, connections: [...state.connections, { value: entity.value }] };
    case 'client':
      return { ...state, clients: [...state.clients, { value: entity.value }] };
  }
}

/**
 * Rules that span registrations, so that no single item can check them:
 * - an issuer trust belongs to an existing tenant;
 * - a client names existing tenants (or all of them);
 * - an issuer registered for several tenants tells them apart by distinct required `tenant` claims, because the
 *   server rejects an assertion that matches more than one registration (it never guesses a tenant);
 * - a connection belongs to an existing tenant, an email domain is claimed by one connection at most, and at most one
 *   connection is the default, so that home realm discovery never has to guess either.
 */
export function stateProblems(state: RegistryState): string[] {
  const tenantIds = new Set(state.tenants.map(({ value }) => value.id));
  const problems: string[] = [];
  for (const { value: trust } of state.trusts) {
    if (!tenantIds.has(trust.tenantId)) {
      problems.push(`issuer ${trust.issuer} belongs to tenant ${trust.tenantId}, which does not exist`);
    }
  }
  for (const { value: client } of state.clients) {
    for (const tenantId of client.tenants) {
      if (tenantId !== ALL_TENANTS && !tenantIds.has(tenantId)) {
        problems.push(`client ${client.clientId} names tenant ${tenantId}, which does not exist`);
      }
    }
  }
  problems.push(...ambiguousIssuers(state.trusts.map(({ value }) => value)));
  for (const { value: connection } of state.connections) {
    if (!tenantIds.has(connection.tenantId)) {
      problems.push(`the connection of tenant ${connection.tenantId} belongs to a tenant that does not exist`);
    }
  }
  problems.push(...connectionProblems(state.connections.map(({ value }) => value)));
  return problems;
}

/** Email domains claimed by several connections, and more than one default connection. */
export function connectionProblems(connections: readonly Connection[]): string[] {
  const problems: string[] = [];
  const byDomain = new Map<string, string[]>();
  for (const connection of connections) {
    for (const domain of connection.domains) {
      byDomain.set(domain, [...(byDomain.get(domain) ?? []), connection.tenantId]);
    }
  }
  for (const [domain, tenants] of byDomain) {
    if (tenants.length > 1) {
      problems.push(`domain ${domain} is claimed by the connections of tenants ${tenants.join(', ')}: one at most`);
    }
  }
  const defaults = connections.filter((connection) => connection.isDefault).map((connection) => connection.tenantId);
  if (defaults.length > 1) {
    problems.push(`the connections of tenants ${defaults.join(', ')} are all the default: one at most`);
  }
  return problems;
}

export function ambiguousIssuers(trusts: readonly IssuerTrust[]): string[] {
  const byIssuer = new Map<string, IssuerTrust[]>();
  for (const trust of trusts) byIssuer.set(trust.issuer, [...(byIssuer.get(trust.issuer) ?? []), trust]);
  const problems: string[] = [];
  for (const [issuer, registrations] of byIssuer) {
    if (registrations.length < 2) continue;
    const claims = registrations.map((trust) => trust.tenantClaim);
    const distinct = claims.every((claim) => claim !== undefined) && new Set(claims).size === claims.length;
    if (!distinct) {
      const tenants = registrations.map((trust) => trust.tenantId).join(', ');
      problems.push(
        `issuer ${issuer} is trusted by tenants ${tenants}: each of them must require a different tenantClaim`,
      );
    }
  }
  return problems;
}
