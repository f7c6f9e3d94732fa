import { isoTimestamp } from '../config/schema';
import { type EntityRef, findEntry, type ManagedBy, type RegistryState } from '../config/state';
import type { Client, IssuerTrust, Tenant } from '../core/model';
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

/** Whole numbers become numbers; anything else stays text so that validation explains what is wrong with it. */
export function numberOrText(value: string): number | string {
  return /^\d+$/.test(value) ? Number(value) : value;
}
