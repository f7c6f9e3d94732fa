import { isoTimestamp, issuerConfigOf, issuerSchema, parseWith, toIssuerTrust } from '../config/schema';
import { findEntry } from '../config/state';
import type { IssuerTrust } from '../core/model';
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
import { describeTrust, markOf, numberOrText, requireTenant, requireTrust } from './lookups';
import { commit, commitUpdate } from './write';

const FIELD_OPTIONS: OptionSpecs = {
  'jwks-uri': {
    type: 'string',
    value: 'url',
    description: "the issuer's key set (default: discovered from its metadata)",
  },
  'tenant-claim': {
    type: 'string',
    value: 'value',
    description: 'the `tenant` claim value required, for an issuer shared by several tenants',
  },
  algorithms: {
    type: 'string',
    value: 'list',
    description: 'accepted signature algorithms, comma-separated (default: RS256,PS256,ES256,ES384,EdDSA)',
  },
  'max-assertion-lifetime-seconds': {
    type: 'string',
    value: 'seconds',
    description: 'longest accepted exp - iat of an assertion (default: 300)',
  },
  'not-after': {
    type: 'string',
    value: 'time',
    description: 'stop trusting the issuer at this ISO 8601 time, such as 2027-01-01T00:00:00Z',
  },
};

const TENANT_OPTION: OptionSpecs = {
  tenant: { type: 'string', value: 'tenant-id', description: 'the tenant that trusts the issuer (required)' },
};

function fieldEdits(context: CommandContext): Record<string, unknown> {
  const algorithms = context.string('algorithms');
  const lifetime = context.string('max-assertion-lifetime-seconds');
  return {
    jwksUri: context.string('jwks-uri'),
    tenantClaim: context.string('tenant-claim'),
    algorithms: algorithms === undefined || algorithms === '' ? algorithms : list(algorithms),
    maxAssertionLifetimeSeconds: lifetime === undefined || lifetime === '' ? lifetime : numberOrText(lifetime),
    notAfter: context.string('not-after'),
  };
}

function parseIssuer(context: CommandContext, tenantId: string, input: Record<string, unknown>): IssuerTrust {
  const schema = issuerSchema({ allowHttpLoopback: context.localMode });
  const trust = toIssuerTrust(
    tenantId,
    withFlagNames(() => parseWith(schema, input, 'issuer'), { issuer: '<issuer>' }),
  );
  refusePrivateHosts(context, [
    ['<issuer>', trust.issuer],
    ['--jwks-uri', trust.jwksUri],
  ]);
  return trust;
}

function requiredTenant(context: CommandContext): string {
  const tenantId = context.string('tenant');
  if (!tenantId) throw new UsageError('--tenant <tenant-id> is required');
  return tenantId;
}

const add: CommandSpec = {
  name: 'issuers add',
  args: ['<issuer>'],
  summary: "trust an identity provider's assertions for a tenant",
  details:
    'Example: id-jag-admin issuers add https://acme.okta.com --tenant acme \\\n' +
    '           --jwks-uri https://acme.okta.com/oauth2/v1/keys',
  options: { ...TENANT_OPTION, ...FIELD_OPTIONS, disabled: { type: 'boolean', description: 'register it disabled' } },
  usesTable: true,
  writes: true,
  async run(context) {
    const [issuer = ''] = context.args;
    const tenantId = requiredTenant(context);
    const trust = parseIssuer(
      context,
      tenantId,
      withEdits({ issuer, enabled: !context.flag('disabled') }, fieldEdits(context)),
    );
    const ref = { kind: 'issuer', tenantId, issuer } as const;
    const state = await context.loadState([{ kind: 'tenant', tenantId }, ref]);
    requireTenant(state, tenantId);
    if (findEntry(state, ref)) {
      throw new UsageError(`tenant ${tenantId} already trusts issuer ${issuer} (use issuers update)`);
    }
    return commit(context, state, [{ action: 'create', entity: { kind: 'issuer', value: trust }, fields: [] }]);
  },
};

const listCommand: CommandSpec = {
  name: 'issuers list',
  args: [],
  summary: 'list trusted issuers, of every tenant or of one',
  options: { tenant: { type: 'string', value: 'tenant-id', description: 'only this tenant' } },
  usesTable: true,
  writes: false,
  async run(context) {
    const tenantId = context.string('tenant');
    const state = await context.loadState(tenantId ? [{ kind: 'tenant', tenantId }] : []);
    if (tenantId) requireTenant(state, tenantId);
    const trusts = state.trusts
      .map(({ value }) => value)
      .filter((trust) => tenantId === undefined || trust.tenantId === tenantId)
      .sort((a, b) => a.tenantId.localeCompare(b.tenantId) || a.issuer.localeCompare(b.issuer));
    context.out.result(
      trusts.map((trust) => ({ tenant: trust.tenantId, ...issuerConfigOf(trust) })),
      () => {
        const rows = trusts.map((trust) => [
          trust.tenantId,
          trust.issuer,
          String(trust.enabled),
          trust.tenantClaim ?? '',
          trust.notAfter === undefined ? '' : isoTimestamp(trust.notAfter),
        ]);
        for (const line of table(['TENANT', 'ISSUER', 'ENABLED', 'TENANT CLAIM', 'NOT AFTER'], rows)) {
          context.out.line(line);
        }
      },
    );
    return EXIT.ok;
  },
};

const show: CommandSpec = {
  name: 'issuers show',
  args: ['<issuer>'],
  summary: 'show how an issuer is trusted',
  options: {
    tenant: { type: 'string', value: 'tenant-id', description: 'the tenant (needed when several trust the issuer)' },
  },
  usesTable: true,
  writes: false,
  async run(context) {
    const [issuer = ''] = context.args;
    const state = await context.loadState();
    const tenantId = context.string('tenant');
    const trusts = state.trusts
      .map(({ value }) => value)
      .filter((trust) => trust.issuer === issuer && (tenantId === undefined || trust.tenantId === tenantId));
    if (trusts.length === 0) {
      throw new UsageError(`issuer ${issuer} is not trusted${tenantId ? ` by tenant ${tenantId}` : ''}`);
    }
    const markFor = (trust: IssuerTrust) => markOf(state, { kind: 'issuer', tenantId: trust.tenantId, issuer });
    context.out.result(
      trusts.map((trust) => ({ tenant: trust.tenantId, ...issuerConfigOf(trust), ...markFor(trust) })),
      () => {
        for (const trust of trusts) for (const line of describeTrust(trust, markFor(trust))) context.out.line(line);
      },
    );
    return EXIT.ok;
  },
};

const update: CommandSpec = {
  name: 'issuers update',
  args: ['<issuer>'],
  summary: "change a tenant's trust in an issuer",
  details:
    'Example: id-jag-admin issuers update https://acme.okta.com --tenant acme --disable\n' +
    'An empty value ("") removes an optional setting or restores its default.',
  options: {
    ...TENANT_OPTION,
    ...FIELD_OPTIONS,
    enable: { type: 'boolean', description: 'trust it again' },
    disable: { type: 'boolean', description: 'stop trusting it (within the server cache time)' },
  },
  usesTable: true,
  writes: true,
  async run(context) {
    const [issuer = ''] = context.args;
    const tenantId = requiredTenant(context);
    if (context.flag('enable') && context.flag('disable')) throw new UsageError('--enable and --disable conflict');
    const state = await context.loadState([{ kind: 'issuer', tenantId, issuer }]);
    const current = requireTrust(state, tenantId, issuer);
    const enabled = context.flag('enable') ? true : context.flag('disable') ? false : undefined;
    const input = withEdits({ ...issuerConfigOf(current) }, { ...fieldEdits(context), enabled });
    return commitUpdate(context, state, { kind: 'issuer', value: parseIssuer(context, tenantId, input) }, current);
  },
};

const remove: CommandSpec = {
  name: 'issuers remove',
  args: ['<issuer>'],
  summary: 'stop trusting an issuer for a tenant',
  options: TENANT_OPTION,
  usesTable: true,
  writes: true,
  async run(context) {
    const [issuer = ''] = context.args;
    const tenantId = requiredTenant(context);
    const ref = { kind: 'issuer', tenantId, issuer } as const;
    const state = await context.loadState([ref]);
    const stored = findEntry(state, ref);
    if (!stored) throw new UsageError(`tenant ${tenantId} does not trust issuer ${issuer}`);
    return commit(context, state, [{ action: 'delete', ref, previousVersion: stored.version }]);
  },
};

export const ISSUER_COMMANDS = [add, listCommand, show, update, remove];
