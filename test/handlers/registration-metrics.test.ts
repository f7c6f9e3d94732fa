import { createRegistrationHandler } from '../../lambda/handlers/api';
import { createLogger } from '../../lambda/handlers/logger';
import type { MetricsTarget } from '../../lambda/handlers/metrics';
import { httpApiEvent } from '../support/api-gateway';
import { NOW, testConfig } from '../support/fixture';
import { FixedClock, MemoryClientRegistrations } from '../support/memory';

const TARGET: MetricsTarget = { namespace: 'IdJagAuthorizationServer', server: 'test-server' };
const config = testConfig({ dynamicClientRegistration: { enabled: true, maxClients: 1 } });

/**
 * The register handler's decision lines carry CloudWatch embedded metrics, one count per outcome, so that the
 * construct can alarm when the cap closes registration: real API Gateway v2 events in, the core behind it.
 */
describe('registration handler metrics', () => {
  let lines: Record<string, unknown>[];
  let registrations: MemoryClientRegistrations;
  beforeEach(() => {
    lines = [];
    registrations = new MemoryClientRegistrations();
  });
  const handler = (metrics?: MetricsTarget) =>
    createRegistrationHandler(
      async () => ({ config, registrations, clock: new FixedClock(NOW) }),
      createLogger({ service: 'register', write: (line) => lines.push(JSON.parse(line)) }),
      metrics,
    );
  const register = (body: unknown, withMetrics = true) =>
    handler(withMetrics ? TARGET : undefined)(
      httpApiEvent({
        method: 'POST',
        path: '/register',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    );
  const PUBLIC = { redirect_uris: ['http://127.0.0.1/callback'], token_endpoint_auth_method: 'none' };
  const decision = () => {
    const found = lines.filter((line) => line.message === 'registration decision');
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  it('counts a registration as ClientsRegistered with its latency, per server', async () => {
    expect((await register(PUBLIC)).statusCode).toBe(201);
    expect(decision()).toMatchObject({
      outcome: 'registered',
      Server: 'test-server',
      ClientsRegistered: 1,
      RegistrationLatency: expect.any(Number),
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: 'IdJagAuthorizationServer',
            Dimensions: [['Server']],
            Metrics: [
              { Name: 'ClientsRegistered', Unit: 'Count' },
              { Name: 'RegistrationLatency', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
    });
  });

  it('counts a refusal at the cap apart from refusals for bad metadata, each with its error code', async () => {
    await register(PUBLIC);
    lines = [];
    const full = await register(PUBLIC);
    expect(full.statusCode).toBe(400);
    expect(decision()).toMatchObject({
      outcome: 'closed',
      error: 'invalid_client_metadata',
      RegistrationsRefusedAtCap: 1,
    });
    expect(decision()).not.toHaveProperty('RegistrationRejections');

    lines = [];
    await register({ redirect_uris: ['ftp://nowhere'] });
    expect(decision()).toMatchObject({ outcome: 'rejected', error: 'invalid_redirect_uri', RegistrationRejections: 1 });
    expect(decision()._aws).toMatchObject({ CloudWatchMetrics: [{ Dimensions: [['Server'], ['Server', 'Error']] }] });
  });

  it('counts a store failure as RegistrationFailures, logged as an error', async () => {
    registrations.failing = true;
    expect((await register(PUBLIC)).statusCode).toBe(500);
    expect(decision()).toMatchObject({ level: 'error', outcome: 'failed', RegistrationFailures: 1 });
  });

  it('writes no metrics without a target', async () => {
    await register(PUBLIC, false);
    expect(decision()).not.toHaveProperty('_aws');
    expect(decision()).not.toHaveProperty('ClientsRegistered');
  });
});
