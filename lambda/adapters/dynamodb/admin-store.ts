import { CreateTableCommand, DeleteItemCommand, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { type Change, type PlanOptions, planApply, refOfChange } from '../../config/plan';
import type { RegistryConfig } from '../../config/schema';
import {
  describeRef,
  type EntityKind,
  type EntityRef,
  type MalformedEntry,
  type RegistryState,
  type Stored,
  sameRef,
} from '../../config/state';
import { ConfigError } from '../../core/config';
import type { Client, Connection, IssuerTrust, Tenant } from '../../core/model';
import { generateClientSecret, hashClientSecret } from '../../core/secrets';
import type { Item } from './attributes';
import { batchGetItems } from './batch';
import { isConditionalCheckFailed } from './errors';
import {
  decodeEntity,
  describeMalformed,
  entityItem,
  indexPartition,
  keyAttributes,
  keyOf,
  managedByOf,
  refOfKey,
} from './items';
import { queryPartition } from './query';
import { createTableInput, TABLE_KEYS } from './table';

export interface RegistryTableOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/** A conditional write found the item changed since it was read (another admin, or an index not yet up to date). */
export class ConcurrentChangeError extends Error {
  constructor(readonly ref: EntityRef) {
    super(`${describeRef(ref)} changed while this command ran; run it again`);
    this.name = 'ConcurrentChangeError';
  }
}

/**
 * Administrative access to the registry items: listing through the index (never a Scan), consistent reads of named
 * items, and writes conditional on the version read. The token endpoint never uses this; it reads via DynamoRegistry.
 */
export class RegistryTable {
  constructor(private readonly options: RegistryTableOptions) {}

  get tableName(): string {
    return this.options.tableName;
  }

  /**
   * Everything registered. The index is eventually consistent, so the items named in `refresh` (the ones a command
   * is about to check or change) are read again from the table itself, consistently.
   */
  async loadState(refresh: readonly EntityRef[] = []): Promise<RegistryState> {
    const listed = (
      await Promise.all((['tenant', 'issuer', 'connection', 'client'] as const).map((kind) => this.listItems(kind)))
    ).flat();
    const refreshed = await this.getItems(refresh);
    const refreshedKeys = new Set(refresh.map(describeRef));
    const fromIndex = listed.filter((item) => {
      const ref = refOfKey(keyOfItem(item));
      return !ref || !refreshedKeys.has(describeRef(ref));
    });
    return stateOf([...fromIndex, ...refreshed]);
  }

  /** Creates the table (local mode and tests); an existing table is left as it is. */
  async createTable(): Promise<'created' | 'exists'> {
    try {
      await this.options.client.send(new CreateTableCommand(createTableInput(this.options.tableName)));
      return 'created';
    } catch (error) {
      if ((error as { name?: string }).name === 'ResourceInUseException') return 'exists';
      throw error;
    }
  }

  /** Writes one change, conditional on the version it was planned against. */
  async write(change: Change): Promise<void> {
    const ref = refOfChange(change);
    const condition = versionCondition(change);
    const common = {
      TableName: this.options.tableName,
      ConditionExpression: condition.expression,
      ExpressionAttributeNames: condition.names,
      ExpressionAttributeValues: condition.values,
    };
    try {
      if (change.action === 'delete') {
        await this.options.client.send(new DeleteItemCommand({ ...common, Key: keyAttributes(keyOf(ref)) }));
      } else {
        const version = change.action === 'create' ? 1 : (change.previousVersion ?? 0) + 1;
        const item = entityItem(change.entity, version, change.managedBy);
        await this.options.client.send(new PutItemCommand({ ...common, Item: item }));
      }
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new ConcurrentChangeError(ref);
      throw error;
    }
  }

  private listItems(kind: EntityKind): Promise<Item[]> {
    const { client, tableName } = this.options;
    return queryPartition(client, tableName, { partition: indexPartition(kind), onIndex: true });
  }

  private async getItems(refs: readonly EntityRef[]): Promise<Item[]> {
    const unique = refs.filter((ref, index) => refs.findIndex((other) => sameRef(other, ref)) === index);
    const keys = unique.map((ref) => keyAttributes(keyOf(ref)));
    return batchGetItems(this.options.client, this.options.tableName, keys, { consistentRead: true });
  }
}

function keyOfItem(item: Item): { pk?: string; sk?: string } {
  return { pk: item[TABLE_KEYS.partitionKey]?.S, sk: item[TABLE_KEYS.sortKey]?.S };
}

/** Items to registrations; unreadable items are kept aside (with the version needed to repair or remove them). */
export function stateOf(items: readonly Item[]): RegistryState {
  const tenants: Stored<Tenant>[] = [];
  const trusts: Stored<IssuerTrust>[] = [];
  const connections: Stored<Connection>[] = [];
  const clients: Stored<Client>[] = [];
  const malformed: MalformedEntry[] = [];
  for (const item of items) {
    const decoded = decodeEntity(item);
    const ref = refOfKey(keyOfItem(item));
    const managedBy = managedByOf(item);
    if (!decoded) {
      if (ref) malformed.push({ ref, managedBy, problem: describeMalformed(item, 'unknown item type') });
      continue;
    }
    if (!decoded.ok) {
      const version = Number(item.version?.N);
      if (ref) {
        malformed.push({
          ref,
          version: Number.isInteger(version) ? version : undefined,
          managedBy,
          problem: describeMalformed(item, decoded.problem),
        });
      }
      continue;
    }
    const { value: entity, version } = decoded;
    if (entity.kind === 'tenant') tenants.push({ value: entity.value, version, managedBy });
    if (entity.kind === 'issuer') trusts.push({ value: entity.value, version, managedBy });
    if (entity.kind === 'connection') connections.push({ value: entity.value, version, managedBy });
    if (entity.kind === 'client') clients.push({ value: entity.value, version, managedBy });
  }
  return { tenants, trusts, connections, clients, malformed };
}

/** Creates must not overwrite; updates and deletes must find the version that was read (or none, if none was). */
function versionCondition(change: Change): { expression: string; names: Record<string, string>; values?: Item } {
  const names = { '#pk': TABLE_KEYS.partitionKey, '#version': 'version' };
  if (change.action === 'create') return { expression: 'attribute_not_exists(#pk)', names: { '#pk': names['#pk'] } };
  if (change.previousVersion === undefined) {
    return { expression: 'attribute_exists(#pk) AND attribute_not_exists(#version)', names };
  }
  return {
    expression: '#version = :version',
    names: { '#version': names['#version'] },
    values: { ':version': { N: String(change.previousVersion) } },
  };
}

export interface GeneratedSecret {
  readonly clientId: string;
  /** Shown once to the operator; only its hash is stored. */
  readonly secret: string;
}

export interface ApplyResult {
  readonly applied: readonly Change[];
  /** Secrets generated for the changes that were written, even when a later change failed. */
  readonly secrets: readonly GeneratedSecret[];
  /** Set when a write failed: the changes after it were not attempted. Running the same command again finishes. */
  readonly error?: unknown;
}

/**
 * Writes changes in order, stopping at the first failure. Never throws: the result says how far it got and carries
 * every secret generated so far, because a secret that was stored but not shown would be lost.
 */
export async function writeChanges(
  table: RegistryTable,
  changes: readonly Change[],
  generateSecret: () => string = generateClientSecret,
): Promise<ApplyResult> {
  const applied: Change[] = [];
  const secrets: GeneratedSecret[] = [];
  for (const change of changes) {
    let toWrite = change;
    let generated: GeneratedSecret | undefined;
    if (change.action !== 'delete' && change.generateSecret && change.entity.kind === 'client') {
      const secret = generateSecret();
      const client = change.entity.value;
      generated = { clientId: client.clientId, secret };
      // The new secret comes first; secrets the change keeps (a rotation's grace secret) follow it.
      const secrets = [{ hash: hashClientSecret(secret) }, ...client.secrets];
      toWrite = { ...change, entity: { kind: 'client', value: { ...client, secrets } } };
    }
    try {
      await table.write(toWrite);
    } catch (error) {
      return { applied, secrets, error };
    }
    applied.push(toWrite);
    if (generated) secrets.push(generated);
  }
  return { applied, secrets };
}

/**
 * Makes the table match a configuration (the local server's and the construct's seeding): plans, refuses a plan that
 * would break a rule across registrations, and writes. The construct's seed passes `managedBy: 'construct'`.
 */
export async function applyConfig(
  table: RegistryTable,
  config: RegistryConfig,
  options: PlanOptions = {},
): Promise<ApplyResult & { readonly plan: ReturnType<typeof planApply> }> {
  const state = await table.loadState(declaredRefs(config));
  const plan = planApply(state, config, options);
  if (plan.problems.length > 0) {
    return { plan, applied: [], secrets: [], error: new ConfigError('plan', plan.problems) };
  }
  return { plan, ...(await writeChanges(table, plan.changes)) };
}

/** Every registration a file names: read consistently before planning. */
export function declaredRefs(config: RegistryConfig): EntityRef[] {
  return [
    ...config.tenants.map((tenant): EntityRef => ({ kind: 'tenant', tenantId: tenant.id })),
    ...config.tenants.flatMap((tenant) =>
      tenant.issuers.map((issuer): EntityRef => ({ kind: 'issuer', tenantId: tenant.id, issuer: issuer.issuer })),
    ),
    ...config.tenants
      .filter((tenant) => tenant.connection !== undefined)
      .map((tenant): EntityRef => ({ kind: 'connection', tenantId: tenant.id })),
    ...config.clients.map((client): EntityRef => ({ kind: 'client', clientId: client.clientId })),
  ];
}
