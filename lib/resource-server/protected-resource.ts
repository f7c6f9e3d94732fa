import type { IncomingMessage, ServerResponse } from 'node:http';
import { requireHttpsUrl } from './urls';

export const PROTECTED_RESOURCE_WELL_KNOWN = '/.well-known/oauth-protected-resource';

export interface ProtectedResourceMetadataOptions {
  /**
   * The protected resource's identifier: the MCP server's canonical URI, exactly the `aud` of the tokens it accepts
   * (the `id` of the resource in the authorization server's configuration), e.g. `https://mcp.example.com/mcp`.
   */
  readonly resource: string;
  /** The authorization server's issuer (the construct's `issuer`). Give this or `authorizationServers`. */
  readonly issuer?: string;
  /** Issuers of every authorization server whose tokens the resource accepts. @default - [issuer] */
  readonly authorizationServers?: readonly string[];
  /** The scopes the resource understands. @default - not published */
  readonly scopesSupported?: readonly string[];
  /** A human-readable name of the resource. @default - not published */
  readonly resourceName?: string;
  /** A URL of documentation for developers. @default - not published */
  readonly resourceDocumentation?: string;
}

/** An RFC 9728 §2 protected resource metadata document. */
export interface ProtectedResourceMetadata {
  readonly resource: string;
  readonly authorization_servers: string[];
  readonly bearer_methods_supported: string[];
  readonly scopes_supported?: string[];
  readonly resource_name?: string;
  readonly resource_documentation?: string;
}

/**
 * Builds the RFC 9728 protected resource metadata: `resource`, `authorization_servers` (our issuer),
 * `bearer_methods_supported: ["header"]` (tokens are accepted in the `Authorization` header only) and,
 * when given, `scopes_supported`, `resource_name` and `resource_documentation`.
 */
export function protectedResourceMetadata(options: ProtectedResourceMetadataOptions): ProtectedResourceMetadata {
  const resource = requireResource(options.resource);
  const servers = options.authorizationServers ?? (options.issuer === undefined ? [] : [options.issuer]);
  if (servers.length === 0) throw new TypeError('protected resource metadata needs an issuer or authorizationServers');
  servers.forEach((server, index) => {
    requireHttpsUrl(`authorizationServers[${index}]`, server);
  });
  if (options.resourceDocumentation !== undefined) {
    requireHttpsUrl('resourceDocumentation', options.resourceDocumentation);
  }
  for (const scope of options.scopesSupported ?? []) {
    if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope))
      throw new TypeError(`scope ${JSON.stringify(scope)} is not a scope-token`);
  }
  return {
    resource,
    authorization_servers: [...servers],
    bearer_methods_supported: ['header'],
    ...(options.scopesSupported === undefined ? {} : { scopes_supported: [...options.scopesSupported] }),
    ...(options.resourceName === undefined ? {} : { resource_name: options.resourceName }),
    ...(options.resourceDocumentation === undefined ? {} : { resource_documentation: options.resourceDocumentation }),
  };
}

/**
 * RFC 9728 §3.1: the metadata URL of a resource inserts the well-known segment between the host and the resource's
 * path: `https://mcp.example.com/mcp` → `https://mcp.example.com/.well-known/oauth-protected-resource/mcp`.
 * This is the `resource_metadata` of the `WWW-Authenticate` challenge.
 */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(requireResource(resource));
  return `${url.origin}${PROTECTED_RESOURCE_WELL_KNOWN}${resourcePath(url)}${url.search}`;
}

/** The request paths the metadata is served on: the path-suffixed form of RFC 9728 §3.1, then the bare form. */
export function protectedResourceMetadataPaths(resource: string): string[] {
  const path = resourcePath(new URL(requireResource(resource)));
  return [...new Set([`${PROTECTED_RESOURCE_WELL_KNOWN}${path}`, PROTECTED_RESOURCE_WELL_KNOWN])];
}

export interface ProtectedResourceMetadataHandlerOptions extends ProtectedResourceMetadataOptions {
  /** `Cache-Control: max-age` of the document, in seconds. @default 3600 */
  readonly maxAgeSeconds?: number;
}

/**
 * A node:http / Express handler for the protected resource metadata. It answers `GET`/`HEAD` on the paths of
 * `protectedResourceMetadataPaths` (JSON, cacheable, readable cross-origin for browser-based clients), `OPTIONS`
 * there as a CORS preflight, and any other method there with 405. For any other path it calls `next()` when
 * given and returns `false`, so that a plain node server can write `if (metadata(req, res)) return;`.
 */
export function createProtectedResourceMetadataHandler(
  options: ProtectedResourceMetadataHandlerOptions,
): (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void) => boolean {
  const document = JSON.stringify(protectedResourceMetadata(options));
  const paths = new Set(protectedResourceMetadataPaths(options.resource));
  const maxAge = options.maxAgeSeconds ?? 3600;
  if (!Number.isInteger(maxAge) || maxAge < 0) throw new TypeError('maxAgeSeconds must be a non-negative integer');
  const cors = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS' };
  return (request, response, next) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (!paths.has(path)) {
      next?.();
      return false;
    }
    switch (request.method) {
      case 'GET':
      case 'HEAD':
        response.writeHead(200, {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(document),
          'Cache-Control': `public, max-age=${maxAge}`,
          ...cors,
        });
        response.end(request.method === 'GET' ? document : undefined);
        break;
      case 'OPTIONS':
        response.writeHead(204, { ...cors, 'Access-Control-Max-Age': '86400' }).end();
        break;
      default:
        response.writeHead(405, { Allow: 'GET, HEAD, OPTIONS' }).end();
    }
    return true;
  };
}

/** A resource identifier (RFC 8707 / RFC 9728): an https URL (http on loopback) without a fragment. */
function requireResource(resource: unknown): string {
  return requireHttpsUrl('resource', resource);
}

/** The resource's path without a trailing slash ('' for the bare origin). */
function resourcePath(url: URL): string {
  return url.pathname.replace(/\/$/, '');
}
