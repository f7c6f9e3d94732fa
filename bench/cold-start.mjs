// Benchmark 4: bundle sizes and the time to import each handler bundle and construct its clients in a fresh Node
// process, beside an empty Node process and the naive baseline bundle. Prints JSON on stdout.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';

const [root, baseline] = process.argv.slice(2);
const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 15);
// Every AWS endpoint on a closed loopback port: a call started at init fails at once, and nothing leaves the machine.
const env = {
  PATH: process.env.PATH,
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  AUTH_SERVER_CONFIG: JSON.stringify({
    issuer: 'https://auth.example.com',
    resources: [{ id: 'https://mcp.example.com', scopes: ['read'] }],
  }),
  SIGNING_KEY_ID: 'bench-key',
  TABLE_NAME: 'bench',
};

const targets = {
  'empty node': null,
  baseline,
  metadata: join(root, 'assets', 'metadata', 'index.mjs'),
  jwks: join(root, 'assets', 'jwks', 'index.mjs'),
  token: join(root, 'assets', 'token', 'index.mjs'),
};

/** Wall time of a whole process that imports the bundle, lets its module-scope wiring run, and exits. */
function once(file) {
  const script = file
    ? `await import(${JSON.stringify(file)}); await new Promise((resolve) => setImmediate(resolve)); process.exit(0);`
    : 'process.exit(0);';
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, stdio: 'pipe' });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${file}: ${result.stderr}`);
  return elapsed;
}

const samples = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
for (let run = 0; run < RUNS; run++) {
  // Interleaved, so that drift in the machine's load affects every target alike.
  for (const [name, file] of Object.entries(targets)) samples[name].push(once(file));
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const empty = median(samples['empty node']);
const results = Object.entries(targets).map(([name, file]) => {
  const total = median(samples[name]);
  return {
    name,
    bundleKiB: file ? Number((statSync(file).size / 1024).toFixed(1)) : 0,
    medianMs: Number(total.toFixed(1)),
    overheadMs: Number((total - empty).toFixed(1)),
  };
});
const overhead = (name) => results.find((r) => r.name === name).overheadMs;
process.stdout.write(
  `${JSON.stringify({ runs: RUNS, results, tokenToBaselineOverhead: Number((overhead('token') / overhead('baseline')).toFixed(2)) })}\n`,
);
