import { endpointsOf, type ServerConfig } from './config';
import { type HttpResponse, jsonResponse } from './http';
import {
  AUTHORIZATION_CODE_GRANT_TYPE,
  DEFAULT_ASSERTION_ALGORITHMS,
  ID_JAG_PROFILE,
  JWT_BEARER_GRANT_TYPE,
  REFRESH_TOKEN_GRANT_TYPE,
} from './model';
import type { Signer } from './ports';

/**
 * RFC 8414 authorization server metadata (PROTOCOL.md §7, §14): what this deployment serves, nothing more. Tenants,
 * trusted issuers and connections are never listed.
 */
export function authorizationServerMetadata(config: ServerConfig) {
  const { tokenEndpoint, jwksUri, authorizationEndpoint, revocationEndpoint, registrationEndpoint } = endpointsOf(
    config.issuer,
  );
  const scopes = [...new Set(config.resources.flatMap((resource) => resource.scopes))];
  const interactive = config.interactive.enabled;
  // `none` in both modes: the token endpoint accepts a client registered as public (client-auth.ts) whatever the grant,
  // and the registry can hold one at any time (a jwt-bearer client with authMethod none), while this document is
  // built from static configuration.
  const authMethods = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'];
  return {
    issuer: config.issuer,
    ...(interactive ? { authorization_endpoint: authorizationEndpoint } : {}),
    token_endpoint: tokenEndpoint,
    jwks_uri: jwksUri,
    grant_types_supported: interactive
      ? [AUTHORIZATION_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE, JWT_BEARER_GRANT_TYPE]
      : [JWT_BEARER_GRANT_TYPE],
    authorization_grant_profiles_supported: [ID_JAG_PROFILE],
    token_endpoint_auth_methods_supported: authMethods,
    token_endpoint_auth_signing_alg_values_supported: [...DEFAULT_ASSERTION_ALGORITHMS],
    scopes_supported: scopes,
    // draft-ietf-oauth-client-id-metadata-document: an https client_id URL naming the client's document.
    client_id_metadata_document_supported: config.clientIdMetadataDocuments.enabled,
    response_types_supported: interactive ? ['code'] : [],
    ...(interactive
      ? {
          response_modes_supported: ['query'],
          code_challenge_methods_supported: ['S256'],
          authorization_response_iss_parameter_supported: true,
          // RFC 7009: refresh tokens only (access tokens are JWTs that expire on their own); clients authenticate as
          // at the token endpoint.
          revocation_endpoint: revocationEndpoint,
          revocation_endpoint_auth_methods_supported: authMethods,
        }
      : {}),
    // RFC 7591, only when the deployment opted in (it needs the interactive flow: config.ts).
    ...(interactive && config.dynamicClientRegistration.enabled ? { registration_endpoint: registrationEndpoint } : {}),
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
