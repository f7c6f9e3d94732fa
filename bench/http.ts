// Benchmark 3: the local server as `npm start` runs it (its own process, LevelDB on disk, the table on a worker
// thread, the file signer) under load from a second process at concurrency 1, 16 and 64, every request with a fresh
// valid assertion; and, in the same run and on the same cores, the crypto floor at concurrency 16, to which the
// server's rate is compared. Prints JSON on stdout.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { measureFloor } from './floor';
import { startLocalServerProcess } from './local-server-process';
import { assertionMinter } from './mint';
import { percentile, round } from './stats';

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 8);
/** Assertions minted ahead per level: more than a level can use in SECONDS on this kind of machine. */
const POOL = Number(process.env.BENCH_HTTP_POOL ?? 30_000);
const LEVELS = [1, 16, 64];
const FLOOR_CONCURRENCY = 16;

async function main() {
  // The floor first, alone on the machine: no server is running yet.
  const floor = await measureFloor(SECONDS, FLOOR_CONCURRENCY);

  const server = await startLocalServerProcess(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'id-jag-bench-load-'));
  const loader = fileURLToPath(new URL('./http-load.mjs', import.meta.url));
  const mint = assertionMinter(server.idp);
  const levels = [];
  try {
    for (const concurrency of LEVELS) {
      const assertions = Array.from({ length: POOL }, mint);
      const file = join(work, `assertions-${concurrency}.txt`);
      writeFileSync(file, assertions.join('\n'));
      server.takeLatencies();
      const cpuBefore = server.threadCpuMs();
      const { stdout } = await run(
        process.execPath,
        [loader, `${server.url}/token`, file, String(concurrency), server.authorization, String(SECONDS)],
        { maxBuffer: 1 << 24 },
      );
      const load = JSON.parse(stdout);
      const exchange = server.takeLatencies().sort((a, b) => a - b);
      const cpu = cpuPerRequest(cpuBefore, server.threadCpuMs(), server.pid, load.requests);
      levels.push({
        ...load,
        cpuMsPerRequest: { ...cpu, loadGenerator: round(load.cpuMs / load.requests, 3) },
        ratioToFloor: round(load.requestsPerSecond / floor.opsPerSecond, 3),
        serverExchangeP50Ms: percentile(exchange, 50),
        serverExchangeP99Ms: percentile(exchange, 99),
      });
    }
  } finally {
    const exitCode = await server.stop();
    rmSync(work, { recursive: true, force: true });
    if (exitCode !== 0) console.error(`the local server exited with ${exitCode} on SIGTERM`);
  }
  const summary = {
    opsPerSecond: round(floor.opsPerSecond, 0),
    p50Ms: round(floor.p50Ms, 3),
    p99Ms: round(floor.p99Ms, 3),
  };
  process.stdout.write(`${JSON.stringify({ floor: { concurrency: FLOOR_CONCURRENCY, ...summary }, levels })}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

/**
 * Where a level's CPU went, per request, in ms: the server's main thread (HTTP, the core, the SDK client), its
 * busiest other thread (the table's worker: dynalite and LevelDB), and the rest (libuv's pool, V8's helpers). Includes
 * the warm-up's requests' share, which is small; clock ticks of 10 ms.
 */
function cpuPerRequest(before: Map<number, number>, after: Map<number, number>, pid: number, requests: number) {
  const used = [...after].map(([tid, ms]) => ({ tid, ms: ms - (before.get(tid) ?? 0) }));
  const main = used.find((thread) => thread.tid === pid)?.ms ?? 0;
  const others = used.filter((thread) => thread.tid !== pid).sort((a, b) => b.ms - a.ms);
  const table = others[0]?.ms ?? 0;
  const rest = others.slice(1).reduce((sum, thread) => sum + thread.ms, 0);
  const per = (ms: number) => round(ms / Math.max(1, requests), 3);
  return { serverMain: per(main), tableWorker: per(table), serverOther: per(rest) };
}
