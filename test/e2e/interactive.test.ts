import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { DEMO_APP_CLIENT_ID, type LocalServer, startLocalServer } from '../../bin/local/server';
import { documentedSubject } from '../support/outcome';

const RESOURCE = 'http://localhost:3001/mcp';
const REDIRECT = 'http://127.0.0.1:49200/callback';

/** A tiny browser for the flow over HTTP: keeps cookies per origin, follows nothing by itself. */
class Browser {
  private readonly jars = new Map<string, Map<string, string>>();

  async go(url: string, init: { method?: string; form?: Record<string, string> } = {}) {
    const { origin } = new URL(url);
    const jar = this.jars.get(origin) ?? new Map<string, string>();
    this.jars.set(origin, jar);
    const headers: Record<string, string> = {};
    if (jar.size) headers.cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
      redirect: 'manual',
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const separator = pair.indexOf('=');
      jar.set(pair.slice(0, separator), pair.slice(separator + 1));
    }
    const text = await response.text();
    return {
      status: response.status,
      location: response.headers.get('location') ?? undefined,
      text,
      headers: response.headers,
    };
  }

  cookies(origin: string): Map<string, string> {
    return this.jars.get(origin) ?? new Map();
  }
}

/** The value of a hidden or named field of the page's form. */
function field(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match?.[1]) throw new Error(`no field ${name} in the page`);
  return match[1];
}

/**
 * The interactive flow end to end over HTTP on the local server in demo mode: our /authorize, our consent page, the
 * demo IdP's login form, our /callback, the code at our token endpoint; the HTML forms are driven with fetch.
 */
describe('interactive sign-in on the local server, end to end over HTTP', () => {
  let dataDir: string;
  let server: LocalServer;
  const logs: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'id-jag-interactive-'));
    server = await startLocalServer({ port: 0, dataDir, inMemory: true, write: (line) => logs.push(line) });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const pkce = () => {
    const verifier = randomBytes(32).toString('base64url');
    return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
  };

  /** The public client's token request for a code. */
  const redeem = (code: string, verifier: string) =>
    fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
        client_id: DEMO_APP_CLIENT_ID,
      }).toString(),
    });

  /** Runs the browser part of the flow as alice; returns the redirect back to the client. */
  async function signIn(browser: Browser, challenge: string, state = 'xyz') {
    const authorize = new URL(`${server.url}/authorize`);
    for (const [name, value] of Object.entries({
      response_type: 'code',
      client_id: DEMO_APP_CLIENT_ID,
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      resource: RESOURCE,
      scope: 'mcp:tools',
    })) {
      authorize.searchParams.set(name, value);
    }
    const consent = await browser.go(authorize.toString());
    expect(consent.status).toBe(200);
    expect(consent.text).toContain(DEMO_APP_CLIENT_ID);
    const approved = await browser.go(`${server.url}/authorize`, {
      form: { transaction: field(consent.text, 'transaction'), csrf: field(consent.text, 'csrf'), action: 'approve' },
    });
    expect(approved.status).toBe(303);
    const login = await browser.go(approved.location!);
    expect(login.status).toBe(200);
    const loginAction = new URL('login', approved.location!).toString();
    const signedIn = await browser.go(loginAction, {
      form: {
        interaction: field(login.text, 'interaction'),
        user: 'alice',
        password: 'demo-password',
        action: 'sign-in',
      },
    });
    expect(signedIn.status).toBe(303);
    expect(signedIn.location).toMatch(new RegExp(`^${server.url}/callback\\?`));
    return browser.go(signedIn.location!);
  }

  it('signs alice in through the demo IdP and issues a token whose sub is the same as by ID-JAG', async () => {
    const browser = new Browser();
    const { verifier, challenge } = pkce();
    const back = await signIn(browser, challenge);
    expect(back.status).toBe(303);
    const location = new URL(back.location!);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get('state')).toBe('xyz');
    expect(location.searchParams.get('iss')).toBe(server.issuer);
    const code = location.searchParams.get('code')!;

    const token = await redeem(code, verifier);
    expect(token.status).toBe(200);
    const body = (await token.json()) as { access_token: string; scope: string };
    expect(body.scope).toBe('mcp:tools');
    const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks.json`));
    const { payload } = await jwtVerify(body.access_token, jwks, { issuer: server.issuer, audience: RESOURCE });
    const demoIdp = server.demo!.demoIdp;
    expect(payload).toMatchObject({
      sub: documentedSubject('demo', demoIdp, 'alice'),
      tenant: 'demo',
      idp_iss: demoIdp,
      idp_sub: 'alice',
      email: 'alice@demo.example',
      client_id: DEMO_APP_CLIENT_ID,
    });

    // The same code a second time is refused.
    const replay = await redeem(code, verifier);
    expect(replay.status).toBe(400);
  });

  it('binds the login to the browser with a __Host- cookie, and refuses the callback in another browser', async () => {
    const browser = new Browser();
    const { challenge } = pkce();
    const authorize = `${server.url}/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: DEMO_APP_CLIENT_ID,
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })}`;
    const consent = await browser.go(authorize);
    const cookie = consent.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(
      /^__Host-id-jag-login=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/; Secure; HttpOnly; SameSite=Lax$/,
    );
    expect(consent.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(consent.headers.get('cache-control')).toBe('no-store');

    const approved = await browser.go(`${server.url}/authorize`, {
      form: { transaction: field(consent.text, 'transaction'), csrf: field(consent.text, 'csrf'), action: 'approve' },
    });
    const login = await browser.go(approved.location!);
    const signedIn = await browser.go(new URL('login', approved.location!).toString(), {
      form: {
        interaction: field(login.text, 'interaction'),
        user: 'bob',
        password: 'demo-password',
        action: 'sign-in',
      },
    });
    const otherBrowser = new Browser();
    const stolen = await otherBrowser.go(signedIn.location!);
    expect(stolen.status).toBe(400);
    expect(stolen.text).toContain('invalid_request');
    // The rightful browser still completes it.
    expect((await browser.go(signedIn.location!)).status).toBe(303);
  });

  /** A fresh sign-in of alice, the code redeemed: the token response. */
  async function tokensOfAlice(): Promise<{ access_token: string; refresh_token: string }> {
    const { verifier, challenge } = pkce();
    const back = await signIn(new Browser(), challenge);
    const token = await redeem(new URL(back.location!).searchParams.get('code')!, verifier);
    expect(token.status).toBe(200);
    return (await token.json()) as { access_token: string; refresh_token: string };
  }

  const post = (path: string, form: Record<string, string>) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: DEMO_APP_CLIENT_ID, ...form }).toString(),
    });
  const refresh = (refreshToken: string, form: Record<string, string> = {}) =>
    post('/token', { grant_type: 'refresh_token', refresh_token: refreshToken, ...form });

  it('refreshes over HTTP with rotation: the new access token is alice, the used refresh token is refused', async () => {
    const first = await tokensOfAlice();
    expect(first.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const response = await refresh(first.refresh_token, { resource: RESOURCE });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const second = (await response.json()) as { access_token: string; refresh_token: string; scope: string };
    expect(second.scope).toBe('mcp:tools');
    expect(second.refresh_token).not.toBe(first.refresh_token);
    const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks.json`));
    const { payload } = await jwtVerify(second.access_token, jwks, { issuer: server.issuer, audience: RESOURCE });
    expect(payload).toMatchObject({ idp_sub: 'alice', tenant: 'demo', client_id: DEMO_APP_CLIENT_ID });

    const reuse = await refresh(first.refresh_token);
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toMatchObject({ error: 'invalid_grant' });
    // The reuse revoked the grant: the newest refresh token no longer works either.
    expect((await refresh(second.refresh_token)).status).toBe(400);
  });

  it('of 100 concurrent refreshes of one token, through dynalite, exactly one succeeds', async () => {
    const { refresh_token } = await tokensOfAlice();
    const statuses = await Promise.all(Array.from({ length: 100 }, async () => (await refresh(refresh_token)).status));
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 400)).toHaveLength(99);
  }, 60_000);

  it('revokes a grant at /revoke (RFC 7009): 200, and its refresh token stops working; an unknown token is 200 too', async () => {
    const { refresh_token } = await tokensOfAlice();
    const unknown = await post('/revoke', { token: 'A'.repeat(43) });
    expect(unknown.status).toBe(200);
    expect((await refresh(refresh_token)).status).toBe(200);
    const latest = (await tokensOfAlice()).refresh_token;
    const revoked = await post('/revoke', { token: latest, token_type_hint: 'refresh_token' });
    expect(revoked.status).toBe(200);
    expect(await revoked.text()).toBe('');
    const refused = await refresh(latest);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('advertises the revocation endpoint and the refresh_token grant in its metadata', async () => {
    const metadata = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    expect(metadata.revocation_endpoint).toBe(`${server.issuer}/revoke`);
    expect(metadata.grant_types_supported).toContain('refresh_token');
  });

  it('logs each decision without codes, cookies or tokens', () => {
    const lines = logs.filter((line) => line.includes('authorization decision'));
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      expect(line).not.toMatch(/code=|__Host-|[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]+/);
    }
    // Token and revocation decisions name the grant, never a refresh token (43 base64url characters) or a JWT.
    const decisions = logs.filter((line) => /token decision|revocation decision/.test(line));
    expect(decisions.some((line) => line.includes('refresh_token_reused'))).toBe(true);
    expect(decisions.some((line) => line.includes('"outcome":"revoked"'))).toBe(true);
    for (const line of decisions) {
      const withoutIds = line.replace(/"(grantId|tokenId|sub|jtiHash)":"[^"]*"/g, '');
      expect(withoutIds).not.toMatch(/[A-Za-z0-9_-]{43}|eyJ[A-Za-z0-9_-]+\./);
    }
  });
});
