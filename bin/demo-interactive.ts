// `npm run demo:interactive`: the interactive flow as an MCP client runs it. Listens on a loopback port for the
// redirect, prints the authorization URL to open in a browser (our consent page, then the demo IdP's login), takes
// the code, redeems it with PKCE, and verifies the access token as an MCP server would. Loopback only.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyAccessToken } from '../lib/resource-server';
import { demoFetch, readDemoCredentials, shown } from './local/demo-client';

/** How long we wait for the browser, so that a forgotten run ends by itself. */
const WAIT_MS = 5 * 60_000;

/** Resolves the query of the first request to /callback on a loopback port; the server stops after it. */
function awaitRedirect(): Promise<{ redirectUri: string; query: Promise<URLSearchParams> }> {
  return new Promise((ready) => {
    let deliver: (query: URLSearchParams) => void;
    let fail: (error: Error) => void;
    const query = new Promise<URLSearchParams>((resolve, reject) => {
      deliver = resolve;
      fail = reject;
    });
    const server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== '/callback') return void response.writeHead(404).end();
      response
        .writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
        .end('Signed in: back to the terminal.\n');
      server.close();
      deliver(url.searchParams);
    });
    const timer = setTimeout(() => {
      server.close();
      fail(new Error('no browser came back within 5 minutes'));
    }, WAIT_MS);
    timer.unref();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      ready({ redirectUri: `http://127.0.0.1:${port}/callback`, query });
    });
  });
}

async function main(): Promise<void> {
  const demo = readDemoCredentials();
  // Before the browser: a stopped server is said now, not after the sign-in.
  await demoFetch(`${demo.issuer}/.well-known/oauth-authorization-server`);
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(16).toString('base64url');
  const { redirectUri, query } = await awaitRedirect();

  const authorize = new URL(`${demo.issuer}/authorize`);
  for (const [name, value] of Object.entries({
    response_type: 'code',
    client_id: demo.appClientId,
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    resource: demo.resource,
    scope: 'mcp:tools',
  })) {
    authorize.searchParams.set(name, value);
  }
  console.log(
    `1. Open this URL in a browser (the public client "${demo.appClientId}", PKCE S256):\n\n   ${authorize}\n`,
  );
  console.log('   Approve the consent page, then sign in at the demo IdP as alice or bob (password: demo-password).\n');

  const params = await query;
  if (params.get('state') !== state) throw new Error('the redirect carries another state: refusing it');
  if (params.get('iss') !== demo.issuer) throw new Error('the redirect names another issuer (RFC 9207): refusing it');
  const error = params.get('error');
  if (error) throw new Error(`the authorization server answered ${error}: ${params.get('error_description') ?? ''}`);
  const code = params.get('code');
  if (!code) throw new Error('the redirect carries no code');
  console.log(`2. The browser came back to ${redirectUri} with a code, state and iss (checked).`);

  const response = await demoFetch(`${demo.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      client_id: demo.appClientId,
    }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  console.log(`3. Code redeemed at ${demo.issuer}/token: HTTP ${response.status} ${shown(response.status, body)}`);
  if (response.status !== 200) throw new Error('the code exchange failed: see the server log');

  const claims = await verifyAccessToken(String(body.access_token), { issuer: demo.issuer, audience: demo.resource });
  console.log('\n4. The MCP server verifies the access token (the resource-server entry):');
  console.log(`   claims: ${JSON.stringify(claims, null, 2).replace(/\n/g, '\n   ')}`);
  console.log('\n   `sub` is the same as `npm run demo` gives the same person through the ID-JAG exchange.');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
