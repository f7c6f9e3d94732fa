import {
  clientFromMetadataDocument,
  type DocumentedClient,
  isClientIdMetadataUrl,
  MAX_CLIENT_ID_URL_LENGTH,
} from '../../../lambda/core/clients/metadata-document';

const URL_ = 'https://app.example.com/oauth/client.json';
const PUBLIC_JWK = {
  kty: 'EC',
  crv: 'P-256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
};

/** A minimal valid document for URL_, with the given members added (or removed when undefined). */
function doc(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = { client_id: URL_, redirect_uris: ['https://app.example.com/callback'] };
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return base;
}

function accepted(document: unknown, url = URL_): DocumentedClient {
  const result = clientFromMetadataDocument(url, document);
  if ('problem' in result) throw new Error(`refused: ${result.problem}`);
  return result;
}

function problem(document: unknown, url = URL_): string {
  const result = clientFromMetadataDocument(url, document);
  if (!('problem' in result)) throw new Error('accepted');
  return result.problem;
}

describe('isClientIdMetadataUrl', () => {
  it.each([
    'https://app.example.com/client',
    'https://app.example.com/oauth/client.json',
    'https://app.example.com:8443/client',
    'https://app.example.com/client?v=2',
    'https://app.example.com/a/b/',
  ])('accepts %s', (url) => {
    expect(isClientIdMetadataUrl(url)).toBe(true);
  });

  it.each([
    ['not a URL', 'client-123'],
    ['http', 'http://app.example.com/client'],
    ['another scheme', 'ftp://app.example.com/client'],
    ['no path', 'https://app.example.com'],
    ['the root path', 'https://app.example.com/'],
    ['a fragment', 'https://app.example.com/client#x'],
    ['an empty fragment', 'https://app.example.com/client#'],
    ['a username', 'https://user@app.example.com/client'],
    ['a username and password', 'https://user:pw@app.example.com/client'],
    ['a single-dot segment', 'https://app.example.com/./client'],
    ['a double-dot segment', 'https://app.example.com/a/../client'],
    ['a percent-encoded dot segment', 'https://app.example.com/a/%2E%2e/client'],
    ['an upper-case host (not normalised)', 'https://App.Example.com/client'],
    ['the default port spelled out (not normalised)', 'https://app.example.com:443/client'],
    ['a backslash', 'https://app.example.com\\client'],
    ['embedded whitespace', 'https://app.exa\nmple.com/client'],
    ['leading whitespace', ' https://app.example.com/client'],
    ['a longer URL than the limit', `https://app.example.com/${'a'.repeat(MAX_CLIENT_ID_URL_LENGTH)}`],
  ])('refuses %s', (_, url) => {
    expect(isClientIdMetadataUrl(url)).toBe(false);
  });

  it('accepts http on a loopback host only when asked (local mode)', () => {
    for (const url of ['http://127.0.0.1:8080/client', 'http://localhost:8080/client', 'http://[::1]:8080/client']) {
      expect(isClientIdMetadataUrl(url)).toBe(false);
      expect(isClientIdMetadataUrl(url, true)).toBe(true);
    }
    expect(isClientIdMetadataUrl('http://app.example.com/client', true)).toBe(false);
  });
});

describe('clientFromMetadataDocument', () => {
  it('turns a minimal document into a public client of the code grant, for every tenant, not first party', () => {
    const { client, display } = accepted(doc());
    expect(client).toEqual({
      clientId: URL_,
      authMethod: 'none',
      secrets: [],
      grantTypes: ['authorization_code'],
      tenants: ['*'],
      enabled: true,
      redirectUris: ['https://app.example.com/callback'],
      firstParty: false,
      display: { host: 'app.example.com' },
    });
    expect(display).toEqual({ host: 'app.example.com' });
    expect(client.scopes).toBeUndefined();
  });

  it('ignores scope: what a CIMD client may ask for is the operator policy', () => {
    expect(accepted(doc({ scope: 'admin everything' })).client.scopes).toBeUndefined();
  });

  it('refuses a URL that is not a client ID metadata document URL', () => {
    const url = 'https://app.example.com/';
    expect(problem({ ...doc(), client_id: url }, url)).toBe('client_id is not a client ID metadata document URL');
  });

  it.each([
    ['null', null],
    ['an array', [doc()]],
    ['a string', JSON.stringify(doc())],
    ['a number', 42],
  ])('refuses a document that is %s, not an object', (_, document) => {
    expect(problem(document)).toBe('the metadata document is not a JSON object');
  });

  describe('client_id', () => {
    it('refuses a document without client_id', () => {
      expect(problem(doc({ client_id: undefined }))).toBe('the metadata document has no client_id');
    });

    it.each([
      ['another URL', 'https://other.example.com/oauth/client.json'],
      ['a trailing slash', `${URL_}/`],
      ['the default port spelled out', 'https://app.example.com:443/oauth/client.json'],
      ['another case', URL_.toUpperCase()],
      ['a number', 1],
    ])('refuses a client_id that differs from the URL: %s', (_, clientId) => {
      expect(problem(doc({ client_id: clientId }))).toBe('the metadata document names another client_id than its URL');
    });

    it('does not count an inherited client_id', () => {
      const document = Object.create({ client_id: URL_ }) as Record<string, unknown>;
      document.redirect_uris = ['https://app.example.com/callback'];
      expect(problem(document)).toBe('the metadata document has no client_id');
    });
  });

  describe('secrets', () => {
    it.each([
      ['client_secret', 'shh'],
      ['client_secret', null],
      ['client_secret_expires_at', 0],
    ])('refuses a document with %s (%p)', (name, value) => {
      expect(problem(doc({ [name]: value }))).toBe(`the metadata document must not have ${name}`);
    });

    it.each(['client_secret_basic', 'client_secret_post', 'client_secret_jwt'])('refuses the %s method', (method) => {
      expect(problem(doc({ token_endpoint_auth_method: method }))).toBe(
        `token_endpoint_auth_method ${method} needs a shared secret, which a metadata document cannot have`,
      );
    });
  });

  describe('redirect_uris', () => {
    it('keeps every redirect URI, in order', () => {
      const uris = ['https://app.example.com/cb', 'http://127.0.0.1/cb', 'com.example.app:/cb'];
      expect(accepted(doc({ redirect_uris: uris })).client.redirectUris).toEqual(uris);
    });

    it('refuses a document without redirect_uris', () => {
      expect(problem(doc({ redirect_uris: undefined }))).toBe('the metadata document has no redirect_uris');
    });

    it.each([
      ['empty', []],
      ['a string', 'https://app.example.com/cb'],
      ['holding a number', ['https://app.example.com/cb', 7]],
    ])('refuses redirect_uris that is %s', (_, value) => {
      expect(problem(doc({ redirect_uris: value }))).toBe('redirect_uris must be a non-empty list of strings');
    });

    it('refuses more than 20 redirect URIs', () => {
      const uris = Array.from({ length: 21 }, (_, i) => `https://app.example.com/cb/${i}`);
      expect(problem(doc({ redirect_uris: uris }))).toBe('redirect_uris must list at most 20 URIs');
    });

    it.each([
      ['http on a public host', 'http://app.example.com/cb', 'http is accepted only for loopback hosts'],
      ['a fragment', 'https://app.example.com/cb#x', 'must not have a fragment'],
      ['credentials', 'https://u:p@app.example.com/cb', 'must not carry credentials'],
      ['javascript:', 'javascript:alert(1)', 'the javascript scheme cannot be a redirect URI'],
      ['a relative reference', '/cb', 'must be an absolute URI'],
    ])('refuses a redirect URI with %s, naming its index', (_, uri, why) => {
      expect(problem(doc({ redirect_uris: ['https://app.example.com/ok', uri] }))).toMatch(
        new RegExp(`^redirect_uris\\[1\\] ${why.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
      );
    });
  });

  describe('grant_types and response_types', () => {
    it('keeps refresh_token when listed', () => {
      const grants = ['refresh_token', 'authorization_code'];
      expect(accepted(doc({ grant_types: grants })).client.grantTypes).toEqual(['authorization_code', 'refresh_token']);
    });

    it('ignores grants it does not give a CIMD client (they are the operator policy)', () => {
      const grants = ['authorization_code', 'client_credentials', 'urn:ietf:params:oauth:grant-type:jwt-bearer'];
      expect(accepted(doc({ grant_types: grants })).client.grantTypes).toEqual(['authorization_code']);
    });

    it.each([
      ['without authorization_code', ['refresh_token']],
      ['empty', []],
      ['a string', 'authorization_code'],
      ['holding a number', ['authorization_code', 1]],
    ])('refuses grant_types %s', (_, value) => {
      expect(problem(doc({ grant_types: value }))).toBe(
        'grant_types must be a list of strings that includes authorization_code',
      );
    });

    it('accepts response_types that include code', () => {
      expect(accepted(doc({ response_types: ['code', 'token'] })).client.clientId).toBe(URL_);
    });

    it.each([
      ['without code', ['token']],
      ['a string', 'code'],
    ])('refuses response_types %s', (_, value) => {
      expect(problem(doc({ response_types: value }))).toBe(
        'response_types must be a list of strings that includes code',
      );
    });
  });

  describe('token_endpoint_auth_method', () => {
    it('accepts none explicitly', () => {
      expect(accepted(doc({ token_endpoint_auth_method: 'none' })).client.authMethod).toBe('none');
    });

    it('ignores key members of a public client', () => {
      const { client } = accepted(doc({ jwks_uri: 'https://app.example.com/jwks' }));
      expect(client.jwksUri).toBeUndefined();
      expect(client.jwks).toBeUndefined();
    });

    it('accepts private_key_jwt with an https jwks_uri', () => {
      const { client } = accepted(
        doc({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://app.example.com/jwks' }),
      );
      expect(client).toMatchObject({ authMethod: 'private_key_jwt', jwksUri: 'https://app.example.com/jwks' });
      expect(client.jwks).toBeUndefined();
    });

    it('accepts private_key_jwt with an inline set of public keys', () => {
      const jwks = { keys: [{ ...PUBLIC_JWK, kid: 'k1' }] };
      const { client } = accepted(doc({ token_endpoint_auth_method: 'private_key_jwt', jwks }));
      expect(client).toMatchObject({ authMethod: 'private_key_jwt', jwks });
      expect(client.jwksUri).toBeUndefined();
    });

    it('refuses private_key_jwt without keys', () => {
      expect(problem(doc({ token_endpoint_auth_method: 'private_key_jwt' }))).toBe(
        'private_key_jwt needs jwks_uri or jwks',
      );
    });

    it('refuses jwks and jwks_uri together', () => {
      const both = { jwks: { keys: [PUBLIC_JWK] }, jwks_uri: 'https://app.example.com/jwks' };
      expect(problem(doc({ token_endpoint_auth_method: 'private_key_jwt', ...both }))).toBe(
        'jwks and jwks_uri must not both be present',
      );
    });

    it.each([
      ['http', 'http://app.example.com/jwks', 'jwks_uri must use https'],
      ['not a URL', 'jwks', 'jwks_uri must be an absolute URL'],
      ['credentials', 'https://u:p@app.example.com/jwks', 'jwks_uri must not carry credentials'],
      ['a fragment', 'https://app.example.com/jwks#k', 'jwks_uri must not have a fragment'],
      ['a number', 7, 'jwks_uri must be a string'],
    ])('refuses a jwks_uri that is %s', (_, jwksUri, why) => {
      expect(problem(doc({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUri }))).toBe(why);
    });

    it.each([
      ['tls_client_auth', '"tls_client_auth"'],
      ['x'.repeat(500), `"${'x'.repeat(40)}…"`],
    ])('refuses another method, quoting at most 40 characters of it', (method, shown) => {
      expect(problem(doc({ token_endpoint_auth_method: method }))).toBe(
        `token_endpoint_auth_method ${shown} is not supported (none or private_key_jwt)`,
      );
    });

    it('refuses a method that is not a string', () => {
      expect(problem(doc({ token_endpoint_auth_method: ['none'] }))).toBe(
        'token_endpoint_auth_method must be a string',
      );
    });
  });

  describe('jwks', () => {
    const withKeys = (jwks: unknown) => doc({ token_endpoint_auth_method: 'private_key_jwt', jwks });

    it.each(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'])('refuses a key with the private member %s', (name) => {
      expect(problem(withKeys({ keys: [PUBLIC_JWK, { ...PUBLIC_JWK, [name]: 'secret' }] }))).toBe(
        'jwks.keys[1] carries private key material, which a metadata document must not have',
      );
    });

    it('refuses a symmetric key', () => {
      expect(problem(withKeys({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }))).toBe(
        'jwks.keys[0] is a symmetric key, which a metadata document must not have',
      );
    });

    it('refuses private key material even in the document of a public client', () => {
      expect(problem(doc({ jwks: { keys: [{ ...PUBLIC_JWK, d: 'secret' }] } }))).toBe(
        'jwks.keys[0] carries private key material, which a metadata document must not have',
      );
    });

    it.each([
      ['not an object', 'keys'],
      ['without keys', {}],
      ['with keys not a list', { keys: PUBLIC_JWK }],
    ])('refuses jwks %s', (_, jwks) => {
      expect(problem(withKeys(jwks))).toBe('jwks must be an object with a keys list');
    });

    it('refuses an empty key set', () => {
      expect(problem(withKeys({ keys: [] }))).toBe('jwks has no keys');
    });

    it('refuses a key without kty', () => {
      expect(problem(withKeys({ keys: [{ x: 'y' }] }))).toBe('jwks.keys[0] is not a JSON Web Key');
    });
  });

  describe('display', () => {
    it('keeps name, client_uri and logo_uri beside the verified host (with its port)', () => {
      const url = 'https://app.example.com:8443/client';
      const { display, client } = accepted(
        {
          ...doc({ client_id: url }),
          client_name: '  Example App ',
          client_uri: 'https://app.example.com/',
          logo_uri: 'https://cdn.example.com/logo.png',
        },
        url,
      );
      expect(display).toEqual({
        host: 'app.example.com:8443',
        name: 'Example App',
        uri: 'https://app.example.com/',
        logoUri: 'https://cdn.example.com/logo.png',
      });
      expect(client.display).toEqual(display);
    });

    it('removes control and format characters (bidi overrides, zero-width) and collapses whitespace', () => {
      const name = 'Good\u202Eevil\u200B App\n\tName\u0000';
      expect(accepted(doc({ client_name: name })).display.name).toBe('Good evil App Name');
    });

    it(`cuts a long name at 100 characters with an ellipsis`, () => {
      const name = accepted(doc({ client_name: `${'a'.repeat(99)}😀${'b'.repeat(50)}` })).display.name!;
      expect(Array.from(name)).toHaveLength(100);
      expect(name).toBe(`${'a'.repeat(99)}…`);
    });

    it.each([
      ['not a string', { client_name: 42 }],
      ['blank', { client_name: ' \u200B\n ' }],
    ])('drops a name that is %s, keeping the client', (_, extra) => {
      expect(accepted(doc(extra)).display).toEqual({ host: 'app.example.com' });
    });

    it.each([
      ['http', 'http://app.example.com/'],
      ['javascript:', 'javascript:alert(1)'],
      ['data:', 'data:image/png;base64,AAAA'],
      ['credentials', 'https://u:p@app.example.com/'],
      ['not a string', 7],
      ['too long', `https://app.example.com/${'a'.repeat(2100)}`],
    ])('drops a client_uri or logo_uri that is %s, keeping the client', (_, value) => {
      expect(accepted(doc({ client_uri: value, logo_uri: value })).display).toEqual({ host: 'app.example.com' });
    });
  });

  describe('local mode (a loopback http client_id)', () => {
    const local = 'http://127.0.0.1:9999/client';

    it('accepts loopback http URLs in the document', () => {
      const { client, display } = accepted(
        {
          client_id: local,
          redirect_uris: ['http://127.0.0.1:9999/cb'],
          token_endpoint_auth_method: 'private_key_jwt',
          jwks_uri: 'http://127.0.0.1:9999/jwks',
          logo_uri: 'http://127.0.0.1:9999/logo.png',
        },
        local,
      );
      expect(client.jwksUri).toBe('http://127.0.0.1:9999/jwks');
      expect(display).toEqual({ host: '127.0.0.1:9999', logoUri: 'http://127.0.0.1:9999/logo.png' });
    });

    it('still refuses a public http jwks_uri', () => {
      const document = {
        client_id: local,
        redirect_uris: ['http://127.0.0.1:9999/cb'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: 'http://keys.example.com/jwks',
      };
      expect(problem(document, local)).toBe('jwks_uri must use https');
    });

    it('gives an https client_id no loopback http URLs', () => {
      const document = doc({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://127.0.0.1:9999/jwks' });
      expect(problem(document)).toBe('jwks_uri must use https');
    });
  });

  it('never echoes a long value from the document in a problem', () => {
    const long = `https://evil.example.com/${'x'.repeat(5000)}`;
    for (const document of [
      doc({ client_id: long }),
      doc({ redirect_uris: [`http://evil.example.com/${'x'.repeat(5000)}`] }),
      doc({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `http${long.slice(5)}` }),
      doc({ token_endpoint_auth_method: 'y'.repeat(5000) }),
    ]) {
      const why = problem(document);
      expect(why.length).toBeLessThan(120);
      expect(why).not.toContain('xxxxxxxxxx');
    }
  });
});
