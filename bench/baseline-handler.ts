// The naive baseline for the cold start benchmark: a handler that imports the two SDK clients and jose and constructs
// the clients at module scope, bundled minified with the SDK's full default credential chain.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { jwtVerify } from 'jose';

const dynamodb = new DynamoDBClient({});
const kms = new KMSClient({});

export const handler = async () => ({
  statusCode: 200,
  body: String(typeof jwtVerify === 'function' && !!dynamodb && !!kms),
});
