// Lambda entry: the token endpoint, and the revocation endpoint (RFC 7009) of the interactive flow.
import { endpointsOf } from '../core/config';
import { createTokenFunctionHandler } from './api';
import { loggerFrom, metricsTargetFrom } from './environment';
import { awsTokenWiring } from './token-wiring';

const logger = loggerFrom(process.env, 'token');
const wiring = awsTokenWiring(process.env, logger);
// Start during the init phase, including the signing key's public key (its kid), so that the first request finds
// both ready; failures surface per request.
wiring()
  .then(({ signer }) => signer.activeKey())
  .catch(() => undefined);

// The route as the construct registers it (lib/authorization-server.ts): ANY, on the path of an issuer without one,
// since the API serves the issuer's origin. Route keys never carry a custom domain's base path.
const revokeRouteKey = `ANY ${endpointsOf('https://issuer.invalid').routes.revoke}`;

export const handler = createTokenFunctionHandler(wiring, logger, {
  revokeRouteKey,
  metrics: metricsTargetFrom(process.env),
});
