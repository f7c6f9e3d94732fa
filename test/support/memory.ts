import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { Client, Connection, RegisteredTrust, Tenant } from '../../lambda/core/model';
import type {
  ClientRegistrations,
  Clock,
  KeyResolver,
  KeySource,
  RecordedUse,
  Registry,
  ReplayStore,
  SingleUse,
} from '../../lambda/core/ports';

/** In-memory implementations of the core's ports, for core tests and benchmarks. */
export class MemoryRegistry implements Registry {
  readonly trusts: RegisteredTrust[] = [];
  readonly clients = new Map<string, Client>();
  lookups = 0;

  async trustsForIssuer(issuer: string): Promise<readonly RegisteredTrust[]> {
    this.lookups++;
    return this.trusts.filter(({ trust }) => trust.issuer === issuer);
  }

  async getClient(clientId: string): Promise<Client | undefined> {
    return this.clients.get(clientId);
  }

  readonly tenants = new Map<string, Tenant>();
  readonly connectionList: Connection[] = [];

  async getTenant(tenantId: string): Promise<Tenant | undefined> {
    return this.tenants.get(tenantId) ?? this.trusts.find(({ tenant }) => tenant.id === tenantId)?.tenant;
  }

  async connections(): Promise<readonly Connection[]> {
    return this.connectionList;
  }
}

/**
 * Dynamically registered clients, with the DynamoDB adapter's rules: the cap counts the registrations live at `now`; an
 * end moves only later, and never for a registration that has ended or does not exist. Each registered client is
 * also put in `registry`, when given, so that the endpoints find it. `failing` makes every call fail as an outage.
 */
export class MemoryClientRegistrations implements ClientRegistrations {
  /** Each registration's end (epoch seconds), by client id. */
  readonly ends = new Map<string, number>();
  failing = false;

  constructor(private readonly registry?: MemoryRegistry) {}

  async register(client: Client, now: number, options: { readonly expiresAt: number; readonly maxClients: number }) {
    if (this.failing) throw new Error('store unavailable');
    const live = [...this.ends.values()].filter((end) => end > now).length;
    if (live >= options.maxClients) return 'full' as const;
    this.registry?.clients.set(client.clientId, client);
    this.ends.set(client.clientId, options.expiresAt);
    return 'registered' as const;
  }

  async extend(clientId: string, endsAt: number, now: number) {
    if (this.failing) throw new Error('store unavailable');
    const current = this.ends.get(clientId);
    if (current === undefined || current <= now || current >= endsAt) return 'unchanged' as const;
    this.ends.set(clientId, endsAt);
    return 'extended' as const;
  }
}

export class MemoryReplayStore implements ReplayStore {
  private readonly records = new Map<string, { keepUntil: number; writer: object }>();

  async recordOnce(use: SingleUse, now: number): Promise<RecordedUse | undefined> {
    const key = `${use.namespace}\n${use.id}`;
    const existing = this.records.get(key);
    if (existing !== undefined && existing.keepUntil >= now) return undefined;
    const writer = {};
    this.records.set(key, { keepUntil: use.keepUntil, writer });
    return {
      release: async () => {
        if (this.records.get(key)?.writer === writer) this.records.delete(key);
      },
    };
  }

  get size(): number {
    return this.records.size;
  }
}

/**
 * Resolves registered key URIs to key sets held in memory; records which URIs were asked for. Like the real resolver,
 * it keeps one jose key set per set it serves (imported keys are cached there), so replacing a set takes effect.
 */
export class MemoryKeyResolver implements KeyResolver {
  readonly sets = new Map<string, JSONWebKeySet>();
  readonly requested: string[] = [];
  private readonly imported = new WeakMap<JSONWebKeySet, JWTVerifyGetKey>();

  keysFor(source: KeySource): JWTVerifyGetKey {
    if (source.jwks) return this.local(source.jwks);
    const uri = source.jwksUri ?? `${source.issuer}/.well-known/jwks.json`;
    this.requested.push(uri);
    const set = this.sets.get(uri);
    if (!set) return async () => Promise.reject(new errors.JWKSNoMatchingKey());
    return this.local(set);
  }

  private local(set: JSONWebKeySet): JWTVerifyGetKey {
    let keys = this.imported.get(set);
    if (!keys) {
      keys = createLocalJWKSet(set);
      this.imported.set(set, keys);
    }
    return keys;
  }
}

export class FixedClock implements Clock {
  constructor(public seconds: number) {}
  now(): number {
    return this.seconds;
  }
}
