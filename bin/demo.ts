// `npm run demo`: asks the local demo IdP for an ID-JAG, exchanges it for an access token, verifies the token
// against the server's JWKS, and shows that the same assertion cannot be used twice. Loopback only.
import { decodeProtectedHeader } from 'jose';
import { verifyAccessToken } from '../lib/resource-server';
import { demoFetch, readDemoCredentials, shown } from './local/demo-client';

async function post(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await demoFetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function main(): Promise<void> {
  const demo = readDemoCredentials();

  console.log(`1. The demo IdP issues an ID-JAG for user "alice" (RFC 8693 token exchange at ${demo.demoIdp}/token)`);
  const exchange = await post(`${demo.demoIdp}/token`, {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    requested_token_type: 'urn:ietf:params:oauth:token-type:id-jag',
    audience: demo.issuer,
    resource: demo.resource,
    client_id: demo.clientId,
    scope: 'mcp:tools',
    subject_token: 'alice',
    subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
  });
  if (exchange.status !== 200) throw new Error(`the demo IdP refused: ${JSON.stringify(exchange.body)}`);
  const assertion = String(exchange.body.access_token);
  console.log(`   header: ${JSON.stringify(decodeProtectedHeader(assertion))}\n`);

  console.log(`2. The client exchanges it at ${demo.issuer}/token (jwt-bearer grant, client_secret_basic)`);
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(demo.clientId)}:${encodeURIComponent(demo.clientSecret)}`).toString('base64')}`;
  const grant = { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion };
  const token = await post(`${demo.issuer}/token`, grant, { authorization: basic });
  console.log(`   HTTP ${token.status} ${shown(token.status, token.body)}`);
  if (token.status !== 200) throw new Error('the exchange failed: see the server log');

  console.log('\n3. The MCP server verifies the access token (the resource-server entry: metadata, JWKS, claims)');
  const accessToken = String(token.body.access_token);
  const claims = await verifyAccessToken(accessToken, { issuer: demo.issuer, audience: demo.resource });
  console.log(`   header: ${JSON.stringify(decodeProtectedHeader(accessToken))}`);
  console.log(`   claims: ${JSON.stringify(claims, null, 2).replace(/\n/g, '\n   ')}`);

  console.log('\n4. The same assertion a second time is refused (single use of iss + jti)');
  const replay = await post(`${demo.issuer}/token`, grant, { authorization: basic });
  console.log(`   HTTP ${replay.status} ${JSON.stringify(replay.body)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
