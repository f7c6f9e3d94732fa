// Lambda entry: RFC 8414 metadata. Needs only the server configuration; no AWS client is loaded.
import { createMetadataHandler, once } from './api';
import { loggerFrom, serverConfigFrom } from './environment';

export const handler = createMetadataHandler(
  once(() => serverConfigFrom(process.env)),
  loggerFrom(process.env, 'metadata'),
);
