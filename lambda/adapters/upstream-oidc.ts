import { parseHttpsUrl } from '../core/config';
import { ServerError, TemporarilyUnavailableError } from '../core/errors';
import type { UpstreamIdp, UpstreamMetadata } from '../core/ports';
import { Cached, fetchFailure, fetchJsonDocument, USER_AGENT } from './remote-document';
import { createSafeFetch, type FetchLike, type SafeFetchOptions } from './safe-fetch';

export interface UpstreamOidcOptions extends Partial<SafeFetchOptions> {
  /** Per-request timeout for discovery and the code exchange. @default 5000 */
  readonly timeoutMs?: number;
  /** How long a discovered metadata document is used. @default 3600000 (1 hour) */
  readonly metadataMaxAgeMs?: number;
  /** After a failed discovery, how long requests get that failure without a new fetch. @default 10000 */
  readonly failureCooldownMs?: number;
  /** Milliseconds since the epoch (tests move it). @default Date.now */
  readonly now?: () => number;
  /** Replaces the safe fetch (tests only). */
  readonly fetch?: FetchLike;
}

/**
 * Our side of an upstream OpenID Connect IdP: discovery (cached, with a failure cooldown and stale-if-error like the
 * issuer key sets) and the authorization code exchange, both through the safe fetch (https only in AWS, no private
 * addresses, no redirects, capped bodies).
 */
export class UpstreamOidc implements UpstreamIdp {
  private readonly fetch: FetchLike;
  private readonly documents = new Map<string, Cached<UpstreamMetadata>>();

  constructor(private readonly options: UpstreamOidcOptions = {}) {
    this.fetch = options.fetch ?? createSafeFetch({ maxBytes: 64 * 1024, ...options });
  }

  metadata(issuer: string): Promise<UpstreamMetadata> {
    let document = this.documents.get(issuer);
    if (!document) {
      const timing = {
        maxAgeMs: this.options.metadataMaxAgeMs ?? 3_600_000,
        failureCooldownMs: this.options.failureCooldownMs ?? 10_000,
        staleIfErrorMs: 3_600_000,
      };
      document = new Cached(() => this.discover(issuer), timing, this.options.now ?? Date.now);
      this.documents.set(issuer, document);
    }
    return document.get();
  }

  async exchangeCode(request: Parameters<UpstreamIdp['exchangeCode']>[0]): Promise<{ readonly idToken: string }> {
    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      code: request.code,
      redirect_uri: request.redirectUri,
      code_verifier: request.codeVerifier,
    });
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      'user-agent': USER_AGENT,
    };
    if (request.authMethod === 'client_secret_basic') {
      // RFC 6749 §2.3.1: each part form-urlencoded before base64.
      const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
      const credentials = `${encode(request.clientId)}:${encode(request.clientSecret ?? '')}`;
      headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
    } else {
      form.set('client_id', request.clientId);
      if (request.authMethod === 'client_secret_post') form.set('client_secret', request.clientSecret ?? '');
    }
    let response: Response;
    try {
      const signal = AbortSignal.timeout(this.options.timeoutMs ?? 5000);
      response = await this.fetch(request.tokenEndpoint, { method: 'POST', headers, body: form.toString(), signal });
    } catch (error) {
      throw new TemporarilyUnavailableError(`upstream token endpoint: ${fetchFailure(error)}`);
    }
    const body = (await response.json().catch(() => undefined)) as { id_token?: unknown; error?: unknown } | undefined;
    if (response.status === 429) throw new TemporarilyUnavailableError('upstream token endpoint: HTTP 429');
    if (response.status !== 200) {
      // A refused exchange (our credentials, an expired code) is not the client's fault, nor worth a retry by it.
      const code = typeof body?.error === 'string' ? ` ${body.error.slice(0, 40)}` : '';
      throw new ServerError(`upstream token endpoint: HTTP ${response.status}${code}`);
    }
    if (typeof body?.id_token !== 'string') throw new ServerError('upstream token response without id_token');
    return { idToken: body.id_token };
  }

  private isWebUrl(value: string | undefined): value is string {
    return value !== undefined && typeof parseHttpsUrl(value, this.options.allowHttpLoopback ?? false) !== 'string';
  }

  /** `<issuer>/.well-known/openid-configuration`, naming this exact issuer, with usable endpoints. */
  private async discover(issuer: string): Promise<UpstreamMetadata> {
    const timeoutMs = this.options.timeoutMs ?? 5000;
    const document = (await fetchJsonDocument(this.fetch, `${issuer}/.well-known/openid-configuration`, {
      accept: 'application/json',
      what: 'upstream metadata',
      timeoutMs,
    })) as Record<string, unknown> | null;
    const field = (name: string) => (typeof document?.[name] === 'string' ? (document[name] as string) : undefined);
    if (field('issuer') !== issuer) throw new TemporarilyUnavailableError('upstream metadata: names another issuer');
    const authorizationEndpoint = field('authorization_endpoint');
    const tokenEndpoint = field('token_endpoint');
    // The browser is sent to the authorization endpoint: https only (http on loopback in local mode).
    if (!this.isWebUrl(authorizationEndpoint) || !this.isWebUrl(tokenEndpoint)) {
      throw new TemporarilyUnavailableError('upstream metadata: endpoints missing or not https URLs');
    }
    return {
      issuer,
      authorizationEndpoint,
      tokenEndpoint,
      issParameterSupported: document?.authorization_response_iss_parameter_supported === true,
    };
  }
}
