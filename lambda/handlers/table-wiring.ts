// What the token and authorize functions share in AWS: the configuration and the one table, with the registry and the
// grant store over a single DynamoDB client.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RemoteClientMetadataDocuments } from '../adapters/client-metadata-documents';
import { DynamoGrantStore } from '../adapters/dynamodb/grant-store';
import { DynamoRegistry } from '../adapters/dynamodb/registry';
import { withMetadataDocumentClients } from '../core/clients/with-metadata-documents';
import { registryCacheMsFrom, requireVariable, serverConfigFrom } from './environment';
import type { Logger } from './logger';

/** `logger` is told why a CIMD client was refused (its URL and the reason, never the document). */
export function tableWiringFrom(env: NodeJS.ProcessEnv, logger?: Logger) {
  const tableName = requireVariable(env, 'TABLE_NAME');
  const client = new DynamoDBClient({});
  const config = serverConfigFrom(env);
  const registered = new DynamoRegistry({ client, tableName, cacheMaxAgeMs: registryCacheMsFrom(env) });
  return {
    config,
    client,
    tableName,
    // In AWS: documents over https only, no private or link-local addresses, no redirects.
    registry: withMetadataDocumentClients(registered, {
      policy: config.clientIdMetadataDocuments,
      documents: new RemoteClientMetadataDocuments(),
      refused: (clientId, reason) => logger?.warn('client metadata document refused', { clientId, reason }),
    }),
    grants: new DynamoGrantStore({ client, tableName }),
  };
}
