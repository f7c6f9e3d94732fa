/** Small statistics helpers shared by the benchmarks. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export interface Summary {
  readonly count: number;
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Returned by an operation that has run out of inputs: the run ends early, its rate stays exact. */
export const EXHAUSTED = Symbol('exhausted');

/**
 * Runs `operation` for about `seconds` (or until it returns EXHAUSTED) after a warm-up, `concurrency` at a time (1: strictly one after another), and
 * summarises throughput and latencies. With more than one in flight, the crypto that jose hands to the thread pool
 * overlaps with the main thread, so throughput measures CPU cost rather than thread hand-off latency.
 */
export async function measure(
  operation: () => Promise<unknown>,
  seconds: number,
  concurrency = 1,
  warmup = 2000,
): Promise<Summary> {
  for (let i = 0; i < warmup; i++) if ((await operation()) === EXHAUSTED) throw new Error('no inputs left to warm up');
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        if ((await operation()) === EXHAUSTED) return;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    count: latencies.length,
    opsPerSecond: latencies.length / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

export const round = (value: number, digits = 2) => Number(value.toFixed(digits));
