import { isoTimestamp } from '../config/schema';
import { type EntityRef, findEntry, type ManagedBy, type RegistryState } from '../config/state';
import type { Client, Connection, IssuerTrust, Tenant } from '../core/model';
import { UsageError } from './io';

/** Finding registrations a command names, with the error the user sees when one does not exist. */

export function requireTenant(state: RegistryState, tenantId: string): Tenant {
  const tenant = state.tenants.find(({ value }) => value.id === tenantId)?.value;
  if (!tenant) throw new UsageError(`unknown tenant ${tenantId}`);
  return tenant;
}

export function requireTrust(state: RegistryState, tenantId: string, issuer: string): IssuerTrust {
  const trust = state.trusts.find(({ value }) => value.tenantId === tenantId && value.issuer === issuer)?.value;
  if (!trust) throw new UsageError(`tenant ${tenantId} does not trust issuer ${issuer}`);
  return trust;
}

export function requireConnection(state: RegistryState, tenantId: string): Connection {
  const connection = state.connections.find(({ value }) => value.tenantId === tenantId)?.value;
  if (!connection) throw new UsageError(`tenant ${tenantId} has no connection`);
  return connection;
}

export function requireClient(state: RegistryState, clientId: string): Client {
  const client = state.clients.find(({ value }) => value.clientId === clientId)?.value;
  if (!client) throw new UsageError(`unknown client ${clientId}`);
  return client;
}

/** For `show`: `{ managedBy: 'construct' }` when the construct's registry prop declares the registration. */
export function markOf(state: RegistryState, ref: EntityRef): { managedBy?: ManagedBy } {
  const managedBy = findEntry(state, ref)?.managedBy;
  return managedBy ? { managedBy } : {};
}

/** How `show` says that a registration is declared in code, and where to change it. */
export const DECLARED_IN_CODE = "the construct's registry prop (change it in code)";

/** Lines describing one trust, for `show` commands. */
export function describeTrust(trust: IssuerTrust, mark: { managedBy?: ManagedBy } = {}): string[] {
  return [
    `${trust.issuer}`,
    `  tenant:       ${trust.tenantId}`,
    `  enabled:      ${trust.enabled}`,
    `  jwks uri:     ${trust.jwksUri ?? '(discovered from the issuer metadata)'}`,
    `  tenant claim: ${trust.tenantClaim ?? '-'}`,
    `  algorithms:   ${trust.algorithms.join(', ')}`,
    `  max assertion lifetime: ${trust.maxAssertionLifetimeSeconds} s`,
    `  not after:    ${trust.notAfter === undefined ? '-' : isoTimestamp(trust.notAfter)}`,
    ...(mark.managedBy ? [`  declared in:  ${DECLARED_IN_CODE}`] : []),
  ];
}

/**
 * Lines describing one connection, for `show` commands. The secret is shown as the reference it is (where the secret
 * is kept): the table never holds the secret itself.
 */
export function describeConnection(connection: Connection, mark: { managedBy?: ManagedBy } = {}): string[] {
  return [
    `issuer:       ${connection.issuer}`,
    `client id:    ${connection.clientId}`,
    `auth method:  ${connection.authMethod}`,
    `secret:       ${connection.clientSecretRef ?? '-'}`,
    `scopes:       ${connection.scopes.join(' ')}`,
    `domains:      ${connection.domains.join(', ') || '-'}`,
    `default:      ${connection.isDefault}`,
    `enabled:      ${connection.enabled}`,
    ...(mark.managedBy ? [`declared in:  ${DECLARED_IN_CODE}`] : []),
  ];
}

/** Whole numbers become numbers; anything else stays text so that validation explains what is wrong with it. */
export function numberOrText(value: string): number | string {
  return /^\d+$/.test(value) ? Number(value) : value;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Whole seconds (`3600`) or a whole number of minutes, hours or days (`30m`, `12h`, `14d`), as seconds. */
export function parseDuration(flag: string, value: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(value);
  if (!match) throw new UsageError(`${flag}: must be whole seconds or a duration such as 30m, 12h or 14d`);
  return Number(match[1]) * (DURATION_UNITS[match[2] || 's'] ?? 1);
}

/** Seconds in the largest unit parseDuration reads that divides them exactly (`1209600` is `14d`). */
export function formatDuration(seconds: number): string {
  for (const unit of ['d', 'h', 'm'] as const) {
    const size = DURATION_UNITS[unit] ?? 1;
    if (seconds > 0 && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
