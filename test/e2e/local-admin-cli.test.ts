import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DemoCredentials, type LocalServer, startLocalServer } from '../../bin/local/server';
import { RegistryTable } from '../../lambda/adapters/dynamodb';
import { readLocalServerFile, socketClient } from '../../lambda/admin/local-table';
import { main } from '../../lambda/admin/main';

const quiet = { port: 0, write: () => undefined } as const;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The admin CLI in process, as `id-jag-admin <args>` runs it; the environment names no table and no data dir. */
async function cli(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** An ID-JAG from the demo IdP (its RFC 8693 token exchange), as `npm run demo` gets one, exchanged at /token. */
async function exchange(demo: DemoCredentials): Promise<{ status: number; error?: string }> {
  const idp = await fetch(`${demo.demoIdp}/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      requested_token_type: 'urn:ietf:params:oauth:token-type:id-jag',
      audience: demo.issuer,
      resource: demo.resource,
      client_id: demo.clientId,
      subject_token: 'alice',
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
    }),
  });
  const assertion = ((await idp.json()) as { access_token: string }).access_token;
  const token = await fetch(`${demo.issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${demo.clientId}:${demo.clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
  });
  const body = (await token.json()) as { error?: string };
  return { status: token.status, ...(body.error ? { error: body.error } : {}) };
}

/** Asks until `done` holds, a bounded number of times; the cache time is the server's, not measured here. */
async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, attempts = 50): Promise<T> {
  let value = await probe();
  for (let attempt = 1; !done(value) && attempt < attempts; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await probe();
  }
  return value;
}

async function registry(dataDir: string) {
  const file = readLocalServerFile(dataDir)!;
  const client = socketClient(file.dynamodbSocket);
  try {
    return await new RegistryTable({ client, tableName: file.tableName }).loadState();
  } finally {
    client.destroy();
  }
}

describe('id-jag-admin --local, against a running local server', () => {
  let work: string;
  let dataDir: string;
  let server: LocalServer;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'id-jag-admin-local-'));
    dataDir = join(work, 'data');
    server = await startLocalServer({ ...quiet, dataDir, inMemory: true, registryCacheSeconds: 1 });
  });
  afterAll(async () => {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("finds the server's table through its data directory", async () => {
    const listed = await cli('tenants', 'list', '--local', '--data-dir', dataDir);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(listed.stdout).toMatch(/^demo\s+true/m);
  });

  it('takes --local and --data-dir before the command words too', async () => {
    const listed = await cli('--local', '--data-dir', dataDir, 'clients', 'list');
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(listed.stdout).toMatch(/^demo-client\s+client_secret_basic\s+true/m);
  });

  it('disables a client, which the server then refuses within its cache time', async () => {
    const demo = server.demo!;
    expect(await exchange(demo)).toEqual({ status: 200 }); // the client is now in the server's cache
    const disabled = await cli('clients', 'update', demo.clientId, '--disable', '--local', '--data-dir', dataDir);
    expect(disabled).toMatchObject({ code: 0, stderr: '' });

    const refused = await eventually(
      () => exchange(demo),
      (result) => result.status !== 200,
    );
    expect(refused).toEqual({ status: 401, error: 'invalid_client' });

    expect((await cli('clients', 'update', demo.clientId, '--enable', '--local', '--data-dir', dataDir)).code).toBe(0);
    expect(
      await eventually(
        () => exchange(demo),
        (result) => result.status === 200,
      ),
    ).toEqual({ status: 200 });
  });

  it('refuses a data directory open to other users, and touches nothing', async () => {
    chmodSync(dataDir, 0o755);
    try {
      const refused = await cli('tenants', 'add', 'intruder', '--local', '--data-dir', dataDir);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(
        `error: ${dataDir} is open to other users (mode 755): the local server keeps its data directory private; ` +
          'refusing to use its table\n',
      );
    } finally {
      chmodSync(dataDir, 0o700);
    }
    expect((await registry(dataDir)).tenants.map((tenant) => tenant.value.id)).toEqual(['demo']);
  });

  it('refuses a local-server.json whose socket is not in a private directory', async () => {
    // A socket that answers, in a directory others may enter: the file would lead the CLI to someone else's table.
    const open = join(work, 'open');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    const decoy: Server = createServer();
    const decoySocket = join(open, 'dynamodb.sock');
    await new Promise<void>((resolve) => decoy.listen(decoySocket, resolve));
    const file = join(dataDir, 'local-server.json');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(original), dynamodbSocket: decoySocket }));
    try {
      const refused = await cli('tenants', 'list', '--local', '--data-dir', dataDir);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`error: ${open} is open to other users (mode 755)`);
    } finally {
      writeFileSync(file, original);
      await new Promise((resolve) => decoy.close(resolve));
    }
  });

  it('says so when no local server runs on the directory', async () => {
    const empty = join(work, 'empty');
    mkdirSync(empty, { mode: 0o700 });
    const refused = await cli('tenants', 'list', '--local', '--data-dir', empty);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `error: no local server is running on ${empty} (start one with \`npm start -- --data-dir ${empty}\`)\n`,
    );
  });

  it('refuses --table or --endpoint with --local, and --data-dir without it', async () => {
    expect(await cli('tenants', 'list', '--local', '--table', 'other')).toMatchObject({
      code: 1,
      stderr: "error: --local finds the local server's table by itself: drop --table\n",
    });
    expect(await cli('tenants', 'list', '--data-dir', dataDir, '--table', 'other')).toMatchObject({
      code: 1,
      stderr: 'error: --data-dir goes with --local\n',
    });
  });
});

describe('the demo on restart', () => {
  let work: string;

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'id-jag-demo-restart-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it("re-seeds only its own registrations: what the admin CLI added stays, the demo's are restored", async () => {
    const dataDir = join(work, 'data');
    const first = await startLocalServer({ ...quiet, dataDir });
    const firstIdp = first.demo!.demoIdp;
    try {
      expect(first.seeded).toEqual({ written: 5, kept: 0 });
      const local = ['--local', '--data-dir', dataDir];
      expect((await cli('tenants', 'add', 'acme', ...local)).code).toBe(0);
      expect((await cli('issuers', 'add', 'https://idp.acme.example', '--tenant', 'acme', ...local)).code).toBe(0);
      expect((await cli('clients', 'update', 'demo-client', '--disable', ...local)).code).toBe(0);
    } finally {
      await first.close();
    }

    // Port 0 again: another port, so the demo IdP has another issuer URL.
    const second = await startLocalServer({ ...quiet, dataDir });
    try {
      const state = await registry(dataDir);
      expect(state.tenants.map((tenant) => tenant.value.id).sort()).toEqual(['acme', 'demo']);
      expect(state.trusts.map((trust) => `${trust.value.tenantId} ${trust.value.issuer}`).sort()).toEqual([
        'acme https://idp.acme.example',
        `demo ${second.demo!.demoIdp}`,
      ]);
      expect(second.demo!.demoIdp).not.toBe(firstIdp);
      expect(state.clients.find((client) => client.value.clientId === 'demo-client')?.value.enabled).toBe(true);
      // Written: the client re-enabled, the new demo IdP trusted, its former trust removed, the connection updated.
      expect(second.seeded).toEqual({ written: 4, kept: 2 });
      expect(await exchange(second.demo!)).toEqual({ status: 200 });
    } finally {
      await second.close();
    }
  });
});
