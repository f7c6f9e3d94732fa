// Lambda entry: the token endpoint. DynamoDB for the registry and single use, KMS for signing, issuers' JWKS over https.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoRegistry } from '../adapters/dynamodb/registry';
import { DynamoReplayStore } from '../adapters/dynamodb/replay-store';
import { RemoteKeyResolver } from '../adapters/issuer-keys';
import { KmsSigner } from '../adapters/kms-signer';
import { signerConfigFrom } from '../adapters/signer-config';
import { systemClock } from '../core/ports';
import { createTokenHandler, once } from './api';
import { loggerFrom, metricsTargetFrom, registryCacheMsFrom, requireVariable, serverConfigFrom } from './environment';

const env = process.env;

const wiring = once(async () => {
  const config = serverConfigFrom(env);
  const tableName = requireVariable(env, 'TABLE_NAME');
  const client = new DynamoDBClient({});
  return {
    config,
    registry: new DynamoRegistry({ client, tableName, cacheMaxAgeMs: registryCacheMsFrom(env) }),
    replayStore: new DynamoReplayStore({ client, tableName }),
    signer: new KmsSigner(signerConfigFrom(env)),
    // In AWS: https only, no private or link-local addresses, no redirects.
    keyResolver: new RemoteKeyResolver(),
    clock: systemClock,
  };
});
// Start during the init phase, including the signing key's public key (its kid); failures surface per request.
wiring()
  .then(({ signer }) => signer.activeKey())
  .catch(() => undefined);

export const handler = createTokenHandler(wiring, loggerFrom(env, 'token'), metricsTargetFrom(env));
