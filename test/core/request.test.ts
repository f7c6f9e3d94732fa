import { createFixture, type Fixture, MCP, tokenRequest } from '../support/fixture';
import { expectIssued, expectRejected } from '../support/outcome';

/** PROTOCOL.md §1: the request. Each test changes one thing in an otherwise valid request. */
describe('token request syntax', () => {
  let f: Fixture;
  let assertion: string;
  beforeEach(async () => {
    f = await createFixture();
    assertion = await f.idp.mint();
  });

  it('issues a token for a valid request (the baseline every rejection below departs from)', async () => {
    expectIssued(await f.exchange(tokenRequest(assertion)));
  });

  it('rejects a method other than POST with 405 invalid_request and Allow: POST', async () => {
    const outcome = await f.exchange(tokenRequest(assertion, { method: 'GET' }));
    expectRejected(outcome, 'invalid_request', 405);
    expect(outcome.response.headers.Allow).toBe('POST');
  });

  it('rejects a JSON body', async () => {
    const outcome = await f.exchange(
      tokenRequest(assertion, { headers: { 'content-type': 'application/json' }, rawBody: '{"assertion":"x"}' }),
    );
    expectRejected(outcome, 'invalid_request');
  });

  it('rejects a request without Content-Type', async () => {
    const request = tokenRequest(assertion);
    const { 'content-type': _, ...headers } = request.headers;
    expectRejected(await f.exchange({ ...request, headers }), 'invalid_request');
  });

  it('accepts a charset parameter of UTF-8 in any case', async () => {
    const headers = { 'content-type': 'Application/X-WWW-Form-Urlencoded; Charset=UTF-8' };
    expectIssued(await f.exchange(tokenRequest(assertion, { headers })));
  });

  it('rejects a charset other than UTF-8', async () => {
    const headers = { 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' };
    expectRejected(await f.exchange(tokenRequest(assertion, { headers })), 'invalid_request');
  });

  it.each([
    'authorization_code',
    'client_credentials',
    'refresh_token',
    'urn:ietf:params:oauth:grant-type:token-exchange',
  ])('rejects grant_type %s with unsupported_grant_type', async (grantType) => {
    const outcome = await f.exchange(tokenRequest(assertion, { form: { grant_type: grantType } }));
    expectRejected(outcome, 'unsupported_grant_type');
  });

  it('rejects a request without grant_type with invalid_request', async () => {
    const request = tokenRequest(undefined, { rawBody: `assertion=${assertion}` });
    expectRejected(await f.exchange(request), 'invalid_request');
  });

  it('rejects a request without assertion with invalid_request', async () => {
    expectRejected(await f.exchange(tokenRequest(undefined)), 'invalid_request');
  });

  it('rejects an empty assertion as if it were missing', async () => {
    expectRejected(await f.exchange(tokenRequest('')), 'invalid_request');
  });

  it('rejects two assertions with invalid_request', async () => {
    const second = await f.idp.mint();
    const outcome = await f.exchange(tokenRequest(undefined, { form: { assertion: [assertion, second] } }));
    expectRejected(outcome, 'invalid_request');
  });

  it.each(['grant_type', 'scope', 'client_id'])(
    'rejects a repeated %s parameter with invalid_request',
    async (name) => {
      const values: Record<string, [string, string]> = {
        grant_type: ['urn:ietf:params:oauth:grant-type:jwt-bearer', 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
        scope: ['files:read', 'files:read'],
        client_id: ['claude', 'claude'],
      };
      const outcome = await f.exchange(tokenRequest(assertion, { form: { [name]: values[name] } }));
      const body = expectRejected(outcome, 'invalid_request');
      expect(body.error_description).toContain(name);
    },
  );

  it('accepts one resource parameter', async () => {
    expectIssued(await f.exchange(tokenRequest(assertion, { form: { resource: MCP } })));
  });

  it('rejects a relative resource with invalid_target', async () => {
    expectRejected(await f.exchange(tokenRequest(assertion, { form: { resource: '/mcp' } })), 'invalid_target');
  });

  it('rejects a resource with a fragment with invalid_target', async () => {
    expectRejected(await f.exchange(tokenRequest(assertion, { form: { resource: `${MCP}#frag` } })), 'invalid_target');
  });

  it('rejects a body above the size cap with invalid_request', async () => {
    const padding = 'x'.repeat(f.config.maxBodyBytes);
    const outcome = await f.exchange(tokenRequest(assertion, { form: { padding } }));
    expect(expectRejected(outcome, 'invalid_request').error_description).toMatch(/too large/);
  });

  it('rejects a base64-encoded body above the size cap with invalid_request', async () => {
    const padding = 'x'.repeat(f.config.maxBodyBytes);
    const outcome = await f.exchange(tokenRequest(assertion, { form: { padding }, base64: true }));
    expectRejected(outcome, 'invalid_request');
  });

  it('rejects an assertion above its size cap with invalid_request', async () => {
    const big = await f.idp.mint({ claims: { padding: 'x'.repeat(f.config.maxAssertionBytes) } });
    expectRejected(await f.exchange(tokenRequest(big)), 'invalid_request');
  });

  it('handles a base64-encoded body as API Gateway delivers it', async () => {
    expectIssued(await f.exchange(tokenRequest(assertion, { base64: true })));
  });

  it('rejects a body that is not UTF-8 with invalid_request', async () => {
    const rawBody = Buffer.concat([Buffer.from('grant_type=x&assertion='), Buffer.from([0xff, 0xfe])]).toString(
      'base64',
    );
    const request = { ...tokenRequest(assertion), body: rawBody, isBase64Encoded: true };
    expectRejected(await f.exchange(request), 'invalid_request');
  });

  it('rejects a malformed scope with invalid_scope', async () => {
    expectRejected(
      await f.exchange(tokenRequest(assertion, { form: { scope: 'files:read "quoted"' } })),
      'invalid_scope',
    );
  });

  it('treats an empty scope parameter as omitted', async () => {
    const body = expectIssued(await f.exchange(tokenRequest(assertion, { form: { scope: '' } })));
    expect(body.scope).toBe('files:read');
  });
});
