// The token endpoint's dependencies in AWS: DynamoDB for the registry and single use, KMS for signing, issuers' JWKS
// over https.

import { DynamoClientRegistrations } from '../adapters/dynamodb/client-registrations';
import { DynamoReplayStore } from '../adapters/dynamodb/replay-store';
import { RemoteKeyResolver } from '../adapters/issuer-keys';
import { KmsSigner } from '../adapters/kms-signer';
import { signerConfigFrom } from '../adapters/signer-config';
import { systemClock } from '../core/ports';
import { once } from './api';
import type { Logger } from './logger';
import { tableWiringFrom } from './table-wiring';

/** Builds the clients once, on first call; the same promise after that. */
export function awsTokenWiring(env: NodeJS.ProcessEnv, logger?: Logger) {
  return once(async () => {
    const { config, client, tableName, registry, grants } = tableWiringFrom(env, logger);
    return {
      config,
      registry,
      replayStore: new DynamoReplayStore({ client, tableName }),
      grants,
      // Used only with Dynamic Client Registration on: a token obtained keeps a registered client registered.
      registrations: new DynamoClientRegistrations({ client, tableName }),
      signer: new KmsSigner(signerConfigFrom(env)),
      // In AWS: https only, no private or link-local addresses, no redirects.
      keyResolver: new RemoteKeyResolver(),
      clock: systemClock,
    };
  });
}
