// The token endpoint's dependencies in AWS: DynamoDB for the registry and single use, KMS for signing, issuers' JWKS
// over https.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoGrantStore } from '../adapters/dynamodb/grant-store';
import { DynamoRegistry } from '../adapters/dynamodb/registry';
import { DynamoReplayStore } from '../adapters/dynamodb/replay-store';
import { RemoteKeyResolver } from '../adapters/issuer-keys';
import { KmsSigner } from '../adapters/kms-signer';
import { signerConfigFrom } from '../adapters/signer-config';
import { systemClock } from '../core/ports';
import { once } from './api';
import { registryCacheMsFrom, requireVariable, serverConfigFrom } from './environment';

/** Builds the clients once, on first call; the same promise after that. */
export function awsTokenWiring(env: NodeJS.ProcessEnv) {
  return once(async () => {
    const config = serverConfigFrom(env);
    const tableName = requireVariable(env, 'TABLE_NAME');
    const client = new DynamoDBClient({});
    return {
      config,
      registry: new DynamoRegistry({ client, tableName, cacheMaxAgeMs: registryCacheMsFrom(env) }),
      replayStore: new DynamoReplayStore({ client, tableName }),
      grants: new DynamoGrantStore({ client, tableName }),
      signer: new KmsSigner(signerConfigFrom(env)),
      // In AWS: https only, no private or link-local addresses, no redirects.
      keyResolver: new RemoteKeyResolver(),
      clock: systemClock,
    };
  });
}
