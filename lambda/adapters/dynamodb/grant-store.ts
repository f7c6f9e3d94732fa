import {
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import * as v from 'valibot';
import type {
  AuthorizationCodeGrant,
  CodeRedemption,
  GrantStore,
  LoginTransaction,
  RefreshToken,
  UserGrant,
} from '../../core/ports';
import { fromItem, type Item, toAttribute, toItem } from './attributes';
import { isConditionalCheckFailed, storeCall } from './errors';
import {
  clientGrantsPartition,
  codeKey,
  grantByClientKey,
  grantKey,
  keyAttributes,
  loginKey,
  refreshTokenKey,
  userGrantsPartition,
} from './items';
import { TABLE_KEYS } from './table';

export interface DynamoGrantStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/** How long a redeemed code's record is kept, so that a late replay is recognised and revokes its grant. */
export const CODE_RECORD_RETENTION_SECONDS = 24 * 3600;

const text = v.pipe(v.string(), v.minLength(1));
const epoch = v.pipe(v.number(), v.integer());
const scopes = v.array(v.string());

const transactionSchema = v.object({
  id: text,
  browserBinding: text,
  clientId: text,
  redirectUri: text,
  state: v.optional(v.string()),
  codeChallenge: text,
  resource: text,
  scopes,
  tenantId: v.optional(text),
  consented: v.boolean(),
  createdAt: epoch,
  expiresAt: epoch,
  used: v.boolean(),
});

const codeSchema = v.object({
  codeHash: text,
  grantId: text,
  clientId: text,
  redirectUri: text,
  codeChallenge: text,
  resource: text,
  scopes,
  tenantId: text,
  idpIssuer: text,
  idpSubject: text,
  email: v.optional(v.string()),
  authTime: v.optional(v.number()),
  acr: v.optional(v.string()),
  amr: v.optional(v.array(v.string())),
  issuedAt: epoch,
  redeemableUntil: epoch,
  redeemedAt: v.optional(epoch),
});

const grantSchema = v.object({
  grantId: text,
  clientId: text,
  tenantId: text,
  idpIssuer: text,
  idpSubject: text,
  subject: text,
  email: v.optional(v.string()),
  authTime: v.optional(v.number()),
  acr: v.optional(v.string()),
  amr: v.optional(v.array(v.string())),
  resource: text,
  scopes,
  createdAt: epoch,
  expiresAt: epoch,
  revokedAt: v.optional(epoch),
});

const refreshTokenSchema = v.object({
  tokenHash: text,
  grantId: text,
  clientId: text,
  issuedAt: epoch,
  usableUntil: epoch,
  expiresAt: epoch,
  usedAt: v.optional(epoch),
});

/** A stored record that does not parse is treated as absent: it can never complete a login or grant anything. */
function parse<S extends v.GenericSchema>(schema: S, item: Item | undefined): v.InferOutput<S> | undefined {
  if (!item) return undefined;
  const result = v.safeParse(schema, fromItem(item));
  return result.success ? result.output : undefined;
}

/** A grant item as stored (the admin CLI lists them through the index); undefined when it does not parse. */
export function decodeGrant(item: Item | undefined): UserGrant | undefined {
  return parse(grantSchema, item);
}

function toTransaction(record: v.InferOutput<typeof transactionSchema>): LoginTransaction {
  const { used: _used, ...transaction } = record;
  return transaction;
}

function toRefreshToken(record: v.InferOutput<typeof refreshTokenSchema>): RefreshToken {
  const { expiresAt, ...token } = record;
  return { ...token, keepUntil: expiresAt };
}

function toGrant(record: v.InferOutput<typeof codeSchema>): AuthorizationCodeGrant {
  const { redeemableUntil, redeemedAt: _redeemedAt, ...grant } = record;
  return { ...grant, expiresAt: redeemableUntil };
}

/**
 * The interactive flow's records in the single table, each judged on the caller's clock and changed only by
 * conditional writes (no transactions):
 *
 * | item               | pk                 | sk        | lives (TTL `expiresAt`)                                |
 * |--------------------|--------------------|-----------|--------------------------------------------------------|
 * | login transaction  | `LOGIN#<id>`       | `LOGIN`   | its lifetime (10 minutes by default)                   |
 * | authorization code | `CODE#<sha256>`    | `CODE`    | a day: a replay after its 60 s must still be seen      |
 * | grant (two items)  | `GRANT#<grantId>`  | `GRANT`…  | its absolute lifetime (a revocation: at least as long) |
 * | refresh token      | `REFRESH#<sha256>` | `REFRESH` | its grant's: a used token's reuse must still be seen   |
 *
 * items.ts shows the index attributes by which the admin CLI lists grants.
 */
export class DynamoGrantStore implements GrantStore {
  constructor(private readonly options: DynamoGrantStoreOptions) {}

  async createTransaction(transaction: LoginTransaction): Promise<void> {
    const key = loginKey(transaction.id);
    await this.put({ pk: key.pk, sk: key.sk, type: 'login', ...transaction, used: false }, 'attribute_not_exists(#pk)');
  }

  async getTransaction(id: string, now: number): Promise<LoginTransaction | undefined> {
    const record = parse(transactionSchema, await this.get(loginKey(id)));
    return record && !record.used && record.expiresAt > now && record.id === id ? toTransaction(record) : undefined;
  }

  async updateTransaction(
    id: string,
    changes: { readonly tenantId?: string; readonly consented?: boolean },
    now: number,
  ): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Item = {};
    const sets: string[] = [];
    for (const [field, value] of Object.entries(changes)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = toAttribute(value);
      sets.push(`#${field} = :${field}`);
    }
    if (sets.length === 0) return (await this.getTransaction(id, now)) !== undefined;
    return (await this.update(loginKey(id), `SET ${sets.join(', ')}`, names, values, now, 'NONE')) !== undefined;
  }

  async consumeTransaction(id: string, now: number): Promise<LoginTransaction | undefined> {
    const item = await this.update(loginKey(id), 'SET #used = :true', {}, { ':true': { BOOL: true } }, now, 'ALL_OLD');
    const record = parse(transactionSchema, item);
    return record ? toTransaction(record) : undefined;
  }

  async createCode(grant: AuthorizationCodeGrant): Promise<void> {
    const key = codeKey(grant.codeHash);
    const { expiresAt, ...fields } = grant;
    await this.put(
      {
        pk: key.pk,
        sk: key.sk,
        type: 'code',
        ...fields,
        redeemableUntil: expiresAt,
        [TABLE_KEYS.ttlAttribute]: grant.issuedAt + CODE_RECORD_RETENTION_SECONDS,
      },
      'attribute_not_exists(#pk)',
    );
  }

  async redeemCode(codeHash: string, now: number): Promise<CodeRedemption | undefined> {
    const key = codeKey(codeHash);
    const redeemed = await this.conditional({
      Key: keyAttributes(key),
      UpdateExpression: 'SET #redeemedAt = :now',
      ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#redeemedAt) AND #redeemableUntil > :now',
      ExpressionAttributeNames: {
        '#pk': TABLE_KEYS.partitionKey,
        '#redeemedAt': 'redeemedAt',
        '#redeemableUntil': 'redeemableUntil',
      },
      ExpressionAttributeValues: { ':now': { N: String(now) } },
      ReturnValues: 'ALL_NEW',
    });
    const record = parse(codeSchema, redeemed);
    if (record) return { outcome: 'redeemed', grant: toGrant(record) };
    // The condition failed: unknown, expired and never redeemed, or redeemed before (a replay).
    const existing = parse(codeSchema, await this.get(key));
    return existing?.redeemedAt !== undefined ? { outcome: 'replayed', grant: toGrant(existing) } : undefined;
  }

  async createGrant(grant: UserGrant, firstToken: RefreshToken): Promise<boolean> {
    const { pk, sk } = grantKey(grant.grantId);
    const { revokedAt: _revokedAt, ...fields } = grant;
    const index = { gsi1pk: userGrantsPartition(grant.tenantId), gsi1sk: `${grant.subject}#${grant.grantId}` };
    try {
      // Conditional: a replay of the code may have revoked this grant id first, leaving its revocation here.
      await this.put({ pk, sk, type: 'grant', ...fields, ...index }, 'attribute_not_exists(#pk)');
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
    const byClient = grantByClientKey(grant.grantId);
    await Promise.all([
      this.put({
        pk: byClient.pk,
        sk: byClient.sk,
        type: 'grant-by-client',
        grantId: grant.grantId,
        clientId: grant.clientId,
        tenantId: grant.tenantId,
        gsi1pk: clientGrantsPartition(grant.clientId),
        gsi1sk: grant.grantId,
        [TABLE_KEYS.ttlAttribute]: grant.expiresAt,
      }),
      this.addRefreshToken(firstToken),
    ]);
    return true;
  }

  async getGrant(grantId: string): Promise<UserGrant | undefined> {
    const record = parse(grantSchema, await this.get(grantKey(grantId)));
    return record?.grantId === grantId ? record : undefined;
  }

  async addRefreshToken(token: RefreshToken): Promise<void> {
    const { pk, sk } = refreshTokenKey(token.tokenHash);
    const { keepUntil, ...fields } = token;
    await this.put(
      { pk, sk, type: 'refresh', ...fields, [TABLE_KEYS.ttlAttribute]: keepUntil },
      'attribute_not_exists(#pk)',
    );
  }

  async findRefreshToken(tokenHash: string): Promise<RefreshToken | undefined> {
    const record = parse(refreshTokenSchema, await this.get(refreshTokenKey(tokenHash)));
    return record?.tokenHash === tokenHash ? toRefreshToken(record) : undefined;
  }

  async useRefreshToken(tokenHash: string, clientId: string, now: number): Promise<boolean> {
    const used = await this.conditional({
      Key: keyAttributes(refreshTokenKey(tokenHash)),
      UpdateExpression: 'SET #usedAt = :now',
      ConditionExpression:
        'attribute_exists(#pk) AND attribute_not_exists(#usedAt) AND #clientId = :client AND #usableUntil > :now',
      ExpressionAttributeNames: {
        '#pk': TABLE_KEYS.partitionKey,
        '#usedAt': 'usedAt',
        '#clientId': 'clientId',
        '#usableUntil': 'usableUntil',
      },
      ExpressionAttributeValues: { ':now': { N: String(now) }, ':client': { S: clientId } },
      ReturnValues: 'NONE',
    });
    return used !== undefined;
  }

  async revokeGrant(grantId: string, now: number, keepUntil: number): Promise<void> {
    const { client, tableName } = this.options;
    // An upsert: the first revocation's time stands, and a grant not stored yet can never be (createGrant's condition).
    await storeCall(() =>
      client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: keyAttributes(grantKey(grantId)),
          UpdateExpression:
            'SET #revokedAt = if_not_exists(#revokedAt, :now), #ttl = if_not_exists(#ttl, :keep), #grantId = :id',
          ExpressionAttributeNames: {
            '#revokedAt': 'revokedAt',
            '#ttl': TABLE_KEYS.ttlAttribute,
            '#grantId': 'grantId',
          },
          ExpressionAttributeValues: {
            ':now': { N: String(now) },
            ':keep': { N: String(keepUntil) },
            ':id': { S: grantId },
          },
        }),
      ),
    );
  }

  private async get(key: { pk: string; sk: string }): Promise<Item | undefined> {
    const { client, tableName } = this.options;
    const { Item: item } = await storeCall(() =>
      client.send(new GetItemCommand({ TableName: tableName, Key: keyAttributes(key), ConsistentRead: true })),
    );
    return item;
  }

  private async put(record: Parameters<typeof toItem>[0], condition?: string): Promise<void> {
    const { client, tableName } = this.options;
    await storeCall(() =>
      client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: toItem(record),
          ...(condition
            ? { ConditionExpression: condition, ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey } }
            : {}),
        }),
      ),
    );
  }

  /** An update of a live, unused transaction; undefined when the condition fails. */
  private update(
    key: { pk: string; sk: string },
    expression: string,
    names: Record<string, string>,
    values: Item,
    now: number,
    returnValues: 'NONE' | 'ALL_OLD',
  ): Promise<Item | undefined> {
    return this.conditional({
      Key: keyAttributes(key),
      UpdateExpression: expression,
      ConditionExpression: 'attribute_exists(#pk) AND #used = :false AND #expiresAt > :now',
      ExpressionAttributeNames: {
        ...names,
        '#pk': TABLE_KEYS.partitionKey,
        '#used': 'used',
        '#expiresAt': TABLE_KEYS.ttlAttribute,
      },
      ExpressionAttributeValues: { ...values, ':false': { BOOL: false }, ':now': { N: String(now) } },
      ReturnValues: returnValues,
    });
  }

  /** One conditional UpdateItem: the item it returns (an empty item for NONE), or undefined when the condition failed. */
  private async conditional(input: Omit<UpdateItemCommandInput, 'TableName'>): Promise<Item | undefined> {
    const { client, tableName } = this.options;
    try {
      const result = await storeCall(() => client.send(new UpdateItemCommand({ TableName: tableName, ...input })));
      return result.Attributes ?? {};
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }
}
