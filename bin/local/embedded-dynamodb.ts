import { randomUUID } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  LOCAL_SERVER_FILE,
  type LocalServerFile,
  readLocalServerFile,
  socketClient,
} from '../../lambda/admin/local-table';
import { tableChannelClient } from './table-channel';

export { LOCAL_SERVER_FILE, type LocalServerFile, readLocalServerFile, socketClient };

/** The table's socket, in the data directory when its path fits in a socket address. */
export const SOCKET_FILE = 'dynamodb.sock';

export interface EmbeddedDynamoOptions {
  /** A directory only this user can enter (`prepareDataDir`). */
  readonly dataDir: string;
  readonly tableName: string;
  /** Keep the table on LevelDB in `<dataDir>/dynamodb`, so that it survives a restart; otherwise in memory. */
  readonly persist: boolean;
}

export interface EmbeddedDynamo {
  readonly socketPath: string;
  /** The server's client for this table: over a message port to the table's worker (table-channel.ts). */
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
 *
 * dynalite runs on a worker thread of its own: it emulates DynamoDB in JavaScript (request parsing, validation,
 * expressions, LevelDB calls), which would otherwise share one event loop with the HTTP server and the core. The
 * server reaches it over a message port (table-channel.ts); the socket serves the admin CLI's real SDK client.
 */
export async function startEmbeddedDynamo(options: EmbeddedDynamoOptions): Promise<EmbeddedDynamo> {
  const { dataDir, tableName } = options;
  await claim(dataDir);
  const path = options.persist ? join(dataDir, 'dynamodb') : undefined;
  if (path && !windows) mkdirSync(path, { recursive: true, mode: 0o700 });
  const socket = socketPlace(dataDir);
  let worker: DynamoWorker;
  try {
    worker = await startDynamoWorker({ socketPath: socket.path, levelPath: path, restrictSocket: !windows }, dataDir);
  } catch (error) {
    socket.release();
    throw error;
  }

  const file = join(dataDir, LOCAL_SERVER_FILE);
  const contents: LocalServerFile = { pid: process.pid, dynamodbSocket: socket.path, tableName };
  rmSync(file, { force: true });
  writeFileSync(file, `${JSON.stringify(contents, null, 2)}\n`, { mode: 0o600, flag: 'wx' });

  const client = tableChannelClient(worker.channel);
  return {
    socketPath: socket.path,
    client,
    close: async () => {
      client.destroy();
      await worker.close(); // unlinks the socket and closes LevelDB
      if (readLocalServerFile(dataDir)?.pid === process.pid) rmSync(file, { force: true });
      socket.release();
    },
  };
}

interface DynamoWorkerData {
  readonly dynalitePath: string;
  /** The server's requests (table-channel.ts). */
  readonly channel: MessagePort;
  readonly socketPath: string;
  /** LevelDB's directory; none keeps the table in memory. */
  readonly levelPath: string | undefined;
  readonly restrictSocket: boolean;
}

type DynamoWorkerMessage =
  | { readonly type: 'listening' }
  | { readonly type: 'closed' }
  | { readonly type: 'failed'; readonly code?: string; readonly message: string };

interface DynamoWorker {
  /** The server's end of the channel to the table. */
  readonly channel: MessagePort;
  close(): Promise<void>;
}

/**
 * The worker's code, plain CommonJS run with `eval` (the same text under ts-jest and in the esbuild bundle, with no
 * file to locate at run time). It opens LevelDB before it listens, so that a table another process holds is reported
 * as such, and it closes every LevelDB iterator dynalite opens (see the note below).
 */
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { chmodSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dynalitePath, socketPath, levelPath, restrictSocket, channel } = workerData;
const post = (message) => parentPort.postMessage(message);

// dynalite reads LevelDB through streams whose destroy() calls iterator.return(), a method abstract-level's
// iterators do not have, so every Query and Scan left its LevelDB iterator open: each pins a snapshot, with the
// memtables and table files it sees, in native memory (about 17 KiB per Query under writes). Give them one.
const fromDynalite = createRequire(dynalitePath);
const classicLevelPath = createRequire(fromDynalite.resolve('level')).resolve('classic-level');
for (const from of [classicLevelPath, fromDynalite.resolve('memory-level')]) {
  const common = Object.getPrototypeOf(createRequire(from)('abstract-level').AbstractIterator.prototype);
  if (typeof common.return !== 'function') common.return = function () { return this.close(); };
}

// A LevelDB read takes microseconds (the memtable, then the block cache), while its hop through libuv's thread pool
// and back costs two thread wake-ups: each PutItem reads twice (the table's description, the item). Read in place,
// on this thread of the table's own; writes keep the pool (LevelDB appends to its log).
if (levelPath) {
  const { ClassicLevel } = require(classicLevelPath);
  ClassicLevel.prototype._get = async function (key, options) {
    return this._getSync(key, options);
  };
}

// dynalite opens LevelDB lazily and turns an open failure into "Database is closed" on every request: wait for it.
let opened = Promise.resolve();
if (levelPath) {
  const { ClassicLevel } = require(classicLevelPath);
  const open = ClassicLevel.prototype._open;
  opened = new Promise((resolve, reject) => {
    ClassicLevel.prototype._open = function (...args) {
      const result = open.apply(this, args);
      result.then(resolve, reject);
      return result;
    };
  });
}
const server = require(dynalitePath)({
  ...(levelPath ? { path: levelPath } : {}),
  createTableMs: 0,
  deleteTableMs: 0,
  updateTableMs: 0,
});
server.once('error', (error) => post({ type: 'failed', code: error.code, message: error.message }));
opened.then(
  () =>
    server.listen(socketPath, () => {
      if (restrictSocket) chmodSync(socketPath, 0o600);
      post({ type: 'listening' });
    }),
  (error) => post({ type: 'failed', code: error.code, message: error.message }),
);
// The server's own requests (table-channel.ts) come over a message port, not the socket, and go to dynalite's own
// request handler as they are: no socket, no HTTP parsing, no signature (which dynalite would not check anyway).
const handle = server.listeners('request')[0];
const { EventEmitter } = require('node:events');
const CHANNEL_HEADERS = {
  'content-type': 'application/x-amz-json-1.0',
  authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
  'x-amz-date': '20260101T000000Z',
};
// Requests come a few at a time (CALLS_PER_MESSAGE in table-channel.ts); answers go back one message per turn here.
let answers = [];
const flush = () => {
  channel.postMessage(answers);
  answers = [];
};
const answer = (value) => {
  if (answers.length === 0) setImmediate(flush);
  answers.push(value);
};
channel.on('message', (calls) => {
  for (const call of calls) serve(call);
});
function serve({ id, target, body }) {
  const request = Object.assign(new EventEmitter(), {
    method: 'POST',
    url: '/',
    headers: { ...CHANNEL_HEADERS, 'x-amz-target': target },
  });
  const headers = {};
  const response = {
    statusCode: 200,
    setHeader(name, value) { headers[name.toLowerCase()] = value; },
    end(text) {
      answer({ id, status: this.statusCode, requestId: headers['x-amzn-requestid'], body: text === undefined ? '' : String(text) });
    },
  };
  handle(request, response);
  request.emit('data', Buffer.from(body));
  request.emit('end');
}

parentPort.on('message', (message) => {
  if (message !== 'close') return;
  channel.close();
  server.closeAllConnections?.();
  server.close(() => post({ type: 'closed' })); // unlinks the socket, then closes LevelDB
});
`;

function startDynamoWorker(
  data: Omit<DynamoWorkerData, 'dynalitePath' | 'channel'>,
  dataDir: string,
): Promise<DynamoWorker> {
  const { port1: ours, port2: theirs } = new MessageChannel();
  const workerData: DynamoWorkerData = { ...data, dynalitePath: require.resolve('dynalite'), channel: theirs };
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData, transferList: [theirs] });
  const busy = () => new Error(`another local server is using ${dataDir}`);
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((done) => {
      const onMessage = (message: DynamoWorkerMessage) => {
        if (message.type === 'closed') worker.terminate().then(() => done());
      };
      worker.on('message', onMessage);
      worker.once('exit', () => done());
      worker.postMessage('close');
    });
    return closing;
  };
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      worker.terminate();
      reject(error);
    };
    worker.once('error', fail);
    worker.once('exit', (code) => fail(new Error(`the embedded DynamoDB stopped (exit code ${code})`)));
    worker.on('message', function starting(message: DynamoWorkerMessage) {
      if (message.type === 'listening') {
        worker.off('message', starting);
        worker.removeAllListeners('error').removeAllListeners('exit');
        // Nothing waits on the worker but the server's own close.
        worker.unref();
        resolve({ close, channel: ours });
      } else if (message.type === 'failed') {
        if (message.code === 'EADDRINUSE' || message.code === 'LEVEL_LOCKED') fail(busy());
        else fail(new Error(`the embedded DynamoDB could not start: ${message.message}`));
      }
    });
  });
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
