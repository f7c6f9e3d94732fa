// What both soaks print and keep: memory samples over time, and whether resident memory stayed flat after warm-up.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Sample {
  readonly seconds: number;
  readonly tokens: number;
  readonly errors: number;
  readonly tokensPerSecond: number;
  readonly rssMiB: number;
  readonly heapUsedMiB?: number;
  readonly externalMiB?: number;
}

const MIB = 1024 * 1024;
export const mib = (bytes: number) => Math.round((bytes / MIB) * 10) / 10;
/** Not judged: the first minute (or tenth of a shorter run) fills caches, pools and V8's heap. */
export const warmupSeconds = (totalSeconds: number) => Math.min(60, totalSeconds / 10);

export function printSample(sample: Sample): void {
  const heap =
    sample.heapUsedMiB === undefined ? '' : `  heap ${sample.heapUsedMiB} MiB  external ${sample.externalMiB} MiB`;
  console.log(
    `${String(sample.seconds).padStart(5)} s  ${String(sample.tokens).padStart(8)} tokens  ` +
      `${String(sample.tokensPerSecond).padStart(5)}/s  errors ${sample.errors}  RSS ${sample.rssMiB} MiB${heap}`,
  );
}

/** The summary: RSS after warm-up against its median, and the growth per token over that time. */
export function summarise(name: string, samples: readonly Sample[], totalSeconds: number) {
  const warm = samples.filter((sample) => sample.seconds >= warmupSeconds(totalSeconds));
  const rss = warm.map((sample) => sample.rssMiB).sort((a, b) => a - b);
  const median = rss[Math.floor(rss.length / 2)] ?? Number.NaN;
  const first = warm[0];
  const last = warm.at(-1);
  const summary = {
    name,
    minutes: totalSeconds / 60,
    tokens: last?.tokens ?? 0,
    errors: last?.errors ?? 0,
    tokensPerSecond: last ? Math.round(last.tokens / last.seconds) : 0,
    warmupSeconds: warmupSeconds(totalSeconds),
    rssAfterWarmupMiB: { min: rss[0], median, max: rss.at(-1) },
    /** The largest distance from the median after warm-up, in per cent: the goal is within 20. */
    rssSpreadPercent:
      Math.round((Math.max(median - (rss[0] ?? median), (rss.at(-1) ?? median) - median) / median) * 1000) / 10,
    bytesPerTokenAfterWarmup:
      first && last && last.tokens > first.tokens
        ? Math.round(((last.rssMiB - first.rssMiB) * MIB) / (last.tokens - first.tokens))
        : undefined,
  };
  console.log(`\n${name}: ${JSON.stringify(summary)}`);
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  mkdirSync(join(root, 'results'), { recursive: true });
  writeFileSync(join(root, 'results', `${name}.json`), `${JSON.stringify({ summary, samples }, null, 2)}\n`);
  console.log(`written: bench/results/${name}.json`);
}
