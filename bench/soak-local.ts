// `npm run bench -- --soak`: the local server as `npm start` runs it, under load at full speed for 10 minutes (or
// the minutes given): 16 clients, each request with a fresh assertion. Prints the server process's resident memory
// (all its threads, the table's included) every 10 seconds. Linux only (it reads /proc).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalServerProcess } from './local-server-process';
import { mib, printSample, type Sample, summarise } from './soak-report';

const MINUTES = Number(process.argv[2] ?? 10);
const CONCURRENCY = 16;
const INTERVAL_SECONDS = 10;

async function main() {
  const totalSeconds = MINUTES * 60;
  const server = await startLocalServerProcess();
  const work = mkdtempSync(join(tmpdir(), 'id-jag-soak-'));
  const keyFile = join(work, 'idp-key.json');
  writeFileSync(keyFile, JSON.stringify(server.idp), { mode: 0o600 });
  console.log(`soak: the local server (pid ${server.pid}), ${CONCURRENCY} clients, ${MINUTES} min`);
  const loader = fileURLToPath(new URL('./soak-load.mjs', import.meta.url));
  const load = spawn(
    process.execPath,
    [loader, `${server.url}/token`, keyFile, String(CONCURRENCY), server.authorization, String(totalSeconds)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let statuses: Record<string, number> = {};
  let pending = '';
  load.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) statuses = JSON.parse(line).statuses;
  });
  const samples: Sample[] = [];
  const started = Date.now();
  let previous = { seconds: 0, tokens: 0 };
  const sample = () => {
    const seconds = Math.round((Date.now() - started) / 1000);
    const tokens = statuses['200'] ?? 0;
    const all = Object.values(statuses).reduce((sum, count) => sum + count, 0);
    server.takeLatencies(); // not needed here; keeps the list from growing
    const current: Sample = {
      seconds,
      tokens,
      errors: all - tokens,
      tokensPerSecond: Math.round((tokens - previous.tokens) / Math.max(1, seconds - previous.seconds)),
      rssMiB: mib(server.rssBytes() ?? Number.NaN),
    };
    previous = { seconds, tokens };
    samples.push(current);
    printSample(current);
  };
  sample();
  const timer = setInterval(sample, INTERVAL_SECONDS * 1000);
  await new Promise((resolve) => load.once('exit', resolve));
  clearInterval(timer);
  sample();
  const exitCode = await server.stop();
  rmSync(work, { recursive: true, force: true });
  if (exitCode !== 0) console.error(`the local server exited with ${exitCode} on SIGTERM`);
  summarise('soak-local', samples, totalSeconds);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
