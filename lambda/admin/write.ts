import { type GeneratedSecret, writeChanges } from '../adapters/dynamodb/admin-store';
import { type Change, changedFields, describeChange, newProblems, refOfChange } from '../config/plan';
import { describeRef, type Entity, type EntityRef, findEntry, type RegistryState, refOf } from '../config/state';
import type { CommandContext } from './command';
import { EXIT, UsageError } from './io';

/**
 * The end of every write command: refuse changes that would break a rule across registrations, warn about changes to
 * registrations the construct declares, print the plan, then (unless `--dry-run`) write in order and show any
 * generated secret, once.
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
  const warnings = warnDeclared(context, state, changes);
  if (context.dryRun) {
    out.result({ dryRun: true, changes: changes.map(describeChange), ...warnings }, () => {
      for (const change of changes) out.line(describeChange(change));
      out.line('dry run: nothing was written');
    });
    return EXIT.ok;
  }
  const result = await writeChanges(context.table(), changes);
  out.result({ changes: result.applied.map(describeChange), ...secretsDocument(result.secrets), ...warnings }, () => {
    for (const change of result.applied) out.line(describeChange(change));
    printSecrets(context, result.secrets);
  });
  if (result.error !== undefined) {
    if (changes.length > 1) out.error(`stopped after ${result.applied.length} of ${changes.length} changes`);
    throw result.error;
  }
  return EXIT.ok;
}

/**
 * Warns on stderr about each change to a registration declared in the construct's `registry` prop, and returns the
 * warnings for the JSON document. The change is still made: an operator cutting off a compromised client must not be
 * blocked, only told that the next seed run undoes it unless the code changes too.
 */
export function warnDeclared(
  context: CommandContext,
  state: RegistryState,
  changes: readonly Change[],
): { warnings?: string[] } {
  const warnings = changes
    .map(refOfChange)
    .filter((ref) => findEntry(state, ref)?.managedBy === 'construct')
    .map(declaredWarning);
  for (const warning of warnings) context.out.warn(warning);
  return warnings.length > 0 ? { warnings } : {};
}

export function declaredWarning(ref: EntityRef): string {
  return (
    `${describeRef(ref)} is declared in the construct's registry prop; ` +
    'the next deployment that changes the registry will restore it; change it in code'
  );
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
  return commit(context, state, [updateOf(state, entity, fields)]);
}

/** An update of a stored registration: conditional on the version that was read, and keeping its mark. */
export function updateOf(
  state: RegistryState,
  entity: Entity,
  fields: readonly string[],
  options: { readonly generateSecret?: boolean } = {},
): Change {
  const stored = findEntry(state, refOf(entity));
  return {
    action: 'update',
    entity,
    previousVersion: stored?.version,
    fields,
    ...(stored?.managedBy ? { managedBy: stored.managedBy } : {}),
    ...options,
  };
}
