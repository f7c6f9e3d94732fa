import { readFile } from 'node:fs/promises';
import { declaredRefs, writeChanges } from '../adapters/dynamodb/admin-store';
import { type Change, describeChange, type Plan, planApply } from '../config/plan';
import { parseRegistryConfigText } from '../config/schema';
import { describeRef } from '../config/state';
import { type CommandContext, type CommandSpec, refusePrivateHosts } from './command';
import { EXIT, UsageError } from './io';
import { printSecrets, secretsDocument, warnDeclared } from './write';

export const apply: CommandSpec = {
  name: 'apply',
  args: [],
  summary: 'make the table match a configuration file (see docs/configuration-file.md)',
  details:
    'Example: id-jag-admin apply -f registry.json --dry-run\n' +
    'Creates and updates what the file declares; with --prune also removes what it does not. Prints the plan.\n' +
    'Clients without a secretHash get a generated secret when they are created (printed once) and keep it after.\n' +
    'Running it again with the same file changes nothing; if it was interrupted, running it again finishes.\n' +
    "Changing or removing a registration declared in the construct's registry prop prints a warning: the next\n" +
    'deployment that changes the registry restores it.',
  options: {
    file: { type: 'string', short: 'f', value: 'file.json', description: 'the configuration file (required)' },
    prune: {
      type: 'boolean',
      description: 'remove tenants, issuers, connections and clients that the file does not declare',
    },
  },
  usesTable: true,
  writes: true,
  async run(context) {
    const path = context.string('file');
    if (!path) throw new UsageError('-f <file.json> is required');
    const config = parseRegistryConfigText(await readText(path), {
      allowHttpLoopback: context.localMode,
      source: path,
    });
    refusePrivateHosts(context, [
      ...config.tenants.flatMap((tenant, t) => [
        ...tenant.issuers.flatMap((issuer, i) => [
          [`tenants.${t}.issuers.${i}.issuer`, issuer.issuer] as const,
          [`tenants.${t}.issuers.${i}.jwksUri`, issuer.jwksUri] as const,
        ]),
        [`tenants.${t}.connection.issuer`, tenant.connection?.issuer] as const,
      ]),
      ...config.clients.map((client, c) => [`clients.${c}.jwksUri`, client.jwksUri] as const),
    ]);
    const state = await context.loadState(declaredRefs(config));
    const plan = planApply(state, config, { prune: context.flag('prune') });
    if (plan.problems.length > 0) {
      throw new UsageError(`refusing to apply ${path}:\n  ${plan.problems.join('\n  ')}`);
    }
    const warnings = warnDeclared(context, state, plan.changes);
    if (context.dryRun || plan.changes.length === 0) {
      printPlan(context, plan, plan.changes, [], warnings);
      return EXIT.ok;
    }
    const result = await writeChanges(context.table(), plan.changes);
    printPlan(context, plan, result.applied, result.secrets, warnings);
    if (result.error !== undefined) {
      context.out.error(
        `stopped after ${result.applied.length} of ${plan.changes.length} changes; run apply again to finish`,
      );
      throw result.error;
    }
    return EXIT.ok;
  },
};

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

function printPlan(
  context: CommandContext,
  plan: Plan,
  changes: readonly Change[],
  secrets: Parameters<typeof secretsDocument>[0],
  warnings: ReturnType<typeof warnDeclared>,
): void {
  const { out } = context;
  const kept = plan.kept.map(describeRef);
  out.result(
    { dryRun: context.dryRun, changes: changes.map(describeChange), kept, ...secretsDocument(secrets), ...warnings },
    () => {
      if (changes.length === 0) out.line('no changes');
      for (const change of changes) out.line(describeChange(change));
      if (kept.length > 0) {
        out.line(`${kept.length} registration(s) in the table but not in the file were kept (--prune removes them):`);
        for (const name of kept) out.line(`  = ${name}`);
      }
      if (changes.length > 0) out.line(summary(changes, context.dryRun));
      printSecrets(context, secrets);
    },
  );
}

function summary(changes: readonly Change[], dryRun: boolean): string {
  const count = (action: Change['action']) => changes.filter((change) => change.action === action).length;
  const counts = `${count('create')} to create, ${count('update')} to update, ${count('delete')} to remove`;
  return dryRun ? `${counts}; dry run: nothing was written` : `${counts}: done`;
}
