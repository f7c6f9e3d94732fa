import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The single table's key and index names. The CDK construct, the local server and the admin CLI all create the table
 * from these, so they are the contract between them: change them and existing tables no longer match.
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds, on the records the server writes (replay, login, code, revoked grant); TTL deletes them later. */
  ttlAttribute: 'expiresAt',
  /** Lists configuration items by type (tenants, issuers, clients) so that nothing ever needs a Scan. */
  indexName: 'gsi1',
  indexPartitionKey: 'gsi1pk',
  indexSortKey: 'gsi1sk',
} as const;

/** The CreateTable input for an on-demand table with this key schema and index (tests, local mode, CLI). */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const { partitionKey, sortKey, indexName, indexPartitionKey, indexSortKey } = TABLE_KEYS;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [partitionKey, sortKey, indexPartitionKey, indexSortKey].map((name) => ({
      AttributeName: name,
      AttributeType: 'S',
    })),
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' },
      { AttributeName: sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: indexName,
        KeySchema: [
          { AttributeName: indexPartitionKey, KeyType: 'HASH' },
          { AttributeName: indexSortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}
