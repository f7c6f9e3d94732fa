// `npm start`: the authorization server on 127.0.0.1 with an embedded DynamoDB (dynalite) and a file signing key.
import { parseArgs } from 'node:util';
import {
  CONFIG_DEFAULTS,
  MAX_REFRESH_TOKEN_LIFETIME_SECONDS,
  MIN_REFRESH_TOKEN_LIFETIME_SECONDS,
} from '../lambda/core/config';
import { DEFAULT_REGISTRY_CACHE_SECONDS, type LocalServer, startLocalServer } from './local/server';

const usage = `Usage: npm start -- [options]
  --port <n>        port on 127.0.0.1 (env PORT; default 3000, 0 for any free port)
  --host <addr>     address to bind (env HOST; default 127.0.0.1)
  --config <file>   registrations and resources to load (env ID_JAG_CONFIG; docs/configuration-file.md);
                    without one, a demo tenant, IdP and client are seeded
  --data-dir <dir>  where the table and keys persist (env ID_JAG_DATA_DIR; default .data)
  --issuer <url>    issuer URL, if clients reach the server through another address (env ID_JAG_ISSUER)
  --registry-cache <seconds>  how long registry reads are reused: edits made with the admin CLI apply within
                    this time (env ID_JAG_REGISTRY_CACHE; default ${DEFAULT_REGISTRY_CACHE_SECONDS}, 0 reads the table every time)
  --product-name <name>  named on the sign-in pages (default "MCP server")
  --no-interactive  serve the jwt-bearer exchange only: no /authorize, no /callback, no /revoke
  --dynamic-registration  serve POST /register: anyone may register a client (RFC 7591; docs/clients.md)
  --refresh-token-idle <seconds>      a refresh token unused this long stops working (default 1209600, 14 days)
  --refresh-token-absolute <seconds>  no refresh token works this long after sign-in (default 7776000, 90 days)
  -h, --help        this help

When it is ready it prints one line "ready: <url>" (the URL it listens on, with the bound port). It stops cleanly
on SIGINT (Ctrl-C) and SIGTERM, exit code 0.`;

/** The line a script waits for: `ready: http://127.0.0.1:<port>`, printed once, when every endpoint answers. */
export const READY_PREFIX = 'ready: ';
/** How long a stop may take before the process exits anyway (a stuck connection, a busy table). */
const STOP_TIMEOUT_MS = 10_000;

// The SDK's notice about Node 20 support says nothing about this server; keep the console for what matters.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

class UsageError extends Error {}

/**
 * The log's lines, written to stdout once per turn of the event loop rather than once each: under load a pipe or a
 * terminal costs a system call per write, as much as a token exchange's own work.
 */
function batchedStdout(): { write(line: string): void; flush(): void } {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    process.stdout.write(text);
  };
  return {
    write(line) {
      if (pending.length === 0) setImmediate(flush);
      pending.push(`${line}\n`);
    },
    flush,
  };
}

function options() {
  try {
    return parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        config: { type: 'string' },
        'data-dir': { type: 'string' },
        issuer: { type: 'string' },
        'registry-cache': { type: 'string' },
        'product-name': { type: 'string' },
        'no-interactive': { type: 'boolean' },
        'dynamic-registration': { type: 'boolean' },
        'refresh-token-idle': { type: 'string' },
        'refresh-token-absolute': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split('\n')[0]}\n\n${usage}`);
  }
}

function number(name: string, text: string, valid: (value: number) => boolean): number {
  const value = Number(text);
  if (text.trim() === '' || !valid(value)) throw new UsageError(`--${name} must be ${describe(name)}\n\n${usage}`);
  return value;
}

function describe(name: string): string {
  return name === 'port' ? 'a port number (0 for any free port)' : 'a number of seconds (0 or more)';
}

async function main(): Promise<void> {
  const values = options();
  if (values.help) {
    console.log(usage);
    return;
  }
  const env = process.env;
  const port = number('port', values.port ?? env.PORT ?? '3000', (n) => Number.isInteger(n) && n >= 0 && n <= 65535);
  const registryCacheSeconds = number(
    'registry-cache',
    values['registry-cache'] ?? env.ID_JAG_REGISTRY_CACHE ?? String(DEFAULT_REGISTRY_CACHE_SECONDS),
    (n) => Number.isFinite(n) && n >= 0,
  );
  const dataDir = values['data-dir'] ?? env.ID_JAG_DATA_DIR ?? '.data';
  const idleSeconds = lifetime('--refresh-token-idle', values['refresh-token-idle']);
  const absoluteSeconds = lifetime('--refresh-token-absolute', values['refresh-token-absolute']);
  const defaults = CONFIG_DEFAULTS.interactive.refreshTokens;
  if ((idleSeconds ?? defaults.idleSeconds) > (absoluteSeconds ?? defaults.absoluteSeconds)) {
    throw new UsageError(
      `--refresh-token-idle must not exceed --refresh-token-absolute (default ${defaults.absoluteSeconds})\n\n${usage}`,
    );
  }

  const log = batchedStdout();
  // A signal during start-up stops the server as soon as it is up (it cannot be stopped halfway).
  let stopRequested = false;
  let server: LocalServer | undefined;
  const stop = () => {
    if (stopRequested && !server) return;
    stopRequested = true;
    if (!server) return;
    const closing = server;
    server = undefined;
    setTimeout(() => {
      console.error(`the server did not stop within ${STOP_TIMEOUT_MS / 1000} s: exiting anyway`);
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    closing.close().then(
      () => {
        log.flush();
        process.exit(0);
      },
      (error: unknown) => {
        log.flush();
        console.error(`stopping failed: ${error instanceof Error ? error.message : error}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  server = await startLocalServer({
    port,
    host: values.host ?? env.HOST,
    configPath: values.config ?? env.ID_JAG_CONFIG,
    dataDir,
    issuer: values.issuer ?? env.ID_JAG_ISSUER,
    registryCacheSeconds,
    write: log.write,
    interactive: {
      enabled: !values['no-interactive'],
      ...(values['product-name'] ? { productName: values['product-name'] } : {}),
      refreshTokens: { idleSeconds, absoluteSeconds },
    },
    ...(values['dynamic-registration'] ? { dynamicClientRegistration: { enabled: true } } : {}),
  });
  console.log(banner(server, dataDir, registryCacheSeconds));
  if (stopRequested) stop();
}

/** A refresh token lifetime flag: whole seconds within the server's bounds, or undefined for the default. */
function lifetime(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (
    !/^\d+$/.test(value) ||
    seconds < MIN_REFRESH_TOKEN_LIFETIME_SECONDS ||
    seconds > MAX_REFRESH_TOKEN_LIFETIME_SECONDS
  ) {
    throw new UsageError(
      `${flag} must be whole seconds from ${MIN_REFRESH_TOKEN_LIFETIME_SECONDS} to ${MAX_REFRESH_TOKEN_LIFETIME_SECONDS}, got '${value}'\n\n${usage}`,
    );
  }
  return seconds;
}

function banner(server: LocalServer, dataDir: string, registryCacheSeconds: number): string {
  const interactive = server.config.interactive.enabled;
  const refresh = server.config.interactive.refreshTokens;
  const { issuer } = server;
  const lines = [
    '',
    'ID-JAG authorization server, local mode',
    `  issuer     ${issuer}`,
    `  metadata   ${issuer}/.well-known/oauth-authorization-server`,
    `  jwks       ${issuer}/jwks.json`,
    `  token      ${issuer}/token`,
    ...(interactive
      ? [
          `  authorize  ${issuer}/authorize`,
          `  revoke     ${issuer}/revoke`,
          ...(server.config.dynamicClientRegistration.enabled ? [`  register   ${issuer}/register`] : []),
          `  refresh    tokens idle ${refresh.idleSeconds} s, absolute ${refresh.absoluteSeconds} s`,
        ]
      : []),
    `  data       ${dataDir}`,
  ];
  if (server.demo) {
    lines.push(
      `  demo IdP   ${server.demo.demoIdp}  (local only; trusted by tenant "demo")`,
      `  client     ${server.demo.clientId}  (secret in ${dataDir}/demo.json)`,
      `  app        ${server.demo.appClientId}  (public client of the interactive flow)`,
    );
  }
  // Restarts re-apply the demo (or the file) without pruning: say what that did, and that nothing else was touched.
  const { written, kept } = server.seeded;
  lines.push(
    '',
    `${server.demo ? 'Demo configuration' : 'Configuration file'}: ${count(written, 'registration')} written ` +
      '(created, or restored as declared);',
    `  ${count(kept, 'other registration')} in the table (added with the admin CLI) left as ${kept === 1 ? 'it is' : 'they are'}.`,
  );
  if (server.demo) {
    lines.push(
      '',
      'In another terminal, see:',
      '  npm run demo              the Enterprise-Managed Authorization exchange (ID-JAG -> access token)',
      ...(interactive
        ? [
            '  npm run demo:interactive  the interactive sign-in in your browser (demo users alice and bob,',
            '                            password demo-password)',
          ]
        : []),
    );
  }
  for (const { clientId, secret } of server.generatedSecrets) {
    if (clientId !== server.demo?.clientId) lines.push(`  new secret for client ${clientId}: ${secret}  (shown once)`);
  }
  const dataDirFlag = dataDir === '.data' ? '' : ` --data-dir ${dataDir}`;
  lines.push(
    '',
    'Administer it while it runs (tenants, issuers, connections, clients; see docs/admin-cli.md):',
    `  node dist/bin/admin.mjs tenants list --local${dataDirFlag}`,
    `  edits apply within ${registryCacheSeconds} s (--registry-cache)`,
    '',
    'Press Ctrl-C to stop. Token decisions are logged below as JSON lines.',
    '',
    `${READY_PREFIX}${server.url}`,
  );
  return lines.join('\n');
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

// A closed stdout (`npm start | head`) must not crash the server with EPIPE: there is just no one to tell.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
