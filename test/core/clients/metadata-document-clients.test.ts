import { exportJWK, type JWK } from 'jose';
import { createAuthorizeEndpoint } from '../../../lambda/core/authorize/endpoint';
import type { ClientMetadataDocuments } from '../../../lambda/core/clients/metadata-document';
import { withMetadataDocumentClients } from '../../../lambda/core/clients/with-metadata-documents';
import type { ClientIdMetadataDocumentPolicy } from '../../../lambda/core/config';
import {
  AUTHORIZATION_CODE_GRANT_TYPE,
  CLIENT_ASSERTION_TYPE_JWT_BEARER,
  JWT_BEARER_GRANT_TYPE,
  REFRESH_TOKEN_GRANT_TYPE,
} from '../../../lambda/core/model';
import { createTokenEndpoint } from '../../../lambda/core/token-endpoint';
import { tokenRequest } from '../../support/fixture';
import {
  authorizationParams,
  createInteractiveFixture,
  type InteractiveFixture,
  location,
  pkce,
} from '../../support/interactive';
import { expectIssued, expectRejected } from '../../support/outcome';

const CLIENT_URL = 'https://app.example.com/oauth/client.json';
const CLIENT_REDIRECT = 'https://app.example.com/oauth/callback';

/** Documents served from memory, counting fetches; a URL without a document is a fetch failure. */
class ServedDocuments implements ClientMetadataDocuments {
  readonly served = new Map<string, unknown>();
  fetches = 0;
  async fetch(url: string) {
    this.fetches += 1;
    return this.served.has(url) ? { document: this.served.get(url) } : { problem: 'HTTP 404' };
  }
}

/** PROTOCOL.md §13: clients known by their metadata document, through the core's endpoints with in-memory ports. */
describe('CIMD clients', () => {
  let x: InteractiveFixture;
  let documents: ServedDocuments;
  let refusals: string[];
  let authorize: ReturnType<typeof createAuthorizeEndpoint>;
  let token: ReturnType<typeof createTokenEndpoint>;
  let clientJwk: JWK;

  /** The endpoints over the registry with CIMD clients, under `policy`. */
  function serve(policy: ClientIdMetadataDocumentPolicy = { enabled: true }) {
    const registry = withMetadataDocumentClients(x.f.registry, {
      policy,
      documents,
      refused: (_, reason) => refusals.push(reason),
    });
    const deps = { ...x.f, registry, grants: x.grants, upstream: x.upstream, secrets: x.secrets };
    authorize = createAuthorizeEndpoint(deps);
    token = createTokenEndpoint(deps);
  }

  beforeEach(async () => {
    x = await createInteractiveFixture();
    documents = new ServedDocuments();
    refusals = [];
    const { d: _private, ...publicJwk } = await exportJWK(x.f.clientKey);
    clientJwk = { ...publicJwk, kid: 'client-key-1', alg: 'ES256' };
    documents.served.set(CLIENT_URL, {
      client_id: CLIENT_URL,
      client_name: 'Example App',
      redirect_uris: [CLIENT_REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
    });
    serve();
  });

  const authorizationRequest = (challenge: string, overrides: Record<string, string> = {}) =>
    x.get(
      'authorize',
      authorizationParams(challenge, { client_id: CLIENT_URL, redirect_uri: CLIENT_REDIRECT, ...overrides }),
    );

  it('shows the consent page with the document host, the claimed name marked unverified, then issues tokens', async () => {
    const { verifier, challenge } = pkce();
    const consent = await x.send(authorize.authorize, authorizationRequest(challenge));
    expect(consent.interaction).toMatchObject({
      kind: 'page',
      page: { name: 'consent', client: { clientId: CLIENT_URL, host: 'app.example.com', name: 'Example App' } },
    });
    const page = consent.interaction.kind === 'page' ? consent.interaction.page : undefined;
    const approved = await x.send(
      authorize.interact,
      x.post({
        transaction: (page as { transactionId: string }).transactionId,
        csrf: (page as { csrfToken: string }).csrfToken,
        action: 'approve',
      }),
    );
    const query = x.upstream.signIn(location(approved.interaction).toString());
    const back = await x.send(authorize.callback, { ...x.get('callback', {}), query });
    const redirect = location(back.interaction);
    expect(`${redirect.origin}${redirect.pathname}`).toBe(CLIENT_REDIRECT);
    const form = {
      grant_type: AUTHORIZATION_CODE_GRANT_TYPE,
      code: redirect.searchParams.get('code')!,
      redirect_uri: CLIENT_REDIRECT,
      code_verifier: verifier,
      client_id: CLIENT_URL,
    };
    const issued = expectIssued(await token(tokenRequest(undefined, { authorization: null, form })));
    expect(issued.refresh_token).toBeDefined();
    const refreshed = await token(
      tokenRequest(undefined, {
        authorization: null,
        form: { grant_type: REFRESH_TOKEN_GRANT_TYPE, refresh_token: issued.refresh_token, client_id: CLIENT_URL },
      }),
    );
    expectIssued(refreshed);
  });

  it('refuses a redirect URI the document does not list, on the error page', async () => {
    const { challenge } = pkce();
    const outcome = await x.send(
      authorize.authorize,
      authorizationRequest(challenge, { redirect_uri: 'https://evil.example/cb' }),
    );
    expect(outcome.interaction).toMatchObject({ kind: 'page', status: 400, page: { name: 'error' } });
  });

  it.each<[string, unknown]>([
    ['no document (the fetch failed)', undefined],
    [
      'a document for another client_id',
      { client_id: 'https://app.example.com/other.json', redirect_uris: [CLIENT_REDIRECT] },
    ],
    ['a document without redirect_uris', { client_id: CLIENT_URL }],
    [
      'a document with a client secret',
      { client_id: CLIENT_URL, redirect_uris: [CLIENT_REDIRECT], client_secret: 'x' },
    ],
  ])('refuses a client with %s: the error page at /authorize, invalid_client at /token', async (_, document) => {
    if (document === undefined) documents.served.delete(CLIENT_URL);
    else documents.served.set(CLIENT_URL, document);
    const { challenge, verifier } = pkce();
    const outcome = await x.send(authorize.authorize, authorizationRequest(challenge));
    expect(outcome.interaction).toMatchObject({ kind: 'page', status: 400, page: { name: 'error' } });
    const form = {
      grant_type: AUTHORIZATION_CODE_GRANT_TYPE,
      code: 'A'.repeat(43),
      redirect_uri: CLIENT_REDIRECT,
      code_verifier: verifier,
      client_id: CLIENT_URL,
    };
    expectRejected(await token(tokenRequest(undefined, { authorization: null, form })), 'invalid_client', 401);
    expect(refusals.length).toBeGreaterThan(0);
  });

  it('follows the policy: none when disabled, only the listed hosts when hosts are given', async () => {
    const { challenge } = pkce();
    serve({ enabled: false });
    expect((await x.send(authorize.authorize, authorizationRequest(challenge))).interaction).toMatchObject({
      page: { name: 'error' },
    });
    expect(documents.fetches).toBe(0);
    serve({ enabled: true, hosts: ['other.example.com'] });
    expect((await x.send(authorize.authorize, authorizationRequest(challenge))).interaction).toMatchObject({
      page: { name: 'error' },
    });
    expect(documents.fetches).toBe(0);
    expect(refusals).toEqual(['metadata document host app.example.com not accepted']);
    serve({ enabled: true, hosts: ['app.example.com'] });
    expect((await x.send(authorize.authorize, authorizationRequest(challenge))).interaction).toMatchObject({
      page: { name: 'consent' },
    });
  });

  describe('the jwt-bearer grant', () => {
    /** The document of a client that authenticates with private_key_jwt, with the fixture's client key. */
    const keyedDocument = () => ({
      client_id: CLIENT_URL,
      redirect_uris: [CLIENT_REDIRECT],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [clientJwk] },
    });

    /** Registers the CIMD client under its URL (listed) for the jwt-bearer grant and tenant acme. */
    const register = (enabled: boolean) =>
      x.f.registry.clients.set(CLIENT_URL, {
        clientId: CLIENT_URL,
        authMethod: 'private_key_jwt',
        secrets: [],
        grantTypes: [JWT_BEARER_GRANT_TYPE],
        tenants: ['acme'],
        enabled,
      });

    /** An ID-JAG for the CIMD client, presented with a client assertion signed by the document's key. */
    async function exchange(assertionClaims: Record<string, unknown> = {}) {
      const assertion = await x.f.idp.mint({ claims: { client_id: CLIENT_URL } });
      const clientAssertion = await x.f.clientAssertion({ iss: CLIENT_URL, sub: CLIENT_URL, ...assertionClaims });
      return token(
        tokenRequest(assertion, {
          authorization: null,
          form: { client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER, client_assertion: clientAssertion },
        }),
      );
    }

    it('is refused to an unlisted CIMD client, whatever its document says', async () => {
      documents.served.set(CLIENT_URL, {
        ...keyedDocument(),
        grant_types: [AUTHORIZATION_CODE_GRANT_TYPE, JWT_BEARER_GRANT_TYPE],
      });
      expectRejected(await exchange(), 'unauthorized_client');
    });

    it("is served to a listed CIMD client authenticated by private_key_jwt against its document's keys", async () => {
      documents.served.set(CLIENT_URL, keyedDocument());
      register(true);
      expectIssued(await exchange());
      // The client assertion is single use, and its audience must be this issuer.
      expectRejected(await exchange({ aud: 'https://elsewhere.example' }), 'invalid_client', 401);
    });

    it("takes the keys from the document's jwks_uri, and refuses a replayed client assertion", async () => {
      const jwksUri = 'https://app.example.com/oauth/jwks.json';
      documents.served.set(CLIENT_URL, { ...keyedDocument(), jwks: undefined, jwks_uri: jwksUri });
      x.f.keyResolver.sets.set(jwksUri, { keys: [clientJwk] });
      register(true);
      const clientAssertion = await x.f.clientAssertion({ iss: CLIENT_URL, sub: CLIENT_URL });
      const present = async () =>
        token(
          tokenRequest(await x.f.idp.mint({ claims: { client_id: CLIENT_URL } }), {
            authorization: null,
            form: { client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER, client_assertion: clientAssertion },
          }),
        );
      expectIssued(await present());
      expect(x.f.keyResolver.requested).toContain(jwksUri);
      expectRejected(await present(), 'invalid_client', 401);
    });

    it('refuses a listed CIMD client that is disabled, without fetching its document', async () => {
      documents.served.set(CLIENT_URL, keyedDocument());
      register(false);
      expectRejected(await exchange(), 'invalid_client', 401);
      expect(documents.fetches).toBe(0);
    });
  });
});
