import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { TemporarilyUnavailableError } from '../../lambda/core/errors';
import type { GrantStore, UserGrant } from '../../lambda/core/ports';
import { mintRefreshToken } from '../../lambda/core/refresh-tokens';
import type { TokenEndpointDeps } from '../../lambda/core/token-endpoint';
import { createTokenFunctionHandler, type HttpApiHandler } from '../../lambda/handlers/api';
import { createLogger } from '../../lambda/handlers/logger';
import type { MetricsTarget } from '../../lambda/handlers/metrics';
import { httpApiEvent } from '../support/api-gateway';
import {
  CODE_CLIENT,
  createInteractiveFixture,
  FIRST_PARTY_CLIENT,
  type InteractiveFixture,
} from '../support/interactive';

const TARGET: MetricsTarget = { namespace: 'IdJagAuthorizationServer', server: 'test-server' };
const REVOKE_ROUTE_KEY = 'ANY /revoke';

/** A form POST as API Gateway delivers it for the route `routeKey` (the route as registered, not the request line). */
function formPost(path: string, routeKey: string, form: Record<string, string>): APIGatewayProxyEventV2 {
  const event = httpApiEvent({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { ...event, routeKey, requestContext: { ...event.requestContext, routeKey } };
}

/**
 * The token function's handler: `ANY /revoke` to the revocation endpoint (RFC 7009), every other route to the token
 * endpoint; one audit line per revocation decision with its metrics, never the token. Real API Gateway v2 events in,
 * the core on in-memory ports behind it.
 */
describe('the token function handler', () => {
  let fx: InteractiveFixture;
  let lines: Record<string, unknown>[];
  let raw: string[];
  /** A live refresh token of the public code client, and its grant. */
  let refreshToken: string;
  const grantId = 'grant-1';

  /** The token function's handler over the fixture's ports; `grants: null` wires no grant store. */
  const handlerWith = (metrics?: MetricsTarget, grants: GrantStore | null = fx.grants): HttpApiHandler => {
    const logger = createLogger({
      service: 'token',
      write: (line) => {
        raw.push(line);
        lines.push(JSON.parse(line));
      },
    });
    const deps: TokenEndpointDeps = { ...fx.f, ...(grants ? { grants } : {}) };
    return createTokenFunctionHandler(async () => deps, logger, { revokeRouteKey: REVOKE_ROUTE_KEY, metrics });
  };
  const revoke = (handler: HttpApiHandler, form: Record<string, string>) =>
    handler(formPost('/revoke', REVOKE_ROUTE_KEY, form));
  const only = (message: string) => {
    const found = lines.filter((line) => line.message === message);
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  beforeEach(async () => {
    fx = await createInteractiveFixture();
    lines = [];
    raw = [];
    const now = fx.f.clock.now();
    const grant: UserGrant = {
      grantId,
      clientId: CODE_CLIENT,
      tenantId: 'acme',
      idpIssuer: 'https://login.acme.example',
      idpSubject: 'alice',
      subject: 'subject-of-alice',
      resource: 'https://mcp.example.com/mcp',
      scopes: ['files:read'],
      createdAt: now,
      expiresAt: now + 90 * 86400,
    };
    const minted = mintRefreshToken(grant, fx.f.config.interactive.refreshTokens, now);
    refreshToken = minted.value;
    expect(await fx.grants.createGrant(grant, minted.record)).toBe(true);
  });

  it('sends the revocation route to the revocation endpoint: a refresh token of the client revokes its grant', async () => {
    const result = await revoke(handlerWith(), { token: refreshToken, client_id: CODE_CLIENT });

    expect(result.statusCode).toBe(200);
    expect(result.body).toBe('');
    expect(result.headers?.['Cache-Control']).toBe('no-store');
    expect(fx.grants.isGrantRevoked(grantId)).toBe(true);
    expect(only('revocation decision')).toMatchObject({
      level: 'info',
      event: 'token_revocation',
      outcome: 'revoked',
      client: CODE_CLIENT,
      clientAuthMethod: 'none',
      grantId,
    });
    expect(lines.filter((line) => line.message === 'token decision')).toEqual([]);
  });

  it('sends every other route to the token endpoint, by route key and not by path', async () => {
    const handler = handlerWith();
    const token = await handler(formPost('/token', 'ANY /token', { grant_type: 'password' }));
    // A request to /revoke that API Gateway matched to another route (a catch-all) is the token endpoint's.
    const elsewhere = await handler(formPost('/revoke', '$default', { token: refreshToken, client_id: CODE_CLIENT }));

    expect(token.statusCode).toBe(400);
    expect(JSON.parse(String(token.body))).toMatchObject({ error: 'unsupported_grant_type' });
    expect(elsewhere.statusCode).toBe(400);
    expect(JSON.parse(String(elsewhere.body))).toMatchObject({ error: 'invalid_request' });
    expect(lines.map((line) => line.message)).toEqual(['token decision', 'token decision']);
    expect(fx.grants.isGrantRevoked(grantId)).toBe(false);
  });

  it('counts a revocation as GrantsRevoked with its latency, per server', async () => {
    await revoke(handlerWith(TARGET), { token: refreshToken, client_id: CODE_CLIENT });

    expect(only('revocation decision')).toMatchObject({
      outcome: 'revoked',
      Server: 'test-server',
      GrantsRevoked: 1,
      RevocationLatency: expect.any(Number),
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          {
            Namespace: 'IdJagAuthorizationServer',
            Dimensions: [['Server']],
            Metrics: [
              { Name: 'GrantsRevoked', Unit: 'Count' },
              { Name: 'RevocationLatency', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
    });
  });

  it('leaves another client’s refresh token alone, answers 200 all the same and counts it as ignored', async () => {
    const result = await revoke(handlerWith(TARGET), { token: refreshToken, client_id: FIRST_PARTY_CLIENT });

    expect(result.statusCode).toBe(200);
    expect(fx.grants.isGrantRevoked(grantId)).toBe(false);
    const decision = only('revocation decision');
    expect(decision).toMatchObject({
      level: 'info',
      outcome: 'ignored',
      client: FIRST_PARTY_CLIENT,
      reason: 'refresh token of another client',
      RevocationsIgnored: 1,
    });
    expect(decision).not.toHaveProperty('grantId');
  });

  it('counts an unauthenticated client as a rejection with its error code', async () => {
    const result = await revoke(handlerWith(TARGET), { token: refreshToken, client_id: 'nobody' });

    expect(result.statusCode).toBe(401);
    expect(fx.grants.isGrantRevoked(grantId)).toBe(false);
    expect(only('revocation decision')).toMatchObject({
      level: 'info',
      outcome: 'rejected',
      error: 'invalid_client',
      Error: 'invalid_client',
      RevocationRejections: 1,
    });
  });

  it('logs a store failure at level error, counted as a failure, and answers 503', async () => {
    const failing = Object.create(fx.grants);
    failing.findRefreshToken = async () => {
      throw new TemporarilyUnavailableError('DynamoDB throttled');
    };

    const result = await revoke(handlerWith(TARGET, failing), { token: refreshToken, client_id: CODE_CLIENT });

    expect(result.statusCode).toBe(503);
    expect(only('revocation decision')).toMatchObject({
      level: 'error',
      outcome: 'failed',
      error: 'temporarily_unavailable',
      reason: 'DynamoDB throttled',
      Error: 'temporarily_unavailable',
      RevocationFailures: 1,
    });
  });

  it('never writes the token, or any part of it, in a log line, whatever the outcome', async () => {
    const handler = handlerWith(TARGET);
    await revoke(handler, { token: refreshToken, client_id: FIRST_PARTY_CLIENT });
    await revoke(handler, { token: refreshToken, client_id: 'nobody' });
    await revoke(handler, { token: refreshToken, client_id: CODE_CLIENT });
    await revoke(handler, { token: refreshToken, client_id: CODE_CLIENT });

    expect(lines.map((line) => line.message)).toEqual(Array(4).fill('revocation decision'));
    const text = raw.join('\n');
    for (let start = 0; start + 16 <= refreshToken.length; start += 8) {
      expect(text).not.toContain(refreshToken.slice(start, start + 16));
    }
  });

  it('answers server_error and says why when its wiring has no grant store', async () => {
    const result = await revoke(handlerWith(TARGET, null), { token: refreshToken, client_id: CODE_CLIENT });

    expect(result.statusCode).toBe(500);
    expect(JSON.parse(String(result.body))).toEqual({
      error: 'server_error',
      error_description: expect.any(String),
    });
    expect(only('handler failed')).toMatchObject({
      level: 'error',
      error: 'the revocation endpoint needs a grant store',
    });
  });
});
