// Lambda entry: Dynamic Client Registration (RFC 7591), deployed only when the deployment turns it on.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoClientRegistrations } from '../adapters/dynamodb/client-registrations';
import { systemClock } from '../core/ports';
import { createRegistrationHandler, once } from './api';
import { loggerFrom, metricsTargetFrom, requireVariable, serverConfigFrom } from './environment';

const logger = loggerFrom(process.env, 'register');
const wiring = once(() => {
  const tableName = requireVariable(process.env, 'TABLE_NAME');
  return {
    config: serverConfigFrom(process.env),
    registrations: new DynamoClientRegistrations({ client: new DynamoDBClient({}), tableName }),
    clock: systemClock,
  };
});
wiring().catch(() => undefined);

export const handler = createRegistrationHandler(wiring, logger, metricsTargetFrom(process.env));
