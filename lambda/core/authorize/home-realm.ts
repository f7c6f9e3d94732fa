import type { Connection, Tenant } from '../model';
import type { Registry } from '../ports';

/** The connection a user signs in with, and its tenant (both enabled). */
export interface Realm {
  readonly connection: Connection;
  readonly tenant: Tenant;
}

/** What may tell us the user's organisation before we ask (DESIGN.md, "Identity"). */
export interface RealmHints {
  /** A tenant id the client names (`tenant` parameter). */
  readonly tenant?: string;
  /** An email address (`login_hint`). */
  readonly email?: string;
}

/**
 * Home realm discovery without asking: the tenant hint, else the `login_hint` email's domain (or the default
 * connection for a domain nobody claims), else the only connection there is. Undefined: ask for the work email.
 */
export async function discoverRealm(hints: RealmHints, registry: Registry): Promise<Realm | undefined> {
  const live = await liveRealms(registry);
  const byTenant = hints.tenant === undefined ? undefined : live.find((realm) => realm.tenant.id === hints.tenant);
  if (byTenant) return byTenant;
  if (hints.email !== undefined) {
    const byEmail = realmForEmail(hints.email, live);
    if (byEmail) return byEmail;
  }
  return live.length === 1 ? live[0] : undefined;
}

/** The realm for a work email: the connection that claims its domain, else the default connection, else none. */
export async function realmOfEmail(email: string, registry: Registry): Promise<Realm | undefined> {
  return realmForEmail(email, await liveRealms(registry));
}

/** The realm of a tenant, when both the tenant and its connection are enabled. */
export async function realmOfTenant(tenantId: string, registry: Registry): Promise<Realm | undefined> {
  return (await liveRealms(registry)).find((realm) => realm.tenant.id === tenantId);
}

/** The domain of an email address, lower case; undefined when it is not one. */
export function emailDomain(email: string): string | undefined {
  const at = email.lastIndexOf('@');
  const domain =
    at > 0
      ? email
          .slice(at + 1)
          .trim()
          .toLowerCase()
      : '';
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(domain) ? domain : undefined;
}

function realmForEmail(email: string, realms: readonly Realm[]): Realm | undefined {
  const domain = emailDomain(email);
  if (domain === undefined) return undefined;
  return (
    realms.find((realm) => realm.connection.domains.includes(domain)) ??
    realms.find((realm) => realm.connection.isDefault)
  );
}

async function liveRealms(registry: Registry): Promise<Realm[]> {
  const connections = (await registry.connections()).filter((connection) => connection.enabled);
  const realms = await Promise.all(
    connections.map(async (connection) => {
      const tenant = await registry.getTenant(connection.tenantId);
      return tenant?.enabled ? { connection, tenant } : undefined;
    }),
  );
  return realms.filter((realm): realm is Realm => realm !== undefined);
}
