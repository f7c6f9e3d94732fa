import { isRandomValue, randomValue, sha256 } from './authorize/transaction';
import type { RefreshTokenLifetimes, ServerConfig } from './config';
import type { Client } from './model';
import type { RefreshToken, UserGrant } from './ports';

/**
 * Refresh tokens (PROTOCOL.md §12): 256 random bits, base64url, handed to the client once and stored only as their
 * SHA-256. Each belongs to one grant; using one replaces it with the next (rotation).
 */

/** A revocation is kept longer than any refresh token can live (MAX_REFRESH_TOKEN_LIFETIME_SECONDS, a year). */
export const GRANT_REVOCATION_RETENTION_SECONDS = 400 * 24 * 3600;

/** A value this server could have issued as a refresh token; anything else is not looked up. */
export function isRefreshTokenValue(value: string | undefined): value is string {
  return isRandomValue(value);
}

export function refreshTokenHash(token: string): string {
  return sha256(token);
}

/** The client's own lifetimes where its registration sets them, the deployment's otherwise. */
export function lifetimesFor(config: ServerConfig, client: Client): RefreshTokenLifetimes {
  const deployment = config.interactive.refreshTokens;
  return {
    idleSeconds: client.refreshTokens?.idleSeconds ?? deployment.idleSeconds,
    absoluteSeconds: client.refreshTokens?.absoluteSeconds ?? deployment.absoluteSeconds,
  };
}

/**
 * When the grant ends: as stored at sign-in, or sooner when the absolute lifetime has been shortened since (an
 * operator who shortens it means it for the grants that exist too).
 */
export function grantEnd(grant: Pick<UserGrant, 'createdAt' | 'expiresAt'>, lifetimes: RefreshTokenLifetimes): number {
  return Math.min(grant.expiresAt, grant.createdAt + lifetimes.absoluteSeconds);
}

/** A new refresh token of the grant: the value for the client, the record for the store. */
export function mintRefreshToken(
  grant: Pick<UserGrant, 'grantId' | 'clientId' | 'createdAt' | 'expiresAt'>,
  lifetimes: RefreshTokenLifetimes,
  now: number,
): { readonly value: string; readonly record: RefreshToken } {
  const value = randomValue();
  const end = grantEnd(grant, lifetimes);
  return {
    value,
    record: {
      tokenHash: refreshTokenHash(value),
      grantId: grant.grantId,
      clientId: grant.clientId,
      issuedAt: now,
      usableUntil: Math.min(now + lifetimes.idleSeconds, end),
      keepUntil: grant.expiresAt,
    },
  };
}
