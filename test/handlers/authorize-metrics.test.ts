import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { TemporarilyUnavailableError } from '../../lambda/core/errors';
import type { HttpApiHandler } from '../../lambda/handlers/api';
import { createAuthorizeHandler } from '../../lambda/handlers/authorize-api';
import { createLogger } from '../../lambda/handlers/logger';
import type { MetricsTarget } from '../../lambda/handlers/metrics';
import { httpApiEvent } from '../support/api-gateway';
import {
  authorizationParams,
  CODE_CLIENT,
  createInteractiveFixture,
  FIRST_PARTY_CLIENT,
  type InteractiveFixture,
  pkce,
} from '../support/interactive';

const TARGET: MetricsTarget = { namespace: 'IdJagAuthorizationServer', server: 'test-server' };

/**
 * The authorize handler's decision lines carry CloudWatch embedded metrics (EMF), one count per outcome, so that the
 * construct can alarm on sign-in failures: real API Gateway v2 events in, the core on in-memory ports behind it.
 */
describe('authorize handler metrics', () => {
  let fx: InteractiveFixture;
  let lines: Record<string, unknown>[];

  const handlerWith = (metrics?: MetricsTarget): HttpApiHandler => {
    const logger = createLogger({ service: 'authorize', write: (line) => lines.push(JSON.parse(line)) });
    const deps = { ...fx.f, grants: fx.grants, upstream: fx.upstream, secrets: fx.secrets };
    return createAuthorizeHandler(async () => deps, logger, metrics);
  };
  /** The browser's cookies: those the handler set, as `name=value` (API Gateway hands them over in event.cookies). */
  let cookies: string[];
  const get = async (handler: HttpApiHandler, path: string, query: Record<string, string>) => {
    const result = await handler(
      httpApiEvent({ method: 'GET', path, query: new URLSearchParams(query).toString(), cookies }),
    );
    cookies = [...cookies, ...(result.cookies ?? []).map((cookie) => cookie.split(';')[0]!)];
    return result;
  };
  const decision = () => {
    const found = lines.filter((line) => line.message === 'authorization decision');
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  const locationOf = (result: APIGatewayProxyStructuredResultV2) => new URL(String(result.headers?.Location));

  beforeEach(async () => {
    fx = await createInteractiveFixture();
    lines = [];
    cookies = [];
  });

  it('counts a code issued at the callback as SignInCodesIssued, with its latency, per server', async () => {
    const handler = handlerWith(TARGET);
    const sent = await get(
      handler,
      '/authorize',
      authorizationParams(pkce().challenge, { client_id: FIRST_PARTY_CLIENT }),
    );
    const callbackQuery = fx.upstream.signIn(locationOf(sent).toString());
    lines = [];

    const result = await get(handler, '/callback', Object.fromEntries(new URLSearchParams(callbackQuery)));

    expect(result.statusCode).toBe(303);
    expect(locationOf(result).searchParams.get('code')).toBeTruthy();
    expect(decision()).toMatchObject({
      outcome: 'code',
      Server: 'test-server',
      SignInCodesIssued: 1,
      SignInLatency: expect.any(Number),
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          {
            Namespace: 'IdJagAuthorizationServer',
            Dimensions: [['Server']],
            Metrics: [
              { Name: 'SignInCodesIssued', Unit: 'Count' },
              { Name: 'SignInLatency', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
    });
    expect(decision()).not.toHaveProperty('Error');
  });

  it('counts an upstream IdP outage at the callback as SignInFailures, per server and per error code', async () => {
    const handler = handlerWith(TARGET);
    const sent = await get(
      handler,
      '/authorize',
      authorizationParams(pkce().challenge, { client_id: FIRST_PARTY_CLIENT }),
    );
    const callbackQuery = fx.upstream.signIn(locationOf(sent).toString());
    fx.upstream.metadataFailure = new TemporarilyUnavailableError('upstream metadata unreachable');
    lines = [];

    const result = await get(handler, '/callback', Object.fromEntries(new URLSearchParams(callbackQuery)));

    expect(locationOf(result).searchParams.get('error')).toBe('temporarily_unavailable');
    expect(decision()).toMatchObject({
      level: 'error',
      outcome: 'failed',
      Server: 'test-server',
      Error: 'temporarily_unavailable',
      SignInFailures: 1,
      _aws: {
        CloudWatchMetrics: [
          expect.objectContaining({
            Dimensions: [['Server'], ['Server', 'Error']],
            Metrics: [
              { Name: 'SignInFailures', Unit: 'Count' },
              { Name: 'SignInLatency', Unit: 'Milliseconds' },
            ],
          }),
        ],
      },
    });
  });

  it('counts a request for an unknown client as SignInRejections with its error code', async () => {
    const result = await get(
      handlerWith(TARGET),
      '/authorize',
      authorizationParams(pkce().challenge, { client_id: 'nobody' }),
    );

    expect(result.statusCode).toBe(400);
    expect(decision()).toMatchObject({
      outcome: 'rejected',
      Error: 'invalid_request',
      SignInRejections: 1,
      _aws: { CloudWatchMetrics: [expect.objectContaining({ Dimensions: [['Server'], ['Server', 'Error']] })] },
    });
  });

  it('counts a consent page as SignInPages, never as a code or a failure', async () => {
    const result = await get(
      handlerWith(TARGET),
      '/authorize',
      authorizationParams(pkce().challenge, { client_id: CODE_CLIENT }),
    );

    expect(result.statusCode).toBe(200);
    const line = decision();
    expect(line).toMatchObject({ outcome: 'page', page: 'consent', SignInPages: 1 });
    expect(
      Object.keys(line)
        .filter((key) => key.startsWith('SignIn'))
        .sort(),
    ).toEqual(['SignInLatency', 'SignInPages']);
  });

  it('writes no embedded metrics without a metrics target', async () => {
    await get(handlerWith(), '/authorize', authorizationParams(pkce().challenge, { client_id: CODE_CLIENT }));

    const line = decision();
    expect(line).toMatchObject({ outcome: 'page' });
    expect(line).not.toHaveProperty('_aws');
    expect(line).not.toHaveProperty('SignInPages');
  });
});
