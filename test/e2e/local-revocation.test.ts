import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_APP_CLIENT_ID, type LocalServer, startLocalServer } from '../../bin/local/server';
import { CONFIG_DEFAULTS } from '../../lambda/core/config';

const bundle = join(__dirname, '..', '..', 'dist', 'bin', 'local-server.mjs');
const form = { 'content-type': 'application/x-www-form-urlencoded' };
/** Shaped like a refresh token of this server (43 base64url characters), but never issued. */
const UNKNOWN_REFRESH_TOKEN = 'Zm9yZ2VkLXJlZnJlc2gtdG9rZW4tdGhhdC13YXMtbmV';

/**
 * The local server serves the revocation endpoint as Lambda does (the token function's handler, by route key), takes
 * the refresh token lifetimes as options and flags, and registers its demo app for refresh tokens.
 */
describe('the local server: revocation and refresh token settings', () => {
  let dataDir: string;
  let server: LocalServer;
  const logs: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'id-jag-revoke-'));
    server = await startLocalServer({
      port: 0,
      dataDir,
      inMemory: true,
      write: (line) => logs.push(line),
      interactive: { refreshTokens: { idleSeconds: 600 } },
    });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('takes either refresh token lifetime, keeping the default of the other', () => {
    expect(server.config.interactive.refreshTokens).toEqual({
      idleSeconds: 600,
      absoluteSeconds: CONFIG_DEFAULTS.interactive.refreshTokens.absoluteSeconds,
    });
  });

  it('refuses lifetimes out of bounds, or an idle lifetime above the absolute one', async () => {
    for (const refreshTokens of [{ idleSeconds: 299 }, { idleSeconds: 7200, absoluteSeconds: 3600 }]) {
      const otherDir = mkdtempSync(join(tmpdir(), 'id-jag-revoke-bad-'));
      try {
        await expect(
          startLocalServer({
            port: 0,
            dataDir: otherDir,
            inMemory: true,
            write: () => undefined,
            interactive: { refreshTokens },
          }),
        ).rejects.toThrow(/interactive\.refreshTokens/);
      } finally {
        rmSync(otherDir, { recursive: true, force: true });
      }
    }
  });

  it('answers POST /revoke with 200 for a token it does not know, and logs the decision without the token', async () => {
    logs.length = 0;
    const response = await fetch(`${server.url}/revoke`, {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({ token: UNKNOWN_REFRESH_TOKEN, client_id: DEMO_APP_CLIENT_ID }),
    });

    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
    const decisions = logs.map((line) => JSON.parse(line)).filter((line) => line.message === 'revocation decision');
    expect(decisions).toEqual([
      expect.objectContaining({ event: 'token_revocation', outcome: 'ignored', client: DEMO_APP_CLIENT_ID }),
    ]);
    expect(logs.join('\n')).not.toContain(UNKNOWN_REFRESH_TOKEN);
  });

  it('answers another method on /revoke itself, with 405 and Allow: POST', async () => {
    const response = await fetch(`${server.url}/revoke`);

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('registers the demo app for refresh tokens: an unknown one is invalid_grant, not unauthorized_client', async () => {
    const response = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: UNKNOWN_REFRESH_TOKEN,
        client_id: DEMO_APP_CLIENT_ID,
      }),
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('has no /revoke route without the interactive flow', async () => {
    const offDir = mkdtempSync(join(tmpdir(), 'id-jag-revoke-off-'));
    const off = await startLocalServer({
      port: 0,
      dataDir: offDir,
      inMemory: true,
      write: () => undefined,
      interactive: { enabled: false },
    });
    try {
      const response = await fetch(`${off.url}/revoke`, {
        method: 'POST',
        headers: form,
        body: new URLSearchParams({ token: UNKNOWN_REFRESH_TOKEN, client_id: DEMO_APP_CLIENT_ID }),
      });
      expect(response.status).toBe(404);
    } finally {
      await off.close();
      rmSync(offDir, { recursive: true, force: true });
    }
  });
});

describe('npm start: the refresh token lifetime flags', () => {
  let work: string;
  let child: ChildProcess | undefined;

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'id-jag-flags-'));
  });
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    child = undefined;
    rmSync(work, { recursive: true, force: true });
  });

  /** Runs the built local server with these flags until it is ready (resolves its banner) or exits (rejects). */
  function run(flags: string[]): Promise<{ output: string; code?: number }> {
    if (!existsSync(bundle)) throw new Error('run `npm run build` first (npm test does)');
    child = spawn(process.execPath, [bundle, '--port', '0', '--data-dir', join(work, 'data'), ...flags], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    return new Promise((resolve) => {
      child!.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Press Ctrl-C')) resolve({ output });
      });
      child!.stderr!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child!.once('exit', (code) => resolve({ output, code: code ?? undefined }));
    });
  }

  it('passes --refresh-token-idle and --refresh-token-absolute to the server, which names them and /revoke', async () => {
    const { output, code } = await run(['--refresh-token-idle', '3600', '--refresh-token-absolute', '86400']);

    expect(code).toBeUndefined();
    expect(output).toMatch(/refresh\s+tokens idle 3600 s, absolute 86400 s/);
    expect(output).toMatch(/revoke\s+http:\/\/127\.0\.0\.1:\d+\/revoke/);
  }, 30_000);

  it.each([
    [['--refresh-token-idle', '299'], /--refresh-token-idle must be whole seconds from 300 to 31536000, got '299'/],
    [['--refresh-token-absolute', '1.5e3'], /--refresh-token-absolute must be whole seconds/],
    [['--refresh-token-idle', '7200', '--refresh-token-absolute', '3600'], /--refresh-token-idle must not exceed/],
  ])(
    'refuses %j before starting, naming the flag',
    async (flags, message) => {
      const { output, code } = await run(flags);

      expect(code).toBe(1);
      expect(output).toMatch(message);
      expect(output).not.toContain('Press Ctrl-C');
    },
    30_000,
  );
});
