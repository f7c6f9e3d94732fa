// Lambda entry: the browser-facing endpoints of the interactive flow (GET and POST /authorize, GET /callback).
import { createAuthorizeHandler } from './authorize-api';
import { awsAuthorizeWiring } from './authorize-wiring';
import { loggerFrom, metricsTargetFrom } from './environment';

export const handler = createAuthorizeHandler(
  awsAuthorizeWiring(process.env),
  loggerFrom(process.env, 'authorize'),
  metricsTargetFrom(process.env),
);
