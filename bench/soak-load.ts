// The soak's load generator, in its own process: fresh assertions minted as it goes, posted to the token endpoint at
// a fixed concurrency for a number of seconds; prints one JSON line per second with the answers so far.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { assertionMinter, type MintKey } from './mint';

const [url, keyFile, concurrencyText, authorization, secondsText] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const concurrency = Number(concurrencyText);
const deadline = Date.now() + Number(secondsText) * 1000;
const mint = assertionMinter(JSON.parse(readFileSync(keyFile, 'utf8')) as MintKey);
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const target = new URL(url);
const statuses = new Map<number, number>();

function post(assertion: string): Promise<number> {
  const body = `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=${assertion}`;
  return new Promise((resolve) => {
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
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

const report = () => process.stdout.write(`${JSON.stringify({ statuses: Object.fromEntries(statuses) })}\n`);
const timer = setInterval(report, 1000);

async function main() {
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const status = await post(mint());
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  clearInterval(timer);
  report();
  agent.destroy();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
