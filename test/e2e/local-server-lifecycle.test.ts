import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bundle = join(__dirname, '..', '..', 'dist', 'bin', 'local-server.mjs');

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm start` as a script runs it: `--port 0`, then wait for the one "ready: <url>" line. */
function start(dataDir: string, args: readonly string[] = []): Promise<Started> {
  if (!existsSync(bundle)) throw new Error('run `npm run build` first (npm test does)');
  const child = spawn(process.execPath, [bundle, '--port', '0', '--data-dir', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const onData = () => {
      const ready = /^ready: (http:\/\/\S+)$/m.exec(output);
      if (ready) {
        child.stdout!.off('data', onData);
        resolve({ child, url: ready[1]!, output: () => output, exited });
      }
    };
    child.stdout!.on('data', onData);
    exited.then(() => reject(new Error(`the local server exited before it was ready:\n${output}`)));
  });
}

/** Whether a process with this id exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the local server as a process', () => {
  let work: string;
  const running: ChildProcess[] = [];

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'id-jag-lifecycle-'));
  });
  afterEach(async () => {
    for (const child of running.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('prints one ready line with the port it bound for --port 0, and serves there', async () => {
    const server = await start(join(work, 'data'));
    running.push(server.child);
    expect(server.output().match(/^ready: /gm)).toHaveLength(1);
    const { port } = new URL(server.url);
    expect(Number(port)).toBeGreaterThan(0);
    const metadata = await fetch(`${server.url}/.well-known/oauth-authorization-server`);
    expect(metadata.status).toBe(200);
  }, 30_000);

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'exits with code 0 on %s, its socket and local-server.json removed',
    async (signal) => {
      const dataDir = join(work, 'data');
      const server = await start(dataDir);
      running.push(server.child);
      const { dynamodbSocket, pid } = JSON.parse(readFileSync(join(dataDir, 'local-server.json'), 'utf8'));
      expect(pid).toBe(server.child.pid);
      expect(existsSync(dynamodbSocket)).toBe(true);

      server.child.kill(signal);
      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(existsSync(dynamodbSocket)).toBe(false);
      expect(existsSync(join(dataDir, 'local-server.json'))).toBe(false);
      expect(alive(pid)).toBe(false);
    },
    30_000,
  );

  it('stops a second server on the same data directory with one line naming it, no stack', async () => {
    const dataDir = join(work, 'data');
    const first = await start(dataDir);
    running.push(first.child);
    const second = spawn(process.execPath, [bundle, '--port', '0', '--data-dir', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.push(second);
    let stderr = '';
    second.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise((resolve) => second.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(`another local server is using ${dataDir}`);
    // The first one still serves.
    expect((await fetch(`${first.url}/jwks.json`)).status).toBe(200);
  }, 30_000);

  it('says how to administer it: the admin CLI with --local and its data directory', async () => {
    const dataDir = join(work, 'data');
    const server = await start(dataDir, ['--registry-cache', '5']);
    running.push(server.child);
    expect(server.output()).toContain(`node dist/bin/admin.mjs tenants list --local --data-dir ${dataDir}`);
    expect(server.output()).toContain('edits apply within 5 s');
  }, 30_000);

  it('refuses a --registry-cache that is not a number of seconds, with the usage', async () => {
    const child = spawn(process.execPath, [bundle, '--registry-cache', 'soon', '--data-dir', join(work, 'data')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(1);
    expect(stderr).toMatch(/^--registry-cache must be a number of seconds/);
    expect(stderr).toContain('Usage: npm start');
  }, 30_000);
});
