// The token handler as shipped minus its signing-key prefetch: importing the bundle and constructing its clients, the
// init work the cold-start goal is about. The shipped bundle, prefetch included, is measured beside it.
import { createTokenHandler } from '../lambda/handlers/api';
import { loggerFrom, metricsTargetFrom } from '../lambda/handlers/environment';
import { awsTokenWiring } from '../lambda/handlers/token-wiring';

const wiring = awsTokenWiring(process.env);
wiring().catch(() => undefined);

export const handler = createTokenHandler(wiring, loggerFrom(process.env, 'token'), metricsTargetFrom(process.env));
