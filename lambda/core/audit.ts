import { hash } from 'node:crypto';

/**
 * One record per token decision (PROTOCOL.md §8). It never holds the assertion, a token or a secret: only ids,
 * outcomes and a hash of the assertion id, so that operators can correlate without replay material in the logs.
 */
export interface AuditRecord {
  readonly event: 'token_exchange';
  /** `refresh_token_reused`: a rejection that revoked a grant, because one of its refresh tokens came back. */
  readonly outcome: 'issued' | 'rejected' | 'failed' | 'refresh_token_reused';
  /** The `grant_type` asked for, once known to be one this server serves. */
  readonly grantType?: string;
  readonly error?: string;
  /** Internal detail of a rejection; never sent to the caller. */
  readonly reason?: string;
  readonly tenant?: string;
  /** The trusted issuer the assertion matched. */
  readonly issuer?: string;
  /** The `iss` an untrusted assertion claimed, truncated: helps operators onboard an IdP. */
  readonly claimedIssuer?: string;
  readonly client?: string;
  readonly clientAuthMethod?: string;
  readonly jtiHash?: string;
  readonly resource?: string;
  readonly scope?: string;
  /** The grant a code started or a refresh token continued (interactive flow): what an operator revokes. */
  readonly grantId?: string;
  /** The issued access token's own `jti`, for revocation lists and correlation. */
  readonly tokenId?: string;
  /**
   * A dynamically registered client's registration, moved on because the client obtained a token (`extended`), or
   * not moved because the write failed (`not_extended`: the token stands; the registration ends as it would have).
   */
  readonly registration?: 'extended' | 'not_extended';
  readonly latencyMs: number;
}

/** The first 22 base64url characters (132 bits) of SHA-256 over `issuer \n jti`, UTF-8. */
export function hashJti(issuer: string, jti: string): string {
  return hash('sha256', `${issuer}\n${jti}`, 'base64url').slice(0, 22);
}

/** Cuts attacker-chosen strings to a size fit for a log line. */
export function truncate(value: unknown, max = 200): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.length > max ? `${value.slice(0, max)}…` : value;
}
