import {
  type ClientMetadataDocuments,
  clientFromMetadataDocument,
  isClientIdMetadataUrl,
} from '../core/clients/metadata-document';
import { fetchFailure, USER_AGENT } from './remote-document';
import { createSafeFetch, type FetchLike, type SafeFetchOptions } from './safe-fetch';

export interface RemoteClientMetadataDocumentsOptions extends Partial<SafeFetchOptions> {
  /**
   * Largest document read, in bytes: the draft's recommended 5 kilobytes (§8.7). A client's metadata is a few hundred
   * bytes; an attacker's URL must not make us buffer more than that per request.
   * @default 5120
   */
  readonly maxBytes?: number;
  /** Per-fetch timeout, body included: the fetch happens while a person waits at /authorize. @default 3000 */
  readonly timeoutMs?: number;
  /** Least time a document is used before it is fetched again, whatever its `Cache-Control`. @default 60000 */
  readonly minCacheMs?: number;
  /** Longest time a document is used before it is fetched again, whatever its `Cache-Control`. @default 86400000 */
  readonly maxCacheMs?: number;
  /** How long a document without `Cache-Control: max-age` is used. @default 300000 (5 minutes) */
  readonly defaultCacheMs?: number;
  /**
   * After a failed fetch or an invalid document, how long requests for that URL get the same problem without a new
   * fetch: a throttle, so that an attacker's URL costs us one fetch per window, not one per request. Only the problem
   * (a short sentence) is kept, never the response. 0 turns it off.
   * @default 30000
   */
  readonly failureCooldownMs?: number;
  /** Most URLs remembered (documents and failures), least recently used evicted first. @default 1000 */
  readonly maxEntries?: number;
  /** Milliseconds since the epoch (tests move it). @default Date.now */
  readonly now?: () => number;
  /** Replaces the safe fetch (tests only). It must refuse redirects and private addresses as the safe fetch does. */
  readonly fetch?: FetchLike;
}

type Result = { readonly document: unknown } | { readonly problem: string };
type Entry = Result & { readonly until: number };

/** Longest problem returned: a fetch error's message may name the host, never more. */
const MAX_PROBLEM_LENGTH = 200;

/**
 * Client ID Metadata Documents fetched through the safe fetch (https only, no private addresses, no redirects, at
 * most `maxBytes`, `timeoutMs`) and kept in a bounded LRU map keyed by the exact URL. A valid document is used for its
 * `Cache-Control: max-age` (less its `Age`), clamped to [`minCacheMs`, `maxCacheMs`], `defaultCacheMs` without one;
 * `no-store` and `no-cache` get the minimum. An invalid document (checked with `clientFromMetadataDocument`) is never
 * kept (draft §5.2): it is a problem like a failed fetch. Failures are remembered only for `failureCooldownMs`, and
 * nothing stale is served past its time (a client that takes its document down is gone once the cache expires).
 * Concurrent requests for one URL share one fetch. `fetch` never throws and nothing here logs a document.
 */
export class RemoteClientMetadataDocuments implements ClientMetadataDocuments {
  private readonly fetchDocument: FetchLike;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<Result>>();
  private readonly maxBytes: number;

  constructor(private readonly options: RemoteClientMetadataDocumentsOptions = {}) {
    this.maxBytes = options.maxBytes ?? 5 * 1024;
    this.fetchDocument = options.fetch ?? createSafeFetch({ ...options, maxBytes: this.maxBytes });
    this.now = options.now ?? Date.now;
  }

  async fetch(url: string): Promise<Result> {
    try {
      if (!isClientIdMetadataUrl(url, this.options.allowHttpLoopback ?? false)) {
        return { problem: 'client_id is not a client ID metadata document URL' };
      }
      const entry = this.entries.get(url);
      if (entry && this.now() < entry.until) {
        // Least recently used first: a hit moves the URL to the end.
        this.entries.delete(url);
        this.entries.set(url, entry);
        return 'document' in entry ? { document: entry.document } : { problem: entry.problem };
      }
      let pending = this.pending.get(url);
      if (!pending) {
        const loading = this.load(url).finally(() => {
          if (this.pending.get(url) === loading) this.pending.delete(url);
        });
        this.pending.set(url, loading);
        pending = loading;
      }
      return await pending;
    } catch {
      return { problem: 'client metadata document: fetch failed' };
    }
  }

  /** Fetches, validates and remembers one document; never rejects. */
  private async load(url: string): Promise<Result> {
    const fetched = await this.fetchOnce(url);
    if ('problem' in fetched) {
      this.remember(url, { problem: fetched.problem }, this.options.failureCooldownMs ?? 30_000);
      return { problem: fetched.problem };
    }
    const described = clientFromMetadataDocument(url, fetched.document);
    if ('problem' in described) {
      this.remember(url, { problem: described.problem }, this.options.failureCooldownMs ?? 30_000);
      return { problem: described.problem };
    }
    this.remember(url, { document: fetched.document }, this.freshnessMs(fetched.headers));
    return { document: fetched.document };
  }

  private async fetchOnce(url: string): Promise<{ document: unknown; headers: Headers } | { problem: string }> {
    const failed = (why: string) => ({ problem: `client metadata document: ${why}`.slice(0, MAX_PROBLEM_LENGTH) });
    let response: Response;
    let body: string;
    try {
      const signal = AbortSignal.timeout(this.options.timeoutMs ?? 3000);
      response = await this.fetchDocument(url, {
        signal,
        headers: { accept: 'application/json', 'user-agent': USER_AGENT },
      });
      if (response.status >= 300 && response.status < 400) {
        return failed(`HTTP ${response.status} (redirects are not followed)`);
      }
      if (response.status !== 200) return failed(`HTTP ${response.status}`);
      body = await response.text();
    } catch (error) {
      return failed(fetchFailure(error));
    }
    // The safe fetch stops reading at maxBytes already; this holds for an injected fetch too.
    if (new TextEncoder().encode(body).length > this.maxBytes) return failed(`more than ${this.maxBytes} bytes`);
    try {
      return { document: JSON.parse(body) as unknown, headers: response.headers };
    } catch {
      return failed('body is not JSON');
    }
  }

  /** How long a valid document is used: `Cache-Control` (RFC 9111 §5.2.2) less `Age` (§5.1), within the bounds. */
  private freshnessMs(headers: Headers): number {
    const min = this.options.minCacheMs ?? 60_000;
    const max = this.options.maxCacheMs ?? 86_400_000;
    const clamp = (ms: number) => Math.min(max, Math.max(min, ms));
    const directives = (headers.get('cache-control') ?? '')
      .toLowerCase()
      .split(',')
      .map((directive) => directive.trim());
    if (directives.includes('no-store') || directives.includes('no-cache')) return min;
    const maxAge = directives.map((directive) => /^max-age\s*=\s*"?(\d+)"?$/.exec(directive)?.[1]).find(Boolean);
    if (maxAge === undefined) return clamp(this.options.defaultCacheMs ?? 300_000);
    const age = Number(/^\d+$/.exec(headers.get('age')?.trim() ?? '')?.[0] ?? 0);
    return clamp((Number(maxAge) - age) * 1000);
  }

  private remember(url: string, result: Result, forMs: number): void {
    this.entries.delete(url);
    if (forMs <= 0) return;
    this.entries.set(url, { ...result, until: this.now() + forMs });
    while (this.entries.size > (this.options.maxEntries ?? 1000)) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}
