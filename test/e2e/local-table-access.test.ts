import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { type LocalServerFile, socketClient } from '../../bin/local/embedded-dynamodb';
import { startLocalServer } from '../../bin/local/server';

const root = join(__dirname, '..', '..');
const bundle = join(root, 'dist', 'bin', 'local-server.mjs');
const linux = existsSync('/proc/net/tcp');
const quiet = { port: 0, write: () => undefined } as const;

const mode = (path: string) => statSync(path).mode & 0o777;
const serverFile = (dataDir: string) =>
  JSON.parse(readFileSync(join(dataDir, 'local-server.json'), 'utf8')) as LocalServerFile;

/** Whether something accepts connections on this unix socket, as the user running the test. */
function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The TCP ports a process listens on (Linux: its socket inodes matched against /proc/net/tcp and tcp6). */
function listeningTcpPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, state, inode] = [fields[1], fields[3], fields[9]];
      if (state === '0A' && inode && inodes.has(inode)) ports.push(Number.parseInt(local!.split(':')[1]!, 16));
    }
  }
  return ports.sort((a, b) => a - b);
}

/**
 * Local mode's table is reachable by the local server only: dynalite listens on a unix socket in the 0700 data
 * directory (test/e2e/local-data-dir.test.ts), never on a TCP port.
 */
describe('the local server keeps its table to itself', () => {
  let work: string;

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'id-jag-table-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  describe('npm start, as a process', () => {
    let child: ChildProcess | undefined;
    afterEach(async () => {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child!.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      child = undefined;
    });

    async function start(dataDir: string): Promise<{ pid: number; port: number }> {
      if (!existsSync(bundle)) throw new Error('run `npm run build` first (npm test does)');
      child = spawn(process.execPath, [bundle, '--port', '0', '--data-dir', dataDir], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      await new Promise<void>((resolve, reject) => {
        child!.stdout!.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('Press Ctrl-C')) resolve();
        });
        child!.stderr!.on('data', (chunk: Buffer) => {
          output += chunk.toString();
        });
        child!.once('exit', () => reject(new Error(`the local server exited:\n${output}`)));
      });
      const port = Number(/issuer\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(output)![1]);
      return { pid: child!.pid!, port };
    }

    (linux ? it : it.skip)(
      'listens on no TCP port but its HTTP port',
      async () => {
        const { pid, port } = await start(join(work, 'data'));
        expect(listeningTcpPorts(pid)).toEqual([port]);
      },
      30_000,
    );

    (linux ? it : it.skip)(
      'answers a DynamoDB request on none of its TCP ports, nor a web page’s preflight',
      async () => {
        const { pid } = await start(join(work, 'data'));
        const ports = listeningTcpPorts(pid);
        expect(ports.length).toBeGreaterThan(0);
        const origin = 'http://attacker.example';
        for (const port of ports) {
          const listTables = await fetch(`http://127.0.0.1:${port}/`, {
            method: 'POST',
            headers: {
              'content-type': 'application/x-amz-json-1.0',
              'x-amz-target': 'DynamoDB_20120810.ListTables',
              authorization:
                'AWS4-HMAC-SHA256 Credential=a/20250101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=b',
              'x-amz-date': '20250101T000000Z',
              origin,
            },
            body: '{}',
          });
          expect(listTables.status).toBe(404);
          expect(await listTables.text()).not.toContain('TableNames');
          const preflight = await fetch(`http://127.0.0.1:${port}/`, {
            method: 'OPTIONS',
            headers: { origin, 'access-control-request-method': 'POST' },
          });
          expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
        }
      },
      30_000,
    );

    it('serves the table on a unix socket in its 0700 data directory, named in local-server.json', async () => {
      const dataDir = join(work, 'data');
      const { pid } = await start(dataDir);
      const file = serverFile(dataDir);
      expect(file).toMatchObject({ pid, dynamodbSocket: join(dataDir, 'dynamodb.sock'), tableName: 'id-jag-local' });
      expect(mode(dataDir)).toBe(0o700);
      expect(mode(join(dataDir, 'local-server.json'))).toBe(0o600);
      expect(lstatSync(file.dynamodbSocket).isSocket()).toBe(true);
      const client = socketClient(file.dynamodbSocket);
      try {
        expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual(['id-jag-local']);
      } finally {
        client.destroy();
      }
    }, 30_000);

    (process.getuid?.() === 0 ? it : it.skip)(
      'lets no other user connect to the socket',
      async () => {
        // Only the data directory's own mode may keep "nobody" out: the directory around it is open.
        chmodSync(work, 0o755);
        const dataDir = join(work, 'data');
        await start(dataDir);
        // The test runs as root, which passes every permission check: ask as "nobody" instead.
        const probe = `require('net').connect(process.argv[1]).on('connect', () => process.stdout.write('connected'))
        .on('error', (error) => process.stdout.write(error.code))`;
        const answer = execFileSync(process.execPath, ['-e', probe, serverFile(dataDir).dynamodbSocket], {
          uid: 65534,
          gid: 65534,
          encoding: 'utf8',
        });
        expect(answer).toBe('EACCES');
      },
      30_000,
    );
  });

  describe('the socket', () => {
    it('stops with the server: socket and local-server.json removed', async () => {
      const dataDir = join(work, 'data');
      const server = await startLocalServer({ ...quiet, dataDir });
      const socket = serverFile(dataDir).dynamodbSocket;
      await server.close();
      expect(existsSync(socket)).toBe(false);
      expect(existsSync(join(dataDir, 'local-server.json'))).toBe(false);
    });

    it('lives in a fresh private temporary directory when the data directory path is too long for one', async () => {
      const dataDir = join(work, 'd'.repeat(100));
      const server = await startLocalServer({ ...quiet, dataDir });
      const socket = serverFile(dataDir).dynamodbSocket;
      try {
        expect(dirname(dirname(socket))).toBe(tmpdir());
        expect(mode(dirname(socket))).toBe(0o700);
        expect(await accepts(socket)).toBe(true);
      } finally {
        await server.close();
      }
      expect(existsSync(dirname(socket))).toBe(false);
    });

    it('replaces a socket left by a crashed run', async () => {
      const dataDir = join(work, 'data');
      mkdirSync(dataDir, { mode: 0o700 });
      const socket = join(dataDir, 'dynamodb.sock');
      // A process that dies without cleaning up leaves its socket file behind.
      const crashed = spawn(process.execPath, [
        '-e',
        `require('net').createServer().listen(process.argv[1], () => process.stdout.write('ready'))`,
        socket,
      ]);
      await new Promise((resolve) => crashed.stdout.once('data', resolve));
      const exited = new Promise((resolve) => crashed.once('exit', resolve));
      crashed.kill('SIGKILL');
      await exited;
      expect(lstatSync(socket).isSocket()).toBe(true);

      const server = await startLocalServer({ ...quiet, dataDir });
      try {
        expect(await accepts(socket)).toBe(true);
      } finally {
        await server.close();
      }
    });

    it('refuses a data directory another running server uses, and leaves that server its table', async () => {
      const dataDir = join(work, 'data');
      const first = await startLocalServer({ ...quiet, dataDir });
      try {
        await expect(startLocalServer({ ...quiet, dataDir })).rejects.toThrow(
          `another local server is using ${dataDir}`,
        );
        const client = socketClient(serverFile(dataDir).dynamodbSocket);
        try {
          expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual(['id-jag-local']);
        } finally {
          client.destroy();
        }
      } finally {
        await first.close();
      }
    });
  });
});
