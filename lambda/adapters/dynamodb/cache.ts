/**
 * A small time-bounded cache of lookups. It holds promises, so concurrent misses for one key share one request; a
 * failed lookup is forgotten at once (only answers, including "not found", are cached). Its size is bounded because
 * some keys (an assertion's unverified `iss`) come from callers.
 */
export class LookupCache<T> {
  private readonly entries = new Map<string, { readonly value: Promise<T>; readonly storedAt: number }>();

  constructor(
    private readonly maxAgeMs: number,
    private readonly maxEntries: number,
    private readonly nowMs: () => number,
  ) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.nowMs();
    const cached = this.entries.get(key);
    if (cached && now - cached.storedAt < this.maxAgeMs) return cached.value;
    if (cached) this.entries.delete(key);

    const value = load();
    if (this.maxAgeMs <= 0) return value;
    this.entries.set(key, { value, storedAt: now });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    this.evictOldest();
    return value;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Maps keep insertion order, so the first entries are the oldest. */
  private evictOldest(): void {
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) return;
      this.entries.delete(key);
    }
  }
}
