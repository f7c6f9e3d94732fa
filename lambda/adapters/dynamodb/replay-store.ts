import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { type Clock, type ReplayStore, systemClock } from '../../core/ports';
import { toItem } from './attributes';
import { isConditionalCheckFailed, storeCall } from './errors';
import { replayKey } from './items';
import { TABLE_KEYS } from './table';

export interface DynamoReplayStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Epoch seconds; decides whether an existing record has expired. @default systemClock */
  readonly clock?: Clock;
}

/**
 * Single-use records as one conditional PutItem each: it succeeds when no record exists or the existing one has
 * expired. DynamoDB's TTL deletes expired records only eventually (and dynalite never), so expiry is decided here.
 */
export class DynamoReplayStore implements ReplayStore {
  private readonly clock: Clock;

  constructor(private readonly options: DynamoReplayStoreOptions) {
    this.clock = options.clock ?? systemClock;
  }

  async recordOnce(namespace: string, id: string, expiresAt: number): Promise<boolean> {
    const key = replayKey(namespace, id);
    const { partitionKey, sortKey, ttlAttribute } = TABLE_KEYS;
    const command = new PutItemCommand({
      TableName: this.options.tableName,
      Item: toItem({ [partitionKey]: key.pk, [sortKey]: key.sk, type: 'replay', [ttlAttribute]: expiresAt }),
      ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt < :now',
      ExpressionAttributeNames: { '#pk': partitionKey, '#expiresAt': ttlAttribute },
      ExpressionAttributeValues: { ':now': { N: String(this.clock.now()) } },
    });
    try {
      await storeCall(() => this.options.client.send(command));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
