import { randomUUID } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { Agent, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

/** The table's socket, in the data directory when its path fits in a socket address. */
export const SOCKET_FILE = 'dynamodb.sock';
/** Written while the server runs: where its table answers, for a tool that needs the table meanwhile. */
export const LOCAL_SERVER_FILE = 'local-server.json';

/** The contents of `<dataDir>/local-server.json` (mode 0600). */
export interface LocalServerFile {
  readonly pid: number;
  /** A unix socket path (a named pipe on Windows) that speaks the DynamoDB API: see `socketClient`. */
  readonly dynamodbSocket: string;
  readonly tableName: string;
}

export interface EmbeddedDynamoOptions {
  /** A directory only this user can enter (`prepareDataDir`). */
  readonly dataDir: string;
  readonly tableName: string;
  /** Keep the table on LevelDB in `<dataDir>/dynamodb`, so that it survives a restart; otherwise in memory. */
  readonly persist: boolean;
}

export interface EmbeddedDynamo {
  readonly socketPath: string;
  /** The real SDK client, connected to this table only. */
  readonly client: DynamoDBClient;
  close(): Promise<void>;
}

/**
 * A socket address holds 108 bytes on Linux and 104 on macOS and the BSDs, the final NUL included; Node silently cuts a
 * longer path, which would put the socket elsewhere.
 */
const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103;
const windows = process.platform === 'win32';

/**
 * dynalite on a unix socket, never on a TCP port: dynalite checks no credentials and grants any web origin, so only a
 * socket in a directory of the user's own keeps other local users and web pages from the registry. The socket lives
 * in the data directory, or, when that path is too long for a socket, in a fresh 0700 directory under the OS
 * temporary directory (removed on close); `<dataDir>/local-server.json` names it either way. On Windows, a named pipe
 * with a random name.
 */
export async function startEmbeddedDynamo(options: EmbeddedDynamoOptions): Promise<EmbeddedDynamo> {
  const { dataDir, tableName } = options;
  await claim(dataDir);
  const path = options.persist ? join(dataDir, 'dynamodb') : undefined;
  if (path && !windows) mkdirSync(path, { recursive: true, mode: 0o700 });
  const socket = socketPlace(dataDir);
  const server = dynalite({ ...(path ? { path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  try {
    await listen(server, socket.path, dataDir);
  } catch (error) {
    socket.release();
    throw error;
  }
  if (!windows) chmodSync(socket.path, 0o600);

  const file = join(dataDir, LOCAL_SERVER_FILE);
  const contents: LocalServerFile = { pid: process.pid, dynamodbSocket: socket.path, tableName };
  rmSync(file, { force: true });
  writeFileSync(file, `${JSON.stringify(contents, null, 2)}\n`, { mode: 0o600, flag: 'wx' });

  const client = socketClient(socket.path);
  return {
    socketPath: socket.path,
    client,
    close: async () => {
      client.destroy();
      await new Promise<void>((done) => server.close(() => done())); // unlinks the socket
      if (readLocalServerFile(dataDir)?.pid === process.pid) rmSync(file, { force: true });
      socket.release();
    },
  };
}

/**
 * A DynamoDB client for the table behind this socket: the SDK's own HTTP handler, over an agent whose connections go
 * to the socket whatever the (dummy) endpoint says. Local credentials; dynalite checks none.
 */
export function socketClient(socketPath: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: 'http://localhost',
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: { httpAgent: new SocketAgent(socketPath) },
  });
}

class SocketAgent extends Agent {
  constructor(private readonly socketPath: string) {
    super({ keepAlive: true });
  }

  override createConnection(): Socket {
    return connect(this.socketPath);
  }
}

/** The running server's `local-server.json`, if any: how a tool finds the table while the server has it open. */
export function readLocalServerFile(dataDir: string): LocalServerFile | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, LOCAL_SERVER_FILE), 'utf8')) as LocalServerFile;
  } catch {
    return undefined;
  }
}

/**
 * One server per data directory. A socket that answers belongs to a running server: refuse. One that does not was
 * left by a run that crashed: remove it (in the data directory only), so that ours can take its place.
 */
async function claim(dataDir: string): Promise<void> {
  const busy = () => new Error(`another local server is using ${dataDir}`);
  const named = readLocalServerFile(dataDir)?.dynamodbSocket;
  if (named && (await accepts(named))) throw busy();
  if (windows) return;
  const own = resolve(dataDir, SOCKET_FILE);
  const kind = kindOf(own);
  if (kind === 'none') return;
  if (kind === 'other') throw new Error(`${own} is in the way of the table's socket: remove it`);
  if (await accepts(own)) throw busy();
  unlinkSync(own);
}

function kindOf(path: string): 'none' | 'socket' | 'other' {
  try {
    return lstatSync(path).isSocket() ? 'socket' : 'other';
  } catch {
    return 'none';
  }
}

function accepts(path: string): Promise<boolean> {
  return new Promise((done) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      done(true);
    });
    probe.once('error', () => done(false));
  });
}

/** Where the socket goes, and how to give the place back once the server is closed (or failed to listen). */
function socketPlace(dataDir: string): { path: string; release(): void } {
  if (windows) return { path: `\\\\.\\pipe\\id-jag-local-${randomUUID()}`, release: () => undefined };
  const inDataDir = resolve(dataDir, SOCKET_FILE);
  // The socket itself is unlinked when the server closes; never here, where it may be another server's.
  if (Buffer.byteLength(inDataDir) <= MAX_SOCKET_PATH_BYTES) return { path: inDataDir, release: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'id-jag-local-')); // 0700
  return { path: join(dir, SOCKET_FILE), release: () => rmSync(dir, { recursive: true, force: true }) };
}

function listen(server: Server, path: string, dataDir: string): Promise<void> {
  return new Promise((done, reject) => {
    const failed = (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`another local server is using ${dataDir}`) : error);
    server.once('error', failed);
    server.listen(path, () => {
      server.off('error', failed);
      done();
    });
  });
}
