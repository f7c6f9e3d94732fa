import { UNVERIFIED_ASSERTION } from '../../lambda/core/assertion';
import type { HttpApiHandler } from '../../lambda/handlers/api';
import {
  basic,
  CLIENTS,
  createFixture,
  type Fixture,
  ISSUER,
  NOW,
  SECRET,
  type TokenRequestOptions,
  tokenRequest,
} from '../support/fixture';
import { callHandler, type HandlerAnswer, LogCapture, tokenHandler } from '../support/hardening';
import { TestIdp } from '../support/test-idp';

/** The module object itself (not an import's copy of it), so that spies see the calls lambda/core/secrets.ts makes. */
const crypto: typeof import('node:crypto') = require('node:crypto');

/**
 * Abuse of the public token endpoint, through the handler: oversized input is refused before any lookup, secrets are
 * compared in constant time with a decoy for unknown clients, and failures that would tell an attacker which
 * clients, issuers or tenants exist all look the same from outside.
 */
describe('abuse of the token endpoint', () => {
  let f: Fixture;
  let handler: HttpApiHandler;
  let assertion: string;

  beforeEach(async () => {
    f = await createFixture();
    handler = tokenHandler(f, new LogCapture().logger);
    assertion = await f.idp.mint();
  });
  afterEach(() => jest.restoreAllMocks());

  const send = (options: TokenRequestOptions = {}, token: string | undefined = assertion) =>
    callHandler(handler, tokenRequest(token, options));

  describe('size caps, applied before any lookup', () => {
    let clientLookups: jest.SpyInstance;
    beforeEach(() => {
      clientLookups = jest.spyOn(f.registry, 'getClient');
    });

    it.each([
      ['a 10 MB body', { rawBody: `assertion=${'a'.repeat(10 * 1024 * 1024)}` }],
      ['a 10 MB base64-encoded body', { rawBody: 'a'.repeat(10 * 1024 * 1024), base64: true }],
      ['a body one byte above 16 KiB', { rawBody: 'a'.repeat(16 * 1024 + 1) }],
      ['a body of 6,000 three-byte characters (18 KB in UTF-8)', { rawBody: '€'.repeat(6_000) }],
    ])('refuses %s with invalid_request', async (_, options) => {
      const answer = await send(options);
      expectRefusal(answer, 400, 'invalid_request');
      expect(answer.body.error_description).toMatch(/too large/);
      expect(clientLookups).not.toHaveBeenCalled();
    });

    it('refuses an assertion above 8 KiB in a body within its cap, before authenticating anyone', async () => {
      const big = await f.idp.mint({ claims: { padding: 'x'.repeat(8 * 1024) } });
      const answer = await send({}, big);
      expectRefusal(answer, 400, 'invalid_request');
      expect(clientLookups).not.toHaveBeenCalled();
      expect(f.registry.lookups).toBe(0);
    });

    it('refuses a 1 MB Authorization header as a failed authentication, without looking the client up', async () => {
      const huge = basic('x'.repeat(768 * 1024), SECRET);
      expect(huge.length).toBeGreaterThan(1024 * 1024);
      const answer = await send({ authorization: huge });
      expectRefusal(answer, 401, 'invalid_client');
      expect(clientLookups).not.toHaveBeenCalled();
    });

    it('refuses a client_id above 256 characters without looking it up', async () => {
      const answer = await send({ authorization: null, form: { client_id: 'c'.repeat(257), client_secret: SECRET } });
      expectRefusal(answer, 401, 'invalid_client');
      expect(clientLookups).not.toHaveBeenCalled();
    });

    it('refuses a megabyte Content-Type with invalid_request, and still serves a request with 5,000 extra headers', async () => {
      const headers = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`x-padding-${i}`, 'y'.repeat(100)]));
      expectRefusal(
        await send({ headers: { 'content-type': `text/${'x'.repeat(1024 * 1024)}` } }),
        400,
        'invalid_request',
      );
      const padded = await send({ headers });
      expect(padded.status).toBe(200);
    });
  });

  describe('constant-time secret comparison', () => {
    let hmacs: jest.SpyInstance;
    let comparisons: jest.SpyInstance;
    beforeEach(() => {
      hmacs = jest.spyOn(crypto, 'createHmac');
      comparisons = jest.spyOn(crypto, 'timingSafeEqual');
    });

    /** The work client authentication did for one request: HMACs computed and constant-time comparisons made. */
    async function workFor(options: TokenRequestOptions): Promise<{ hmacs: number; comparisons: number }> {
      hmacs.mockClear();
      comparisons.mockClear();
      const answer = await send(options);
      expectRefusal(answer, 401, 'invalid_client');
      return { hmacs: hmacs.mock.calls.length, comparisons: comparisons.mock.calls.length };
    }

    it('compares a wrong secret with timingSafeEqual, never with ===', async () => {
      const work = await workFor({ authorization: basic(CLIENTS.basic, `${SECRET.slice(0, -1)}!`) });
      expect(work).toEqual({ hmacs: 1, comparisons: 1 });
    });

    it.each([
      ['an unknown client', () => basic('nobody-by-this-name', SECRET)],
      ['a disabled client', () => basic('disabled-client', SECRET)],
      ['a secret sent to a private_key_jwt client', () => basic(CLIENTS.jwt, SECRET)],
    ])('does the same work for %s as for a wrong secret (a decoy hash is checked)', async (_, authorization) => {
      f.registry.clients.set('disabled-client', {
        ...f.registry.clients.get(CLIENTS.basic)!,
        clientId: 'disabled-client',
        enabled: false,
      });
      const decoy = await workFor({ authorization: authorization() });
      const wrongSecret = await workFor({ authorization: basic(CLIENTS.basic, 'not-the-secret') });
      expect(decoy).toEqual(wrongSecret);
      expect(decoy.hmacs).toBeGreaterThan(0);
    });
  });

  describe('no enumeration through error texts', () => {
    it('answers every failed client authentication with the same status, body and challenge', async () => {
      f.registry.clients.set('disabled-client', {
        ...f.registry.clients.get(CLIENTS.basic)!,
        clientId: 'disabled-client',
        enabled: false,
      });
      const answers = await Promise.all(
        [
          basic('nobody-by-this-name', SECRET),
          basic(CLIENTS.basic, 'wrong-secret'),
          basic('disabled-client', SECRET),
          basic(CLIENTS.jwt, SECRET),
          basic(CLIENTS.post, SECRET),
          basic(CLIENTS.public, SECRET),
        ].map((authorization) => send({ authorization })),
      );
      for (const answer of answers) expectRefusal(answer, 401, 'invalid_client');
      expect(new Set(answers.map(outside)).size).toBe(1);
    });

    it('answers every untrusted issuer the same, whether unknown, disabled, expired, of a disabled tenant or ambiguous', async () => {
      const mintFrom = async (issuer: string, claims: Record<string, unknown> = {}) => {
        const idp = await TestIdp.create({
          issuer,
          audience: ISSUER,
          clientId: CLIENTS.basic,
          now: () => f.clock.now(),
        });
        f.keyResolver.sets.set(`${issuer}/keys`, idp.jwks);
        return idp.mint({ claims });
      };
      f.addTrust({ tenantId: 'off', issuer: 'https://disabled.example', enabled: false });
      f.addTrust({ tenantId: 'past', issuer: 'https://expired.example', notAfter: NOW - 1 });
      f.registry.trusts.push({
        trust: {
          ...f.registry.trusts[0]!.trust,
          issuer: 'https://dormant.example',
          tenantId: 'dormant',
          jwksUri: 'https://dormant.example/keys',
        },
        tenant: { id: 'dormant', enabled: false },
      });
      f.addTrust({ tenantId: 'shared-a', issuer: 'https://shared.example', tenantClaim: 'a' });
      f.addTrust({ tenantId: 'shared-b', issuer: 'https://shared.example', tenantClaim: 'b' });
      f.addTrust({ tenantId: 'twice-1', issuer: 'https://twice.example' });
      f.addTrust({ tenantId: 'twice-2', issuer: 'https://twice.example' });

      const answers = await Promise.all(
        [
          mintFrom('https://unknown.example'),
          mintFrom('https://disabled.example'),
          mintFrom('https://expired.example'),
          mintFrom('https://dormant.example'),
          mintFrom('https://shared.example', { tenant: 'c' }),
          mintFrom('https://twice.example'),
        ].map(async (pending) => send({}, await pending)),
      );
      for (const answer of answers) expectRefusal(answer, 400, 'invalid_grant');
      expect(new Set(answers.map(outside)).size).toBe(1);
      expect(answers[0]!.body.error_description).toBe(UNVERIFIED_ASSERTION);
    });

    it('never echoes the assertion, the secret or a claim in an error description', async () => {
      const marked = await f.idp.mint({ claims: { sub: 'sub-marker-7f3a', aud: 'https://aud-marker-7f3a.example' } });
      const answers = [
        await send({}, marked),
        await send({ authorization: basic('client-marker-7f3a', SECRET) }),
        await send({ form: { scope: 'scope-marker-7f3a' } }),
        await send({ form: { resource: 'https://resource-marker-7f3a.example/' } }),
      ];
      for (const answer of answers) {
        expect(answer.status).toBeGreaterThanOrEqual(400);
        const text = JSON.stringify(answer.raw);
        expect(text).not.toContain('marker-7f3a');
        expect(text).not.toContain(marked.split('.')[2]);
        expect(text).not.toContain(SECRET);
      }
    });
  });
});

function expectRefusal(answer: HandlerAnswer, status: number, error: string): void {
  expect({ status: answer.status, error: answer.body.error }).toEqual({ status, error });
  expect(answer.body).not.toHaveProperty('access_token');
  expect(answer.headers['Cache-Control']).toBe('no-store');
}

/** What a caller can observe of a refusal: status, body and headers. */
function outside(answer: HandlerAnswer): string {
  return JSON.stringify({ status: answer.status, body: answer.body, headers: answer.headers });
}
