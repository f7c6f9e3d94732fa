// The browser-facing endpoints' dependencies in AWS: DynamoDB for the registry and the login records, the upstream
// IdPs over https, their client secrets in Secrets Manager. No signing key: this function never signs a token.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { RemoteKeyResolver } from '../adapters/issuer-keys';
import { SecretsManagerSource } from '../adapters/secrets';
import { UpstreamOidc } from '../adapters/upstream-oidc';
import type { AuthorizeEndpointDeps } from '../core/authorize/endpoint';
import { systemClock } from '../core/ports';
import { once } from './api';
import type { Logger } from './logger';
import { tableWiringFrom } from './table-wiring';

/** Builds the clients once, on first call; the same promise after that. */
export function awsAuthorizeWiring(env: NodeJS.ProcessEnv, logger?: Logger): () => Promise<AuthorizeEndpointDeps> {
  return once(async () => {
    const { config, registry, grants } = tableWiringFrom(env, logger);
    return {
      config,
      registry,
      grants,
      // In AWS: https only, no private or link-local addresses, no redirects.
      upstream: new UpstreamOidc(),
      keyResolver: new RemoteKeyResolver(),
      secrets: new SecretsManagerSource({ client: new SecretsManagerClient({}) }),
      clock: systemClock,
    };
  });
}
