#!/usr/bin/env node
// `npm run bench`: builds the benchmarks, runs them one after another on this machine, prints a table and writes
// bench/results/latest.json. Benchmarks print numbers; they assert nothing (tests never time anything).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleLambda, requireShim } from '../scripts/bundling.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'bench', '.build');
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  mainFields: ['module', 'main'],
  banner: { js: requireShim },
  logLevel: 'error',
};

const args = process.argv.slice(2);
/** `--only http`: the local server section alone (it needs no Lambda bundle); `--soak`: the soaks instead (BENCHMARKS.md, "Memory under sustained load"); `--minutes N`. */
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const soak = args.includes('--soak');

if (!soak && only !== 'http') {
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--only', 'lambda'], { stdio: 'inherit' });
}
// The local server runs as `npm start` runs it: the built dist/bin/local-server.mjs. Build output goes to stderr.
execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--only', 'tools'], {
  stdio: ['ignore', process.stderr, 'inherit'],
});
for (const name of ['exchange', 'remote-calls', 'http', 'http-load', 'soak-local', 'soak-load', 'soak-lambda']) {
  await build({
    ...common,
    entryPoints: [join(root, 'bench', `${name}.ts`)],
    outfile: join(out, `${name}.mjs`),
    target: 'node20',
    external: ['dynalite'],
  });
}
if (soak) {
  const minutes = args.includes('--minutes') ? args[args.indexOf('--minutes') + 1] : '10';
  const which = args.includes('--only') ? [only] : ['local', 'lambda'];
  for (const name of which) {
    execFileSync(process.execPath, [join(out, `soak-${name}.mjs`), minutes], { env, stdio: 'inherit' });
  }
  process.exit(0);
}

const kib = (bytes) => Number((bytes / 1024).toFixed(1));
const run = (command, args) => JSON.parse(execFileSync(command, args, { env, encoding: 'utf8', maxBuffer: 1 << 26 }));
const node = (file) => run(process.execPath, [join(out, file)]);
const table = (title, rows) => {
  console.log(`\n${title}`);
  console.table(rows);
};
/** Benchmark 3's table: the local server's rate as a ratio to the crypto floor measured in the same run. */
const httpTable = (http) =>
  table(
    `3. Local HTTP server (npm start: dynalite on a worker thread, LevelDB, file signer), load from a second process; ` +
      `crypto floor on the same cores at ${http.floor.concurrency} in flight: ${http.floor.opsPerSecond} ops/s; ` +
      'goal: ratio ≥ 0.25 at 16, p99 < 100 ms at 64, no errors',
    http.levels.map((r) => ({
      concurrency: r.concurrency,
      'req/s': Math.round(r.requestsPerSecond),
      'ratio to floor': r.ratioToFloor,
      'p50 ms': r.p50Ms.toFixed(2),
      'p99 ms': r.p99Ms.toFixed(2),
      'server exchange p50 ms': r.serverExchangeP50Ms,
      // CPU per request (ms): the server's main thread / the table's worker / the load generator.
      'CPU ms main/table/load': r.cpuMsPerRequest
        ? [r.cpuMsPerRequest.serverMain, r.cpuMsPerRequest.tableWorker, r.cpuMsPerRequest.loadGenerator].join(' / ')
        : '',
      errors: r.errors,
      statuses: JSON.stringify(r.statuses),
    })),
  );
if (only === 'http') {
  console.log('running: local HTTP server under load …');
  const http = node('http.mjs');
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'http.json'), `${JSON.stringify(http, null, 2)}\n`);
  httpTable(http);
  console.log('\nwritten: bench/results/http.json');
  process.exit(0);
}

// The naive baseline: the two SDK clients and jose, minified, with the SDK's full credential chain.
await build({
  ...common,
  entryPoints: [join(root, 'bench', 'baseline-handler.ts')],
  outfile: join(out, 'baseline', 'index.mjs'),
  target: 'node22',
  minify: true,
});
// The token handler minus its signing-key prefetch, bundled exactly as the shipped one.
await bundleLambda({
  entry: join(root, 'bench', 'token-init-handler.ts'),
  outdir: join(out, 'token-init'),
});

// "On one core": where taskset exists (Linux), the floor and the core are pinned to CPU 0, thread pool included.
const canPin = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
console.log(
  `running: crypto floor and core exchange${canPin ? ' (pinned to one core)' : ' (not pinned: no taskset)'} …`,
);
const exchange = canPin
  ? run('taskset', ['-c', '0', process.execPath, join(out, 'exchange.mjs')])
  : node('exchange.mjs');
console.log('running: remote calls per warm exchange …');
const remoteCalls = node('remote-calls.mjs');
console.log('running: local HTTP server under load …');
const http = node('http.mjs');
console.log('running: cold start …');
const bundleTarget = (name, file, more = {}) => ({ name, file, kib: kib(statSync(file).size), ...more });
const coldStartTargets = [
  bundleTarget('baseline', join(out, 'baseline', 'index.mjs')),
  bundleTarget('metadata', join(root, 'assets', 'metadata', 'index.mjs')),
  bundleTarget('jwks', join(root, 'assets', 'jwks', 'index.mjs')),
  // The goal's measure: import the bundle and construct its clients.
  bundleTarget('token', join(out, 'token-init', 'index.mjs')),
  // As shipped: init also fetches the signing key's public key, so that credentials, endpoint, request signing and
  // the HTTP connection are set up before the first request rather than during it; timed until that call is sent.
  bundleTarget('token, with key prefetch', join(root, 'assets', 'token', 'index.mjs'), { untilFirstRequest: true }),
];
const coldStart = JSON.parse(
  execFileSync(process.execPath, [join(root, 'bench', 'cold-start.mjs'), JSON.stringify(coldStartTargets)], {
    env,
    encoding: 'utf8',
  }),
);

const machine = {
  node: process.version,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  exchangePinnedToOneCore: canPin,
  date: new Date().toISOString(),
};
const results = { machine, exchange, remoteCalls, http, coldStart };
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);

/** One row of the floor-versus-core table: the core's rate, latency and ratio to the floor's rate. */
const exchangeRow = (assertion, signer, inFlight, floor, core) => ({
  assertion,
  signer,
  'in flight': inFlight,
  'floor ops/s': floor.opsPerSecond,
  'core ops/s': core.opsPerSecond,
  'core p50 ms': core.p50Ms,
  'core p99 ms': core.p99Ms,
  ratio: Number((core.opsPerSecond / floor.opsPerSecond).toFixed(2)),
});
const exchangeRows = exchange.flatMap((r) => [
  exchangeRow(r.assertionAlgorithm, 'WebCrypto', 1, r.sequential.floor, r.sequential.core),
  exchangeRow(r.assertionAlgorithm, 'WebCrypto', r.concurrent.concurrency, r.concurrent.floor, r.concurrent.core),
  exchangeRow(r.assertionAlgorithm, 'node:crypto (local)', 1, r.sequential.floor, r.coreWithLocalSigner),
]);
table(
  '1-2. Crypto floor (jose: verify one assertion + sign one ES256 token) vs the core exchange, one core; goal: ratio ≥ 0.8',
  exchangeRows,
);
httpTable(http);
table(`4. Cold start (median of ${coldStart.runs} fresh processes)`, coldStart.results);
console.log('token init overhead / baseline: goal ≤ 0.75 (column toBaseline)');
table('5. Remote calls per warm exchange (goal: 2, concurrent)', [
  {
    'calls/exchange': remoteCalls.callsPerWarmExchange,
    patterns: JSON.stringify(remoteCalls.warmCallPatterns),
    'PutItem ∥ Sign': remoteCalls.putAndSignOverlapped,
  },
]);
console.log('\nwritten: bench/results/latest.json');
