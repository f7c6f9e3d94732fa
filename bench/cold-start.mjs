// Benchmark 4: the time to import each handler bundle and construct its clients in a fresh Node process, beside an
// empty Node process and the naive baseline bundle. Prints JSON on stdout.
// Usage: node bench/cold-start.mjs '<JSON: [{ name, file, kib, untilFirstRequest? }]>' (bench/run.mjs passes the bundles)
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';

const bundles = JSON.parse(process.argv[2]);
const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 31);
const env = {
  PATH: process.env.PATH,
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
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

// The AWS endpoint: a loopback server that answers every call with an error, and tells when the first one arrives.
let firstRequest;
const endpoint = createServer((request, response) => {
  firstRequest?.();
  request.resume();
  response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end('{"__type":"BenchException"}');
});
await new Promise((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
env.AWS_ENDPOINT_URL = `http://127.0.0.1:${endpoint.address().port}`;

/**
 * Wall time of a fresh process: until it has imported the bundle, run its module-scope wiring and exited, or, for a
 * target with `untilFirstRequest`, until its first AWS call reaches the endpoint (the process is then stopped).
 */
function once({ file, untilFirstRequest }, mode) {
  const script = file
    ? `await import(${JSON.stringify(file)}); ${untilFirstRequest ? '' : 'await new Promise((resolve) => setImmediate(resolve)); process.exit(0);'}`
    : 'process.exit(0);';
  const node = [process.execPath, '--input-type=module', '-e', script];
  const [command, ...args] = mode === 'one core' ? ['taskset', '-c', '0', ...node] : node;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    firstRequest = untilFirstRequest
      ? () => {
          firstRequest = undefined;
          resolve(elapsed());
          child.kill();
        }
      : undefined;
    child.on('exit', (code, signal) => {
      if (untilFirstRequest && signal === 'SIGTERM') return;
      if (code === 0 && !untilFirstRequest) resolve(elapsed());
      else reject(new Error(`${file}: exit ${code ?? signal}: ${stderr}`));
    });
  });
}

const samples = modes.map(() => targets.map(() => []));
for (let run = 0; run < RUNS; run++) {
  // Interleaved, so that drift in the machine's load affects every target alike.
  for (const [m, mode] of modes.entries()) {
    for (const [t, target] of targets.entries()) samples[m][t].push(await once(target, mode));
  }
}
endpoint.close();
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
