import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { TemporarilyUnavailableError } from '../../core/errors';
import {
  type Client,
  type Connection,
  isDynamicClientId,
  isStorableIdentifier,
  MAX_CLIENT_ID_BYTES,
  MAX_ISSUER_BYTES,
  MAX_TENANT_ID_BYTES,
  type RegisteredTrust,
  type Tenant,
} from '../../core/model';
import type { Registry } from '../../core/ports';
import type { Item } from './attributes';
import { batchGetItems } from './batch';
import { LookupCache } from './cache';
import { storeCall } from './errors';
import {
  clientKey,
  decodeClient,
  decodeConnection,
  decodeDynamicClient,
  decodeTenant,
  decodeTrust,
  describeMalformed,
  dynamicClientKey,
  indexPartition,
  issuerPartition,
  keyAttributes,
  tenantKey,
} from './items';
import { queryPartition } from './query';

export interface DynamoRegistryOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /**
   * How long an answer (including "not found") is reused, in milliseconds; 0 disables the cache. A change to the
   * registry (a disabled or removed issuer or client, a new one) takes effect within this time. @default 30000
   */
  readonly cacheMaxAgeMs?: number;
  /** Most answers kept; the oldest are dropped first. @default 1000 */
  readonly maxCacheEntries?: number;
  /** Milliseconds, for the cache only (tests inject one). @default Date.now */
  readonly nowMs?: () => number;
  /** Told about each malformed item, which is then treated as absent. @default console.warn */
  readonly onInvalidItem?: (description: string) => void;
}

/** BatchGetItem leaves keys unprocessed under load; they are asked for again a few times before giving up. */
const BATCH_ATTEMPTS = 3;

/**
 * The registry in the single DynamoDB table: one Query resolves an issuer's trusts, one BatchGetItem their tenants,
 * one GetItem a client. Answers are cached in the process for a short time, so a warm exchange reads nothing.
 */
export class DynamoRegistry implements Registry {
  private readonly trusts: LookupCache<readonly RegisteredTrust[]>;
  private readonly clients: LookupCache<Client | undefined>;
  private readonly nowMs: () => number;
  private readonly tenants: LookupCache<Tenant | undefined>;
  private readonly allConnections: LookupCache<readonly Connection[]>;
  private readonly onInvalidItem: (description: string) => void;

  constructor(private readonly options: DynamoRegistryOptions) {
    const maxAge = options.cacheMaxAgeMs ?? 30_000;
    const maxEntries = options.maxCacheEntries ?? 1000;
    const nowMs = options.nowMs ?? Date.now;
    this.trusts = new LookupCache(maxAge, maxEntries, nowMs);
    this.clients = new LookupCache(maxAge, maxEntries, nowMs);
    this.nowMs = nowMs;
    this.tenants = new LookupCache(maxAge, maxEntries, nowMs);
    this.allConnections = new LookupCache(maxAge, 1, nowMs);
    this.onInvalidItem = options.onInvalidItem ?? ((description) => console.warn(description));
  }

  trustsForIssuer(issuer: string): Promise<readonly RegisteredTrust[]> {
    // No registered issuer is this long or malformed, and DynamoDB would refuse the key: answer without asking.
    if (!isStorableIdentifier(issuer, MAX_ISSUER_BYTES)) return Promise.resolve([]);
    return this.trusts.get(issuer, () => this.loadTrusts(issuer));
  }

  /**
   * A registered client, or one registered dynamically (a `dcr_` id, RFC 7591) until its registration ends: an expired
   * one is unknown at once, whether or not TTL has deleted its item yet, and even from the cache.
   */
  async getClient(clientId: string): Promise<Client | undefined> {
    if (!isStorableIdentifier(clientId, MAX_CLIENT_ID_BYTES)) return undefined;
    if (!isDynamicClientId(clientId)) return this.clients.get(clientId, () => this.loadClient(clientId));
    // The prefix is reserved, so a registration never shares an id (nor a cache entry) with a registered client.
    const found = await this.clients.get(clientId, () => this.loadDynamicClient(clientId));
    return found?.registrationEndsAt !== undefined && found.registrationEndsAt > Math.floor(this.nowMs() / 1000)
      ? found
      : undefined;
  }

  getTenant(tenantId: string): Promise<Tenant | undefined> {
    if (!isStorableIdentifier(tenantId, MAX_TENANT_ID_BYTES)) return Promise.resolve(undefined);
    return this.tenants.get(tenantId, async () => (await this.loadTenants([tenantId])).get(tenantId));
  }

  /** All connections, one Query on the index (a deployment has one per tenant at most), cached like the rest. */
  connections(): Promise<readonly Connection[]> {
    return this.allConnections.get('*', async () => {
      const items = await this.queryIndex(indexPartition('connection'));
      return items.flatMap((item) => {
        const connection = this.valid(item, decodeConnection(item));
        return connection ? [connection] : [];
      });
    });
  }

  private async loadClient(clientId: string): Promise<Client | undefined> {
    const { client, tableName } = this.options;
    const { Item: item } = await storeCall(() =>
      client.send(new GetItemCommand({ TableName: tableName, Key: keyAttributes(clientKey(clientId)) })),
    );
    return item ? this.valid(item, decodeClient(item)) : undefined;
  }

  private async loadDynamicClient(clientId: string): Promise<Client | undefined> {
    const { client, tableName } = this.options;
    const { Item: item } = await storeCall(() =>
      client.send(new GetItemCommand({ TableName: tableName, Key: keyAttributes(dynamicClientKey(clientId)) })),
    );
    return item ? this.valid(item, decodeDynamicClient(item)) : undefined;
  }

  private async loadTrusts(issuer: string): Promise<readonly RegisteredTrust[]> {
    const trusts = (await this.queryPartition(issuer)).flatMap((item) => {
      const trust = this.valid(item, decodeTrust(item));
      return trust ? [trust] : [];
    });
    if (trusts.length === 0) return [];
    const tenants = await this.loadTenants([...new Set(trusts.map((trust) => trust.tenantId))]);
    return trusts.flatMap((trust) => {
      const tenant = tenants.get(trust.tenantId);
      // A trust left behind by an interrupted tenant removal grants nothing.
      if (!tenant) this.onInvalidItem(`ignoring issuer trust ${trust.issuer} of missing tenant ${trust.tenantId}`);
      return tenant ? [{ trust, tenant }] : [];
    });
  }

  private queryPartition(issuer: string): Promise<Item[]> {
    const { client, tableName } = this.options;
    return queryPartition(client, tableName, { partition: issuerPartition(issuer) }, storeCall);
  }

  private queryIndex(partition: string): Promise<Item[]> {
    const { client, tableName } = this.options;
    return queryPartition(client, tableName, { partition, onIndex: true }, storeCall);
  }

  private async loadTenants(tenantIds: readonly string[]): Promise<Map<string, Tenant>> {
    const { client, tableName } = this.options;
    const keys = tenantIds.map((id) => keyAttributes(tenantKey(id)));
    const items = await batchGetItems(client, tableName, keys, {
      // On the token path: ask again at once, a few times, rather than hold the request.
      attempts: BATCH_ATTEMPTS,
      sleep: async () => undefined,
      call: storeCall,
      // Deciding without some tenants could wrongly reject a request; let the caller retry instead.
      unprocessed: () => new TemporarilyUnavailableError('dynamodb unprocessed keys'),
    });
    const tenants = new Map<string, Tenant>();
    for (const item of items) {
      const tenant = this.valid(item, decodeTenant(item));
      if (tenant) tenants.set(tenant.id, tenant);
    }
    return tenants;
  }

  private valid<T>(item: Item, decoded: { ok: true; value: T } | { ok: false; problem: string }): T | undefined {
    if (decoded.ok) return decoded.value;
    this.onInvalidItem(describeMalformed(item, decoded.problem));
    return undefined;
  }
}
