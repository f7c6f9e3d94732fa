import { endpointsOf, type ServerConfig } from './config';
import { type HttpResponse, jsonResponse } from './http';
import { DEFAULT_ASSERTION_ALGORITHMS, ID_JAG_PROFILE, JWT_BEARER_GRANT_TYPE } from './model';
import type { Signer } from './ports';

/** RFC 8414 authorization server metadata. Tenants and trusted issuers are never listed. */
export function authorizationServerMetadata(config: ServerConfig) {
  const { tokenEndpoint, jwksUri } = endpointsOf(config.issuer);
  const scopes = [...new Set(config.resources.flatMap((resource) => resource.scopes))];
  return {
    issuer: config.issuer,
    token_endpoint: tokenEndpoint,
    jwks_uri: jwksUri,
    grant_types_supported: [JWT_BEARER_GRANT_TYPE],
    authorization_grant_profiles_supported: [ID_JAG_PROFILE],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...DEFAULT_ASSERTION_ALGORITHMS],
    scopes_supported: scopes,
    response_types_supported: [],
  };
}

function cacheable(config: ServerConfig) {
  return {
    'Content-Type': 'application/json',
    'Cache-Control': `public, max-age=${config.metadataMaxAgeSeconds}`,
    'Access-Control-Allow-Origin': '*',
  };
}

export function metadataResponse(config: ServerConfig): HttpResponse {
  return jsonResponse(200, authorizationServerMetadata(config), cacheable(config));
}

/** The JWKS of our token-signing keys: current and still-published previous ones, public parts only. */
export async function jwksResponse(config: ServerConfig, signer: Signer): Promise<HttpResponse> {
  const keys = (await signer.publicKeys()).map(({ kty, crv, x, y, n, e, kid, alg, use }) => ({
    kty,
    crv,
    x,
    y,
    n,
    e,
    kid,
    alg,
    use,
  }));
  return jsonResponse(200, { keys }, cacheable(config));
}
