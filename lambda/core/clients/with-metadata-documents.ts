import type { ClientIdMetadataDocumentPolicy } from '../config';
import { type Client, INTERACTIVE_GRANT_TYPES } from '../model';
import type { Registry } from '../ports';
import { type ClientMetadataDocuments, clientFromMetadataDocument, isClientIdMetadataUrl } from './metadata-document';

export interface MetadataDocumentClientsOptions {
  readonly policy: ClientIdMetadataDocumentPolicy;
  readonly documents: ClientMetadataDocuments;
  /** Local mode only: a loopback http `client_id` URL names a document too. */
  readonly allowHttpLoopback?: boolean;
  /** Told why a CIMD client was not accepted (for the audit log: never the document). */
  readonly refused?: (clientId: string, reason: string) => void;
}

/**
 * The registry, with clients known by their metadata document (CIMD) besides the registered ones. For a `client_id`
 * that is a metadata document URL, the document (fetched and cached by `documents`) says what the client is: its
 * redirect URIs, how it authenticates, its keys, its self-description. The operator's policy says whether it is
 * accepted and what it may do:
 * - registered under its URL (listed): the registration's grants (jwt-bearer too), scopes, tenants, lifetimes and
 *   enabled flag; its keys when the registration has none of its own;
 * - not registered: accepted only when the policy is enabled and allows its host, for the interactive grants only,
 *   every tenant and scope, never first party (the consent page always shows); never jwt-bearer (PROTOCOL.md §13).
 * A document that cannot be had or does not describe a client makes the client unknown: `invalid_client` at the
 * token endpoint, the error page at `/authorize`, never a server error.
 */
export function withMetadataDocumentClients(registry: Registry, options: MetadataDocumentClientsOptions): Registry {
  const { policy, documents } = options;
  const refuse = (clientId: string, reason: string) => {
    options.refused?.(clientId, reason);
    return undefined;
  };
  return {
    trustsForIssuer: (issuer) => registry.trustsForIssuer(issuer),
    getTenant: (tenantId) => registry.getTenant(tenantId),
    connections: () => registry.connections(),
    async getClient(clientId) {
      const registered = await registry.getClient(clientId);
      if (!isClientIdMetadataUrl(clientId, options.allowHttpLoopback)) return registered;
      if (registered?.enabled === false) return registered;
      if (!registered) {
        if (!policy.enabled) return undefined;
        const host = new URL(clientId).host;
        if (policy.hosts !== undefined && !policy.hosts.includes(host)) {
          return refuse(clientId, `metadata document host ${host} not accepted`);
        }
      }
      const fetched = await documents.fetch(clientId);
      if ('problem' in fetched) return refuse(clientId, `metadata document unavailable: ${fetched.problem}`);
      const documented = clientFromMetadataDocument(clientId, fetched.document);
      if ('problem' in documented) return refuse(clientId, `metadata document refused: ${documented.problem}`);
      const { client, display } = documented;
      return registered ? listed(registered, client, display) : unlisted(client, display);
    },
  };
}

function unlisted(documented: Client, display: Client['display']): Client {
  return {
    ...documented,
    grantTypes: documented.grantTypes.filter((grant) => INTERACTIVE_GRANT_TYPES.includes(grant)),
    tenants: ['*'],
    scopes: undefined,
    firstParty: false,
    enabled: true,
    display,
  };
}

/** The registration decides what the client may do; the document, what it is (where it may be sent, its keys). */
function listed(registered: Client, documented: Client, display: Client['display']): Client {
  const ownKeys = registered.jwks !== undefined || registered.jwksUri !== undefined;
  return {
    ...registered,
    redirectUris: documented.redirectUris,
    ...(ownKeys ? {} : { jwks: documented.jwks, jwksUri: documented.jwksUri }),
    display,
  };
}
