import { DeleteItemCommand, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { randomTokenId } from '../../core/access-token';
import type { RecordedUse, ReplayStore, SingleUse } from '../../core/ports';
import { toItem } from './attributes';
import { isConditionalCheckFailed, storeCall } from './errors';
import { keyAttributes, replayKey } from './items';
import { TABLE_KEYS } from './table';

export interface DynamoReplayStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/**
 * Single-use records as one conditional PutItem each: it succeeds when no record exists or the existing one expired
 * before the request's own clock reading. DynamoDB's TTL deletes expired records only eventually (and dynalite
 * never), so expiry is decided here. Each record names its writer, so that a release removes only its own record.
 */
export class DynamoReplayStore implements ReplayStore {
  constructor(private readonly options: DynamoReplayStoreOptions) {}

  async recordOnce(use: SingleUse, now: number): Promise<RecordedUse | undefined> {
    const { client, tableName } = this.options;
    const key = replayKey(use.namespace, use.id);
    const { partitionKey, sortKey, ttlAttribute } = TABLE_KEYS;
    // 128 random bits, from the pool that token ids come from: one CSPRNG call per record cost more than the bits.
    const writer = randomTokenId();
    const command = new PutItemCommand({
      TableName: tableName,
      Item: toItem({
        [partitionKey]: key.pk,
        [sortKey]: key.sk,
        type: 'replay',
        [ttlAttribute]: use.keepUntil,
        writer,
      }),
      ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt < :now',
      ExpressionAttributeNames: { '#pk': partitionKey, '#expiresAt': ttlAttribute },
      ExpressionAttributeValues: { ':now': { N: String(now) } },
    });
    try {
      await storeCall(() => client.send(command));
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
    return {
      release: async () => {
        const release = new DeleteItemCommand({
          TableName: tableName,
          Key: keyAttributes(key),
          ConditionExpression: '#writer = :writer',
          ExpressionAttributeNames: { '#writer': 'writer' },
          ExpressionAttributeValues: { ':writer': { S: writer } },
        });
        // A release that fails leaves the id used: the safe side.
        await client.send(release).catch(() => undefined);
      },
    };
  }
}
