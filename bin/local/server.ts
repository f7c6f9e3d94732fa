import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { RemoteClientMetadataDocuments } from '../../lambda/adapters/client-metadata-documents';
import {
  applyConfig,
  DynamoClientRegistrations,
  DynamoGrantStore,
  DynamoRegistry,
  DynamoReplayStore,
  RegistryTable,
  writeChanges,
} from '../../lambda/adapters/dynamodb';
import { loadOrCreateFileSigner } from '../../lambda/adapters/file-signer';
import { RemoteKeyResolver } from '../../lambda/adapters/issuer-keys';
import type { FetchLike } from '../../lambda/adapters/safe-fetch';
import { FileSecretSource } from '../../lambda/adapters/secrets';
import { UpstreamOidc } from '../../lambda/adapters/upstream-oidc';
import type { Change } from '../../lambda/config/plan';
import { parseRegistryConfigText, type RegistryConfig } from '../../lambda/config/schema';
import type { AuthorizeEndpointDeps } from '../../lambda/core/authorize/endpoint';
import { withMetadataDocumentClients } from '../../lambda/core/clients/with-metadata-documents';
import {
  ConfigError,
  type DynamicClientRegistrationConfig,
  endpointsOf,
  type InteractiveConfig,
  type RefreshTokenLifetimes,
  resolveServerConfig,
  type ServerConfig,
} from '../../lambda/core/config';
import {
  AUTHORIZATION_CODE_GRANT_TYPE,
  JWT_BEARER_GRANT_TYPE,
  REFRESH_TOKEN_GRANT_TYPE,
} from '../../lambda/core/model';
import { type Clock, systemClock } from '../../lambda/core/ports';
import type { RegistrationEndpointDeps } from '../../lambda/core/registration';
import type { TokenEndpointDeps } from '../../lambda/core/token-endpoint';
import {
  createJwksHandler,
  createMetadataHandler,
  createRegistrationHandler,
  createTokenFunctionHandler,
  once,
} from '../../lambda/handlers/api';
import { createAuthorizeHandler } from '../../lambda/handlers/authorize-api';
import { createLogger, type Logger } from '../../lambda/handlers/logger';
import { prepareDataDir } from './data-dir';
import { createDemoIdp, DEMO_IDP_CLIENT_SECRET_FILE, type DemoIdp } from './demo-idp';
import { startEmbeddedDynamo } from './embedded-dynamodb';
import { createHttpApiServer, type Route } from './http-adapter';

export interface LocalServerOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 3000 */
  readonly port?: number;
  /**
   * Where the table, the signing key and the demo credentials persist: created 0700, refused if open to other users
   * and not this server's. @default '.data'
   */
  readonly dataDir?: string;
  /** A configuration file (docs/configuration-file.md). Without one, a demo is seeded. */
  readonly configPath?: string;
  /** The issuer URL, when the server is reached through another address. @default http://<host>:<port> */
  readonly issuer?: string;
  /** Keep the table in memory only (tests). @default false */
  readonly inMemory?: boolean;
  /**
   * The interactive flow's settings (`enabled: false` serves the jwt-bearer exchange only), with either refresh token
   * lifetime or both. @default on, with the deployment defaults (lambda/core/config.ts)
   */
  readonly interactive?: Partial<Omit<InteractiveConfig, 'refreshTokens'>> & {
    readonly refreshTokens?: Partial<RefreshTokenLifetimes>;
  };
  /** Dynamic Client Registration (RFC 7591) at `POST /register`, with the cap and lifetime. @default off */
  readonly dynamicClientRegistration?: Partial<DynamicClientRegistrationConfig>;
  /** Where log lines go. @default stdout */
  readonly write?: (line: string) => void;
  /** The one clock of the server and the demo IdP (tests). @default the system clock */
  readonly clock?: Clock;
  /**
   * How client metadata documents are fetched (tests: a document served on loopback under the https URL an MCP client
   * must use). @default the safe fetch, which here also reaches loopback over plain http
   */
  readonly clientMetadataFetch?: FetchLike;
  /**
   * How long registry answers are reused, in seconds, as the Lambda functions do for 30: an edit with the admin CLI
   * reaches the server within this time. 0 reads the table on every request. @default 2
   */
  readonly registryCacheSeconds?: number;
}

/** What `npm run demo` needs, saved beside the data (the client secret only exists here and in the table's hash). */
export interface DemoCredentials {
  readonly issuer: string;
  readonly demoIdp: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly resource: string;
  /** The public client of the interactive flow (`npm run demo:interactive`). */
  readonly appClientId: string;
}

export interface LocalServer {
  readonly url: string;
  readonly issuer: string;
  readonly config: ServerConfig;
  readonly demo?: DemoCredentials;
  /** Client secrets generated while seeding, shown once. */
  readonly generatedSecrets: readonly { clientId: string; secret: string }[];
  /**
   * What applying the demo configuration (or the `configPath` file) did: registrations it wrote (created, or
   * restored to what it declares) and the other registrations in the table, which it leaves as they are.
   */
  readonly seeded: { readonly written: number; readonly kept: number };
  close(): Promise<void>;
}

const TABLE_NAME = 'id-jag-local';
/** Short enough that an edit made with the admin CLI is seen by the time one tries it. */
export const DEFAULT_REGISTRY_CACHE_SECONDS = 2;
export const DEMO_TENANT_ID = 'demo';
export const DEMO_CLIENT_ID = 'demo-client';
/** The demo's public client for the interactive flow (no secret; consent is shown). */
export const DEMO_APP_CLIENT_ID = 'demo-app';
export const DEMO_FILE = 'demo.json';

/**
 * The local server: the same handlers as in Lambda, behind a small HTTP adapter, with an embedded dynalite (through
 * the real DynamoDB adapter, over a unix socket only this user can reach) and a signing key in a file. The one TCP
 * listener is the HTTP port, on loopback by default.
 */
export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const host = options.host ?? '127.0.0.1';
  const dataDir = options.dataDir ?? '.data';
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const logger = createLogger({ service: 'local', write });
  if (prepareDataDir(dataDir).tightened) logger.warn('data directory was open to other users: now 0700', { dataDir });

  const dynamo = await startEmbeddedDynamo({ dataDir, tableName: TABLE_NAME, persist: !options.inMemory });
  const { client } = dynamo;
  const routes: Route[] = [];
  const http = createHttpApiServer(routes);
  try {
    await listen(http, options.port ?? 3000, host);
    const url = `http://${host}:${(http.address() as AddressInfo).port}`;
    const issuer = options.issuer ?? url;

    const table = new RegistryTable({ client, tableName: TABLE_NAME });
    await table.createTable();

    const clock = options.clock ?? systemClock;
    const demoIdp = await createDemoIdp({
      baseUrl: url,
      dataDir,
      redirectUri: endpointsOf(issuer).callbackUri,
      clock,
    });
    const registry = options.configPath ? loadConfigFile(options.configPath) : demoConfig(demoIdp);
    // Never pruned: what was added with the admin CLI stays; the demo's (or the file's) own registrations are
    // restored as declared. The demo IdP's issuer names the port, so the demo's trusts of earlier runs on other
    // ports are its own too: those go.
    const replaced = options.configPath ? [] : await formerDemoIssuers(table, demoIdp.issuer);
    const removal = await writeChanges(table, replaced);
    if (removal.error) throw removal.error;
    const result = await applyConfig(table, registry);
    if (result.error) throw result.error;

    const config = resolveServerConfig(
      {
        issuer,
        resources: registry.resources ?? [],
        defaultResource: registry.defaultResource,
        ...(options.interactive ? { interactive: options.interactive } : {}),
        ...(options.dynamicClientRegistration ? { dynamicClientRegistration: options.dynamicClientRegistration } : {}),
      },
      { allowHttpLoopback: true, source: options.configPath ?? 'demo configuration' },
    );
    const demo = options.configPath ? undefined : saveDemoCredentials(dataDir, issuer, demoIdp, config, result.secrets);
    const signer = await loadOrCreateFileSigner(dataDir);
    // Local mode only: issuers and IdPs on loopback over plain http.
    const loopback = { allowHttpLoopback: true, allowPrivateAddresses: true };
    const registered = new DynamoRegistry({
      client,
      tableName: TABLE_NAME,
      cacheMaxAgeMs: (options.registryCacheSeconds ?? DEFAULT_REGISTRY_CACHE_SECONDS) * 1000,
    });
    // Clients known by their metadata document, which may be served on loopback over plain http here (as issuers).
    const registryReader = withMetadataDocumentClients(registered, {
      policy: config.clientIdMetadataDocuments,
      documents: new RemoteClientMetadataDocuments({
        ...loopback,
        ...(options.clientMetadataFetch ? { fetch: options.clientMetadataFetch } : {}),
      }),
      allowHttpLoopback: true,
      refused: (clientId, reason) => logger.warn('client metadata document refused', { clientId, reason }),
    });
    const grants = new DynamoGrantStore({ client, tableName: TABLE_NAME });
    const registrations = new DynamoClientRegistrations({ client, tableName: TABLE_NAME });
    const keyResolver = new RemoteKeyResolver(loopback);
    const wiring = once(async () => ({
      config,
      registry: registryReader,
      replayStore: new DynamoReplayStore({ client, tableName: TABLE_NAME }),
      grants,
      registrations,
      signer,
      keyResolver,
      clock,
    }));
    const authorizeWiring = once(async () => ({
      config,
      registry: registryReader,
      grants,
      upstream: new UpstreamOidc(loopback),
      keyResolver,
      secrets: new FileSecretSource(dataDir),
      clock,
    }));
    const registrationWiring = once(async () => ({
      config,
      registrations,
      clock,
    }));
    routes.push(...handlerRoutes(config, wiring, authorizeWiring, registrationWiring, logger), ...demoIdp.routes);

    return {
      url,
      issuer,
      config,
      demo,
      generatedSecrets: result.secrets,
      seeded: { written: removal.applied.length + result.applied.length, kept: result.plan.kept.length },
      close: async () => {
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
        await dynamo.close();
      },
    };
  } catch (error) {
    http.close();
    await dynamo.close();
    throw error;
  }
}

function handlerRoutes(
  config: ServerConfig,
  wiring: () => Promise<TokenEndpointDeps>,
  authorizeWiring: () => Promise<AuthorizeEndpointDeps>,
  registrationWiring: () => Promise<RegistrationEndpointDeps>,
  logger: Logger,
): Route[] {
  const { routes } = endpointsOf(config.issuer);
  const metadata = createMetadataHandler(async () => config, logger);
  const authorize = createAuthorizeHandler(authorizeWiring, logger);
  // As in Lambda: one handler for the token function's routes, dispatching by route key.
  const token = createTokenFunctionHandler(wiring, logger, { revokeRouteKey: `ANY ${routes.revoke}` });
  return [
    ...routes.metadata.map((path): Route => ({ method: 'GET', path, handler: metadata })),
    { method: 'GET', path: routes.jwks, handler: createJwksHandler(async () => wiring(), logger) },
    { method: 'ANY', path: routes.token, handler: token },
    ...(config.interactive.enabled
      ? ([
          { method: 'ANY', path: routes.revoke, handler: token },
          { method: 'ANY', path: routes.authorize, handler: authorize },
          { method: 'GET', path: routes.callback, handler: authorize },
        ] satisfies Route[])
      : []),
    ...(config.dynamicClientRegistration.enabled
      ? ([
          { method: 'ANY', path: routes.register, handler: createRegistrationHandler(registrationWiring, logger) },
        ] satisfies Route[])
      : []),
  ];
}

/** The demo tenant's trusts of demo IdPs of earlier runs (`http://<loopback>:<other port>/demo-idp`), to delete. */
async function formerDemoIssuers(table: RegistryTable, current: string): Promise<Change[]> {
  const state = await table.loadState();
  return state.trusts
    .filter(({ value }) => value.tenantId === DEMO_TENANT_ID && value.issuer !== current)
    .filter(({ value }) => /^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+\/demo-idp$/.test(value.issuer))
    .map(({ value, version }) => ({
      action: 'delete',
      ref: { kind: 'issuer', tenantId: value.tenantId, issuer: value.issuer },
      ...(version === undefined ? {} : { previousVersion: version }),
    }));
}

function loadConfigFile(path: string): RegistryConfig {
  const config = parseRegistryConfigText(readFileSync(path, 'utf8'), { allowHttpLoopback: true, source: path });
  if (!config.resources || config.resources.length === 0) {
    throw new ConfigError(path, ['resources: the local server needs at least one resource to issue tokens for']);
  }
  return config;
}

/** One resource, one tenant trusting the demo IdP, one client: enough to see a real exchange. */
function demoConfig(demoIdp: DemoIdp): RegistryConfig {
  return parseRegistryConfigText(
    JSON.stringify({
      resources: [{ id: 'http://localhost:3001/mcp', scopes: ['mcp:tools', 'mcp:resources'] }],
      tenants: [
        {
          id: DEMO_TENANT_ID,
          displayName: 'Demo organisation',
          issuers: [{ issuer: demoIdp.issuer }],
          // The same IdP for the interactive flow: one person gets the same token `sub` in both flows.
          connection: {
            issuer: demoIdp.issuer,
            clientId: demoIdp.client.clientId,
            authMethod: demoIdp.client.authMethod,
            clientSecret: { file: DEMO_IDP_CLIENT_SECRET_FILE },
            scopes: demoIdp.client.scopes,
            domains: ['demo.example'],
          },
        },
      ],
      clients: [
        {
          clientId: DEMO_CLIENT_ID,
          authMethod: 'client_secret_basic',
          grantTypes: [JWT_BEARER_GRANT_TYPE],
          tenants: [DEMO_TENANT_ID],
        },
        {
          // A public MCP client for the interactive flow, as MCP clients register: loopback redirect, any port; it
          // stays signed in with refresh tokens.
          clientId: DEMO_APP_CLIENT_ID,
          authMethod: 'none',
          grantTypes: [AUTHORIZATION_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE],
          redirectUris: ['http://127.0.0.1/callback', 'http://localhost/callback'],
          tenants: [DEMO_TENANT_ID],
        },
      ],
    }),
    { allowHttpLoopback: true, source: 'demo configuration' },
  );
}

/**
 * The demo client's secret is generated once (its hash goes to the table) and kept in a 0600 file for `npm run
 * demo`; later starts reuse it, since apply keeps an existing client's secret.
 */
function saveDemoCredentials(
  dataDir: string,
  issuer: string,
  demoIdp: DemoIdp,
  config: ServerConfig,
  secrets: readonly { clientId: string; secret: string }[],
): DemoCredentials | undefined {
  const file = join(dataDir, DEMO_FILE);
  const fresh = secrets.find((secret) => secret.clientId === DEMO_CLIENT_ID)?.secret;
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DemoCredentials) : undefined;
  const clientSecret = fresh ?? previous?.clientSecret;
  if (!clientSecret) return undefined;
  const demo: DemoCredentials = {
    issuer,
    demoIdp: demoIdp.issuer,
    clientId: DEMO_CLIENT_ID,
    clientSecret,
    resource: config.defaultResource ?? config.resources[0]!.id,
    appClientId: DEMO_APP_CLIENT_ID,
  };
  writeFileSync(file, `${JSON.stringify(demo, null, 2)}\n`, { mode: 0o600 });
  return demo;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
