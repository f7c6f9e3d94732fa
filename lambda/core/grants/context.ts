import type { AuditRecord } from '../audit';
import type { ServerConfig } from '../config';
import type { FormParameters, HttpRequest } from '../http';
import type { ClientRegistrations, Clock, GrantStore, KeyResolver, Registry, ReplayStore, Signer } from '../ports';

export interface TokenEndpointDeps {
  readonly config: ServerConfig;
  readonly registry: Registry;
  readonly replayStore: ReplayStore;
  readonly signer: Signer;
  readonly keyResolver: KeyResolver;
  readonly clock: Clock;
  /** Codes, grants and refresh tokens (the interactive flow); without it the endpoint serves jwt-bearer only. */
  readonly grants?: GrantStore;
  /** Where dynamically registered clients live, when registration is on: a token obtained keeps one registered. */
  readonly registrations?: Pick<ClientRegistrations, 'extend'>;
  /** Milliseconds from a monotonic clock, for the audit record's latency. */
  readonly elapsedMs?: () => number;
}

/** Audit fields gathered as the request progresses, so that a rejection still says how far it got. */
export type AuditContext = { -readonly [K in keyof AuditRecord]?: AuditRecord[K] };

/** A token request as each grant sees it: the form already read, the one clock reading of the request. */
export interface GrantRequest {
  readonly request: HttpRequest;
  readonly form: FormParameters;
  /** Epoch seconds: every time check of the request and its single-use records are judged on this reading. */
  readonly now: number;
  readonly audit: AuditContext;
}

/** What a grant hands back: the signed access token and what it grants, and a refresh token where one is due. */
export interface IssuedToken {
  readonly accessToken: string;
  readonly scopes: readonly string[];
  readonly expiresIn: number;
  readonly refreshToken?: string;
}
