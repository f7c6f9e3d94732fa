// Benchmark 3: the local server (embedded dynalite, file signer) under load from a second process, at concurrency
// 1, 16 and 64; every request carries a fresh valid assertion. Prints JSON on stdout.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startLocalServer } from '../bin/local/server';
import { hashClientSecret } from '../lambda/core/secrets';
import { basic } from '../test/support/fixture';
import { TestIdp } from '../test/support/test-idp';
import { percentile } from './stats';

const run = promisify(execFile);
const REQUESTS = Number(process.env.BENCH_HTTP_REQUESTS ?? 3000);
const SECRET = 'bench-http-secret-0123456789abcdefghijk';

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'id-jag-bench-'));
  let idp: TestIdp | undefined;
  const idpServer = createServer((_, response) => response.end(JSON.stringify(idp?.jwks)));
  await new Promise<void>((resolve) => idpServer.listen(0, '127.0.0.1', resolve));
  const idpOrigin = `http://127.0.0.1:${(idpServer.address() as AddressInfo).port}`;
  const configPath = join(dataDir, 'config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      resources: [{ id: 'https://mcp.example.com/mcp', scopes: ['read'] }],
      tenants: [
        { id: 'acme', issuers: [{ issuer: `${idpOrigin}/idp`, jwksUri: `${idpOrigin}/keys`, algorithms: ['ES256'] }] },
      ],
      clients: [{ clientId: 'claude', authMethod: 'client_secret_basic', secretHash: hashClientSecret(SECRET) }],
    }),
  );
  const coreLatencies: number[] = [];
  const server = await startLocalServer({
    port: 0,
    dataDir,
    configPath,
    inMemory: true,
    write: (line) => {
      if (line.includes('"token decision"')) coreLatencies.push(JSON.parse(line).latencyMs);
    },
  });
  idp = await TestIdp.create({ issuer: `${idpOrigin}/idp`, audience: server.issuer, clientId: 'claude', alg: 'ES256' });

  const results = [];
  for (const concurrency of [1, 16, 64]) {
    const assertions = await Promise.all(Array.from({ length: REQUESTS }, () => idp!.mint()));
    const file = join(dataDir, `assertions-${concurrency}.txt`);
    writeFileSync(file, assertions.join('\n'));
    coreLatencies.length = 0;
    const loader = fileURLToPath(new URL('./http-load.mjs', import.meta.url));
    const { stdout } = await run(process.execPath, [
      loader,
      `${server.url}/token`,
      file,
      String(concurrency),
      basic('claude', SECRET),
    ]);
    const load = JSON.parse(stdout);
    const core = [...coreLatencies].sort((a, b) => a - b);
    results.push({ ...load, serverExchangeP50Ms: percentile(core, 50), serverExchangeP99Ms: percentile(core, 99) });
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
  await server.close();
  idpServer.close();
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
