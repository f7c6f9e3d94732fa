import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { applyConfig, type RegistryTable } from '../adapters/dynamodb/admin-store';
import { describeChange } from '../config/plan';
import { parseRegistryConfig } from '../config/schema';
import type { Logger } from './logger';

/** What CloudFormation gets back: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html */
export interface SeedOutcome {
  readonly status: 'SUCCESS' | 'FAILED';
  readonly reason?: string;
  readonly changes: number;
}

/** The construct stores the registry JSON here, so that any change to it is an Update of the custom resource. */
export interface SeedProperties {
  readonly Registry: string;
  readonly Prune?: string;
}

/**
 * Makes the table match the registrations declared in the construct's props: the same plan-and-write as
 * `id-jag-admin apply`. CloudFormation calls it on Create and when the properties (the registry, pruning) change,
 * never on a deployment that leaves them as they are.
 *
 * The seed owns what it declares: it marks each declared registration `managedBy: construct` (so that the admin CLI
 * warns before changing one), and each run restores them as declared, undoing changes made with the CLI since. What it
 * no longer declares loses the mark and stays, unless `Prune`. Deleting the custom resource leaves the registrations,
 * and their marks, in place (they are data). Generated secrets could never be shown from here, so every secret client
 * must come with its `secretHash`.
 */
export async function seedRegistry(
  event: CloudFormationCustomResourceEvent,
  table: RegistryTable,
  logger: Logger,
): Promise<SeedOutcome> {
  if (event.RequestType === 'Delete') return { status: 'SUCCESS', changes: 0 };
  try {
    const properties = event.ResourceProperties as unknown as SeedProperties;
    const config = parseRegistryConfig(JSON.parse(properties.Registry), { source: 'registry' });
    const secretless = config.clients.filter(
      (client) => client.authMethod.startsWith('client_secret_') && client.secretHash === undefined,
    );
    if (secretless.length > 0) {
      throw new Error(`clients ${secretless.map((c) => c.clientId).join(', ')} need a secretHash when seeded`);
    }
    const result = await applyConfig(table, config, { prune: properties.Prune === 'true', managedBy: 'construct' });
    for (const change of result.applied) logger.info('registry change', { change: describeChange(change) });
    if (result.error) throw result.error;
    return { status: 'SUCCESS', changes: result.applied.length };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    logger.error('registry seeding failed', { reason });
    return { status: 'FAILED', reason, changes: 0 };
  }
}

/** Answers CloudFormation through the pre-signed response URL, as a Lambda-backed custom resource must. */
export async function respond(
  event: CloudFormationCustomResourceEvent,
  outcome: SeedOutcome,
  send: typeof fetch = fetch,
): Promise<void> {
  const body = JSON.stringify({
    Status: outcome.status,
    Reason: outcome.reason?.slice(0, 1000) ?? 'see the seed function logs',
    PhysicalResourceId: 'registry',
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: { Changes: outcome.changes },
  });
  const response = await send(event.ResponseURL, {
    method: 'PUT',
    headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) },
    body,
  });
  if (!response.ok) throw new Error(`CloudFormation response refused: HTTP ${response.status}`);
}
