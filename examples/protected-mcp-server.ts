// A plain node:http resource server protected by the ID-JAG authorization server: it publishes RFC 9728 protected
// resource metadata and accepts only our access tokens on its MCP endpoint. No framework, no MCP SDK: the endpoint
// just tells the caller who they are, which is where a real server would hand the request to its MCP transport
// (see docs/resource-server.md for Express and the MCP TypeScript SDK).
//
// Against the local server (`npm start` in another terminal, which serves the demo resource http://localhost:3001/mcp):
//   npx esbuild examples/protected-mcp-server.ts --bundle --platform=node --outfile=.data/example.cjs
//   node .data/example.cjs
//   curl -i http://localhost:3001/mcp                      # 401 with a challenge naming the metadata
//   curl http://localhost:3001/.well-known/oauth-protected-resource/mcp
// Environment: ID_JAG_ISSUER (default http://127.0.0.1:3000), MCP_RESOURCE (default http://localhost:3001/mcp).
import { createServer, type Server } from 'node:http';
// In your project: from 'cdk-id-jag-authorization-server/resource-server'
import {
  type AccessTokenVerifierOptions,
  type AuthenticatedRequest,
  createAccessTokenVerifier,
  createProtectedResourceMetadataHandler,
  ResourceServerError,
  requireAccessToken,
} from '../lib/resource-server';

export interface ProtectedMcpServerOptions {
  /** The authorization server's issuer (the construct's `issuer`, or the local server's URL). */
  readonly issuer: string;
  /** This server's canonical URI: the resource id registered with the authorization server. */
  readonly resource: string;
  readonly scopes?: readonly string[];
  /** More verifier options (a custom fetch, a clock). */
  readonly verifier?: Partial<AccessTokenVerifierOptions>;
  readonly log?: (line: string) => void;
}

export function createProtectedMcpServer(options: ProtectedMcpServerOptions): Server {
  const { issuer, resource } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  const verifier = createAccessTokenVerifier({ ...options.verifier, issuer, audience: resource });
  const metadata = createProtectedResourceMetadataHandler({
    resource,
    issuer,
    scopesSupported: options.scopes,
    resourceName: 'Example MCP server',
  });
  const requireToken = requireAccessToken({
    verifier,
    // The internal reason only: never the token.
    onError: (error) =>
      log(
        JSON.stringify(
          error instanceof ResourceServerError
            ? { message: 'request refused', status: error.status, reason: error.reason }
            : { message: 'unexpected error', error: String(error) },
        ),
      ),
  });
  const mcpPath = new URL(resource).pathname;

  return createServer((request, response) => {
    if (metadata(request, response)) return;
    if ((request.url ?? '/').split('?')[0] !== mcpPath) {
      response.writeHead(404).end();
      return;
    }
    requireToken(request, response, () => {
      // Here the token is valid, for this resource. Key users by sub: it is unique across the authorization server.
      const { auth } = request as AuthenticatedRequest;
      response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      response.end(
        JSON.stringify({
          sub: auth.extra.sub,
          tenant: auth.extra.tenant,
          idp_iss: auth.claims.idp_iss,
          idp_sub: auth.claims.idp_sub,
          email: auth.extra.email,
          client_id: auth.clientId,
          scopes: auth.scopes,
          expires_at: auth.expiresAt,
        }),
      );
    });
  });
}

function main(): void {
  const issuer = process.env.ID_JAG_ISSUER ?? 'http://127.0.0.1:3000';
  const resource = process.env.MCP_RESOURCE ?? 'http://localhost:3001/mcp';
  const url = new URL(resource);
  const server = createProtectedMcpServer({ issuer, resource, scopes: ['mcp:tools', 'mcp:resources'] });
  server.listen(Number(url.port || 80), '127.0.0.1', () => {
    console.log(`protected MCP server for ${resource}, trusting ${issuer}`);
  });
}

if (/protected-mcp-server\.[cm]?[jt]s$|example\.c?js$/.test(process.argv[1] ?? '')) main();
