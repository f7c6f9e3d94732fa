// Lambda entry: the token endpoint.
import { createTokenHandler } from './api';
import { loggerFrom, metricsTargetFrom } from './environment';
import { awsTokenWiring } from './token-wiring';

const wiring = awsTokenWiring(process.env);
// Start during the init phase, including the signing key's public key (its kid), so that the first request finds
// both ready; failures surface per request.
wiring()
  .then(({ signer }) => signer.activeKey())
  .catch(() => undefined);

export const handler = createTokenHandler(wiring, loggerFrom(process.env, 'token'), metricsTargetFrom(process.env));
