import { TemporarilyUnavailableError } from '../core/errors';
import type { FetchLike } from './safe-fetch';

/** Sent with every fetch (as jose's remote key sets did): some IdPs' firewalls refuse requests without one. */
export const USER_AGENT = 'cdk-id-jag-authorization-server';

export interface Timing {
  readonly maxAgeMs: number;
  readonly failureCooldownMs: number;
  readonly staleIfErrorMs: number;
}

/**
 * A value fetched from elsewhere (a key set, a discovered `jwks_uri`): used until `maxAgeMs` old, then fetched again
 * by the first request that needs it, with one fetch in flight shared by every concurrent request. A failed fetch is
 * remembered for `failureCooldownMs`: requests in that window get the same failure, not a new fetch. When a refresh
 * fails, the last good value stays in use until `staleIfErrorMs` past its max age (RFC 5861's stale-if-error).
 *
 * `load` must throw only `TemporarilyUnavailableError`: everything it can fail at is the remote side's.
 */
export class Cached<T> {
  private good?: { readonly value: T; readonly at: number };
  private failure?: { readonly error: unknown; readonly at: number };
  private pending?: Promise<T>;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly timing: Timing,
    private readonly now: () => number,
  ) {}

  /** Milliseconds since the value in hand was fetched (Infinity before the first success). */
  age(): number {
    return this.good ? this.now() - this.good.at : Number.POSITIVE_INFINITY;
  }

  async get(): Promise<T> {
    if (this.good && this.age() < this.timing.maxAgeMs) return this.good.value;
    try {
      return await this.refresh();
    } catch (error) {
      if (this.good && this.age() < this.timing.maxAgeMs + this.timing.staleIfErrorMs) return this.good.value;
      throw error;
    }
  }

  /** Fetches again, unless a fetch is in flight (joined) or failed within the failure cooldown (its error again). */
  refresh(): Promise<T> {
    if (this.pending) return this.pending;
    if (this.failure && this.now() - this.failure.at < this.timing.failureCooldownMs) {
      return Promise.reject(this.failure.error);
    }
    const pending = this.load()
      .then(
        (value) => {
          this.good = { value, at: this.now() };
          this.failure = undefined;
          return value;
        },
        (error: unknown) => {
          this.failure = { error, at: this.now() };
          throw error;
        },
      )
      .finally(() => {
        if (this.pending === pending) this.pending = undefined;
      });
    this.pending = pending;
    return pending;
  }
}

/**
 * GET a JSON document from a third party (an IdP's key set or metadata) through the safe fetch. Every way this fails
 * is the remote side's, so it is `TemporarilyUnavailableError` with a reason fit for the audit log.
 */
export async function fetchJsonDocument(
  fetch: FetchLike,
  url: string,
  options: { readonly accept: string; readonly what: string; readonly timeoutMs: number },
): Promise<unknown> {
  let response: Response;
  try {
    const signal = AbortSignal.timeout(options.timeoutMs);
    response = await fetch(url, { signal, headers: { accept: options.accept, 'user-agent': USER_AGENT } });
  } catch (error) {
    throw new TemporarilyUnavailableError(`${options.what}: ${fetchFailure(error)}`);
  }
  if (response.status !== 200) throw new TemporarilyUnavailableError(`${options.what}: HTTP ${response.status}`);
  try {
    return await response.json();
  } catch {
    throw new TemporarilyUnavailableError(`${options.what}: body is not JSON`);
  }
}

export function fetchFailure(error: unknown): string {
  const { name, message } = described(error);
  if (name === 'TimeoutError' || name === 'AbortError') return 'timeout';
  // The safe fetch's own errors (unreachable, 5xx, too large, refused URL) carry a message fit for the audit log.
  return message ?? 'fetch failed';
}

/** Name and message of anything thrown; read as fields, since a DOMException may come from another realm. */
export function described(error: unknown): { name?: string; message?: string } {
  if (typeof error !== 'object' || error === null) return {};
  const { name, message } = error as { name?: unknown; message?: unknown };
  return {
    ...(typeof name === 'string' ? { name } : {}),
    ...(typeof message === 'string' ? { message } : {}),
  };
}
