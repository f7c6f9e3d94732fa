import { InvalidGrantError } from '../errors';
import { type Client, clientServesTenant } from '../model';
import type { Registry } from '../ports';

/**
 * Between sign-in and any later token (the code's redemption, each refresh) an operator may have disabled the tenant,
 * its connection or the client, or moved the tenant to another IdP: nothing is issued then. Judged on the registry as
 * it is now (within its cache time); `client` is the grant's client as this request just authenticated it.
 */
export async function checkStillAllowed(
  registry: Registry,
  grant: { readonly tenantId: string; readonly idpIssuer: string },
  client: Client,
  description: string,
): Promise<void> {
  const refuse = (reason: string) => new InvalidGrantError(description, reason);
  const [tenant, connections] = await Promise.all([registry.getTenant(grant.tenantId), registry.connections()]);
  if (!tenant?.enabled) throw refuse('tenant disabled');
  const connection = connections.find((candidate) => candidate.tenantId === grant.tenantId);
  if (!connection?.enabled) throw refuse('connection disabled');
  if (connection.issuer !== grant.idpIssuer) throw refuse('connection now trusts another IdP');
  if (!client.enabled || !clientServesTenant(client, grant.tenantId)) throw refuse('client not allowed for tenant');
}
