import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { UserGrant } from '../../core/ports';
import type { Item } from './attributes';
import { batchGetItems } from './batch';
import { decodeGrant } from './grant-store';
import { clientGrantsPartition, grantKey, keyAttributes, userGrantsPartition } from './items';
import { queryPartition } from './query';
import { TABLE_KEYS } from './table';

export interface GrantAdminOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Items per Query page. @default DynamoDB's (up to 1 MB) */
  readonly pageSize?: number;
}

/** Grants found, and the index items that could not be read as grants (by key only: `pk=…`). */
export interface GrantListing {
  readonly grants: readonly UserGrant[];
  readonly malformed: readonly string[];
}

/**
 * The operator's view of the grants (the refresh token families of the interactive flow): a tenant's, optionally only
 * one user's, and a client's, each found with Queries on the index that read every page (never a Scan). Revoking is
 * DynamoGrantStore.revokeGrant, the same write the server makes.
 */
export class GrantAdmin {
  constructor(private readonly options: GrantAdminOptions) {}

  /**
   * A tenant's grants, or with `user` only those of the user it names: our `sub`, the IdP's subject, or the email
   * (compared without regard to case). The tenant's partition is read whole, since only `sub` is in its sort key.
   */
  async grantsOfTenant(tenantId: string, user?: string): Promise<GrantListing> {
    const items = await this.query(userGrantsPartition(tenantId));
    const listing = decodeAll(items, (grant) => grant.tenantId === tenantId);
    if (user === undefined) return listing;
    return { ...listing, grants: listing.grants.filter((grant) => isUser(grant, user)) };
  }

  /**
   * A client's grants: its index partition names them, and the grant items themselves are read consistently (in
   * batches), so that a revocation made a moment ago shows.
   */
  async grantsOfClient(clientId: string): Promise<GrantListing> {
    const entries = await this.query(clientGrantsPartition(clientId));
    const grantIds = [...new Set(entries.map((item) => item.grantId?.S).filter((id): id is string => !!id))];
    const { client, tableName } = this.options;
    const keys = grantIds.map((grantId) => keyAttributes(grantKey(grantId)));
    // A grant item past its time may have been deleted (TTL) before its index entry: it is simply not listed.
    const items = await batchGetItems(client, tableName, keys, { consistentRead: true });
    return decodeAll(items, (grant) => grant.clientId === clientId);
  }

  private query(partition: string): Promise<Item[]> {
    const { client, tableName, pageSize } = this.options;
    return queryPartition(client, tableName, { partition, onIndex: true, pageSize });
  }
}

/** Whether `user` names the grant's user: our `sub`, the IdP's subject, or the email in any case. */
export function isUser(grant: UserGrant, user: string): boolean {
  if (grant.subject === user || grant.idpSubject === user) return true;
  return grant.email !== undefined && grant.email.toLowerCase() === user.toLowerCase();
}

/**
 * Items to grants, oldest first. An item that does not parse, is stored under another grant's key or belongs elsewhere
 * than where it was found is reported by its key only (never its attributes).
 */
function decodeAll(items: readonly Item[], belongs: (grant: UserGrant) => boolean): GrantListing {
  const grants: UserGrant[] = [];
  const malformed: string[] = [];
  for (const item of items) {
    const grant = decodeGrant(item);
    const pk = item[TABLE_KEYS.partitionKey]?.S;
    const sk = item[TABLE_KEYS.sortKey]?.S;
    const key = grant && grantKey(grant.grantId);
    if (grant && key?.pk === pk && key?.sk === sk && belongs(grant)) grants.push(grant);
    else malformed.push(`ignoring malformed grant item (pk=${pk ?? '?'}, sk=${sk ?? '?'})`);
  }
  grants.sort((a, b) => a.createdAt - b.createdAt || a.grantId.localeCompare(b.grantId));
  return { grants, malformed };
}
