// The browser-facing endpoints' dependencies in AWS: DynamoDB for the registry and the login records, the upstream
// IdPs over https, their client secrets in Secrets Manager. No signing key: this function never signs a token.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoGrantStore } from '../adapters/dynamodb/grant-store';
import { DynamoRegistry } from '../adapters/dynamodb/registry';
import { RemoteKeyResolver } from '../adapters/issuer-keys';
import { SecretsManagerSource } from '../adapters/secrets';
import { UpstreamOidc } from '../adapters/upstream-oidc';
import type { AuthorizeEndpointDeps } from '../core/authorize/endpoint';
import { systemClock } from '../core/ports';
import { once } from './api';
import { registryCacheMsFrom, requireVariable, serverConfigFrom } from './environment';

/** Builds the clients once, on first call; the same promise after that. */
export function awsAuthorizeWiring(env: NodeJS.ProcessEnv): () => Promise<AuthorizeEndpointDeps> {
  return once(async () => {
    const config = serverConfigFrom(env);
    const tableName = requireVariable(env, 'TABLE_NAME');
    const client = new DynamoDBClient({});
    return {
      config,
      registry: new DynamoRegistry({ client, tableName, cacheMaxAgeMs: registryCacheMsFrom(env) }),
      grants: new DynamoGrantStore({ client, tableName }),
      // In AWS: https only, no private or link-local addresses, no redirects.
      upstream: new UpstreamOidc(),
      keyResolver: new RemoteKeyResolver(),
      secrets: new SecretsManagerSource({ client: new SecretsManagerClient({}) }),
      clock: systemClock,
    };
  });
}
