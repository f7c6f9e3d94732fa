import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OAuthClientProvider, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DEMO_APP_CLIENT_ID, type LocalServer, startLocalServer } from '../../bin/local/server';
import { createMcpServer, type RunningMcpServer } from '../../examples/mcp-server';
import { BROWSER_COOKIE } from '../../lambda/core/authorize/transaction';
import { launchChromiumBrowser } from '../support/browser';
import { documentedSubject } from '../support/outcome';
import { type Fetch, routeOrigin } from '../support/route-origin';

jest.setTimeout(120_000);

const SCREENSHOTS = join(__dirname, '../../test-artifacts/screenshots');

/**
 * The interactive flow as an MCP client meets it: the MCP TypeScript SDK's own client (`Client`,
 * `StreamableHTTPClientTransport` and an `OAuthClientProvider` for the demo's pre-registered public client `demo-app`)
 * connects to the example MCP server, is refused with 401, discovers our server through the protected resource
 * metadata, and hands the authorization URL to a real browser: headless Chromium shows our consent page and the demo
 * IdP's login form, and lands on the client's loopback redirect URI with a code, which the SDK redeems. Everything
 * runs on loopback: the local server in demo mode, the example MCP server on a free port (reached as the demo resource
 * http://localhost:3001/mcp through a routing fetch, see test/support/route-origin.ts), and the client's callback.
 */
describe('an MCP SDK client signs a user in with a real browser', () => {
  let dataDir: string;
  let as: LocalServer;
  let mcp: RunningMcpServer;
  let resource: string;
  let viaResource: Fetch;
  let callbacks: LoopbackCallbacks;
  let browser: Browser;
  let documents: ClientDocuments;
  const contexts: BrowserContext[] = [];
  /** Seconds added to the servers' clock: lets a test have an access token issued already expired. */
  let clockOffset = 0;
  const clock = { now: () => Math.floor(Date.now() / 1000) + clockOffset };
  /** What the authorization server logged (its audit records among them). */
  const logLines: string[] = [];

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'id-jag-mcp-browser-'));
    documents = await ClientDocuments.start();
    as = await startLocalServer({
      port: 0,
      dataDir,
      inMemory: true,
      write: (line) => logLines.push(line),
      clock,
      // The client's metadata document at its https URL is served by the test on loopback.
      clientMetadataFetch: (url, init) => fetch(documents.route(url), init),
      // Open registration too (RFC 7591), for the client that registers itself.
      dynamicClientRegistration: { enabled: true },
    });
    resource = as.demo!.resource;
    mcp = await createMcpServer({ issuer: as.issuer, resource, port: 0, log: () => undefined });
    viaResource = routeOrigin(new URL(resource).origin, new URL(mcp.url).origin);
    callbacks = await LoopbackCallbacks.start();
    browser = await launchChromiumBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await callbacks?.close();
    await documents?.close();
    await mcp?.close();
    await as?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A fresh browser: its own cookies, as another person's or another machine's would be. */
  async function freshPage(): Promise<{ context: BrowserContext; page: Page; consoleLines: string[] }> {
    const context = await browser.newContext();
    // A step that cannot happen fails with Playwright's message (what it waited for) well before jest's timeout.
    context.setDefaultTimeout(15_000);
    contexts.push(context);
    const page = await context.newPage();
    // What the browser refused (a Content-Security-Policy violation) it says on the console.
    const consoleLines: string[] = [];
    page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    return { context, page, consoleLines };
  }

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  const transportFor = (provider: OAuthClientProvider) =>
    new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider, fetch: viaResource });

  /** Connects without a token: the SDK runs discovery and hands over the authorization URL, as it does on a 401. */
  async function startAuthorization(provider: DemoAppProvider): Promise<StreamableHTTPClientTransport> {
    const transport = transportFor(provider);
    const client = new Client({ name: 'browser-e2e', version: '1.0.0' });
    await expect(client.connect(transport)).rejects.toBeInstanceOf(UnauthorizedError);
    await client.close();
    return transport;
  }

  /** Our consent page: approve. */
  async function approve(page: Page, screenshot?: string): Promise<void> {
    await page.getByRole('heading', { level: 1 }).waitFor();
    if (screenshot) await page.screenshot({ path: join(SCREENSHOTS, screenshot), fullPage: true });
    await page.getByRole('button', { name: 'Approve' }).click();
  }

  /**
   * The demo IdP's login form: a demo user and the password the form prints. Resolves once the form is filled in,
   * with the click on "Sign in" under way (it settles when the redirects that follow have).
   */
  async function signInAtDemoIdp(
    page: Page,
    name: string,
    screenshot?: string,
    demoIdp = as.demo!.demoIdp,
  ): Promise<{ submitted: Promise<void> }> {
    await page.waitForURL((url) => url.href.startsWith(`${demoIdp}/authorize?`));
    await page.getByLabel(name).check();
    await page.getByLabel('Password').fill('demo-password');
    if (screenshot) await page.screenshot({ path: join(SCREENSHOTS, screenshot), fullPage: true });
    return { submitted: page.getByRole('button', { name: 'Sign in' }).click() };
  }

  it('signs alice in through our consent page and the demo IdP, and the MCP server sees her identity', async () => {
    // Given the SDK client of the public client demo-app, with its redirect URI on a loopback port of its own
    const provider = new DemoAppProvider(callbacks.redirectUri, as.issuer);

    // When it connects, it is refused, discovers our server, and asks the browser to go to our /authorize
    const transport = await startAuthorization(provider);
    const authorization = provider.authorizationUrl!;
    expect(`${authorization.origin}${authorization.pathname}`).toBe(`${as.issuer}/authorize`);
    expect(Object.fromEntries(authorization.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: DEMO_APP_CLIENT_ID,
      redirect_uri: callbacks.redirectUri,
      code_challenge_method: 'S256',
      state: provider.lastState,
      resource, // the PRM's resource, RFC 8707
      scope: 'mcp:tools', // the 401 challenge's scope
    });

    // And the browser approves our consent page, which names the client, the resource and the scope
    const { page, consoleLines } = await freshPage();
    const landed = callbacks.next();
    await page.goto(authorization.href);
    const heading = await page.getByRole('heading', { level: 1 }).textContent();
    expect(heading).toBe(`${DEMO_APP_CLIENT_ID} wants to access ${resource}`);
    expect(await page.getByRole('listitem').allTextContents()).toEqual(['mcp:tools']);
    await expect(page.getByText('You will sign in with Demo organisation.').count()).resolves.toBe(1);
    await approve(page, 'mcp-sdk-1-consent.png');

    // And alice signs in at the demo IdP
    await (await signInAtDemoIdp(page, 'Alice Demo', 'mcp-sdk-2-demo-idp-login.png')).submitted;

    // Then the browser lands on the client's redirect URI with a code, the client's state and our issuer (RFC 9207),
    // which the application checks itself: the SDK checks neither
    await page.waitForURL((url) => url.href.startsWith(`${callbacks.redirectUri}?`));
    const callback = await landed;
    await page.screenshot({ path: join(SCREENSHOTS, 'mcp-sdk-3-back-at-the-client.png'), fullPage: true });
    expect(callback.searchParams.getAll('state')).toEqual([provider.lastState]);
    expect(callback.searchParams.getAll('iss')).toEqual([as.issuer]);
    expect(callback.searchParams.has('error')).toBe(false);
    // No page's policy blocked a step (the demo IdP's form-action once did: see its pages)
    expect(consoleLines.filter((line) => /Content Security Policy|Refused to/i.test(line))).toEqual([]);
    const code = callback.searchParams.get('code')!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{43,}$/);

    // And the SDK redeems the code (PKCE, the resource) at our token endpoint
    await transport.finishAuth(code);
    expect(provider.tokens()).toMatchObject({ token_type: expect.stringMatching(/^bearer$/i), scope: 'mcp:tools' });

    // And, connecting again, it calls the MCP server's tools as alice of the demo tenant
    const client = new Client({ name: 'browser-e2e', version: '1.0.0' });
    await client.connect(transportFor(provider));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(['echo', 'whoami']);
      const whoami = await client.callTool({ name: 'whoami', arguments: {} });
      expect(whoami.isError).toBeFalsy();
      // The same sub as alice's ID-JAG from the same IdP gets (test/examples/mcp-server.test.ts): one person, one sub.
      expect(whoami.structuredContent).toEqual({
        sub: documentedSubject('demo', as.demo!.demoIdp, 'alice'),
        tenant: 'demo',
        idp_iss: as.demo!.demoIdp,
        idp_sub: 'alice',
        email: 'alice@demo.example',
        client_id: DEMO_APP_CLIENT_ID,
        scopes: ['mcp:tools'],
      });
    } finally {
      await client.close();
    }
  });

  it('refreshes an expired access token with its refresh token, rotating it, and calls the tool again', async () => {
    // Given alice signed in through the browser, and her code redeemed two hours in the past by our server's clock,
    // so that her access token is expired on arrival at the MCP server (which checks exp on its own clock)
    const provider = new DemoAppProvider(callbacks.redirectUri, as.issuer);
    const transport = await startAuthorization(provider);
    const { page } = await freshPage();
    const landed = callbacks.next();
    await page.goto(provider.authorizationUrl!.href);
    await approve(page);
    await (await signInAtDemoIdp(page, 'Alice Demo')).submitted;
    const code = (await landed).searchParams.get('code')!;
    clockOffset = -7200;
    try {
      await transport.finishAuth(code);
    } finally {
      clockOffset = 0;
    }
    const first = provider.tokens()!;
    expect(first.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const claims = JSON.parse(Buffer.from(first.access_token.split('.')[1]!, 'base64url').toString()) as {
      exp: number;
    };
    expect(claims.exp).toBeLessThan(Date.now() / 1000);

    // When the SDK client connects with it: the MCP server answers 401, and the SDK refreshes at our token endpoint
    const client = new Client({ name: 'browser-e2e', version: '1.0.0' });
    await client.connect(transportFor(provider));
    try {
      // Then it holds a new access token and a new refresh token (rotation), and the tool sees alice
      const second = provider.tokens()!;
      expect(second.access_token).not.toBe(first.access_token);
      expect(second.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(second.refresh_token).not.toBe(first.refresh_token);
      const whoami = await client.callTool({ name: 'whoami', arguments: {} });
      expect(whoami.structuredContent).toMatchObject({ idp_sub: 'alice', client_id: DEMO_APP_CLIENT_ID });
    } finally {
      await client.close();
    }

    // And the first refresh token, used once already, is refused: presenting it again revokes the grant, so the
    // newest one stops working too
    const refresh = (token: string) =>
      fetch(`${as.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: DEMO_APP_CLIENT_ID }),
      });
    expect((await refresh(first.refresh_token!)).status).toBe(400);
    const newest = await refresh(provider.tokens()!.refresh_token!);
    expect(newest.status).toBe(400);
    expect(await newest.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('signs in a client known by its metadata document (CIMD): consent names its host, then it calls the tool', async () => {
    // Given an MCP client with no registration here, only a metadata document at an https URL of its own
    const clientId = `${ClientDocuments.ORIGIN}/oauth/client-metadata.json`;
    documents.serve(clientId, {
      client_id: clientId,
      client_name: 'Example MCP Client',
      redirect_uris: [callbacks.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
    });
    const provider = new CimdProvider(callbacks.redirectUri, clientId);

    // When it connects: the SDK sees client_id_metadata_document_supported and uses its URL as client_id
    const transport = await startAuthorization(provider);
    const authorization = provider.authorizationUrl!;
    expect(authorization.searchParams.get('client_id')).toBe(clientId);

    // Then our consent page names the document's host, and its self-chosen name only as unverified
    const { page } = await freshPage();
    const landed = callbacks.next();
    await page.goto(authorization.href);
    const heading = await page.getByRole('heading', { level: 1 }).textContent();
    expect(heading).toBe(`${new URL(clientId).host} wants to access ${resource}`);
    await expect(page.getByText('Example MCP Client', { exact: false }).count()).resolves.toBeGreaterThan(0);
    await expect(page.getByText('unverified', { exact: false }).count()).resolves.toBeGreaterThan(0);
    await approve(page, 'mcp-sdk-5-cimd-consent.png');
    await (await signInAtDemoIdp(page, 'Alice Demo')).submitted;
    const code = (await landed).searchParams.get('code')!;

    // And the SDK redeems the code as that client, and calls a tool as alice
    await transport.finishAuth(code);
    expect(documents.hits).toBeGreaterThan(0);
    const client = new Client({ name: 'browser-e2e-cimd', version: '1.0.0' });
    await client.connect(transportFor(provider));
    try {
      const whoami = await client.callTool({ name: 'whoami', arguments: {} });
      expect(whoami.structuredContent).toMatchObject({ idp_sub: 'alice', client_id: clientId });
    } finally {
      await client.close();
    }
  });

  it('registers a client that has neither id nor document (DCR), signs it in through consent, and calls the tool', async () => {
    // Given an MCP client with no client id and no metadata document URL
    const provider = new RegisteringProvider(callbacks.redirectUri);

    // When it connects (two days ago by our server's clock): the SDK registers at our registration_endpoint and uses
    // the client id it got
    clockOffset = -2 * 86400;
    let transport: StreamableHTTPClientTransport;
    try {
      transport = await startAuthorization(provider);
    } finally {
      clockOffset = 0;
    }
    const registered = provider.clientInformation()!;
    expect(registered.client_id).toMatch(/^dcr_[A-Za-z0-9_-]{43}$/);
    expect(registered).not.toHaveProperty('client_secret');
    expect(provider.authorizationUrl!.searchParams.get('client_id')).toBe(registered.client_id);

    // Then our consent page says that it registered itself, shows its id, and its self-chosen name only as unverified
    const { page } = await freshPage();
    const landed = callbacks.next();
    await page.goto(provider.authorizationUrl!.href);
    const heading = await page.getByRole('heading', { level: 1 }).textContent();
    expect(heading).toBe(`An application that registered itself wants to access ${resource}`);
    await expect(page.getByText(registered.client_id, { exact: true }).count()).resolves.toBe(1);
    await expect(page.getByText('Registered MCP Client', { exact: false }).count()).resolves.toBeGreaterThan(0);
    await expect(page.getByText('unverified', { exact: false }).count()).resolves.toBeGreaterThan(0);
    await approve(page, 'mcp-sdk-6-dcr-consent.png');
    await (await signInAtDemoIdp(page, 'Alice Demo')).submitted;
    const code = (await landed).searchParams.get('code')!;

    // And the SDK redeems the code as that client, which moves its registration's end on (it is in use), and calls
    // a tool as alice
    await transport.finishAuth(code);
    const redemption = logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((record) => record.event === 'token_exchange' && record.client === registered.client_id);
    expect(redemption).toMatchObject({ outcome: 'issued', registration: 'extended' });
    const client = new Client({ name: 'browser-e2e-dcr', version: '1.0.0' });
    await client.connect(transportFor(provider));
    try {
      const whoami = await client.callTool({ name: 'whoami', arguments: {} });
      expect(whoami.structuredContent).toMatchObject({ idp_sub: 'alice', client_id: registered.client_id });
    } finally {
      await client.close();
    }
  });

  it('binds the login to the browser with a __Host- cookie that Chromium keeps Secure, HttpOnly and SameSite=Lax', async () => {
    // Given an authorization URL from the SDK
    const provider = new DemoAppProvider(callbacks.redirectUri, as.issuer);
    await startAuthorization(provider);

    // When a browser opens it
    const { context, page } = await freshPage();
    const response = await page.goto(provider.authorizationUrl!.href);
    expect(response?.status()).toBe(200);

    // Then Chromium stores exactly one cookie for our server, the login cookie, with every attribute it was sent with
    const cookies = await context.cookies(as.url);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({
      name: BROWSER_COOKIE,
      value: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      domain: new URL(as.url).hostname, // host-only: no Domain attribute
      path: '/',
      secure: true,
      httpOnly: true,
      sameSite: 'Lax',
    });
    expect(cookies[0]!.expires).toBeGreaterThan(0); // Max-Age: not a session cookie that outlives the login
  });

  it('shows our error page, and no code, when the callback from the IdP is replayed in another browser', async () => {
    // Given bob signing in, the demo IdP's answer (a redirect to our /callback with its code) held back in his browser.
    // Playwright routes only the first request of a redirect chain, so the hold is on the login form's post.
    const provider = new DemoAppProvider(callbacks.redirectUri, as.issuer);
    await startAuthorization(provider);
    const { page } = await freshPage();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const loginPost = `${as.demo!.demoIdp}/login`;
    const callbackUrl = new Promise<string>((resolve, reject) => {
      void page.route(loginPost, async (route) => {
        try {
          const answer = await route.fetch({ maxRedirects: 0 });
          resolve(new URL(answer.headers().location ?? '', loginPost).href);
          await held;
          await route.fulfill({ response: answer });
        } catch (error) {
          reject(error);
        }
      });
    });
    await page.goto(provider.authorizationUrl!.href);
    await approve(page);
    const { submitted } = await signInAtDemoIdp(page, 'Bob Demo');
    await page.waitForRequest(loginPost);
    const stolen = await callbackUrl;
    expect(stolen).toMatch(new RegExp(`^${as.url}/callback\\?`));

    // When another browser, without bob's login cookie, opens that callback URL first
    const other = await freshPage();
    const hits = callbacks.count;
    const response = await other.page.goto(stolen);

    // Then it gets our error page, and the client's redirect URI is never reached
    expect(response?.status()).toBe(400);
    expect(other.page.url()).toBe(stolen);
    expect(await other.page.getByRole('heading', { level: 1 }).textContent()).toBe('This sign-in cannot continue');
    await expect(other.page.getByText('invalid_request', { exact: true }).count()).resolves.toBe(1);
    await other.page.screenshot({ path: join(SCREENSHOTS, 'mcp-sdk-4-callback-replayed-error.png'), fullPage: true });
    expect(callbacks.count).toBe(hits);

    // And bob's own browser, following the IdP's answer now, still completes the sign-in with a code
    const landed = callbacks.next();
    release();
    await submitted;
    await page.waitForURL((url) => url.href.startsWith(`${callbacks.redirectUri}?`));
    const callback = await landed;
    expect(callback.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(callback.searchParams.get('state')).toBe(provider.lastState);
  });
  it('keeps the login cookie when the IdP, on another site, sends the browser back (SameSite=Lax)', async () => {
    // Given a second local server whose issuer is http://localhost:<port>: its pages and cookie are on localhost, its
    // demo IdP stays on http://127.0.0.1:<port>/demo-idp, another site, as a real IdP is
    const port = await freePort();
    const otherDir = mkdtempSync(join(tmpdir(), 'id-jag-mcp-browser-site-'));
    const crossSite = await startLocalServer({
      port,
      issuer: `http://localhost:${port}`,
      dataDir: otherDir,
      inMemory: true,
      write: () => undefined,
    });
    try {
      expect(new URL(crossSite.demo!.demoIdp).hostname).toBe('127.0.0.1');
      const state = randomBytes(16).toString('base64url');
      const authorization = new URL(`${crossSite.issuer}/authorize`);
      authorization.search = new URLSearchParams({
        response_type: 'code',
        client_id: DEMO_APP_CLIENT_ID,
        redirect_uri: callbacks.redirectUri,
        code_challenge: randomBytes(32).toString('base64url'), // any S256-shaped value: the code is not redeemed
        code_challenge_method: 'S256',
        state,
        resource,
        scope: 'mcp:tools',
      }).toString();

      // When the browser approves, signs in at the IdP on 127.0.0.1, and is redirected to localhost/callback
      const { context, page } = await freshPage();
      await page.goto(authorization.href);
      expect((await context.cookies(crossSite.issuer)).map((cookie) => cookie.name)).toEqual([BROWSER_COOKIE]);
      await approve(page);
      const landed = callbacks.next();
      await (await signInAtDemoIdp(page, 'Alice Demo', undefined, crossSite.demo!.demoIdp)).submitted;
      await page.waitForURL((url) => url.href.startsWith(`${callbacks.redirectUri}?`));

      // Then the cookie came back with that cross-site navigation: our /callback recognised the browser and gave a code
      const callback = await landed;
      expect(callback.searchParams.get('error')).toBeNull();
      expect(callback.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43,}$/);
      expect(callback.searchParams.get('state')).toBe(state);
      expect(callback.searchParams.get('iss')).toBe(crossSite.issuer);
    } finally {
      await crossSite.close();
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});

/**
 * The OAuth side of an MCP client built on the SDK, for the demo's pre-registered public client: client information
 * stamped with the authorization server it belongs to, no secret (so `none` at the token endpoint, PKCE only), and no
 * way to register itself. It keeps what the SDK saves, makes each `state`, and remembers where the SDK sent the user.
 */
class DemoAppProvider implements OAuthClientProvider {
  authorizationUrl?: URL;
  lastState?: string;
  private verifier?: string;
  private saved?: OAuthTokens;

  constructor(
    readonly redirectUrl: string,
    private readonly issuer: string,
  ) {}

  get clientMetadata(): OAuthClientMetadata {
    return {
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation(): OAuthClientInformationMixed | undefined {
    return { client_id: DEMO_APP_CLIENT_ID, issuer: this.issuer };
  }
  tokens(): OAuthTokens | undefined {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens): void {
    this.saved = tokens;
  }
  state(): string {
    this.lastState = randomBytes(16).toString('base64url');
    return this.lastState;
  }
  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }
  codeVerifier(): string {
    if (!this.verifier) throw new Error('no code verifier saved');
    return this.verifier;
  }
  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url;
  }
}

/** An MCP client known by its metadata document: no client information but its URL, which the SDK uses as client_id. */
class CimdProvider extends DemoAppProvider {
  private information?: OAuthClientInformationMixed;

  constructor(
    redirectUrl: string,
    readonly clientMetadataUrl: string,
  ) {
    super(redirectUrl, '');
  }
  override clientInformation(): OAuthClientInformationMixed | undefined {
    return this.information;
  }
  saveClientInformation(information: OAuthClientInformationMixed): void {
    this.information = information;
  }
}

/** An MCP client with neither a client id nor a metadata document: the SDK registers it (RFC 7591) and saves the answer. */
class RegisteringProvider extends DemoAppProvider {
  private information?: OAuthClientInformationMixed;

  constructor(redirectUrl: string) {
    super(redirectUrl, '');
  }
  override get clientMetadata(): OAuthClientMetadata {
    return { ...super.clientMetadata, client_name: 'Registered MCP Client' };
  }
  override clientInformation(): OAuthClientInformationMixed | undefined {
    return this.information;
  }
  saveClientInformation(information: OAuthClientInformationMixed): void {
    this.information = information;
  }
}

/**
 * Client metadata documents as their clients' own web servers would serve them: on loopback here, under the https
 * origin an MCP client must use (the SDK accepts only an https `clientMetadataUrl`), which the authorization server's
 * document fetch is routed to.
 */
class ClientDocuments {
  static readonly ORIGIN = 'https://mcp-client.example';
  private readonly served = new Map<string, unknown>();
  hits = 0;

  private constructor(
    private readonly server: Server,
    private readonly local: string,
  ) {
    server.on('request', (request, response) => {
      this.hits += 1;
      const document = this.served.get(`${ClientDocuments.ORIGIN}${request.url ?? ''}`);
      if (document === undefined) {
        response.writeHead(404).end();
        return;
      }
      response
        .writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=60' })
        .end(JSON.stringify(document));
    });
  }

  static async start(): Promise<ClientDocuments> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new ClientDocuments(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }

  serve(url: string, document: unknown): void {
    this.served.set(url, document);
  }

  /** Where a document URL is fetched from: this server for our origin, elsewhere nowhere (an unroutable address). */
  route(url: string): string {
    const parsed = new URL(url);
    return parsed.origin === ClientDocuments.ORIGIN
      ? `${this.local}${parsed.pathname}${parsed.search}`
      : 'http://0.0.0.0:9/';
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The MCP client's own loopback server for its redirect URI (RFC 8252 §7.3), as a desktop MCP client runs one. */
class LoopbackCallbacks {
  private readonly waiting: ((url: URL) => void)[] = [];
  /** How many times the browser came back. */
  count = 0;

  private constructor(
    private readonly server: Server,
    readonly redirectUri: string,
  ) {
    server.on('request', (request, response) => {
      const url = new URL(request.url ?? '/', redirectUri);
      if (url.pathname !== '/callback') {
        response.writeHead(404).end();
        return;
      }
      this.count += 1;
      this.waiting.shift()?.(url);
      response
        .writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' })
        .end('<!doctype html><title>MCP client</title><h1>Signed in</h1><p>You can close this page.</p>');
    });
  }

  static async start(): Promise<LoopbackCallbacks> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new LoopbackCallbacks(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`);
  }

  /** The URL of the next request to the redirect URI. */
  next(): Promise<URL> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port free on 127.0.0.1 a moment ago, for a server whose issuer must name its port before it listens. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
