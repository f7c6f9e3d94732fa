import { type DynamoDBClient, QueryCommand, type QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import type { Item } from './attributes';
import { TABLE_KEYS } from './table';

export interface PartitionQuery {
  /** The partition key value: of the index (`gsi1pk`) when `onIndex`, else of the table (`pk`). */
  readonly partition: string;
  readonly onIndex?: boolean;
  /** Items per page. @default DynamoDB's (up to 1 MB) */
  readonly pageSize?: number;
}

/**
 * Every item of one partition, of the table or of the index, page after page (never a Scan). `call` wraps each
 * request, for a caller that maps the store's errors (storeCall).
 */
export async function queryPartition(
  client: DynamoDBClient,
  tableName: string,
  query: PartitionQuery,
  call: (send: () => Promise<QueryCommandOutput>) => Promise<QueryCommandOutput> = (send) => send(),
): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await call(() =>
      client.send(
        new QueryCommand({
          TableName: tableName,
          ...(query.onIndex ? { IndexName: TABLE_KEYS.indexName } : {}),
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: {
            '#pk': query.onIndex ? TABLE_KEYS.indexPartitionKey : TABLE_KEYS.partitionKey,
          },
          ExpressionAttributeValues: { ':pk': { S: query.partition } },
          ExclusiveStartKey: startKey,
          ...(query.pageSize ? { Limit: query.pageSize } : {}),
        }),
      ),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}
