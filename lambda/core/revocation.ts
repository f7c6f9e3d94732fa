import { authenticateClient, recordClientAssertion } from './client-auth';
import { InvalidRequestError, MethodNotAllowedError, toOAuthError } from './errors';
import type { TokenEndpointDeps } from './grants/context';
import { errorResponse, type HttpRequest, type HttpResponse, header, readForm } from './http';
import type { GrantStore } from './ports';
import { isRefreshTokenValue, refreshTokenHash } from './refresh-tokens';

/** One record per revocation request; like the token endpoint's, it never holds the token. */
export interface RevocationAudit {
  readonly event: 'token_revocation';
  /** `revoked`: a grant ended; `ignored`: nothing to revoke (unknown token, another client's, an access token). */
  readonly outcome: 'revoked' | 'ignored' | 'rejected' | 'failed';
  readonly client?: string;
  readonly clientAuthMethod?: string;
  readonly grantId?: string;
  readonly error?: string;
  readonly reason?: string;
  readonly latencyMs: number;
}

export interface RevocationOutcome {
  readonly response: HttpResponse;
  readonly audit: RevocationAudit;
}

/**
 * `POST /revoke` (RFC 7009, PROTOCOL.md §12). The client authenticates as registered (a public client by its
 * `client_id`). A refresh token of that client revokes its whole grant. Anything else is answered the same 200 (§2.2):
 * an unknown token, another client's (left alone), an access token (a JWT, verified offline by resource servers: it
 * cannot be recalled and expires on its own; revoking its grant stops its successors).
 */
export function createRevocationEndpoint(
  deps: TokenEndpointDeps & { readonly grants: GrantStore },
): (request: HttpRequest) => Promise<RevocationOutcome> {
  const elapsedMs = deps.elapsedMs ?? (() => performance.now());
  return async (request) => {
    const started = elapsedMs();
    const audit: { -readonly [K in keyof RevocationAudit]?: RevocationAudit[K] } = {};
    const finish = (
      response: HttpResponse,
      outcome: RevocationAudit['outcome'],
      detail: { readonly error?: string; readonly reason?: string } = {},
    ): RevocationOutcome => ({
      response,
      audit: { event: 'token_revocation', ...audit, ...detail, outcome, latencyMs: Math.round(elapsedMs() - started) },
    });
    try {
      if (request.method.toUpperCase() !== 'POST') throw new MethodNotAllowedError('POST');
      const form = readForm(request, deps.config.maxBodyBytes, []);
      const token = form.get('token');
      if (token === undefined) throw new InvalidRequestError('token is required');
      const now = deps.clock.now();
      const authenticated = await authenticateClient(header(request, 'authorization'), form, deps, now);
      audit.client = authenticated.client.clientId;
      audit.clientAuthMethod = authenticated.method;
      // A replayed client assertion may not revoke: its grant is its client's to end.
      await recordClientAssertion(deps.replayStore, authenticated, now);

      const ok: HttpResponse = { status: 200, headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' }, body: '' };
      const record = isRefreshTokenValue(token)
        ? await deps.grants.findRefreshToken(refreshTokenHash(token))
        : undefined;
      if (record === undefined) return finish(ok, 'ignored', { reason: 'not a refresh token of this server' });
      if (record.clientId !== authenticated.client.clientId) {
        return finish(ok, 'ignored', { reason: 'refresh token of another client' });
      }
      audit.grantId = record.grantId;
      await deps.grants.revokeGrant(record.grantId, now, record.keepUntil);
      return finish(ok, 'revoked');
    } catch (thrown) {
      const error = toOAuthError(thrown);
      return finish(errorResponse(error), error.status >= 500 ? 'failed' : 'rejected', {
        error: error.error,
        reason: error.reason,
      });
    }
  };
}
