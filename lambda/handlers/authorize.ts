// Lambda entry: the browser-facing endpoints of the interactive flow (GET and POST /authorize, GET /callback).
import { createAuthorizeHandler } from './authorize-api';
import { awsAuthorizeWiring } from './authorize-wiring';
import { loggerFrom, metricsTargetFrom } from './environment';

const logger = loggerFrom(process.env, 'authorize');
export const handler = createAuthorizeHandler(
  awsAuthorizeWiring(process.env, logger),
  logger,
  metricsTargetFrom(process.env),
);
