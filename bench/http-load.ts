// The load generator of benchmark 3, run in its own process: sends pre-minted assertions to the token endpoint at a
// fixed concurrency over keep-alive connections and prints latency and throughput as JSON.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { percentile } from './stats';

const [url, assertionsFile, concurrencyText, authorization] = process.argv.slice(2) as [string, string, string, string];
const concurrency = Number(concurrencyText);
const assertions = readFileSync(assertionsFile, 'utf8').split('\n').filter(Boolean);
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const target = new URL(url);

function post(assertion: string): Promise<number> {
  const body = `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=${assertion}`;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          authorization,
        },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let assertion = assertions[next++]; assertion !== undefined; assertion = assertions[next++]) {
        const t0 = performance.now();
        const status = await post(assertion);
        latencies.push(performance.now() - t0);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({
      concurrency,
      requests: latencies.length,
      statuses: Object.fromEntries(statuses),
      requestsPerSecond: latencies.length / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    })}\n`,
  );
  agent.destroy();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
