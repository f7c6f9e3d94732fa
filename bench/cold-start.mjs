// Benchmark 4: the time to import each handler bundle and construct its clients in a fresh Node process, beside an
// empty Node process and the naive baseline bundle. Prints JSON on stdout.
// Usage: node bench/cold-start.mjs '<JSON: [{ name, file, kib }]>' (bench/run.mjs passes the bundles)
import { spawnSync } from 'node:child_process';

const bundles = JSON.parse(process.argv[2]);
const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 21);
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

const targets = [{ name: 'empty node', file: null, kib: 0 }, ...bundles];
// Also on one core, as a Lambda function below 1,769 MB has less than one vCPU (where taskset exists: Linux).
const canPin = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const modes = canPin ? ['all cores', 'one core'] : ['all cores'];

/** Wall time of a whole process that imports the bundle, lets its module-scope wiring run, and exits. */
function once(file, mode) {
  const script = file
    ? `await import(${JSON.stringify(file)}); await new Promise((resolve) => setImmediate(resolve)); process.exit(0);`
    : 'process.exit(0);';
  const node = [process.execPath, '--input-type=module', '-e', script];
  const [command, ...args] = mode === 'one core' ? ['taskset', '-c', '0', ...node] : node;
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { env, stdio: 'pipe' });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${file}: ${result.stderr}`);
  return elapsed;
}

const samples = modes.map(() => targets.map(() => []));
for (let run = 0; run < RUNS; run++) {
  // Interleaved, so that drift in the machine's load affects every target alike.
  modes.forEach((mode, m) => {
    targets.forEach(({ file }, t) => {
      samples[m][t].push(once(file, mode));
    });
  });
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (ms) => Number(ms.toFixed(1));
const results = modes.flatMap((mode, m) => {
  const empty = median(samples[m][0]);
  const baseline = median(samples[m][targets.findIndex((target) => target.name === 'baseline')]) - empty;
  return targets.map(({ name, kib }, t) => {
    const overhead = median(samples[m][t]) - empty;
    return {
      cpus: mode,
      name,
      bundleKiB: kib,
      medianMs: round(median(samples[m][t])),
      overheadMs: round(overhead),
      toBaseline: Number((overhead / baseline).toFixed(2)),
    };
  });
});
process.stdout.write(`${JSON.stringify({ runs: RUNS, results })}\n`);
