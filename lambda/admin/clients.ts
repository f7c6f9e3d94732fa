import { readFile } from 'node:fs/promises';
import { clientConfigOf, clientSchema, isoTimestamp, parseWith, toClient, usesSecret } from '../config/schema';
import { findEntry, type RegistryState } from '../config/state';
import type { RefreshTokenLifetimes } from '../core/config';
import { ALL_TENANTS, type Client, REFRESH_TOKEN_GRANT_TYPE } from '../core/model';
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
import {
  DECLARED_IN_CODE,
  formatDuration,
  markOf,
  numberOrText,
  parseDuration,
  requireClient,
  requireTenant,
} from './lookups';
import { commit, commitUpdate, updateOf } from './write';

/** Longest time an old secret may stay valid after a rotation. */
export const MAX_GRACE_SECONDS = 30 * 24 * 3600;

const FIELD_OPTIONS: OptionSpecs = {
  scopes: {
    type: 'string',
    value: 'list',
    description: 'scopes the client may receive, comma-separated (default: any scope a resource supports)',
  },
  tenants: { type: 'string', value: 'list', description: 'tenants it may be used with, or * for all (default: *)' },
  'grant-types': {
    type: 'string',
    value: 'list',
    description: 'grant types it may use (default: urn:ietf:params:oauth:grant-type:jwt-bearer)',
  },
  'jwks-uri': { type: 'string', value: 'url', description: "private_key_jwt: the client's public key set URL" },
  'jwks-file': {
    type: 'string',
    value: 'path',
    description: "private_key_jwt: a file holding the client's public JWKS",
  },
  'redirect-uri': {
    type: 'string',
    multiple: true,
    value: 'uri',
    description:
      'where the authorization_code grant may send the browser back: https, http on 127.0.0.1/[::1]/localhost, ' +
      'or an app scheme',
  },
  'refresh-token-idle': {
    type: 'string',
    value: 'duration',
    description:
      "refresh_token grant: its refresh tokens stop working after this long unused (default: the deployment's); " +
      'seconds, or 30m, 12h, 14d',
  },
  'refresh-token-absolute': {
    type: 'string',
    value: 'duration',
    description:
      "refresh_token grant: no refresh token works this long after sign-in (default: the deployment's); " +
      'seconds, or 30m, 12h, 90d',
  },
};

const REFRESH_FLAGS = { idleSeconds: '--refresh-token-idle', absoluteSeconds: '--refresh-token-absolute' } as const;

const ARG = {
  clientId: '<client-id>',
  redirectUris: '--redirect-uri',
  refreshTokens: `${REFRESH_FLAGS.idleSeconds}, ${REFRESH_FLAGS.absoluteSeconds}`,
  'refreshTokens.idleSeconds': REFRESH_FLAGS.idleSeconds,
  'refreshTokens.absoluteSeconds': REFRESH_FLAGS.absoluteSeconds,
};

/**
 * The client's refresh token lifetimes after the flags: `undefined` keeps them, `''` removes them (the deployment's
 * apply). Each flag changes its own lifetime; `""` removes that one.
 */
function refreshTokenEdits(
  context: CommandContext,
  current: Partial<RefreshTokenLifetimes> | undefined,
): Partial<RefreshTokenLifetimes> | '' | undefined {
  const result: Record<string, number> = { ...current };
  let edited = false;
  for (const [field, flag] of Object.entries(REFRESH_FLAGS)) {
    const value = context.string(flag.slice(2));
    if (value === undefined) continue;
    edited = true;
    if (value === '') delete result[field];
    else result[field] = parseDuration(flag, value);
  }
  if (!edited) return undefined;
  return Object.keys(result).length === 0 ? '' : result;
}

async function fieldEdits(context: CommandContext): Promise<Record<string, unknown>> {
  const scopes = context.string('scopes');
  const tenants = context.string('tenants');
  const grantTypes = context.string('grant-types');
  const jwksFile = context.string('jwks-file');
  const redirectUris = context.strings('redirect-uri');
  return {
    // Given once as "", --redirect-uri removes them all.
    redirectUris:
      redirectUris === undefined || (redirectUris.length === 1 && redirectUris[0] === '')
        ? redirectUris?.[0]
        : redirectUris,
    // An empty --scopes lifts the restriction; an empty --tenants or --grant-types is an error, never "all".
    scopes: scopes === undefined || scopes === '' ? scopes : list(scopes),
    tenants: tenants === undefined ? undefined : list(tenants),
    grantTypes: grantTypes === undefined ? undefined : list(grantTypes),
    jwksUri: context.string('jwks-uri'),
    jwks: jwksFile === undefined || jwksFile === '' ? jwksFile : await readJwks(jwksFile),
  };
}

async function readJwks(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--jwks-file: cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--jwks-file: ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** The schema's messages about a client's keys name the file's fields; the CLI's user knows the flags. */
const KEY_WORDING = {
  '--jwks-file: private_key_jwt needs': '--auth-method private_key_jwt needs',
  'jwks or jwksUri': '--jwks-uri or --jwks-file',
  'jwks, jwksUri': '--jwks-uri, --jwks-file',
};

function parseClient(context: CommandContext, input: Record<string, unknown>) {
  const schema = clientSchema({ allowHttpLoopback: context.localMode });
  const config = withFlagNames(() => parseWith(schema, input, 'client'), { ...ARG, jwks: '--jwks-file' }, KEY_WORDING);
  refusePrivateHosts(context, [['--jwks-uri', config.jwksUri]]);
  return config;
}

function requireTenants(state: RegistryState, client: Client): void {
  for (const tenantId of client.tenants) if (tenantId !== ALL_TENANTS) requireTenant(state, tenantId);
}

const tenantRefs = (tenants: readonly string[]) =>
  tenants.filter((id) => id !== ALL_TENANTS).map((tenantId) => ({ kind: 'tenant', tenantId }) as const);

const add: CommandSpec = {
  name: 'clients add',
  args: ['<client-id>'],
  summary: 'register an OAuth client (for example an MCP client)',
  details:
    'Example: id-jag-admin clients add claude --auth-method client_secret_basic --scopes files:read\n' +
    '         id-jag-admin clients add inspector --auth-method none --grant-types authorization_code,refresh_token \\\n' +
    '           --redirect-uri http://127.0.0.1/callback --first-party\n' +
    'For client_secret_basic and client_secret_post a secret is generated and printed once, unless --secret-hash\n' +
    'gives the hash of one you made (see hash-secret). The authorization_code grant needs a --redirect-uri.',
  options: {
    'auth-method': {
      type: 'string',
      value: 'method',
      description: 'client_secret_basic (default), client_secret_post, private_key_jwt or none',
    },
    ...FIELD_OPTIONS,
    'secret-hash': { type: 'string', value: 'hash', description: 'the hash of a secret, from hash-secret' },
    secret: { type: 'string', value: 'secret', description: 'refused: plain secrets are never accepted' },
    'first-party': { type: 'boolean', description: 'operated by you: the interactive flow asks no consent for it' },
    disabled: { type: 'boolean', description: 'register it disabled' },
  },
  usesTable: true,
  writes: true,
  async run(context) {
    const [clientId = ''] = context.args;
    const config = parseClient(
      context,
      withEdits(
        {
          clientId,
          authMethod: context.string('auth-method') ?? 'client_secret_basic',
          secretHash: context.string('secret-hash'),
          secret: context.string('secret'),
          firstParty: context.flag('first-party'),
          enabled: !context.flag('disabled'),
        },
        { ...(await fieldEdits(context)), refreshTokens: refreshTokenEdits(context, undefined) },
      ),
    );
    const client = toClient(config);
    const ref = { kind: 'client', clientId } as const;
    const state = await context.loadState([ref, ...tenantRefs(client.tenants)]);
    if (findEntry(state, ref)) throw new UsageError(`client ${clientId} already exists (use clients update)`);
    requireTenants(state, client);
    const generateSecret = usesSecret(client.authMethod) && config.secretHash === undefined;
    return commit(context, state, [
      { action: 'create', entity: { kind: 'client', value: client }, fields: [], generateSecret },
    ]);
  },
};

const listCommand: CommandSpec = {
  name: 'clients list',
  args: [],
  summary: 'list clients',
  options: {},
  usesTable: true,
  writes: false,
  async run(context) {
    const state = await context.loadState();
    const clients = state.clients.map(({ value }) => value).sort((a, b) => a.clientId.localeCompare(b.clientId));
    context.out.result(clients.map(clientDocument), () => {
      const rows = clients.map((client) => [
        client.clientId,
        client.authMethod,
        String(client.enabled),
        client.tenants.join(','),
        client.scopes === undefined ? '(any)' : client.scopes.join(' '),
      ]);
      for (const line of table(['CLIENT', 'AUTH METHOD', 'ENABLED', 'TENANTS', 'SCOPES'], rows)) context.out.line(line);
    });
    return EXIT.ok;
  },
};

/** A client as shown: its configuration, and for each secret only whether and when it expires (never a hash). */
function clientDocument(client: Client) {
  return {
    ...clientConfigOf(client),
    secrets: client.secrets.map((secret) =>
      secret.notAfter === undefined ? {} : { notAfter: isoTimestamp(secret.notAfter) },
    ),
  };
}

const show: CommandSpec = {
  name: 'clients show',
  args: ['<client-id>'],
  summary: 'show a client (secrets are never shown, only when they expire)',
  options: {},
  usesTable: true,
  writes: false,
  async run(context) {
    const [clientId = ''] = context.args;
    const state = await context.loadState([{ kind: 'client', clientId }]);
    const client = requireClient(state, clientId);
    const mark = markOf(state, { kind: 'client', clientId });
    context.out.result({ ...clientDocument(client), ...mark }, () => {
      const line = (name: string, value: string) => context.out.line(`${`${name}:`.padEnd(13)} ${value}`);
      line('client', client.clientId);
      line('auth method', client.authMethod);
      line('enabled', String(client.enabled));
      line('tenants', client.tenants.join(', '));
      line('scopes', client.scopes === undefined ? '(any a resource supports)' : client.scopes.join(' ') || '(none)');
      line('grant types', client.grantTypes.join(', '));
      if (client.jwksUri) line('jwks uri', client.jwksUri);
      if (client.jwks) line('jwks', `${client.jwks.keys.length} key(s)`);
      for (const uri of client.redirectUris ?? []) line('redirect uri', uri);
      line('first party', String(client.firstParty === true));
      if (client.grantTypes.includes(REFRESH_TOKEN_GRANT_TYPE) || client.refreshTokens) {
        line('refresh tokens', describeRefreshTokens(client.refreshTokens));
      }
      const secrets = client.secrets.map((secret) =>
        secret.notAfter === undefined ? 'current' : `previous, valid until ${isoTimestamp(secret.notAfter)}`,
      );
      if (usesSecret(client.authMethod)) line('secrets', secrets.join('; ') || '(none)');
      if (mark.managedBy) line('declared in', DECLARED_IN_CODE);
    });
    return EXIT.ok;
  },
};

function describeRefreshTokens(lifetimes: Partial<RefreshTokenLifetimes> | undefined): string {
  const of = (seconds: number | undefined) => (seconds === undefined ? "the deployment's" : formatDuration(seconds));
  return `idle ${of(lifetimes?.idleSeconds)}, absolute ${of(lifetimes?.absoluteSeconds)}`;
}

const update: CommandSpec = {
  name: 'clients update',
  args: ['<client-id>'],
  summary: 'change a client (its secret changes with rotate-secret)',
  details:
    'Example: id-jag-admin clients update claude --scopes files:read,files:write --tenants acme,globex\n' +
    '         id-jag-admin clients update inspector --refresh-token-idle 7d --refresh-token-absolute 30d\n' +
    'An empty --scopes, --jwks-uri, --jwks-file, --redirect-uri, --refresh-token-idle or --refresh-token-absolute\n' +
    "removes the setting (a lifetime removed is the deployment's again); --redirect-uri replaces the whole list.\n" +
    'The auth method cannot change: remove the client and add it again.',
  options: {
    ...FIELD_OPTIONS,
    'first-party': { type: 'boolean', description: 'operated by you: the interactive flow asks no consent for it' },
    'not-first-party': { type: 'boolean', description: 'ask the user for consent again' },
    enable: { type: 'boolean', description: 'allow it again' },
    disable: { type: 'boolean', description: 'refuse it (within the server cache time)' },
    'auth-method': { type: 'string', value: 'method', description: 'refused: remove and add the client instead' },
  },
  usesTable: true,
  writes: true,
  async run(context) {
    const [clientId = ''] = context.args;
    if (context.string('auth-method') !== undefined) {
      throw new UsageError('--auth-method cannot change: remove the client and add it again');
    }
    if (context.flag('enable') && context.flag('disable')) throw new UsageError('--enable and --disable conflict');
    if (context.flag('first-party') && context.flag('not-first-party')) {
      throw new UsageError('--first-party and --not-first-party conflict');
    }
    const edits = await fieldEdits(context);
    const requested = Array.isArray(edits.tenants) ? (edits.tenants as string[]) : [];
    const state = await context.loadState([{ kind: 'client', clientId }, ...tenantRefs(requested)]);
    const current = requireClient(state, clientId);
    const enabled = context.flag('enable') ? true : context.flag('disable') ? false : undefined;
    const firstParty = context.flag('first-party') ? true : context.flag('not-first-party') ? false : undefined;
    const refreshTokens = refreshTokenEdits(context, current.refreshTokens);
    const config = parseClient(
      context,
      withEdits({ ...clientConfigOf(current) }, { ...edits, refreshTokens, enabled, firstParty }),
    );
    const client = { ...toClient(config), secrets: current.secrets };
    requireTenants(state, client);
    return commitUpdate(context, state, { kind: 'client', value: client }, current);
  },
};

const rotateSecret: CommandSpec = {
  name: 'clients rotate-secret',
  args: ['<client-id>'],
  summary: 'generate a new client secret and print it once',
  details:
    'Example: id-jag-admin clients rotate-secret claude --grace 3600\n' +
    'Without --grace the old secret stops working at once (within the server cache time). With it, the secret\n' +
    'that was current stays valid that many seconds more; older ones are removed.',
  options: {
    grace: {
      type: 'string',
      value: 'seconds',
      description: `keep the old secret valid this long (0 to ${MAX_GRACE_SECONDS}; default 0)`,
    },
  },
  usesTable: true,
  writes: true,
  async run(context) {
    const [clientId = ''] = context.args;
    const grace = parseGrace(context.string('grace'));
    const ref = { kind: 'client', clientId } as const;
    const state = await context.loadState([ref]);
    const current = requireClient(state, clientId);
    if (!usesSecret(current.authMethod)) {
      throw new UsageError(`client ${clientId} uses ${current.authMethod}: it has no secret to rotate`);
    }
    const previous = current.secrets[0];
    const notAfter = context.now() + grace;
    const kept =
      previous && grace > 0
        ? [{ hash: previous.hash, notAfter: Math.min(previous.notAfter ?? notAfter, notAfter) }]
        : [];
    const client = { ...current, secrets: kept };
    return commit(context, state, [
      updateOf(state, { kind: 'client', value: client }, ['secrets'], { generateSecret: true }),
    ]);
  },
};

function parseGrace(value: string | undefined): number {
  if (value === undefined) return 0;
  const seconds = numberOrText(value);
  if (typeof seconds !== 'number' || seconds > MAX_GRACE_SECONDS) {
    throw new UsageError(`--grace: must be a whole number of seconds from 0 to ${MAX_GRACE_SECONDS}`);
  }
  return seconds;
}

const remove: CommandSpec = {
  name: 'clients remove',
  args: ['<client-id>'],
  summary: 'remove a client',
  options: {},
  usesTable: true,
  writes: true,
  async run(context) {
    const [clientId = ''] = context.args;
    const ref = { kind: 'client', clientId } as const;
    const state = await context.loadState([ref]);
    const stored = findEntry(state, ref);
    if (!stored) throw new UsageError(`unknown client ${clientId}`);
    return commit(context, state, [{ action: 'delete', ref, previousVersion: stored.version }]);
  },
};

export const CLIENT_COMMANDS = [add, listCommand, show, update, rotateSecret, remove];
