// An MCP server on the official TypeScript SDK (McpServer, Streamable HTTP), protected by the ID-JAG authorization
// server through the package's resource-server entry: it publishes RFC 9728 protected resource metadata naming the
// issuer, and its MCP endpoint accepts only our access tokens for its resource. Two tools: `whoami` (the identity the
// token carries) and `echo`.
//
// Against the local server (`npm start` in another terminal serves the demo resource http://localhost:3001/mcp):
//   npm run example:mcp                                        # this server on http://localhost:3001/mcp
//   curl -i -X POST http://localhost:3001/mcp                  # 401, WWW-Authenticate: Bearer scope="mcp:tools", resource_metadata="…"
//   curl http://localhost:3001/.well-known/oauth-protected-resource/mcp
// Environment: ID_JAG_ISSUER (default http://127.0.0.1:3000), MCP_RESOURCE (default http://localhost:3001/mcp),
// PORT (default: the resource's port), HOST (default 127.0.0.1).
//
// Stateless Streamable HTTP, as the SDK recommends for a server that keeps nothing between requests: each POST gets
// a fresh McpServer and transport, every request is authenticated on its own, and any instance can serve any request
// (what a Lambda function or a fleet behind a load balancer needs). Nothing here relies on a session, and the
// session id is never taken for authentication (MCP security best practices).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
// In your project: from 'cdk-id-jag-authorization-server/resource-server'
import {
  type AccessTokenAuth,
  type AccessTokenVerifierOptions,
  type AuthenticatedRequest,
  createAccessTokenVerifier,
  createProtectedResourceMetadataHandler,
  ResourceServerError,
  requireAccessToken,
} from '../lib/resource-server';

export interface McpServerOptions {
  /** The authorization server's issuer (the construct's `issuer`, or the local server's URL). */
  readonly issuer: string;
  /** This server's canonical URI: the resource id registered with the authorization server, the tokens' `aud`. */
  readonly resource: string;
  /** Where to listen; 0 picks a free port. @default - the resource URL's port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** The scopes published in the metadata. @default ['mcp:tools', 'mcp:resources'] (the demo resource's) */
  readonly scopes?: readonly string[];
  /** What every MCP request needs; less is 403 insufficient_scope. @default ['mcp:tools'] */
  readonly requiredScopes?: readonly string[];
  /**
   * Browser origins allowed to call the MCP endpoint. A request with any other `Origin` is refused with 403 before
   * its token is even read (the MCP transport's DNS rebinding rule); requests without `Origin` (not from a browser)
   * pass. @default - none
   */
  readonly allowedOrigins?: readonly string[];
  /** More verifier options (a custom fetch, a clock). */
  readonly verifier?: Partial<AccessTokenVerifierOptions>;
  readonly log?: (line: string) => void;
}

export interface RunningMcpServer {
  readonly server: Server;
  /** Where the MCP endpoint listens, e.g. `http://127.0.0.1:3001/mcp` (the resource may name another address). */
  readonly url: string;
  readonly resource: string;
  close(): Promise<void>;
}

/** What `whoami` answers: the identity the access token carries. Key users by `sub` alone. */
export interface Identity {
  readonly sub: string;
  readonly tenant: string;
  readonly idp_iss: string;
  readonly idp_sub: string;
  readonly email?: string;
  readonly client_id: string;
  readonly scopes: string[];
}

const identityShape = {
  sub: z.string().describe('the user, unique across the authorization server'),
  tenant: z.string().describe('the organisation whose IdP vouched for the user'),
  idp_iss: z.string().describe("the user's IdP"),
  idp_sub: z.string().describe("the user's subject at that IdP (unique only there)"),
  email: z.string().optional(),
  client_id: z.string().describe('the MCP client the token was issued to'),
  scopes: z.array(z.string()),
};

/**
 * The identity in a tool's `extra.authInfo`: the transport took it from `req.auth`, where `requireAccessToken` put an
 * `AccessTokenAuth` (the SDK's `AuthInfo`, with the identity in `extra`).
 */
export function identityOf(authInfo: AuthInfo | undefined): Identity {
  const extra = authInfo?.extra as Partial<AccessTokenAuth['extra']> | undefined;
  if (!authInfo || !extra?.sub || !extra.tenant || !extra.idp_iss || !extra.idp_sub) {
    throw new Error('no verified access token on this request');
  }
  const { sub, tenant, idp_iss, idp_sub, email } = extra;
  return {
    sub,
    tenant,
    idp_iss,
    idp_sub,
    ...(email === undefined ? {} : { email }),
    client_id: authInfo.clientId,
    scopes: authInfo.scopes,
  };
}

/** The MCP server of one request: its tools see the caller through `extra.authInfo`. */
function mcpServer(): McpServer {
  const server = new McpServer({ name: 'id-jag-example', version: '1.0.0' });
  server.registerTool(
    'whoami',
    {
      title: 'Who am I',
      description: 'The user, organisation and client the access token was issued for',
      outputSchema: identityShape,
      annotations: { readOnlyHint: true },
    },
    async (extra) => {
      const identity = identityOf(extra.authInfo);
      return { content: [{ type: 'text', text: JSON.stringify(identity) }], structuredContent: { ...identity } };
    },
  );
  server.registerTool(
    'echo',
    {
      title: 'Echo',
      description: 'Returns the text it is given',
      inputSchema: { text: z.string().max(10_000) },
      annotations: { readOnlyHint: true },
    },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  return server;
}

function jsonRpcError(response: ServerResponse, status: number, message: string, headers: Record<string, string> = {}) {
  response
    .writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers })
    .end(JSON.stringify({ jsonrpc: '2.0', error: { code: status === 500 ? -32603 : -32000, message }, id: null }));
}

/** Starts the server; resolves once it listens. */
export async function createMcpServer(options: McpServerOptions): Promise<RunningMcpServer> {
  const { issuer, resource } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  const resourceUrl = new URL(resource);
  const mcpPath = resourceUrl.pathname;
  const allowedOrigins = new Set(options.allowedOrigins ?? []);

  const verifier = createAccessTokenVerifier({ ...options.verifier, issuer, audience: resource });
  const metadata = createProtectedResourceMetadataHandler({
    resource,
    issuer,
    scopesSupported: options.scopes ?? ['mcp:tools', 'mcp:resources'],
    resourceName: 'Example MCP server',
  });
  const requireToken = requireAccessToken({
    verifier,
    requiredScopes: options.requiredScopes ?? ['mcp:tools'],
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

  const serveMcp = async (request: AuthenticatedRequest, response: ServerResponse) => {
    // Stateless: no standalone SSE stream (GET) and no session to end (DELETE).
    if (request.method !== 'POST') {
      jsonRpcError(response, 405, 'Method not allowed', { Allow: 'POST' });
      return;
    }
    const server = mcpServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    response.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    // The transport reads req.auth (our AccessTokenAuth, the SDK's AuthInfo) and hands it to tools as extra.authInfo.
    await transport.handleRequest(request, response);
  };

  const http = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (metadata(request, response)) return; // /.well-known/oauth-protected-resource[/mcp]
    if ((request.url ?? '/').split('?')[0] !== mcpPath) {
      response.writeHead(404).end();
      return;
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !allowedOrigins.has(origin)) {
      jsonRpcError(response, 403, 'Origin not allowed');
      return;
    }
    requireToken(request, response, () => {
      serveMcp(request as AuthenticatedRequest, response).catch((error: unknown) => {
        log(JSON.stringify({ message: 'MCP request failed', error: String(error) }));
        if (!response.headersSent) jsonRpcError(response, 500, 'Internal error');
      });
    });
  });

  const port = options.port ?? Number(resourceUrl.port || (resourceUrl.protocol === 'https:' ? 443 : 80));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const hostInUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server: http,
    url: `http://${hostInUrl}:${address.port}${mcpPath}`,
    resource,
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

async function main(): Promise<void> {
  const issuer = process.env.ID_JAG_ISSUER ?? 'http://127.0.0.1:3000';
  const resource = process.env.MCP_RESOURCE ?? 'http://localhost:3001/mcp';
  const port = process.env.PORT === undefined ? undefined : Number(process.env.PORT);
  const running = await createMcpServer({ issuer, resource, port, host: process.env.HOST });
  console.log(
    [
      '',
      'Example MCP server (MCP TypeScript SDK, Streamable HTTP, stateless), protected by the ID-JAG authorization server',
      `  listening  ${running.url}`,
      `  resource   ${resource}  (the tokens' aud)`,
      `  issuer     ${issuer}`,
      `  metadata   ${new URL(resource).origin}/.well-known/oauth-protected-resource${new URL(resource).pathname}`,
      '  tools      whoami, echo  (scope mcp:tools)',
      '',
      'Press Ctrl-C to stop. Refused requests are logged below (the reason, never the token).',
      '',
    ].join('\n'),
  );
  const stop = () => {
    running.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (/mcp-server\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
