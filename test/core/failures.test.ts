import { errors } from 'jose';
import { TemporarilyUnavailableError } from '../../lambda/core/errors';
import type { ReplayStore, Signer } from '../../lambda/core/ports';
import { createTokenEndpoint } from '../../lambda/core/token-endpoint';
import { createFixture, type Fixture, tokenRequest } from '../support/fixture';
import { expectIssued, expectRejected } from '../support/outcome';

/** PROTOCOL.md §6: unexpected failures give 500/503 with no detail and never a token. */
describe('failures of the server or its dependencies', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });

  const boom = () => Promise.reject(new Error('ResourceNotFoundException: table arn:aws:dynamodb:secret-detail'));

  it('answers a registry failure with 500 server_error and no detail', async () => {
    f.registry.trustsForIssuer = boom;
    const outcome = await f.exchange(tokenRequest(await f.idp.mint()));
    const body = expectRejected(outcome, 'server_error', 500);
    expect(outcome.response.body).not.toContain('secret-detail');
    expect(body.error_description).not.toMatch(/dynamodb|arn/i);
    expect(outcome.audit).toMatchObject({ outcome: 'failed', reason: expect.stringContaining('ResourceNotFound') });
  });

  it('answers a replay store failure with 500 and issues no token', async () => {
    const replayStore: ReplayStore = { recordOnce: boom };
    const exchange = createTokenEndpoint({ ...f, replayStore });
    expectRejected(await exchange(tokenRequest(await f.idp.mint())), 'server_error', 500);
  });

  it('answers a throttled replay store with 503 temporarily_unavailable and Retry-After', async () => {
    const replayStore: ReplayStore = { recordOnce: () => Promise.reject(new TemporarilyUnavailableError('throttled')) };
    const exchange = createTokenEndpoint({ ...f, replayStore });
    const outcome = await exchange(tokenRequest(await f.idp.mint()));
    expectRejected(outcome, 'temporarily_unavailable', 503);
    expect(outcome.response.headers['Retry-After']).toBe('1');
  });

  it('answers a signer failure with 500 and issues no token; the assertion stays usable for a retry', async () => {
    const signer: Signer = {
      activeKey: () => f.signer.activeKey(),
      publicKeys: () => f.signer.publicKeys(),
      sign: boom,
    };
    const exchange = createTokenEndpoint({ ...f, signer });
    const assertion = await f.idp.mint();
    expectRejected(await exchange(tokenRequest(assertion)), 'server_error', 500);
    // The jti was recorded concurrently, then released: no token left, so the caller may retry, once.
    expectIssued(await f.exchange(tokenRequest(assertion)));
    expectRejected(await f.exchange(tokenRequest(assertion)), 'invalid_grant', 400, /jti replayed/);
  });

  it('reports a replayed assertion even when signing failed at the same time', async () => {
    const assertion = await f.idp.mint();
    await f.exchange(tokenRequest(assertion));
    const signer: Signer = {
      activeKey: () => f.signer.activeKey(),
      publicKeys: () => f.signer.publicKeys(),
      sign: boom,
    };
    const exchange = createTokenEndpoint({ ...f, signer });
    expectRejected(await exchange(tokenRequest(assertion)), 'invalid_grant', 400, /jti replayed/);
  });

  it('answers an issuer key set timeout with 503 temporarily_unavailable', async () => {
    f.keyResolver.keysFor = () => () => Promise.reject(new errors.JWKSTimeout());
    expectRejected(await f.exchange(tokenRequest(await f.idp.mint())), 'temporarily_unavailable', 503);
  });

  it('answers a bug in the core (a thrown TypeError) with 500 server_error', async () => {
    f.registry.getClient = () => {
      throw new TypeError('cannot read properties of undefined');
    };
    expectRejected(await f.exchange(tokenRequest(await f.idp.mint())), 'server_error', 500);
  });
});
