// The load generator of benchmark 3, run in its own process: sends pre-minted assertions to the token endpoint at a
// fixed concurrency over keep-alive connections for a number of seconds (or until the assertions run out), after a
// short warm-up, and prints latency, throughput and statuses as JSON.
import { readFileSync } from 'node:fs';
import { percentile } from './stats';
import { tokenPoster } from './token-poster';

const [url, assertionsFile, concurrencyText, authorization, secondsText] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string | undefined,
];
const concurrency = Number(concurrencyText);
const seconds = Number(secondsText ?? Number.POSITIVE_INFINITY);
const assertions = readFileSync(assertionsFile, 'utf8').split('\n').filter(Boolean);
/** Not measured: connections, the server's registry cache and key set, V8's compilation. */
const WARMUP_REQUESTS = Math.min(500, Math.floor(assertions.length / 10));

const poster = tokenPoster(url, authorization, concurrency);
const post = poster.post;

async function main() {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < WARMUP_REQUESTS) await post(assertions[next++]!);
    }),
  );
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let assertion = assertions[next++]; assertion !== undefined; assertion = assertions[next++]) {
        const t0 = performance.now();
        const status = await post(assertion);
        latencies.push(performance.now() - t0);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (performance.now() >= deadline) break;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  const ok = statuses.get(200) ?? 0;
  process.stdout.write(
    `${JSON.stringify({
      concurrency,
      requests: latencies.length,
      errors: latencies.length - ok,
      statuses: Object.fromEntries(statuses),
      ranOutOfAssertions: next >= assertions.length,
      requestsPerSecond: latencies.length / elapsed,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      cpuMs: (cpu.user + cpu.system) / 1000,
    })}\n`,
  );
  poster.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
