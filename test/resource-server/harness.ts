import { generateKeyPairSync } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { decodeJwt } from 'jose';
import { KeyObjectSigner } from '../../lambda/adapters/key-object-signer';
import { signJwt } from '../../lambda/core/access-token';
import { resolveServerConfig } from '../../lambda/core/config';
import { authorizationServerMetadata, jwksResponse } from '../../lambda/core/metadata';
import type { Signer } from '../../lambda/core/ports';
import { createTokenEndpoint } from '../../lambda/core/token-endpoint';
import {
  type AccessTokenVerifier,
  type AccessTokenVerifierOptions,
  createAccessTokenVerifier,
} from '../../lib/resource-server';
import { createFixture, type Fixture, MCP, OTHER_MCP, tokenRequest } from '../support/fixture';
import { HttpStub } from '../support/http-stub';
import { expectIssued } from '../support/outcome';

export { MCP, OTHER_MCP };

/**
 * Our authorization server as a resource server meets it: the real core (token endpoint, claims, signing, metadata
 * and JWKS documents) with its issuer on a loopback HTTP server that publishes the RFC 8414 metadata and the JWKS.
 * The signer can be swapped to rotate keys; tokens are issued through the real token endpoint.
 */
export class AuthorizationServer {
  private constructor(
    readonly stub: HttpStub,
    readonly fixture: Fixture,
    private signer: Signer,
    private exchange: Fixture['exchange'],
  ) {}

  static async start(): Promise<AuthorizationServer> {
    const stub = await HttpStub.start();
    const config = resolveServerConfig(
      {
        issuer: stub.origin,
        resources: [
          { id: MCP, scopes: ['files:read', 'files:write', 'admin'], defaultScopes: ['files:read'] },
          { id: OTHER_MCP, scopes: ['other:read'] },
        ],
        defaultResource: MCP,
      },
      { allowHttpLoopback: true },
    );
    const fixture = await createFixture({ config });
    const server = new AuthorizationServer(stub, fixture, fixture.signer, fixture.exchange);
    stub.json('/.well-known/oauth-authorization-server', () => authorizationServerMetadata(config));
    stub.routes.set('/jwks.json', (_, response) => {
      void jwksResponse(config, server.signer).then((document) => serve(response, document));
    });
    return server;
  }

  get issuer(): string {
    return this.fixture.config.issuer;
  }

  /** Seconds, the fixture's fixed clock: tokens are issued at this time and verifiers read it. */
  now = (): number => this.fixture.clock.now();

  /** A token issued by the real token endpoint for an ID-JAG from acme's IdP; form fields as the client sends them. */
  async issue(form: Record<string, string> = {}, claims: Record<string, unknown> = {}): Promise<string> {
    const assertion = await this.fixture.idp.mint({ claims: { aud: this.issuer, ...claims } });
    return expectIssued(await this.exchange(tokenRequest(assertion, { form }))).access_token;
  }

  /** Signs claims and header of our choosing with the active signer (or another): for tokens the core never makes. */
  async sign(claims: Record<string, unknown>, typ = 'at+jwt', signer: Signer = this.signer): Promise<string> {
    return signJwt(signer, claims, typ);
  }

  /** The claims of a token the core would issue now, to alter one of them. */
  async claims(): Promise<Record<string, unknown>> {
    return decodeJwt(await this.issue()) as Record<string, unknown>;
  }

  /** Starts signing with a new key, published in the JWKS beside the old one (the rotation procedure). */
  async rotate(): Promise<KeyObjectSigner> {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const next = new KeyObjectSigner(privateKey, 'ES256', [...(await this.signer.publicKeys())]);
    this.signer = next;
    this.exchange = createTokenEndpoint({ ...this.fixture, signer: next });
    return next;
  }

  get jwksFetches(): number {
    return this.stub.count('/jwks.json');
  }

  get metadataFetches(): number {
    return this.stub.count('/.well-known/oauth-authorization-server');
  }

  verifier(options: Partial<AccessTokenVerifierOptions> = {}): AccessTokenVerifier {
    return createAccessTokenVerifier({ issuer: this.issuer, audience: MCP, now: this.now, ...options });
  }

  close(): Promise<void> {
    return this.stub.close();
  }
}

/** A signer with a key of its own that claims another key's `kid`: what a forger would try. */
export function impostor(kid: string): Signer {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const real = new KeyObjectSigner(privateKey, 'ES256');
  return {
    activeKey: async () => ({ kid, alg: 'ES256' }),
    sign: (input) => real.sign(input),
    publicKeys: () => real.publicKeys(),
  };
}

function serve(response: ServerResponse, document: { status: number; headers: Record<string, string>; body: string }) {
  response.writeHead(document.status, document.headers).end(document.body);
}
