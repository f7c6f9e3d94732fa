import { connectionConfigOf, connectionSchema, parseWith, toConnection } from '../config/schema';
import { findEntry } from '../config/state';
import { type Connection, UPSTREAM_AUTH_METHODS, type UpstreamAuthMethod, upstreamUsesSecret } from '../core/model';
import {
  type CommandContext,
  type CommandSpec,
  list,
  type OptionSpecs,
  refusePrivateHosts,
  withEdits,
  withFlagNames,
} from './command';
import { EXIT, table, UsageError } from './io';
import { describeConnection, markOf, requireConnection, requireTenant } from './lookups';
import { commit, commitUpdate } from './write';

/**
 * A tenant's upstream OIDC connection: where its users sign in during the interactive flow. A tenant has one at most,
 * so the tenant id names it: `set` declares the whole connection (creating or replacing it), `update` changes some of
 * its fields, `remove` removes it. The client secret is never given here, only where it is kept.
 */

const ARG = { tenantId: '<tenant-id>' };

/** File fields to the flags that set them, for error messages. */
const FLAG_NAMES = {
  ...ARG,
  clientSecret: '--secrets-manager',
  'clientSecret.secretsManager': '--secrets-manager',
  'clientSecret.file': '--secret-file',
  default: '--default',
};

const PLAIN_SECRET_MESSAGE =
  '--client-secret: plain secrets are not accepted: keep the secret in AWS Secrets Manager and pass ' +
  '--secrets-manager <secret ARN or name> (local mode: --secret-file <name>, a file in the local server data directory)';

const FIELD_OPTIONS: OptionSpecs = {
  'auth-method': {
    type: 'string',
    value: 'method',
    description: `how the server authenticates to the IdP: ${UPSTREAM_AUTH_METHODS.join(', ')} (default client_secret_basic)`,
  },
  'secrets-manager': {
    type: 'string',
    value: 'arn-or-name',
    description: 'the AWS Secrets Manager secret holding the client secret (its ARN, or its name)',
  },
  'secret-file': {
    type: 'string',
    value: 'name',
    description: 'local mode only: a file in the local server data directory holding the client secret',
  },
  'client-secret': { type: 'string', value: 'secret', description: 'refused: plain secrets are never accepted' },
  scopes: {
    type: 'string',
    value: 'list',
    description: 'scopes asked of the IdP, comma-separated, openid among them (default: openid,email,profile)',
  },
  domains: {
    type: 'string',
    value: 'list',
    description: 'email domains whose users sign in here (home realm discovery), comma-separated',
  },
};

/** Where the secret is kept, from the flags: a reference, never the secret. */
function secretEdit(context: CommandContext): { clientSecret?: unknown } {
  if (context.string('client-secret') !== undefined) throw new UsageError(PLAIN_SECRET_MESSAGE);
  const secretsManager = context.string('secrets-manager');
  const file = context.string('secret-file');
  if (secretsManager !== undefined && file !== undefined) {
    throw new UsageError('--secrets-manager and --secret-file conflict: the secret is kept in one place');
  }
  if (secretsManager !== undefined) return { clientSecret: { secretsManager } };
  if (file !== undefined) return { clientSecret: { file } };
  return {};
}

function fieldEdits(context: CommandContext): Record<string, unknown> {
  const scopes = context.string('scopes');
  const domains = context.string('domains');
  return {
    issuer: context.string('issuer'),
    clientId: context.string('client-id'),
    authMethod: context.string('auth-method'),
    // An empty --scopes restores the default scopes, an empty --domains claims no domain.
    scopes: scopes === undefined || scopes === '' ? scopes : list(scopes),
    domains: domains === undefined || domains === '' ? domains : list(domains),
  };
}

/** The secret must fit the method; said with the flags, rather than the file's fields. */
function checkSecret(method: unknown, input: Record<string, unknown>): void {
  const usesSecret =
    typeof method !== 'string' ||
    !UPSTREAM_AUTH_METHODS.includes(method as UpstreamAuthMethod) ||
    upstreamUsesSecret(method as UpstreamAuthMethod);
  if (usesSecret && input.clientSecret === undefined) {
    throw new UsageError(
      `--auth-method ${String(method)} needs to know where the client secret is kept: ` +
        '--secrets-manager <secret ARN or name> (local mode: --secret-file <name>)',
    );
  }
  if (!usesSecret && input.clientSecret !== undefined) {
    throw new UsageError('--auth-method none: a public connection has no secret (leave out --secrets-manager)');
  }
}

function parseConnection(context: CommandContext, tenantId: string, input: Record<string, unknown>): Connection {
  checkSecret(input.authMethod ?? 'client_secret_basic', input);
  const schema = connectionSchema({ allowHttpLoopback: context.localMode });
  const connection = toConnection(
    tenantId,
    withFlagNames(() => parseWith(schema, input, 'connection'), FLAG_NAMES),
  );
  refusePrivateHosts(context, [['--issuer', connection.issuer]]);
  return connection;
}

function connectionDocument(connection: Connection) {
  return { tenant: connection.tenantId, ...connectionConfigOf(connection) };
}

const set: CommandSpec = {
  name: 'connections set',
  args: ['<tenant-id>'],
  summary: "declare a tenant's sign-in connection to its OpenID Connect IdP (creating or replacing it)",
  details:
    'Example: id-jag-admin connections set acme --issuer https://acme.okta.com --client-id 0oa1b2c3 \\\n' +
    '           --secrets-manager arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-oidc-AbCdEf \\\n' +
    '           --domains acme.com,acme.co.uk\n' +
    'A tenant has one connection at most: set replaces the whole of an existing one (fields left out take their\n' +
    'defaults); update changes some fields. The client secret stays in Secrets Manager: only its ARN or name is\n' +
    "stored. Register the server's <issuer>/callback as the redirect URI of the client at the IdP.",
  options: {
    issuer: { type: 'string', value: 'url', description: "the IdP's issuer identifier (required)" },
    'client-id': { type: 'string', value: 'id', description: "the server's client id at the IdP (required)" },
    ...FIELD_OPTIONS,
    default: { type: 'boolean', description: 'serve users whose email domain no connection claims' },
    disabled: { type: 'boolean', description: 'declare it disabled' },
  },
  usesTable: true,
  writes: true,
  async run(context) {
    const [tenantId = ''] = context.args;
    if (context.string('issuer') === undefined) throw new UsageError('--issuer <url> is required');
    if (context.string('client-id') === undefined) throw new UsageError('--client-id <id> is required');
    const input = withEdits(
      { default: context.flag('default'), enabled: !context.flag('disabled'), ...secretEdit(context) },
      fieldEdits(context),
    );
    const connection = parseConnection(context, tenantId, input);
    const ref = { kind: 'connection', tenantId } as const;
    const state = await context.loadState([{ kind: 'tenant', tenantId }, ref]);
    requireTenant(state, tenantId);
    const entity = { kind: 'connection', value: connection } as const;
    const current = state.connections.find(({ value }) => value.tenantId === tenantId)?.value;
    if (current) return commitUpdate(context, state, entity, current);
    const stored = findEntry(state, ref);
    if (stored) {
      // An unreadable item: replaced as a whole, against the version it has.
      return commit(context, state, [
        { action: 'update', entity, previousVersion: stored.version, fields: ['(malformed)'], ...markOf(state, ref) },
      ]);
    }
    return commit(context, state, [{ action: 'create', entity, fields: [] }]);
  },
};

const listCommand: CommandSpec = {
  name: 'connections list',
  args: [],
  summary: "list every tenant's connection",
  options: {},
  usesTable: true,
  writes: false,
  async run(context) {
    const state = await context.loadState();
    const connections = state.connections
      .map(({ value }) => value)
      .sort((a, b) => a.tenantId.localeCompare(b.tenantId));
    context.out.result(connections.map(connectionDocument), () => {
      const rows = connections.map((connection) => [
        connection.tenantId,
        connection.issuer,
        connection.clientId,
        connection.authMethod,
        String(connection.isDefault),
        String(connection.enabled),
        connection.domains.join(','),
      ]);
      for (const line of table(
        ['TENANT', 'ISSUER', 'CLIENT ID', 'AUTH METHOD', 'DEFAULT', 'ENABLED', 'DOMAINS'],
        rows,
      )) {
        context.out.line(line);
      }
    });
    return EXIT.ok;
  },
};

const show: CommandSpec = {
  name: 'connections show',
  args: ['<tenant-id>'],
  summary: "show a tenant's connection (the secret only as where it is kept)",
  options: {},
  usesTable: true,
  writes: false,
  async run(context) {
    const [tenantId = ''] = context.args;
    const ref = { kind: 'connection', tenantId } as const;
    const state = await context.loadState([ref]);
    const connection = requireConnection(state, tenantId);
    const mark = markOf(state, ref);
    context.out.result({ ...connectionDocument(connection), ...mark }, () => {
      context.out.line(`tenant:       ${tenantId}`);
      for (const line of describeConnection(connection, mark)) context.out.line(line);
    });
    return EXIT.ok;
  },
};

const update: CommandSpec = {
  name: 'connections update',
  args: ['<tenant-id>'],
  summary: "change some fields of a tenant's connection",
  details:
    'Example: id-jag-admin connections update acme --domains acme.com,acme.org --disable\n' +
    'An empty --scopes restores the default scopes; an empty --domains claims no domain. Changing --auth-method to\n' +
    'none drops the secret reference.',
  options: {
    issuer: { type: 'string', value: 'url', description: "the IdP's issuer identifier" },
    'client-id': { type: 'string', value: 'id', description: "the server's client id at the IdP" },
    ...FIELD_OPTIONS,
    default: { type: 'boolean', description: 'make it the default connection' },
    'not-default': { type: 'boolean', description: 'make it no longer the default' },
    enable: { type: 'boolean', description: 'let users sign in here again' },
    disable: { type: 'boolean', description: 'stop sign-ins here (within the server cache time)' },
  },
  usesTable: true,
  writes: true,
  async run(context) {
    const [tenantId = ''] = context.args;
    if (context.flag('enable') && context.flag('disable')) throw new UsageError('--enable and --disable conflict');
    if (context.flag('default') && context.flag('not-default')) {
      throw new UsageError('--default and --not-default conflict');
    }
    const secret = secretEdit(context);
    const ref = { kind: 'connection', tenantId } as const;
    const state = await context.loadState([ref]);
    const current = requireConnection(state, tenantId);
    const base: Record<string, unknown> = { ...connectionConfigOf(current) };
    if (context.string('auth-method') === 'none') delete base.clientSecret;
    const enabled = context.flag('enable') ? true : context.flag('disable') ? false : undefined;
    const isDefault = context.flag('default') ? true : context.flag('not-default') ? false : undefined;
    const input = withEdits(base, { ...fieldEdits(context), ...secret, enabled, default: isDefault });
    const connection = parseConnection(context, tenantId, input);
    return commitUpdate(context, state, { kind: 'connection', value: connection }, current);
  },
};

const remove: CommandSpec = {
  name: 'connections remove',
  args: ['<tenant-id>'],
  summary: "remove a tenant's connection (its users can no longer sign in interactively)",
  options: {},
  usesTable: true,
  writes: true,
  async run(context) {
    const [tenantId = ''] = context.args;
    const ref = { kind: 'connection', tenantId } as const;
    const state = await context.loadState([ref]);
    const stored = findEntry(state, ref);
    if (!stored) throw new UsageError(`tenant ${tenantId} has no connection`);
    return commit(context, state, [{ action: 'delete', ref, previousVersion: stored.version }]);
  },
};

export const CONNECTION_COMMANDS = [set, listCommand, show, update, remove];
