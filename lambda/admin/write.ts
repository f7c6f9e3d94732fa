import { type GeneratedSecret, writeChanges } from '../adapters/dynamodb/admin-store';
import { type Change, changedFields, describeChange, newProblems } from '../config/plan';
import { type Entity, findEntry, type RegistryState, refOf } from '../config/state';
import type { CommandContext } from './command';
import { EXIT, UsageError } from './io';

/**
 * The end of every write command: refuse changes that would break a rule across registrations, print the plan, then
 * (unless `--dry-run`) write in order and show any generated secret, once.
 */
export async function commit(
  context: CommandContext,
  state: RegistryState,
  changes: readonly Change[],
  refusal = 'refusing the change',
): Promise<number> {
  const problems = newProblems(state, changes);
  if (problems.length > 0) throw new UsageError(`${refusal}: ${problems.join('; ')}`);
  const { out } = context;
  if (context.dryRun) {
    out.result({ dryRun: true, changes: changes.map(describeChange) }, () => {
      for (const change of changes) out.line(describeChange(change));
      out.line('dry run: nothing was written');
    });
    return EXIT.ok;
  }
  const result = await writeChanges(context.table(), changes);
  out.result({ changes: result.applied.map(describeChange), ...secretsDocument(result.secrets) }, () => {
    for (const change of result.applied) out.line(describeChange(change));
    printSecrets(context, result.secrets);
  });
  if (result.error !== undefined) {
    if (changes.length > 1) out.error(`stopped after ${result.applied.length} of ${changes.length} changes`);
    throw result.error;
  }
  return EXIT.ok;
}

export function secretsDocument(secrets: readonly GeneratedSecret[]): { secrets?: GeneratedSecret[] } {
  return secrets.length > 0 ? { secrets: [...secrets] } : {};
}

/** The only place a client secret is ever printed: once, right after it was generated and its hash stored. */
export function printSecrets(context: CommandContext, secrets: readonly GeneratedSecret[]): void {
  for (const { clientId, secret } of secrets) {
    context.out.line(`client_secret for ${clientId}: ${secret}`);
  }
  if (secrets.length > 0) {
    context.out.line('Store the secret now: it is shown only this once, and only its hash is kept.');
  }
}

/** Writes an update of one registration, or says there is nothing to change. */
export async function commitUpdate(
  context: CommandContext,
  state: RegistryState,
  entity: Entity,
  current: object,
): Promise<number> {
  const fields = changedFields(current, entity.value);
  if (fields.length === 0) {
    context.out.result({ changes: [] }, () => context.out.line('no changes'));
    return EXIT.ok;
  }
  const stored = findEntry(state, refOf(entity));
  return commit(context, state, [{ action: 'update', entity, previousVersion: stored?.version, fields }]);
}
