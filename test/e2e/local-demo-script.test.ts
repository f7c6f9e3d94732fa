import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalServer, startLocalServer } from '../../bin/local/server';

const demoBundle = join(__dirname, '..', '..', 'dist', 'bin', 'demo.mjs');

/** `npm run demo` with its data directory elsewhere: exit code and output. */
function runDemo(dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!existsSync(demoBundle)) throw new Error('run `npm run build` first (npm test does)');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [demoBundle],
      { env: { ...process.env, ID_JAG_DATA_DIR: dataDir }, timeout: 20_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A loopback port nothing listens on any more. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('npm run demo tells what went wrong', () => {
  let work: string;
  let server: LocalServer;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'id-jag-demo-script-'));
    server = await startLocalServer({ port: 0, dataDir: join(work, 'data'), inMemory: true, write: () => undefined });
  });
  afterAll(async () => {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  });

  function demoDir(name: string, changes: Record<string, string>): string {
    const dir = join(work, name);
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, 'demo.json'), JSON.stringify({ ...server.demo, ...changes }));
    return dir;
  }

  it('says the server is not running, instead of "fetch failed"', async () => {
    const port = await closedPort();
    const dir = demoDir('stopped', {
      issuer: `http://127.0.0.1:${port}`,
      demoIdp: `http://127.0.0.1:${port}/demo-idp`,
    });
    const result = await runDemo(dir);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `cannot reach http://127.0.0.1:${port}: is the local server running? Start it with \`npm start -- --data-dir ${dir}\` in another terminal.`,
    );
  }, 30_000);

  it('shows the real body of a refused exchange, with no made-up token in it', async () => {
    const dir = demoDir('wrong-secret', { clientSecret: 'not-the-demo-client-secret-0123456789abcdef' });
    const result = await runDemo(dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/HTTP 401 \{"error":"invalid_client",.*\}/);
    expect(result.stdout).not.toContain('access_token');
    expect(result.stderr.trim()).toBe('the exchange failed: see the server log');
  }, 30_000);

  it('elides the tokens of a successful exchange', async () => {
    const result = await runDemo(join(work, 'data'));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('HTTP 200 {"access_token":"…"');
  }, 30_000);
});
