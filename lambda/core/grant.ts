import type { IdentityAssertion } from './assertion';
import type { ServerConfig } from './config';
import { InvalidScopeError, InvalidTargetError } from './errors';
import type { Client, Resource } from './model';

export interface Grant {
  readonly resource: Resource;
  readonly scopes: readonly string[];
}

export interface GrantRequest {
  /** `resource` parameters, already checked to be absolute URIs without fragments. */
  readonly requestedResources: readonly string[];
  /** `scope` parameter split into tokens; undefined when absent. */
  readonly requestedScopes?: readonly string[];
}

/**
 * Decides what a token is for (RFC 8707) and what it allows (RFC 6749 §3.3):
 * audience = the requested resource, else the asserted one, else the deployment's default;
 * scope = requested ∩ asserted ∩ the resource's scopes ∩ the client's, and asking beyond that is `invalid_scope`.
 */
export function decideGrant(
  request: GrantRequest,
  assertion: IdentityAssertion,
  client: Client,
  config: ServerConfig,
): Grant {
  const resource = decideResource(request.requestedResources, assertion.resources, config);
  return { resource, scopes: decideScopes(request.requestedScopes, assertion.scopes, client, resource) };
}

export function decideResource(
  requested: readonly string[],
  asserted: readonly string[] | undefined,
  config: ServerConfig,
): Resource {
  const find = (id: string | undefined) => config.resources.find((resource) => resource.id === id);
  if (requested.length > 1) throw new InvalidTargetError('request one resource per token');
  const [wanted] = requested;
  if (wanted !== undefined) {
    const resource = find(wanted);
    if (!resource) throw new InvalidTargetError('the resource is not served by this authorization server');
    if (asserted && !asserted.includes(wanted)) {
      throw new InvalidTargetError('the resource is not the one the assertion was issued for');
    }
    return resource;
  }
  if (asserted) {
    if (asserted.length > 1) throw new InvalidTargetError('the assertion names several resources: choose one');
    // Assertion validation already refused resources we do not serve.
    return find(asserted[0])!;
  }
  const fallback = find(config.defaultResource);
  if (!fallback) throw new InvalidTargetError('name the resource the token is for');
  return fallback;
}

function decideScopes(
  requested: readonly string[] | undefined,
  asserted: readonly string[] | undefined,
  client: Client,
  resource: Resource,
): string[] {
  const allowed = (scope: string) =>
    resource.scopes.includes(scope) &&
    (client.scopes === undefined || client.scopes.includes(scope)) &&
    (asserted === undefined || asserted.includes(scope));
  if (requested !== undefined) {
    const unique = [...new Set(requested)];
    if (!unique.every(allowed)) {
      throw new InvalidScopeError('the requested scope exceeds what the assertion, the client or the resource allows');
    }
    return unique;
  }
  const base = asserted ?? resource.defaultScopes ?? resource.scopes;
  const granted = [...new Set(base)].filter(allowed);
  if (granted.length === 0 && asserted !== undefined && asserted.length > 0) {
    throw new InvalidScopeError('none of the asserted scopes is available to this client for this resource');
  }
  return granted;
}
