import { lstatSync, readFileSync, statSync } from 'node:fs';
import { Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { UsageError } from './io';

/** Written by the local server while it runs: where its table answers, for a tool that needs the table meanwhile. */
export const LOCAL_SERVER_FILE = 'local-server.json';

/** The contents of `<dataDir>/local-server.json` (mode 0600). */
export interface LocalServerFile {
  readonly pid: number;
  /** A unix socket path (a named pipe on Windows) that speaks the DynamoDB API: see `socketClient`. */
  readonly dynamodbSocket: string;
  readonly tableName: string;
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

/** The running server's `local-server.json`, if any (unchecked: for the server itself, in its own directory). */
export function readLocalServerFile(dataDir: string): LocalServerFile | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, LOCAL_SERVER_FILE), 'utf8')) as LocalServerFile;
  } catch {
    return undefined;
  }
}

const windows = process.platform === 'win32';

/**
 * `id-jag-admin --local`: the table of the local server running on `dataDir`, found through its `local-server.json`.
 * The table checks no credentials and is guarded only by the mode of the directories around its socket, so this
 * trusts nothing it cannot check: the data directory, the file and the socket's directory must be this user's and
 * closed to everyone else (as the server makes them), and the socket must be where the server puts it. It never
 * changes a mode (the server does; a directory open to others may be someone else's). Throws a UsageError saying what
 * to do otherwise.
 */
export function findLocalTable(dataDir: string): LocalServerFile {
  const noServer = () =>
    new UsageError(`no local server is running on ${dataDir} (start one with \`npm start -- --data-dir ${dataDir}\`)`);
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(dataDir);
  } catch {
    throw noServer();
  }
  if (!stat.isDirectory()) throw new UsageError(`--data-dir ${dataDir} is not a directory`);
  requirePrivate(dataDir, 'data directory');

  const file = join(dataDir, LOCAL_SERVER_FILE);
  let fileStat: ReturnType<typeof lstatSync>;
  try {
    fileStat = lstatSync(file);
  } catch {
    throw noServer();
  }
  if (!fileStat.isFile()) throw new UsageError(`${file} is not a regular file: refusing it`);
  requirePrivate(file, 'file');

  let contents: Partial<LocalServerFile>;
  try {
    contents = JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalServerFile>;
  } catch {
    throw new UsageError(`${file} is not a local server's file: refusing it`);
  }
  const { dynamodbSocket, tableName, pid } = contents;
  if (typeof dynamodbSocket !== 'string' || typeof tableName !== 'string' || typeof pid !== 'number') {
    throw new UsageError(`${file} is not a local server's file: refusing it`);
  }
  if (!windows) {
    // The server puts its socket in the data directory, or in a fresh private directory when that path is too long.
    if (resolve(dynamodbSocket) !== resolve(dataDir, 'dynamodb.sock'))
      requirePrivate(dirname(dynamodbSocket), 'directory');
    let socketStat: ReturnType<typeof lstatSync>;
    try {
      socketStat = lstatSync(dynamodbSocket);
    } catch {
      throw noServer();
    }
    if (!socketStat.isSocket() || socketStat.uid !== process.getuid?.()) {
      throw new UsageError(`${dynamodbSocket} is not the local server's socket: refusing it`);
    }
  }
  return { pid, dynamodbSocket, tableName };
}

/** This user's, and no one else's: no group or other permission bits (Windows keeps its ACLs). */
function requirePrivate(path: string, what: string): void {
  if (windows) return;
  const stat = lstatSync(path);
  if (stat.isSymbolicLink() && what !== 'data directory')
    throw new UsageError(`${path} is a symbolic link: refusing it`);
  const target = stat.isSymbolicLink() ? statSync(path) : stat;
  if (target.uid !== process.getuid?.()) throw new UsageError(`${path} belongs to another user: refusing it`);
  const mode = target.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new UsageError(
      `${path} is open to other users (mode ${mode.toString(8)}): the local server keeps its ${what} private; ` +
        'refusing to use its table',
    );
  }
}
