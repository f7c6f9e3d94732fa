import { type DynamoDBClient, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { Client } from '../../core/model';
import type { ClientRegistrations } from '../../core/ports';
import type { Item } from './attributes';
import { isConditionalCheckFailed, storeCall } from './errors';
import { DYNAMIC_CLIENT_PREFIX, dynamicClientItem, dynamicClientKey, keyAttributes } from './items';
import { TABLE_KEYS } from './table';

export interface DynamoClientRegistrationsOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/**
 * Dynamically registered clients in the single table, under `DCR#<clientId>` (items.ts). The cap is one Query of the
 * index's `DCR` partition that counts the unexpired registrations (TTL deletes expired items only eventually, so the
 * filter decides), then a conditional put of a new item. Count and put are not atomic: registrations racing each
 * other may overshoot the cap by at most their number, which the route's throttling keeps small.
 */
export class DynamoClientRegistrations implements ClientRegistrations {
  constructor(private readonly options: DynamoClientRegistrationsOptions) {}

  async register(
    client: Client,
    now: number,
    options: { readonly expiresAt: number; readonly maxClients: number },
  ): Promise<'registered' | 'full'> {
    if ((await this.countLive(now, options.maxClients)) >= options.maxClients) return 'full';
    const { client: dynamo, tableName } = this.options;
    try {
      await storeCall(() =>
        dynamo.send(
          new PutItemCommand({
            TableName: tableName,
            Item: dynamicClientItem(client, now, options.expiresAt),
            // 256 random bits make a collision impossible in practice; never overwrite one all the same.
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
          }),
        ),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new Error('client id already registered');
      throw error;
    }
    return 'registered';
  }

  /**
   * One conditional UpdateItem of the registration's end, which is also its TTL attribute: it must exist, not have
   * ended at `now` and end before `endsAt`. It names only the key and that attribute, as the token function's IAM
   * policy requires (`dynamodb:Attributes`). Renewals racing each other: the first wins, the rest are `unchanged`.
   */
  async extend(clientId: string, endsAt: number, now: number): Promise<'extended' | 'unchanged'> {
    const { client, tableName } = this.options;
    try {
      await storeCall(() =>
        client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: keyAttributes(dynamicClientKey(clientId)),
            UpdateExpression: 'SET #endsAt = :endsAt',
            ConditionExpression: 'attribute_exists(#pk) AND #endsAt > :now AND #endsAt < :endsAt',
            ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#endsAt': TABLE_KEYS.ttlAttribute },
            ExpressionAttributeValues: { ':endsAt': { N: String(endsAt) }, ':now': { N: String(now) } },
          }),
        ),
      );
      return 'extended';
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'unchanged';
      throw error;
    }
  }

  /** Unexpired registrations, counted page by page; stops as soon as `enough` are found. */
  private async countLive(now: number, enough: number): Promise<number> {
    const { client, tableName } = this.options;
    let count = 0;
    let startKey: Item | undefined;
    do {
      const page = await storeCall(() =>
        client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: TABLE_KEYS.indexName,
            KeyConditionExpression: '#pk = :pk',
            FilterExpression: '#expiresAt > :now',
            ExpressionAttributeNames: { '#pk': TABLE_KEYS.indexPartitionKey, '#expiresAt': TABLE_KEYS.ttlAttribute },
            ExpressionAttributeValues: { ':pk': { S: DYNAMIC_CLIENT_PREFIX }, ':now': { N: String(now) } },
            Select: 'COUNT',
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      count += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey && count < enough);
    return count;
  }
}
