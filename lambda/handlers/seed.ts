// Lambda entry: the custom resource that seeds tenants, issuers and clients declared in the construct's props.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { RegistryTable } from '../adapters/dynamodb/admin-store';
import { loggerFrom, requireVariable } from './environment';
import { respond, type SeedOutcome, seedRegistry } from './seed-registry';

const logger = loggerFrom(process.env, 'seed');

/** Always answers CloudFormation, even on a configuration error, so that a stack never waits for a timeout. */
export const handler = async (event: CloudFormationCustomResourceEvent): Promise<void> => {
  let outcome: SeedOutcome;
  try {
    const tableName = requireVariable(process.env, 'TABLE_NAME');
    outcome = await seedRegistry(event, new RegistryTable({ client: new DynamoDBClient({}), tableName }), logger);
  } catch (error) {
    outcome = { status: 'FAILED', reason: error instanceof Error ? error.message : String(error), changes: 0 };
  }
  await respond(event, outcome);
};
