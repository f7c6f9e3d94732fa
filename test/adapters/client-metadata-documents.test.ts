import type { IncomingMessage } from 'node:http';
import {
  RemoteClientMetadataDocuments,
  type RemoteClientMetadataDocumentsOptions,
} from '../../lambda/adapters/client-metadata-documents';
import { clientFromMetadataDocument } from '../../lambda/core/clients/metadata-document';
import { HttpStub } from '../support/http-stub';

const KEY_1 = {
  kty: 'EC',
  crv: 'P-256',
  kid: 'k1',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
};
const KEY_2 = { ...KEY_1, kid: 'k2' };

/** The metadata documents adapter against a real HTTP server on loopback (local mode allows http there). */
describe('client metadata documents', () => {
  let client: HttpStub;
  let clock: number;
  const now = () => clock;
  const local = (extra: RemoteClientMetadataDocumentsOptions = {}) =>
    new RemoteClientMetadataDocuments({ allowHttpLoopback: true, allowPrivateAddresses: true, now, ...extra });
  const url = (path = '/client') => `${client.origin}${path}`;
  const document = (path = '/client', extra: Record<string, unknown> = {}) => ({
    client_id: url(path),
    redirect_uris: ['http://127.0.0.1:9/callback'],
    ...extra,
  });
  /** Serves a valid document at path, with the given response headers. */
  const serve = (
    path = '/client',
    headers: Record<string, string> = {},
    extra: () => Record<string, unknown> = () => ({}),
  ) =>
    client.routes.set(path, (_, response) => {
      response
        .writeHead(200, { 'content-type': 'application/json', ...headers })
        .end(JSON.stringify(document(path, extra())));
    });
  const seconds = (s: number) => {
    clock += s * 1000;
  };

  beforeEach(async () => {
    client = await HttpStub.start();
    clock = 1_800_000_000_000;
  });
  afterEach(async () => {
    await client.close();
  });

  it('fetches the document, with Accept: application/json, and returns it as served', async () => {
    let request: IncomingMessage | undefined;
    client.routes.set('/client', (req, response) => {
      request = req;
      response.writeHead(200).end(JSON.stringify(document()));
    });
    await expect(local().fetch(url())).resolves.toEqual({ document: document() });
    expect(request?.headers.accept).toBe('application/json');
    expect(request?.headers['user-agent']).toBeTruthy();
  });

  it('uses a fetched document for 5 minutes without Cache-Control, then fetches it again', async () => {
    serve();
    const documents = local();
    await documents.fetch(url());
    seconds(299);
    await expect(documents.fetch(url())).resolves.toEqual({ document: document() });
    expect(client.count('/client')).toBe(1);
    seconds(2);
    await documents.fetch(url());
    expect(client.count('/client')).toBe(2);
  });

  it.each([
    ['max-age', 'public, max-age=600', undefined, 600],
    ['max-age less Age', 'max-age=600', '500', 100],
    ['a max-age under the minimum, raised to 60 s', 'max-age=5', undefined, 60],
    ['a max-age over the maximum, cut to 24 h', 'max-age=31536000', undefined, 86_400],
    ['no-store, kept for the minimum', 'no-store', undefined, 60],
    ['no-cache, kept for the minimum', 'No-Cache, max-age=3600', undefined, 60],
    ['a malformed max-age, ignored', 'max-age=soon', undefined, 300],
  ])('honours Cache-Control within its bounds: %s', async (_, cacheControl, age, lifetime) => {
    serve('/client', { 'cache-control': cacheControl, ...(age ? { age } : {}) });
    const documents = local();
    await documents.fetch(url());
    seconds(lifetime - 1);
    await documents.fetch(url());
    expect(client.count('/client')).toBe(1);
    seconds(2);
    await documents.fetch(url());
    expect(client.count('/client')).toBe(2);
  });

  it('picks up a key rotated in the document once the cached one expires', async () => {
    let keys = [KEY_1];
    serve('/client', { 'cache-control': 'max-age=120' }, () => ({
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys },
    }));
    const documents = local();
    const kids = async () => {
      const fetched = await documents.fetch(url());
      if (!('document' in fetched)) throw new Error(fetched.problem);
      const described = clientFromMetadataDocument(url(), fetched.document);
      if ('problem' in described) throw new Error(described.problem);
      return described.client.jwks?.keys.map((key) => key.kid);
    };
    await expect(kids()).resolves.toEqual(['k1']);
    keys = [KEY_2];
    seconds(60);
    await expect(kids()).resolves.toEqual(['k1']);
    seconds(61);
    await expect(kids()).resolves.toEqual(['k2']);
  });

  it('remembers a failure for the cooldown only, then fetches again', async () => {
    const documents = local();
    await expect(documents.fetch(url())).resolves.toEqual({ problem: 'client metadata document: HTTP 404' });
    seconds(29);
    await expect(documents.fetch(url())).resolves.toEqual({ problem: 'client metadata document: HTTP 404' });
    expect(client.count('/client')).toBe(1);
    serve();
    seconds(2);
    await expect(documents.fetch(url())).resolves.toEqual({ document: document() });
    expect(client.count('/client')).toBe(2);
  });

  it('remembers no failure when the cooldown is 0', async () => {
    const documents = local({ failureCooldownMs: 0 });
    await documents.fetch(url());
    await documents.fetch(url());
    expect(client.count('/client')).toBe(2);
  });

  it('never keeps an invalid document: it is a problem, retried after the cooldown', async () => {
    client.json('/client', { ...document(), client_id: 'https://impostor.example.com/client' });
    const documents = local();
    const mismatch = { problem: 'the metadata document names another client_id than its URL' };
    await expect(documents.fetch(url())).resolves.toEqual(mismatch);
    await expect(documents.fetch(url())).resolves.toEqual(mismatch);
    expect(client.count('/client')).toBe(1);
    serve();
    seconds(31);
    await expect(documents.fetch(url())).resolves.toEqual({ document: document() });
  });

  it('serves nothing stale: a document taken down is gone once its cache expires', async () => {
    serve();
    const documents = local();
    await documents.fetch(url());
    client.routes.delete('/client');
    seconds(301);
    await expect(documents.fetch(url())).resolves.toEqual({ problem: 'client metadata document: HTTP 404' });
  });

  it('refuses an oversized document (more than 5 KiB)', async () => {
    client.json('/client', { ...document(), padding: 'x'.repeat(6 * 1024) });
    const fetched = await local().fetch(url());
    expect(fetched).toEqual({ problem: expect.stringMatching(/^client metadata document: (declared|more than)/) });
  });

  it('refuses an oversized document that declares no length (streamed)', async () => {
    client.routes.set('/client', (_, response) => {
      response.writeHead(200, { 'transfer-encoding': 'chunked' });
      response.write(`{"client_id":"${url()}","padding":"`);
      for (let i = 0; i < 8; i++) response.write('x'.repeat(1024));
      response.end('"}');
    });
    await expect(local().fetch(url())).resolves.toEqual({ problem: 'client metadata document: more than 5120 bytes' });
  });

  it('gives up on a slow server at the timeout', async () => {
    client.routes.set('/client', () => {
      // Never answers.
    });
    const started = Date.now();
    await expect(local({ timeoutMs: 200 }).fetch(url())).resolves.toEqual({
      problem: 'client metadata document: timeout',
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('does not follow a redirect', async () => {
    serve('/elsewhere');
    client.routes.set('/client', (_, response) => response.writeHead(302, { location: url('/elsewhere') }).end());
    await expect(local().fetch(url())).resolves.toEqual({
      problem: 'client metadata document: HTTP 302 (redirects are not followed)',
    });
    expect(client.count('/elsewhere')).toBe(0);
  });

  it.each([
    [201, 'client metadata document: HTTP 201'],
    [403, 'client metadata document: HTTP 403'],
    [500, 'client metadata document: HTTP 500'],
  ])('refuses a %i answer', async (status, problem) => {
    client.routes.set('/client', (_, response) => response.writeHead(status).end(JSON.stringify(document())));
    await expect(local().fetch(url())).resolves.toEqual({ problem });
  });

  it('refuses a body that is not JSON', async () => {
    client.routes.set('/client', (_, response) => response.writeHead(200).end('{"client_id": '));
    await expect(local().fetch(url())).resolves.toEqual({ problem: 'client metadata document: body is not JSON' });
  });

  it('refuses loopback http outside local mode, without fetching', async () => {
    serve();
    const documents = new RemoteClientMetadataDocuments({ now });
    await expect(documents.fetch(url())).resolves.toEqual({
      problem: 'client_id is not a client ID metadata document URL',
    });
    expect(client.count('/client')).toBe(0);
  });

  it.each([
    ['loopback', 'https://127.0.0.1:1/client'],
    ['a private network', 'https://10.0.0.1/client'],
    ['the instance metadata service', 'https://169.254.169.254/latest/meta-data'],
  ])('refuses a URL on %s with the default safe fetch', async (_, target) => {
    const documents = new RemoteClientMetadataDocuments({ now });
    await expect(documents.fetch(target)).resolves.toEqual({
      problem: 'client metadata document: refusing to fetch from a private address',
    });
  });

  it('refuses a URL that is not a metadata document URL, without fetching', async () => {
    let calls = 0;
    const documents = new RemoteClientMetadataDocuments({
      now,
      fetch: async () => {
        calls++;
        return new Response('{}');
      },
    });
    for (const target of ['client-123', 'https://app.example.com/', 'https://app.example.com/a#b']) {
      await expect(documents.fetch(target)).resolves.toEqual({
        problem: 'client_id is not a client ID metadata document URL',
      });
    }
    expect(calls).toBe(0);
  });

  it('turns anything an injected fetch throws into a problem', async () => {
    const documents = new RemoteClientMetadataDocuments({
      now,
      fetch: () => Promise.reject('not even an Error'),
    });
    await expect(documents.fetch('https://app.example.com/client')).resolves.toEqual({
      problem: 'client metadata document: fetch failed',
    });
  });

  it('shares one request among concurrent fetches of one URL', async () => {
    client.routes.set('/client', (_, response) => {
      setTimeout(() => response.writeHead(200).end(JSON.stringify(document())), 100);
    });
    const documents = local();
    const results = await Promise.all(Array.from({ length: 5 }, () => documents.fetch(url())));
    expect(results).toEqual(Array(5).fill({ document: document() }));
    expect(client.count('/client')).toBe(1);
  });

  it('keeps at most maxEntries URLs, evicting the least recently used', async () => {
    for (const path of ['/a', '/b', '/c']) serve(path);
    const documents = local({ maxEntries: 2 });
    await documents.fetch(url('/a'));
    await documents.fetch(url('/b'));
    await documents.fetch(url('/a')); // a is now the most recently used
    await documents.fetch(url('/c')); // evicts b
    await documents.fetch(url('/a'));
    expect(client.count('/a')).toBe(1);
    await documents.fetch(url('/b'));
    expect(client.count('/b')).toBe(2);
  });

  it('bounds failures too: invented URLs cannot grow memory', async () => {
    const documents = local({ maxEntries: 3 });
    for (let i = 0; i < 10; i++) await documents.fetch(url(`/invented-${i}`));
    await documents.fetch(url('/invented-0'));
    expect(client.count('/invented-0')).toBe(2);
    expect((documents as unknown as { entries: Map<string, unknown> }).entries.size).toBe(3);
  });
});
