import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildDiscoveryUrls,
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
  type OAuthClientProvider,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { type LocalServer, startLocalServer } from '../../bin/local/server';
import { createMcpServer, type RunningMcpServer } from '../../examples/mcp-server';
import { documentedSubject } from '../support/outcome';
import { type Fetch, routeOrigin } from '../support/route-origin';

/**
 * examples/mcp-server.ts as a user runs it (`npm start`, then `npm run example:mcp`), seen by the MCP SDK's own
 * client: the local server in demo mode over HTTP on loopback, its demo resource http://localhost:3001/mcp, and tokens
 * from its real jwt-bearer exchange. The MCP server listens on a free port; the clients reach the resource's address
 * through a fetch that routes http://localhost:3001 there, as a port forward would.
 */
describe('the MCP server example, through the MCP SDK client', () => {
  let dataDir: string;
  let as: LocalServer;
  let mcp: RunningMcpServer;
  let resource: string;
  let viaResource: Fetch;
  const logs: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'id-jag-mcp-'));
    as = await startLocalServer({ port: 0, dataDir, inMemory: true, write: () => undefined });
    resource = as.demo!.resource;
    mcp = await createMcpServer({ issuer: as.issuer, resource, port: 0, log: (line) => logs.push(line) });
    viaResource = routeOrigin(new URL(resource).origin, new URL(mcp.url).origin);
  });

  afterAll(async () => {
    await mcp.close();
    await as.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A token from the local server's jwt-bearer exchange (an ID-JAG from its demo IdP), as `npm run demo` gets one. */
  async function demoToken(scope = 'mcp:tools', user = 'alice'): Promise<string> {
    const demo = as.demo!;
    const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields),
    });
    const idJag = await fetch(
      `${demo.demoIdp}/token`,
      form({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        requested_token_type: 'urn:ietf:params:oauth:token-type:id-jag',
        audience: as.issuer,
        resource: demo.resource,
        client_id: demo.clientId,
        scope,
        subject_token: user,
      }),
    );
    const { access_token: assertion } = (await idJag.json()) as { access_token: string };
    const basic = Buffer.from(`${demo.clientId}:${demo.clientSecret}`).toString('base64');
    const response = await fetch(
      `${as.url}/token`,
      form(
        { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion },
        { authorization: `Basic ${basic}` },
      ),
    );
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  /** An SDK client over Streamable HTTP to `url`, remembering every HTTP response its transport got. */
  async function connect(
    url: string,
    options: { authProvider?: OAuthClientProvider; bearer?: string; fetch?: Fetch } = {},
  ): Promise<{ client: Client; responses: Response[] }> {
    const responses: Response[] = [];
    const base = options.fetch ?? viaResource;
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      fetch: async (input, init) => {
        const response = await base(input, init);
        responses.push(response);
        return response;
      },
      ...(options.authProvider ? { authProvider: options.authProvider } : {}),
      ...(options.bearer ? { requestInit: { headers: { Authorization: `Bearer ${options.bearer}` } } } : {}),
    });
    const client = new Client({ name: 'example-test', version: '1.0.0' });
    try {
      await client.connect(transport);
    } catch (error) {
      await client.close();
      throw Object.assign(error as Error, { responses });
    }
    return { client, responses };
  }

  /** The SDK's refusal of a connection, and the challenge of the response that caused it. */
  async function refusal(url: string, options: Parameters<typeof connect>[1] = {}) {
    const error = (await connect(url, options).then(
      () => undefined,
      (caught: unknown) => caught,
    )) as (Error & { code?: number; responses: Response[] }) | undefined;
    if (!error) throw new Error('the connection was not refused');
    const last = error.responses.at(-1)!;
    return { error, status: last.status, challenge: extractWWWAuthenticateParams(last) };
  }

  describe('(a) without a token', () => {
    it('is refused with 401, and the challenge names the protected resource metadata', async () => {
      const { error, status, challenge } = await refusal(resource);
      expect(error).toMatchObject({ code: 401 }); // StreamableHTTPError: no auth provider to start a flow
      expect(status).toBe(401);
      expect(challenge.resourceMetadataUrl?.href).toBe(
        'http://localhost:3001/.well-known/oauth-protected-resource/mcp',
      );
      expect(challenge.error).toBeUndefined(); // RFC 6750 §3.1: no error code when no token was sent
      expect(challenge.scope).toBe('mcp:tools'); // what the SDK will ask for, rather than all of scopes_supported
    });

    it('leads the SDK’s discovery from that challenge to our issuer and its metadata', async () => {
      const { challenge } = await refusal(resource);
      const prm = await discoverOAuthProtectedResourceMetadata(
        new URL(resource),
        { resourceMetadataUrl: challenge.resourceMetadataUrl },
        viaResource,
      );
      expect(prm).toMatchObject({
        resource,
        authorization_servers: [as.issuer],
        scopes_supported: ['mcp:tools', 'mcp:resources'],
        bearer_methods_supported: ['header'],
      });

      // The first URL the SDK tries for the authorization server's metadata is our RFC 8414 document.
      const [first] = buildDiscoveryUrls(prm.authorization_servers![0]!);
      expect(first!.url.href).toBe(`${as.issuer}/.well-known/oauth-authorization-server`);
      const published = (await (await fetch(first!.url)).json()) as Record<string, unknown>;
      expect(published).toMatchObject({
        issuer: as.issuer,
        token_endpoint: `${as.issuer}/token`,
        jwks_uri: `${as.issuer}/jwks.json`,
      });

      // The SDK's parser requires an authorization_endpoint (OAuthMetadataSchema): it accepts our document once the
      // interactive flow publishes one, and refuses the jwt-bearer-only document until then.
      if (typeof published.authorization_endpoint === 'string') {
        await expect(discoverAuthorizationServerMetadata(as.issuer)).resolves.toMatchObject({
          issuer: as.issuer,
          authorization_endpoint: published.authorization_endpoint,
          token_endpoint: `${as.issuer}/token`,
        });
      } else {
        await expect(discoverAuthorizationServerMetadata(as.issuer)).rejects.toThrow(/authorization_endpoint/);
      }
    });
  });

  describe('(b) with a token from the local server’s jwt-bearer exchange', () => {
    it('lists the tools and tells the caller who they are (whoami)', async () => {
      const { client } = await connect(resource, { authProvider: new TokenHolder(await demoToken()) });
      try {
        const { tools } = await client.listTools();
        expect(tools.map((tool) => tool.name).sort()).toEqual(['echo', 'whoami']);

        const result = await client.callTool({ name: 'whoami', arguments: {} });
        const identity = {
          sub: documentedSubject('demo', as.demo!.demoIdp, 'alice'),
          tenant: 'demo',
          idp_iss: as.demo!.demoIdp,
          idp_sub: 'alice',
          email: 'alice@demo.example',
          client_id: 'demo-client',
          scopes: ['mcp:tools'],
        };
        expect(result.isError).toBeFalsy();
        expect(result.structuredContent).toEqual(identity);
        expect(result.content).toEqual([{ type: 'text', text: JSON.stringify(identity) }]);
      } finally {
        await client.close();
      }
    });

    it('gives two users two different subjects', async () => {
      const whoami = async (user: string) => {
        const { client } = await connect(resource, {
          authProvider: new TokenHolder(await demoToken('mcp:tools', user)),
        });
        try {
          return (await client.callTool({ name: 'whoami', arguments: {} })).structuredContent as { sub: string };
        } finally {
          await client.close();
        }
      };
      const [alice, bob] = [await whoami('alice'), await whoami('bob')];
      expect(alice.sub).not.toBe(bob.sub);
      expect(bob.sub).toBe(documentedSubject('demo', as.demo!.demoIdp, 'bob'));
    });

    it('echoes', async () => {
      const { client } = await connect(resource, { bearer: await demoToken() });
      try {
        const result = await client.callTool({ name: 'echo', arguments: { text: 'hello, MCP' } });
        expect(result.content).toEqual([{ type: 'text', text: 'hello, MCP' }]);
      } finally {
        await client.close();
      }
    });
  });

  describe('(c) tokens the server must refuse, as the SDK sees them', () => {
    it('refuses a token for another resource with 401 invalid_token', async () => {
      const other = await createMcpServer({
        issuer: as.issuer,
        resource: 'http://localhost:3002/mcp',
        port: 0,
        log: () => undefined,
      });
      try {
        const { error, status, challenge } = await refusal('http://localhost:3002/mcp', {
          bearer: await demoToken(),
          fetch: routeOrigin('http://localhost:3002', new URL(other.url).origin),
        });
        expect(error).toMatchObject({ code: 401 });
        expect(status).toBe(401);
        expect(challenge.error).toBe('invalid_token');
        expect(challenge.resourceMetadataUrl?.href).toBe(
          'http://localhost:3002/.well-known/oauth-protected-resource/mcp',
        );
      } finally {
        await other.close();
      }
    });

    it('refuses a token without mcp:tools with 403 insufficient_scope, naming the scope needed', async () => {
      const { error, status, challenge } = await refusal(resource, { bearer: await demoToken('mcp:resources') });
      expect(error).toMatchObject({ code: 403 });
      expect(status).toBe(403);
      expect(challenge).toMatchObject({ error: 'insufficient_scope', scope: 'mcp:tools' });
      expect(challenge.resourceMetadataUrl?.href).toBe(
        'http://localhost:3001/.well-known/oauth-protected-resource/mcp',
      );
    });

    it('refuses a forged token, and logs the reason but never the token', async () => {
      const token = await demoToken();
      const forged = `${token.slice(0, -4)}AAAA`;
      const { status, challenge } = await refusal(resource, { bearer: forged });
      expect(status).toBe(401);
      expect(challenge.error).toBe('invalid_token');
      expect(logs.at(-1)).toMatch(/"reason":"bad signature"/);
      expect(logs.join('\n')).not.toContain(token.split('.')[1]);
    });
  });

  describe('the HTTP surface around the transport', () => {
    it('refuses a browser origin it does not know with 403, before reading the token (DNS rebinding)', async () => {
      const response = await viaResource(resource, {
        method: 'POST',
        headers: {
          origin: 'http://attacker.example',
          authorization: `Bearer ${await demoToken()}`,
          'content-type': 'application/json',
        },
        body: '{}',
      });
      expect(response.status).toBe(403);
      expect(response.headers.get('www-authenticate')).toBeNull();
    });

    it('is stateless: no session id, and no GET stream (405)', async () => {
      const token = await demoToken();
      const { client, responses } = await connect(resource, { bearer: token });
      await client.close();
      expect(responses.every((response) => response.headers.get('mcp-session-id') === null)).toBe(true);
      const get = await viaResource(resource, {
        headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
      });
      expect(get.status).toBe(405);
      expect(get.headers.get('allow')).toBe('POST');
    });

    it('answers other paths with 404', async () => {
      expect((await viaResource('http://localhost:3001/other')).status).toBe(404);
    });
  });
});

/**
 * An MCP client's OAuth provider that already holds an access token: the transport sends it as `Authorization:
 * Bearer` (OAuthClientProvider.tokens()). Obtaining one (the flow a 401 would start) is not its business here.
 */
class TokenHolder implements OAuthClientProvider {
  constructor(private readonly accessToken: string) {}
  get redirectUrl(): undefined {
    return undefined;
  }
  get clientMetadata(): OAuthClientMetadata {
    return { redirect_uris: [] };
  }
  clientInformation() {
    return undefined;
  }
  tokens(): OAuthTokens {
    return { access_token: this.accessToken, token_type: 'Bearer' };
  }
  saveTokens(): void {}
  redirectToAuthorization(): void {
    throw new Error('this client holds a token and starts no authorization flow');
  }
  saveCodeVerifier(): void {}
  codeVerifier(): string {
    throw new Error('this client holds a token and starts no authorization flow');
  }
}
