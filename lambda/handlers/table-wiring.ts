// What the token and authorize functions share in AWS: the configuration and the one table, with the registry and the
// grant store over a single DynamoDB client.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoGrantStore } from '../adapters/dynamodb/grant-store';
import { DynamoRegistry } from '../adapters/dynamodb/registry';
import { registryCacheMsFrom, requireVariable, serverConfigFrom } from './environment';

export function tableWiringFrom(env: NodeJS.ProcessEnv) {
  const tableName = requireVariable(env, 'TABLE_NAME');
  const client = new DynamoDBClient({});
  return {
    config: serverConfigFrom(env),
    client,
    tableName,
    registry: new DynamoRegistry({ client, tableName, cacheMaxAgeMs: registryCacheMsFrom(env) }),
    grants: new DynamoGrantStore({ client, tableName }),
  };
}
