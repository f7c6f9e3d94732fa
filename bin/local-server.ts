// `npm start`: the authorization server on 127.0.0.1 with an embedded DynamoDB (dynalite) and a file signing key.
import { parseArgs } from 'node:util';
import {
  CONFIG_DEFAULTS,
  MAX_REFRESH_TOKEN_LIFETIME_SECONDS,
  MIN_REFRESH_TOKEN_LIFETIME_SECONDS,
} from '../lambda/core/config';
import { startLocalServer } from './local/server';

const usage = `Usage: npm start -- [options]
  --port <n>        port on 127.0.0.1 (env PORT; default 3000, 0 for any free port)
  --host <addr>     address to bind (env HOST; default 127.0.0.1)
  --config <file>   registrations and resources to load (env ID_JAG_CONFIG; docs/configuration-file.md);
                    without one, a demo tenant, IdP and client are seeded
  --data-dir <dir>  where the table and keys persist (env ID_JAG_DATA_DIR; default .data)
  --issuer <url>    issuer URL, if clients reach the server through another address (env ID_JAG_ISSUER)
  --product-name <name>  named on the sign-in pages (default "MCP server")
  --no-interactive  serve the jwt-bearer exchange only: no /authorize, no /callback, no /revoke
  --refresh-token-idle <seconds>      a refresh token unused this long stops working (default 1209600, 14 days)
  --refresh-token-absolute <seconds>  no refresh token works this long after sign-in (default 7776000, 90 days)`;

// The SDK's notice about Node 20 support says nothing about this server; keep the console for what matters.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      config: { type: 'string' },
      'data-dir': { type: 'string' },
      issuer: { type: 'string' },
      'product-name': { type: 'string' },
      'no-interactive': { type: 'boolean' },
      'refresh-token-idle': { type: 'string' },
      'refresh-token-absolute': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const env = process.env;
  const port = Number(values.port ?? env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number\n${usage}`);
  const idleSeconds = lifetime('--refresh-token-idle', values['refresh-token-idle']);
  const absoluteSeconds = lifetime('--refresh-token-absolute', values['refresh-token-absolute']);
  const defaults = CONFIG_DEFAULTS.interactive.refreshTokens;
  if ((idleSeconds ?? defaults.idleSeconds) > (absoluteSeconds ?? defaults.absoluteSeconds)) {
    throw new Error(
      `--refresh-token-idle must not exceed --refresh-token-absolute (default ${defaults.absoluteSeconds})\n${usage}`,
    );
  }
  const server = await startLocalServer({
    port,
    host: values.host ?? env.HOST,
    configPath: values.config ?? env.ID_JAG_CONFIG,
    dataDir: values['data-dir'] ?? env.ID_JAG_DATA_DIR,
    issuer: values.issuer ?? env.ID_JAG_ISSUER,
    interactive: {
      enabled: !values['no-interactive'],
      ...(values['product-name'] ? { productName: values['product-name'] } : {}),
      refreshTokens: { idleSeconds, absoluteSeconds },
    },
  });
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
          `  refresh    tokens idle ${refresh.idleSeconds} s, absolute ${refresh.absoluteSeconds} s`,
        ]
      : []),
  ];
  if (server.demo) {
    lines.push(
      `  demo IdP   ${server.demo.demoIdp}  (local only; trusted by tenant "demo")`,
      `  client     ${server.demo.clientId}  (secret in ${values['data-dir'] ?? env.ID_JAG_DATA_DIR ?? '.data'}/demo.json)`,
      `  app        ${server.demo.appClientId}  (public client of the interactive flow)`,
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
  lines.push('', 'Press Ctrl-C to stop. Token decisions are logged below as JSON lines.', '');
  console.log(lines.join('\n'));

  const stop = () => {
    server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
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
    throw new Error(
      `${flag} must be whole seconds from ${MIN_REFRESH_TOKEN_LIFETIME_SECONDS} to ${MAX_REFRESH_TOKEN_LIFETIME_SECONDS}, got '${value}'\n${usage}`,
    );
  }
  return seconds;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
