import type { GrantListing } from '../adapters/dynamodb/grant-admin';
import { isoTimestamp } from '../config/schema';
import type { UserGrant } from '../core/ports';
import type { CommandContext, CommandSpec, OptionSpecs } from './command';
import { EXIT, table, UsageError } from './io';
import { requireClient, requireTenant } from './lookups';

/**
 * Grants: what a user let a client keep receiving through refresh tokens (the interactive flow). Operators list them
 * and revoke them: revoking a grant stops every refresh token of it at once, at the next refresh.
 */

/** Revocations in flight at once: enough to cut off a client with thousands of grants in seconds. */
const REVOKE_CONCURRENCY = 8;

const SELECTOR_OPTIONS: OptionSpecs = {
  tenant: { type: 'string', value: 'tenant-id', description: "the tenant's grants (with --user: one user's)" },
  user: {
    type: 'string',
    value: 'user',
    description: "with --tenant: the user's grants, by our sub, the IdP subject (idp_sub) or the email",
  },
  client: {
    type: 'string',
    value: 'client-id',
    description: "the client's grants (with --tenant: only that tenant's)",
  },
};

interface Selection {
  readonly tenant?: string;
  readonly user?: string;
  readonly client?: string;
}

function selectionOf(context: CommandContext, userRequired: boolean): Selection {
  const tenant = context.string('tenant');
  const user = context.string('user');
  const client = context.string('client');
  for (const [flag, value] of Object.entries({ tenant, user, client })) {
    if (value === '') throw new UsageError(`--${flag}: must not be empty`);
  }
  if (user !== undefined && tenant === undefined) {
    throw new UsageError('--user needs --tenant: a user is known within a tenant');
  }
  if (tenant !== undefined && user === undefined && userRequired && client === undefined) {
    throw new UsageError('--tenant needs --user (to cut off a whole tenant, disable it: tenants update --disable)');
  }
  if (tenant === undefined && client === undefined) {
    throw new UsageError('give --tenant <tenant-id> --user <user>, or --client <client-id>');
  }
  return { tenant, user, client };
}

/** The grants a selection names: one Query (or a Query and batched reads) on the index, every page. */
async function select(context: CommandContext, selection: Selection): Promise<GrantListing> {
  const admin = context.grantAdmin();
  const listing =
    selection.tenant !== undefined
      ? await admin.grantsOfTenant(selection.tenant, selection.user)
      : await admin.grantsOfClient(selection.client ?? '');
  for (const problem of listing.malformed) context.out.warn(problem);
  const grants = listing.grants.filter(
    (grant) => selection.client === undefined || grant.clientId === selection.client,
  );
  if (grants.length === 0) await requireNamed(context, selection);
  return { ...listing, grants };
}

/** When nothing matched, a tenant or client that does not exist is the likelier mistake (a typo), and is said so. */
async function requireNamed(context: CommandContext, selection: Selection): Promise<void> {
  const refs = [
    ...(selection.tenant === undefined ? [] : [{ kind: 'tenant', tenantId: selection.tenant } as const]),
    ...(selection.client === undefined ? [] : [{ kind: 'client', clientId: selection.client } as const]),
  ];
  const state = await context.loadState(refs);
  if (selection.tenant !== undefined) requireTenant(state, selection.tenant);
  if (selection.client !== undefined) requireClient(state, selection.client);
}

type Status = 'active' | 'expired' | 'revoked';

function statusOf(grant: UserGrant, now: number): Status {
  if (grant.revokedAt !== undefined) return 'revoked';
  return grant.expiresAt <= now ? 'expired' : 'active';
}

/** A grant as shown: who, what and until when; never a token (the table holds only their hashes anyway). */
function grantDocument(grant: UserGrant, now: number) {
  return {
    grantId: grant.grantId,
    clientId: grant.clientId,
    tenant: grant.tenantId,
    sub: grant.subject,
    idpIssuer: grant.idpIssuer,
    idpSubject: grant.idpSubject,
    ...(grant.email === undefined ? {} : { email: grant.email }),
    resource: grant.resource,
    scopes: [...grant.scopes],
    createdAt: isoTimestamp(grant.createdAt),
    expiresAt: isoTimestamp(grant.expiresAt),
    ...(grant.revokedAt === undefined ? {} : { revokedAt: isoTimestamp(grant.revokedAt) }),
    status: statusOf(grant, now),
  };
}

function grantRows(grants: readonly UserGrant[], now: number): string[] {
  const rows = grants.map((grant) => {
    const status = statusOf(grant, now);
    return [
      grant.grantId,
      grant.clientId,
      grant.tenantId,
      grant.email ?? '',
      grant.idpSubject,
      grant.subject,
      grant.resource,
      grant.scopes.join(' '),
      isoTimestamp(grant.createdAt),
      isoTimestamp(grant.expiresAt),
      status === 'revoked' ? `revoked ${isoTimestamp(grant.revokedAt ?? 0)}` : status,
    ];
  });
  const headers = ['GRANT', 'CLIENT', 'TENANT', 'EMAIL', 'IDP SUBJECT', 'SUB', 'RESOURCE', 'SCOPES', 'CREATED'];
  return table([...headers, 'EXPIRES', 'STATUS'], rows);
}

/** One grant in a sentence, for revocation lines: its id, client and user. */
function describeGrant(grant: UserGrant): string {
  const user = grant.email ?? grant.idpSubject;
  return `grant ${grant.grantId} (client ${grant.clientId}, tenant ${grant.tenantId}, user ${user})`;
}

const listCommand: CommandSpec = {
  name: 'grants list',
  args: [],
  summary: "list grants (refresh token families): a tenant's, a user's or a client's",
  details:
    'Example: id-jag-admin grants list --tenant acme --user alice@acme.com\n' +
    '         id-jag-admin grants list --client claude\n' +
    "--user matches our sub (the access tokens' sub), the IdP subject or the email (in any case). Revoked and\n" +
    'expired grants are listed too, until the table deletes them.',
  options: SELECTOR_OPTIONS,
  usesTable: true,
  writes: false,
  async run(context) {
    const selection = selectionOf(context, false);
    const { grants } = await select(context, selection);
    const now = context.now();
    context.out.result(
      grants.map((grant) => grantDocument(grant, now)),
      () => {
        if (grants.length === 0) context.out.line('no grants');
        else for (const line of grantRows(grants, now)) context.out.line(line);
      },
    );
    return EXIT.ok;
  },
};

const revokeCommand: CommandSpec = {
  name: 'grants revoke',
  args: [],
  summary: "revoke grants at once: one, a user's in a tenant, or a client's",
  details:
    'Example: id-jag-admin grants revoke --tenant acme --user alice@acme.com --yes\n' +
    '         id-jag-admin grants revoke --client claude --yes\n' +
    '         id-jag-admin grants revoke --grant <grant-id>\n' +
    'Every refresh token of a revoked grant is refused from then on; access tokens already issued live until they\n' +
    'expire. When more than one grant would be revoked the command asks first, or without a terminal needs --yes.\n' +
    'See docs/admin-cli.md, "A departed employee".',
  options: {
    grant: { type: 'string', value: 'grant-id', description: 'one grant, by its id (from grants list)' },
    ...SELECTOR_OPTIONS,
    yes: { type: 'boolean', short: 'y', description: 'revoke several grants without asking' },
  },
  usesTable: true,
  writes: true,
  async run(context) {
    const grantId = context.string('grant');
    let matched: readonly UserGrant[];
    if (grantId !== undefined) {
      if (['tenant', 'user', 'client'].some((flag) => context.string(flag) !== undefined)) {
        throw new UsageError('--grant names one grant: give it alone');
      }
      const grant = grantId === '' ? undefined : await context.grantStore().getGrant(grantId);
      if (!grant) throw new UsageError(`unknown grant ${grantId}`);
      matched = [grant];
    } else {
      matched = (await select(context, selectionOf(context, true))).grants;
    }
    const pending = matched.filter((grant) => grant.revokedAt === undefined);
    const alreadyRevoked = matched.length - pending.length;
    const { out } = context;
    if (pending.length === 0) {
      out.result({ revoked: [], alreadyRevoked }, () =>
        out.line(
          matched.length === 0
            ? 'no grants match: nothing to revoke'
            : `nothing to revoke: ${alreadyRevoked} matching grant(s) already revoked`,
        ),
      );
      return EXIT.ok;
    }
    if (context.dryRun) {
      out.result({ dryRun: true, revoked: pending.map((grant) => grant.grantId), alreadyRevoked }, () => {
        for (const grant of pending) out.line(`would revoke ${describeGrant(grant)}`);
        out.line('dry run: nothing was written');
      });
      return EXIT.ok;
    }
    if (pending.length > 1 && !context.flag('yes')) await confirm(context, pending);
    const { revoked, error } = await revokeAll(context, pending);
    out.result({ revoked: revoked.map((grant) => grant.grantId), alreadyRevoked }, () => {
      for (const grant of revoked) out.line(`revoked ${describeGrant(grant)}`);
      const already = alreadyRevoked > 0 ? ` (${alreadyRevoked} already revoked)` : '';
      if (error === undefined) out.line(`${revoked.length} grant(s) revoked${already}`);
    });
    if (error !== undefined) {
      out.error(`stopped after revoking ${revoked.length} of ${pending.length} grants; run the command again`);
      throw error;
    }
    return EXIT.ok;
  },
};

/** Asks on the terminal, listing what would be revoked; without a terminal `--yes` is required. */
async function confirm(context: CommandContext, pending: readonly UserGrant[]): Promise<void> {
  const ask = context.io.confirm;
  if (!ask) {
    throw new UsageError(`${pending.length} grants match: pass --yes to revoke them all (there is no terminal to ask)`);
  }
  for (const grant of pending) context.io.stderr.write(`  ${describeGrant(grant)}\n`);
  if (!(await ask(`Revoke these ${pending.length} grants?`))) throw new UsageError('cancelled: nothing was revoked');
}

/**
 * Revokes each grant with the server's own write (kept until the grant would have ended), a few at a time; on the
 * first failure starts no more and reports how far it got. Revoking twice is harmless: the first time stands.
 */
async function revokeAll(
  context: CommandContext,
  grants: readonly UserGrant[],
): Promise<{ revoked: UserGrant[]; error?: unknown }> {
  const store = context.grantStore();
  const now = context.now();
  const revoked: UserGrant[] = [];
  let error: unknown;
  let next = 0;
  const worker = async () => {
    while (error === undefined && next < grants.length) {
      const grant = grants[next++] as UserGrant;
      try {
        await store.revokeGrant(grant.grantId, now, grant.expiresAt);
        revoked.push(grant);
      } catch (failure) {
        error ??= failure;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(REVOKE_CONCURRENCY, grants.length) }, worker));
  // In the order they were listed, whatever order they finished in.
  revoked.sort((a, b) => grants.indexOf(a) - grants.indexOf(b));
  return error === undefined ? { revoked } : { revoked, error };
}

export const GRANT_COMMANDS = [listCommand, revokeCommand];
