// The soak's load generator, in its own process: fresh assertions minted as it goes, posted to the token endpoint at
// a fixed concurrency for a number of seconds; prints one JSON line per second with the answers so far.
import { readFileSync } from 'node:fs';
import { assertionMinter, type MintKey } from './mint';
import { tokenPoster } from './token-poster';

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
const statuses = new Map<number, number>();

const poster = tokenPoster(url, authorization, concurrency);
const post = poster.post;

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
  poster.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
