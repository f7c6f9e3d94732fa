import { randomBytes } from 'node:crypto';
import { displayName } from './clients/metadata-document';
import { MAX_REDIRECT_URIS, redirectUriProblem, type ServerConfig } from './config';
import {
  InvalidClientMetadataError,
  InvalidRedirectUriError,
  InvalidRequestError,
  MethodNotAllowedError,
  toOAuthError,
} from './errors';
import {
  bodyText,
  errorResponse,
  type HttpRequest,
  type HttpResponse,
  header,
  jsonResponse,
  NO_STORE_HEADERS,
} from './http';
import {
  AUTHORIZATION_CODE_GRANT_TYPE,
  type Client,
  type ClientAuthMethod,
  DYNAMIC_CLIENT_ID_PREFIX,
  INTERACTIVE_GRANT_TYPES,
} from './model';
import type { ClientRegistrations, Clock } from './ports';
import { generateClientSecret, hashClientSecret } from './secrets';

/** One record per registration request; never the client secret. */
export interface RegistrationAudit {
  readonly event: 'client_registration';
  /** `closed`: refused because the deployment's cap of registrations is reached (an alarm watches this). */
  readonly outcome: 'registered' | 'rejected' | 'closed' | 'failed';
  readonly client?: string;
  readonly clientAuthMethod?: string;
  readonly error?: string;
  readonly reason?: string;
  readonly latencyMs: number;
}

export interface RegistrationOutcome {
  readonly response: HttpResponse;
  readonly audit: RegistrationAudit;
}

export interface RegistrationEndpointDeps {
  readonly config: ServerConfig;
  readonly registrations: Pick<ClientRegistrations, 'register'>;
  readonly clock: Clock;
  /** Milliseconds, for the audit's latency. @default performance.now */
  readonly elapsedMs?: () => number;
}

/** `none` for a public client; a secret-based method for a confidential one (the secret is ours to generate). */
const AUTH_METHODS: readonly ClientAuthMethod[] = ['none', 'client_secret_basic', 'client_secret_post'];
const APPLICATION_TYPES = ['web', 'native'] as const;
type ApplicationType = (typeof APPLICATION_TYPES)[number];

/** The answer when the cap is reached: RFC 7591 has no code of its own for it (docs/clients.md). */
export const REGISTRATION_CLOSED = "registration is closed: the deployment's client limit is reached";

/** The metadata a request registers, once validated (RFC 7591 §2). */
interface Metadata {
  readonly redirectUris: readonly string[];
  readonly grantTypes: readonly string[];
  readonly authMethod: ClientAuthMethod;
  readonly applicationType: ApplicationType;
  readonly clientName?: string;
}

/**
 * `POST /register`: Dynamic Client Registration (RFC 7591, PROTOCOL.md §13), when the deployment turns it on (else
 * 404). Anyone may register a client for the interactive flow: a public one (`none`), or a confidential one whose
 * secret (256 bits) is answered once and stored only as a hash. What a registration can do is bounded by what it may
 * not be: it never skips the consent page (never first party), gets no grant but authorization_code and
 * refresh_token, and lives `unusedLifetimeSeconds`. At most `maxClients` unexpired registrations exist at a time.
 * Metadata this server does not use is ignored and not echoed (RFC 7591 §3.2.1).
 */
export function createRegistrationEndpoint(
  deps: RegistrationEndpointDeps,
): (request: HttpRequest) => Promise<RegistrationOutcome> {
  const elapsedMs = deps.elapsedMs ?? (() => performance.now());
  const settings = deps.config.dynamicClientRegistration;
  return async (request) => {
    const started = elapsedMs();
    const audit: { -readonly [K in keyof RegistrationAudit]?: RegistrationAudit[K] } = {};
    const finish = (
      response: HttpResponse,
      outcome: RegistrationAudit['outcome'],
      detail: { readonly error?: string; readonly reason?: string } = {},
    ): RegistrationOutcome => ({
      response,
      audit: {
        event: 'client_registration',
        ...audit,
        ...detail,
        outcome,
        latencyMs: Math.round(elapsedMs() - started),
      },
    });
    try {
      if (!settings.enabled || !deps.config.interactive.enabled) {
        return finish(jsonResponse(404, { error: 'not_found' }, { ...NO_STORE_HEADERS }), 'rejected', {
          reason: 'dynamic client registration is off',
        });
      }
      if (request.method.toUpperCase() !== 'POST') throw new MethodNotAllowedError('POST');
      const metadata = validateMetadata(readJsonObject(request, deps.config.maxBodyBytes));
      audit.clientAuthMethod = metadata.authMethod;

      const now = deps.clock.now();
      const clientId = `${DYNAMIC_CLIENT_ID_PREFIX}${randomBytes(32).toString('base64url')}`;
      const secret = metadata.authMethod === 'none' ? undefined : generateClientSecret();
      const client: Client = {
        clientId,
        authMethod: metadata.authMethod,
        secrets: secret === undefined ? [] : [{ hash: hashClientSecret(secret) }],
        grantTypes: metadata.grantTypes,
        tenants: ['*'],
        enabled: true,
        redirectUris: metadata.redirectUris,
        firstParty: false,
        ...(metadata.clientName === undefined ? {} : { display: { name: metadata.clientName } }),
      };
      const expiresAt = now + settings.unusedLifetimeSeconds;
      const stored = await deps.registrations.register(client, now, { expiresAt, maxClients: settings.maxClients });
      if (stored === 'full') {
        const closed = new InvalidClientMetadataError(REGISTRATION_CLOSED, 'client limit reached');
        return finish(errorResponse(closed), 'closed', { error: closed.error, reason: closed.reason });
      }
      audit.client = clientId;

      return finish(
        jsonResponse(
          201,
          {
            client_id: clientId,
            client_id_issued_at: now,
            // The secret ends with its registration (RFC 7591 §3.2.1: the time it expires, 0 only for never).
            ...(secret === undefined ? {} : { client_secret: secret, client_secret_expires_at: expiresAt }),
            redirect_uris: metadata.redirectUris,
            grant_types: metadata.grantTypes,
            response_types: ['code'],
            token_endpoint_auth_method: metadata.authMethod,
            application_type: metadata.applicationType,
            ...(metadata.clientName === undefined ? {} : { client_name: metadata.clientName }),
          },
          { ...NO_STORE_HEADERS },
        ),
        'registered',
      );
    } catch (thrown) {
      const error = toOAuthError(thrown);
      return finish(errorResponse(error), error.status >= 500 ? 'failed' : 'rejected', {
        error: error.error,
        reason: error.reason,
      });
    }
  };
}

const JSON_MEDIA_TYPE = 'application/json';

/** The body as a JSON object: `Content-Type: application/json` (UTF-8), within the size cap. */
function readJsonObject(request: HttpRequest, maxBytes: number): Record<string, unknown> {
  const [mediaType = ''] = (header(request, 'content-type') ?? '').split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== JSON_MEDIA_TYPE) throw new InvalidRequestError(`Content-Type must be ${JSON_MEDIA_TYPE}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText(request, maxBytes));
  } catch (error) {
    if (error instanceof InvalidRequestError) throw error;
    throw new InvalidClientMetadataError('the request body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidClientMetadataError('the request body must be a JSON object of client metadata');
  }
  return parsed as Record<string, unknown>;
}

/** Every check of RFC 7591 §2 this server makes; the first problem found is the answer. */
function validateMetadata(body: Record<string, unknown>): Metadata {
  const member = (name: string): unknown => (Object.hasOwn(body, name) ? body[name] : undefined);
  const redirectUris = redirectUrisOf(member('redirect_uris'));
  const applicationType = applicationTypeOf(member('application_type'), redirectUris);
  return {
    redirectUris,
    grantTypes: grantTypesOf(member('grant_types')),
    ...responseTypesChecked(member('response_types')),
    authMethod: authMethodOf(member('token_endpoint_auth_method')),
    applicationType,
    ...clientNameOf(member('client_name')),
  };
}

function redirectUrisOf(value: unknown): string[] {
  if (value === undefined) throw new InvalidRedirectUriError('redirect_uris is required');
  if (!isStringArray(value) || value.length === 0) {
    throw new InvalidRedirectUriError('redirect_uris must be a non-empty list of strings');
  }
  const unique = [...new Set(value)];
  if (unique.length > MAX_REDIRECT_URIS) {
    throw new InvalidRedirectUriError(`redirect_uris must list at most ${MAX_REDIRECT_URIS} URIs`);
  }
  for (const [index, uri] of unique.entries()) {
    const problem = redirectUriProblem(uri);
    if (problem) throw new InvalidRedirectUriError(`redirect_uris[${index}] ${problem}`);
  }
  return unique;
}

/**
 * `web` or `native` (OpenID Connect Registration §2; RFC 7591 itself has none). A web client redirects to https only;
 * a native one may also use a loopback http URI or a private-use scheme (RFC 8252 §7). Absent, it is inferred from
 * the redirect URIs (native when one is not https), where OpenID Connect would say `web`: MCP clients register
 * loopback redirect URIs without naming their type, and a refusal would help nobody.
 */
function applicationTypeOf(value: unknown, redirectUris: readonly string[]): ApplicationType {
  const allHttps = redirectUris.every((uri) => uri.startsWith('https:'));
  if (value === undefined) return allHttps ? 'web' : 'native';
  if (typeof value !== 'string' || !(APPLICATION_TYPES as readonly string[]).includes(value)) {
    throw new InvalidClientMetadataError('application_type must be web or native');
  }
  if (value === 'web' && !allHttps) {
    throw new InvalidRedirectUriError('a web client redirects to https URIs only: register as native otherwise');
  }
  return value as ApplicationType;
}

/** RFC 7591 §2: absent means authorization_code; only the interactive grants, authorization_code among them. */
function grantTypesOf(value: unknown): string[] {
  if (value === undefined) return [AUTHORIZATION_CODE_GRANT_TYPE];
  if (!isStringArray(value)) throw new InvalidClientMetadataError('grant_types must be a list of strings');
  const unique = [...new Set(value)];
  if (!unique.every((grant) => INTERACTIVE_GRANT_TYPES.includes(grant))) {
    throw new InvalidClientMetadataError('grant_types may only be authorization_code and refresh_token');
  }
  if (!unique.includes(AUTHORIZATION_CODE_GRANT_TYPE)) {
    throw new InvalidClientMetadataError('grant_types must include authorization_code');
  }
  return INTERACTIVE_GRANT_TYPES.filter((grant) => unique.includes(grant));
}

/** RFC 7591 §2: absent means `code`, the only response type this server has. */
function responseTypesChecked(value: unknown): Record<string, never> {
  if (value === undefined) return {};
  if (!isStringArray(value) || value.length === 0 || !value.every((type) => type === 'code')) {
    throw new InvalidClientMetadataError('response_types must be ["code"]');
  }
  return {};
}

/**
 * RFC 7591 §2: absent means `client_secret_basic`. `private_key_jwt` is not registered here: a client with keys can
 * publish a client ID metadata document instead (docs/clients.md).
 */
function authMethodOf(value: unknown): ClientAuthMethod {
  if (value === undefined) return 'client_secret_basic';
  if (typeof value !== 'string' || !(AUTH_METHODS as readonly string[]).includes(value)) {
    throw new InvalidClientMetadataError(
      'token_endpoint_auth_method must be none, client_secret_basic or client_secret_post',
    );
  }
  return value as ClientAuthMethod;
}

/** Untrusted: shown on the consent page beside the client id, marked unverified. */
function clientNameOf(value: unknown): { clientName?: string } {
  if (value === undefined) return {};
  if (typeof value !== 'string') throw new InvalidClientMetadataError('client_name must be a string');
  const clientName = displayName(value);
  return clientName === undefined ? {} : { clientName };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
