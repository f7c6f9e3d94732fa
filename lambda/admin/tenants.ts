import type { Change } from '../config/plan';
import { parseWith, tenantConfigOf, tenantSchema, toTenant } from '../config/schema';
import { findEntry } from '../config/state';
import { ALL_TENANTS, type Tenant } from '../core/model';
import { type CommandSpec, withFlagNames } from './command';
import { EXIT, table, UsageError } from './io';
import { DECLARED_IN_CODE, describeConnection, describeTrust, markOf, requireTenant } from './lookups';
import { commit, commitUpdate } from './write';

const ARG = { id: '<tenant-id>' };

function parseTenant(input: Record<string, unknown>): Tenant {
  return toTenant(withFlagNames(() => parseWith(tenantSchema(), input, 'tenant'), ARG));
}

const add: CommandSpec = {
  name: 'tenants add',
  args: ['<tenant-id>'],
  summary: 'register a customer organisation',
  details: 'Example: id-jag-admin tenants add acme --display-name "Acme Corp"',
  options: {
    'display-name': { type: 'string', value: 'name', description: 'a name for people' },
    disabled: { type: 'boolean', description: 'register it disabled (its issuers are not trusted)' },
  },
  usesTable: true,
  writes: true,
  async run(context) {
    const [tenantId = ''] = context.args;
    const tenant = parseTenant({
      id: tenantId,
      displayName: context.string('display-name'),
      enabled: !context.flag('disabled'),
    });
    const state = await context.loadState([{ kind: 'tenant', tenantId }]);
    if (findEntry(state, { kind: 'tenant', tenantId })) {
      throw new UsageError(`tenant ${tenantId} already exists (use tenants update)`);
    }
    return commit(context, state, [{ action: 'create', entity: { kind: 'tenant', value: tenant }, fields: [] }]);
  },
};

const list: CommandSpec = {
  name: 'tenants list',
  args: [],
  summary: 'list tenants',
  options: {},
  usesTable: true,
  writes: false,
  async run(context) {
    const state = await context.loadState();
    const tenants = state.tenants.map(({ value }) => value).sort((a, b) => a.id.localeCompare(b.id));
    const issuerCount = (id: string) => state.trusts.filter(({ value }) => value.tenantId === id).length;
    context.out.result(
      tenants.map((tenant) => ({ ...tenant, issuers: issuerCount(tenant.id) })),
      () => {
        const rows = tenants.map((t) => [t.id, String(t.enabled), String(issuerCount(t.id)), t.displayName ?? '']);
        for (const line of table(['TENANT', 'ENABLED', 'ISSUERS', 'DISPLAY NAME'], rows)) context.out.line(line);
      },
    );
    return EXIT.ok;
  },
};

const show: CommandSpec = {
  name: 'tenants show',
  args: ['<tenant-id>'],
  summary: 'show a tenant, its trusted issuers, its connection and the clients allowed for it',
  options: {},
  usesTable: true,
  writes: false,
  async run(context) {
    const [tenantId = ''] = context.args;
    const state = await context.loadState([
      { kind: 'tenant', tenantId },
      { kind: 'connection', tenantId },
    ]);
    const tenant = requireTenant(state, tenantId);
    const trusts = state.trusts.map(({ value }) => value).filter((trust) => trust.tenantId === tenantId);
    const connections = state.connections.map(({ value }) => value).filter((c) => c.tenantId === tenantId);
    const clients = state.clients
      .map(({ value }) => value)
      .filter((client) => client.tenants.includes(ALL_TENANTS) || client.tenants.includes(tenantId))
      .map((client) => client.clientId);
    const mark = markOf(state, { kind: 'tenant', tenantId });
    context.out.result({ ...tenantConfigOf(tenant, trusts, connections), clients, ...mark }, () => {
      context.out.line(`tenant:       ${tenant.id}`);
      context.out.line(`display name: ${tenant.displayName ?? '-'}`);
      context.out.line(`enabled:      ${tenant.enabled}`);
      if (mark.managedBy) context.out.line(`declared in:  ${DECLARED_IN_CODE}`);
      context.out.line(`clients:      ${clients.join(', ') || '-'}`);
      context.out.line(trusts.length === 0 ? 'issuers:      -' : 'issuers:');
      for (const trust of trusts) {
        const trustMark = markOf(state, { kind: 'issuer', tenantId, issuer: trust.issuer });
        for (const line of describeTrust(trust, trustMark)) context.out.line(`  ${line}`);
      }
      context.out.line(connections.length === 0 ? 'connection:   -' : 'connection:');
      for (const connection of connections) {
        const connectionMark = markOf(state, { kind: 'connection', tenantId });
        for (const line of describeConnection(connection, connectionMark)) context.out.line(`  ${line}`);
      }
    });
    return EXIT.ok;
  },
};

const update: CommandSpec = {
  name: 'tenants update',
  args: ['<tenant-id>'],
  summary: 'change a tenant',
  details: 'Example: id-jag-admin tenants update acme --disable\nAn empty --display-name removes it.',
  options: {
    'display-name': { type: 'string', value: 'name', description: 'a name for people ("" removes it)' },
    enable: { type: 'boolean', description: 'trust its issuers again' },
    disable: { type: 'boolean', description: 'stop trusting its issuers (within the server cache time)' },
  },
  usesTable: true,
  writes: true,
  async run(context) {
    const [tenantId = ''] = context.args;
    if (context.flag('enable') && context.flag('disable')) throw new UsageError('--enable and --disable conflict');
    const state = await context.loadState([{ kind: 'tenant', tenantId }]);
    const current = requireTenant(state, tenantId);
    const displayName = context.string('display-name');
    const enabled = context.flag('enable') ? true : context.flag('disable') ? false : current.enabled;
    const tenant = parseTenant({
      id: tenantId,
      displayName: displayName === undefined ? current.displayName : displayName || undefined,
      enabled,
    });
    return commitUpdate(context, state, { kind: 'tenant', value: tenant }, current);
  },
};

const remove: CommandSpec = {
  name: 'tenants remove',
  args: ['<tenant-id>'],
  summary: 'remove a tenant, its connection and every issuer it trusts',
  details:
    'Its connection and issuer trusts are removed first, then the tenant; if interrupted, running it again finishes\n' +
    'the removal.\n' +
    'Refused while a client names the tenant in its tenants.',
  options: {},
  usesTable: true,
  writes: true,
  async run(context) {
    const [tenantId = ''] = context.args;
    const state = await context.loadState([
      { kind: 'tenant', tenantId },
      { kind: 'connection', tenantId },
    ]);
    const tenant = findEntry(state, { kind: 'tenant', tenantId });
    const trusts = [
      ...state.trusts
        .filter(({ value }) => value.tenantId === tenantId)
        .map(({ value, version }) => ({
          ref: { kind: 'issuer', tenantId, issuer: value.issuer } as const,
          version,
        })),
      ...state.malformed.filter(({ ref }) => ref.kind === 'issuer' && ref.tenantId === tenantId),
    ];
    const connection = findEntry(state, { kind: 'connection', tenantId });
    if (!tenant && trusts.length === 0 && !connection) throw new UsageError(`unknown tenant ${tenantId}`);
    const naming = state.clients.filter(({ value }) => value.tenants.includes(tenantId)).map(({ value }) => value);
    if (naming.length > 0) {
      const ids = naming.map((client) => client.clientId).join(', ');
      throw new UsageError(
        `cannot remove tenant ${tenantId}: ${naming.length === 1 ? 'client' : 'clients'} ${ids} still ` +
          `${naming.length === 1 ? 'names' : 'name'} it in tenants; change that first ` +
          `(id-jag-admin clients update <client-id> --tenants <list>, or clients remove <client-id>)`,
      );
    }
    const changes: Change[] = [
      ...(connection
        ? [{ action: 'delete', ref: { kind: 'connection', tenantId }, previousVersion: connection.version } as const]
        : []),
      ...trusts.map(({ ref, version }): Change => ({ action: 'delete', ref, previousVersion: version })),
      ...(tenant
        ? [{ action: 'delete', ref: { kind: 'tenant', tenantId }, previousVersion: tenant.version } as const]
        : []),
    ];
    return commit(context, state, changes, `cannot remove tenant ${tenantId}`);
  },
};

export const TENANT_COMMANDS = [add, list, show, update, remove];
