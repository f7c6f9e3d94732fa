import { authenticateClient } from '../client-auth';
import { isResourceIndicator } from '../config';
import { InvalidTargetError, UnauthorizedClientError } from '../errors';
import { type FormParameters, header } from '../http';
import type { Client } from '../model';
import type { GrantRequest, TokenEndpointDeps } from './context';

/** What the interactive grants' token requests share: the client and its one resource. */

/** The `resource` parameter: at most one (a token serves one audience), an absolute URI without a fragment. */
export function requestedResource(form: FormParameters): string | undefined {
  const resources = form.getAll('resource');
  if (resources.length > 1) throw new InvalidTargetError('request one resource per token');
  if (resources.some((resource) => !isResourceIndicator(resource))) {
    throw new InvalidTargetError('resource must be an absolute URI without a fragment');
  }
  return resources[0];
}

/** The client, authenticated as registered and registered for `grantType`; the audit says who it is and how. */
export async function clientForGrant(
  grantType: string,
  deps: TokenEndpointDeps,
  { request, form, now, audit }: GrantRequest,
): Promise<Client> {
  const authenticated = await authenticateClient(header(request, 'authorization'), form, deps, now);
  const { client } = authenticated;
  audit.client = client.clientId;
  audit.clientAuthMethod = authenticated.method;
  if (!client.grantTypes.includes(grantType))
    throw new UnauthorizedClientError('the client may not use this grant type');
  return client;
}
