import { type AuthenticatedClient, authenticateClient, recordClientAssertion } from '../client-auth';
import { isResourceIndicator } from '../config';
import { InvalidTargetError, UnauthorizedClientError } from '../errors';
import { type FormParameters, header } from '../http';
import type { Client } from '../model';
import type { GrantRequest, TokenEndpointDeps } from './context';

// What the grants' token requests share: the client, authenticated for its grant, and the one resource.

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
export async function authenticateForGrant(
  grantType: string,
  deps: TokenEndpointDeps,
  { request, form, now, audit }: GrantRequest,
): Promise<AuthenticatedClient> {
  const authenticated = await authenticateClient(header(request, 'authorization'), form, deps, now);
  audit.client = authenticated.client.clientId;
  audit.clientAuthMethod = authenticated.method;
  if (!authenticated.client.grantTypes.includes(grantType))
    throw new UnauthorizedClientError('the client may not use this grant type');
  return authenticated;
}

/**
 * The client of an interactive grant (a code, a refresh token): authenticated for `grantType`, its client assertion
 * (private_key_jwt) recorded as used before the grant spends its code or refresh token.
 */
export async function clientForGrant(
  grantType: string,
  deps: TokenEndpointDeps,
  grantRequest: GrantRequest,
): Promise<Client> {
  const authenticated = await authenticateForGrant(grantType, deps, grantRequest);
  await recordClientAssertion(deps.replayStore, authenticated, grantRequest.now);
  return authenticated.client;
}
