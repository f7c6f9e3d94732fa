// The local server as `npm start` runs it, in a process of its own, for benchmarks 3 and the soak: the built
// dist/bin/local-server.mjs on a free port, a fresh data directory (LevelDB on disk, the table's worker thread) and a
// configuration file with one tenant, whose IdP keys a loopback server here serves, and one client.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashClientSecret } from '../lambda/core/secrets';
import { basic } from '../test/support/fixture';
import { type IdpKey, idpKey } from './mint';

export const CLIENT_ID = 'claude';
const SECRET = 'bench-http-secret-0123456789abcdefghijk';
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LocalServerProcess {
  readonly url: string;
  readonly pid: number;
  /** The IdP the server trusts: mints fresh assertions for it (`assertionMinter`). */
  readonly idp: IdpKey;
  readonly authorization: string;
  /** Server-side exchange latencies (ms) from the token decision log lines since the last call. */
  takeLatencies(): number[];
  /** The process's resident set (threads included), in bytes: Linux only. */
  rssBytes(): number | undefined;
  /** CPU time (ms) each thread of the process has used so far, by thread id; the main thread's id is `pid`. Linux only. */
  threadCpuMs(): Map<number, number>;
  stop(): Promise<number | null>;
}

export async function startLocalServerProcess(extraArgs: readonly string[] = []): Promise<LocalServerProcess> {
  const bundle = join(root, 'dist', 'bin', 'local-server.mjs');
  if (!existsSync(bundle)) throw new Error('dist/bin/local-server.mjs is missing: node scripts/build.mjs --only tools');
  const dataDir = mkdtempSync(join(tmpdir(), 'id-jag-bench-'));
  const key = idpKey();
  const idpServer = createServer((_, response) => response.end(JSON.stringify(key.jwks)));
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
      clients: [{ clientId: CLIENT_ID, authMethod: 'client_secret_basic', secretHash: hashClientSecret(SECRET) }],
    }),
  );
  const child: ChildProcess = spawn(
    process.execPath,
    // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof" profiles the server (every thread) as it runs here.
    [
      ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      bundle,
      '--port',
      '0',
      '--data-dir',
      join(dataDir, 'data'),
      '--config',
      configPath,
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const latencies: number[] = [];
  let pending = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the local server exited with ${code} before it was ready`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('ready: ')) resolve(line.slice('ready: '.length));
        // The decision lines are JSON; only their latency is read, without parsing the whole line.
        const latency = /"latencyMs":([\d.]+)/.exec(line);
        if (latency && line.includes('"token decision"')) latencies.push(Number(latency[1]));
      }
    });
  });
  const pid = child.pid!;
  return {
    url,
    pid,
    idp: { ...key, issuer: `${idpOrigin}/idp`, audience: url, clientId: CLIENT_ID },
    authorization: basic(CLIENT_ID, SECRET),
    takeLatencies: () => latencies.splice(0),
    rssBytes: () => {
      try {
        const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        return kib ? Number(kib[1]) * 1024 : undefined;
      } catch {
        return undefined;
      }
    },
    threadCpuMs: () => threadCpuMs(pid),
    stop: async () => {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const code = await exited;
      idpServer.close();
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

/** utime + stime of every thread, from /proc (clock ticks of 10 ms); empty where /proc is not there. */
function threadCpuMs(pid: number): Map<number, number> {
  const times = new Map<number, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      times.set(Number(tid), (Number(fields[11]) + Number(fields[12])) * 10);
    }
  } catch {
    // Not Linux, or the process has gone: no numbers.
  }
  return times;
}
