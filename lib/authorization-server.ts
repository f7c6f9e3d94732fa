import {
  Annotations,
  ArnFormat,
  CustomResource,
  Duration,
  Names,
  RemovalPolicy,
  Stack,
  Token,
  Validations,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DYNAMIC_CLIENT_PREFIX, GRANT_ITEM_PREFIX, ITEM_PREFIX } from '../lambda/adapters/dynamodb/items';
import { TABLE_KEYS } from '../lambda/adapters/dynamodb/table';
import {
  CONFIG_DEFAULTS,
  ConfigError,
  endpointsOf,
  isUrlHost,
  MAX_ACCESS_TOKEN_TTL_SECONDS,
  MAX_CLOCK_SKEW_SECONDS,
  MAX_DYNAMIC_CLIENT_LIFETIME_SECONDS,
  MAX_DYNAMIC_CLIENTS,
  MAX_REFRESH_TOKEN_LIFETIME_SECONDS,
  MIN_DYNAMIC_CLIENT_LIFETIME_SECONDS,
  MIN_REFRESH_TOKEN_LIFETIME_SECONDS,
  resolveServerConfig,
} from '../lambda/core/config';
import { type HandlerName, handlerAssetPath } from './assets';
import { type RegistrySeed, seedDocument, seedSecretReferences } from './registry';

/** A protected resource (an MCP server) that this authorization server issues access tokens for. */
export interface ProtectedResource {
  /** The resource identifier (RFC 8707), compared exactly: for example `https://mcp.example.com/mcp`. */
  readonly id: string;
  /** The scopes the resource understands. */
  readonly scopes: string[];
  /**
   * Scopes granted when neither the token request nor the identity assertion names any.
   * @default - all of `scopes`
   */
  readonly defaultScopes?: string[];
}

/** The JWS algorithm of the access tokens; it must fit the signing key's spec. */
export enum TokenSigningAlgorithm {
  /** ECDSA P-256 with SHA-256: for an `ECC_NIST_P256` key. */
  ES256 = 'ES256',
  /** RSASSA-PKCS1-v1_5 with SHA-256: for an `RSA_2048`, `RSA_3072` or `RSA_4096` key. */
  RS256 = 'RS256',
  /** RSASSA-PSS with SHA-256: for an `RSA_2048`, `RSA_3072` or `RSA_4096` key. */
  PS256 = 'PS256',
}

/**
 * The interactive flow: OAuth 2.1 authorization code + PKCE for MCP clients, with the user signing in at their
 * tenant's OpenID Connect IdP (the `connection` of a tenant in `registry`, or one added with the admin CLI).
 */
export interface InteractiveSignInOptions {
  /**
   * Serve the interactive flow: `GET`/`POST /authorize` and `GET /callback` on a function of their own, the
   * `authorization_code` and `refresh_token` grants at the token endpoint, `POST /revoke` (RFC 7009) on the token
   * function, and all of them in the metadata. Off: the server is jwt-bearer only, advertises only that, and has no
   * authorize function or routes, and no `/revoke`.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * The name of your product on the sign-in pages ("Sign in to <productName>"), at most 100 characters.
   * @default 'MCP server'
   */
  readonly productName?: string;
  /**
   * How long a sign-in may take, from `/authorize` to the upstream IdP's answer at `/callback` (1 to 60 minutes).
   * @default Duration.minutes(10)
   */
  readonly transactionLifetime?: Duration;
  /**
   * Secrets Manager secrets holding the upstream client secrets of connections that are not declared in `registry`
   * (added with the admin CLI, now or later): the authorize function may read them. Those that `registry` declares are
   * granted without being listed here (`secretReferences()`). A secret encrypted with a customer managed KMS key also
   * needs `kms:Decrypt` for the authorize function in that key's policy: the construct grants no KMS permission to it.
   * @default - none
   */
  readonly connectionSecrets?: secretsmanager.ISecret[];
  /**
   * Steady-state request rate limit of each sign-in route (`GET /authorize`, `POST /authorize`, `GET /callback`), in
   * requests per second. Lower than the token endpoint's: a person signs in with three or four requests, rarely, and
   * every `GET /authorize` of a known client writes a login record, so a flood costs more here than anywhere else.
   * @default - 20, or the stage's `throttlingRateLimit` when that is lower
   */
  readonly throttlingRateLimit?: number;
  /**
   * Burst limit of each sign-in route, in requests.
   * @default - 40, or the stage's `throttlingBurstLimit` when that is lower
   */
  readonly throttlingBurstLimit?: number;
  /**
   * How long a refresh token may go unused: a user away from the client for longer signs in again. Clients registered
   * for the `refresh_token` grant get refresh tokens, rotated on every use; a client's registration may set its own
   * lifetimes. Whole seconds from 5 minutes to 365 days, at most `refreshTokenAbsoluteLifetime`.
   *
   * Two weeks lets a person who uses the client every working week stay signed in across a holiday, while a token
   * left on a machine nobody uses stops working soon.
   * @default Duration.days(14)
   */
  readonly refreshTokenIdleLifetime?: Duration;
  /**
   * How long after sign-in a grant's refresh tokens work at all, however often they are used: then the user signs in
   * at their IdP again, which checks that they are still employed and allowed (a disabled IdP account ends access
   * here at the latest; revoke grants with the admin CLI to end it at once). Whole seconds from 5 minutes to 365
   * days, at least `refreshTokenIdleLifetime`.
   *
   * A quarter bounds how long a stolen token family, or a departed user's, can live unnoticed, for one sign-in every
   * three months.
   * @default Duration.days(90)
   */
  readonly refreshTokenAbsoluteLifetime?: Duration;
}

/** Properties of an `IdJagAuthorizationServer`: the protected resources are required, everything else has a default. */
export interface IdJagAuthorizationServerProps {
  /** The MCP servers tokens are issued for. */
  readonly resources: ProtectedResource[];
  /**
   * The resource a token is bound to when neither the request nor the assertion names one.
   * @default - the only resource when there is exactly one, else none (requests must name their resource)
   */
  readonly defaultResource?: string;
  /**
   * A custom domain for the issuer (`https://<domainName>`), so that the issuer URL outlives the API. When set, the
   * execute-api endpoint is disabled: the issuer must be the only URL the server answers on.
   * @default - the issuer is the API's execute-api URL
   */
  readonly domainName?: string;
  /**
   * The certificate for `domainName` (a regional ACM certificate in the stack's Region).
   * @default - required when `domainName` is set
   */
  readonly certificate?: acm.ICertificate;
  /**
   * The table for tenants, trusted issuers, clients and used assertion ids. An existing table must have the key schema
   * in docs/dynamodb.md.
   * @default - a new on-demand table with point-in-time recovery, deletion protection and TTL
   */
  readonly table?: dynamodb.ITable;
  /**
   * The KMS key that signs access tokens (asymmetric, `SIGN_VERIFY`). For an existing key, its key policy must let
   * this account's IAM policies grant `kms:Sign` and `kms:GetPublicKey`. The construct does not change an existing
   * key's policy, so it cannot guarantee that only the token function signs: whoever that policy (or a grant, or an
   * IAM policy it delegates to) lets call `kms:Sign` can mint tokens. Give it the statements in docs/signing-keys.md.
   * @default - a new `ECC_NIST_P256` key whose key policy lets only the token function sign and nobody create grants
   */
  readonly signingKey?: kms.IKey;
  /**
   * The JWS algorithm of the access tokens.
   * @default TokenSigningAlgorithm.ES256
   */
  readonly signingAlgorithm?: TokenSigningAlgorithm;
  /**
   * Keys that signed tokens before `signingKey` became active, published in the JWKS until those tokens expire.
   * @default - none
   */
  readonly previousSigningKeys?: kms.IKey[];
  /**
   * Keys published in the JWKS before they become active, so that resource servers know them in advance.
   * @default - none
   */
  readonly nextSigningKeys?: kms.IKey[];
  /**
   * Lifetime of the access tokens (at most 24 hours).
   * @default Duration.hours(1)
   */
  readonly accessTokenLifetime?: Duration;
  /**
   * Clock skew tolerated on assertion times (at most 5 minutes).
   * @default Duration.seconds(60)
   */
  readonly clockSkew?: Duration;
  /**
   * How long the token and authorize functions cache tenants, trusted issuers, connections and clients: a disabled or
   * removed registration stops working within this time.
   * @default Duration.seconds(30)
   */
  readonly registryCacheTtl?: Duration;
  /**
   * Steady-state request rate limit of the API's stage, in requests per second.
   * @default 100
   */
  readonly throttlingRateLimit?: number;
  /**
   * Burst limit of the API's stage, in requests.
   * @default 200
   */
  readonly throttlingBurstLimit?: number;
  /**
   * Retention of the functions' and the API's logs.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the table, the signing key and the log groups when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Rejected token requests per 5 minutes that raise the token errors alarm.
   * @default 100
   */
  readonly tokenErrorAlarmThreshold?: number;
  /**
   * Tenants (with their trusted issuers and sign-in connection) and clients kept in code, written to the table by a
   * custom resource as
   * `id-jag-admin apply` would. It runs when the stack is created and on each deployment that changes `registry` or
   * `pruneRegistry`, not on other deployments.
   *
   * The code owns what it declares: each run restores the declared registrations, undoing what the admin CLI changed
   * in them since (a `--disable`, a `rotate-secret`). The seed marks them `managedBy: "construct"` in the table, and
   * the CLI warns before changing one, but still makes the change: after an emergency disable, make the same change
   * here before the next deployment that changes the registry. Registrations added with the CLI are left alone
   * (unless `pruneRegistry`). A registration removed from `registry` stays in the table, no longer marked; removing
   * the prop leaves the registrations, and their marks, in place (deploy `registry: {}` once first to clear them).
   * @default - none: manage registrations with the admin CLI
   */
  readonly registry?: RegistrySeed;
  /**
   * With `registry`: also remove registrations the seed does not declare, including those added with the admin CLI,
   * each time the seed runs (see `registry`), so that the table matches the code exactly.
   * @default false
   */
  readonly pruneRegistry?: boolean;
  /**
   * The interactive flow (authorization code + PKCE, sign-in at each tenant's upstream OIDC IdP).
   * @default - enabled, with the defaults of InteractiveSignInOptions
   */
  readonly interactive?: InteractiveSignInOptions;
  /**
   * Clients known by a Client ID Metadata Document (CIMD): an https `client_id` URL that names the client's document,
   * which the server fetches (https only, no private addresses, no redirects, 5 KiB, 3 s) and caches. See
   * docs/clients.md.
   * @default - enabled for any host: unlisted CIMD clients may use the interactive flow, always with the consent page
   */
  readonly clientIdMetadataDocuments?: ClientIdMetadataDocumentOptions;
  /**
   * Dynamic Client Registration (RFC 7591) at `POST /register`: anyone may register a client for the interactive flow
   * (which it needs), always with the consent page, up to a per-deployment cap, each registration ending after a
   * while. See docs/clients.md for what it accepts and its risks.
   * @default - off: no route, no function, no `registration_endpoint` in the metadata
   */
  readonly dynamicClientRegistration?: DynamicClientRegistrationOptions;
}

/** Dynamic Client Registration (RFC 7591): off unless `enabled`. */
export interface DynamicClientRegistrationOptions {
  /**
   * Serve `POST /register` and advertise it as `registration_endpoint`.
   * @default false
   */
  readonly enabled?: boolean;
  /**
   * Most unexpired registrations at a time (1 to 1,000,000); beyond it registration is refused until some end.
   * Registrations racing each other may overshoot it by their number.
   * @default 1000
   */
  readonly maxClients?: number;
  /**
   * How long a registration lives unused (whole seconds from 1 hour to 365 days): from its registration, and again
   * from each token its client obtains (moved on at most once a day). Then its client id no longer works and the
   * client registers again.
   * @default Duration.days(30)
   */
  readonly unusedLifetime?: Duration;
  /**
   * Steady-state requests per second to `/register` (API Gateway route throttling).
   * @default 1
   */
  readonly throttlingRateLimit?: number;
  /**
   * Burst of requests to `/register`.
   * @default 5
   */
  readonly throttlingBurstLimit?: number;
}

/** Which CIMD clients the deployment accepts besides those registered under their URL (which always are). */
export interface ClientIdMetadataDocumentOptions {
  /**
   * Accept CIMD clients that are not registered (for the interactive flow only, always with the consent page).
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Only these hosts' unregistered CIMD clients (`host[:port]`, lower case, as in the URL); an empty list accepts
   * registered ones only.
   * @default - any host
   */
  readonly hosts?: string[];
}

/** CloudWatch namespace of the metrics the token and authorize functions write (embedded metric format). */
export const METRICS_NAMESPACE = 'IdJagAuthorizationServer';

/**
 * An OAuth 2.0 authorization server for Enterprise-Managed Authorization of MCP servers: it exchanges identity
 * assertions signed by a tenant's trusted IdP (ID-JAG, RFC 7523 jwt-bearer) for access tokens signed by AWS KMS.
 *
 * With the interactive flow (on by default) it also serves OAuth 2.1 authorization code + PKCE, the user signing in at
 * their tenant's OpenID Connect IdP.
 *
 * It creates an HTTP API with the RFC 8414 metadata, the JWKS, the token endpoint and the sign-in endpoints, a Lambda
 * function for each from prebuilt bundles, a DynamoDB table, a KMS signing key, log groups and alarms.
 */
export class IdJagAuthorizationServer extends Construct {
  /** CloudWatch namespace of the metrics the token and authorize functions write (embedded metric format). */
  static readonly METRICS_NAMESPACE: string = METRICS_NAMESPACE;

  /** The issuer identifier: the URL clients and IdPs must use, and the `iss` of every access token. */
  readonly issuer: string;
  /** The URL of the RFC 8414 metadata document. */
  readonly metadataUrl: string;
  /** The HTTP API that serves every endpoint. */
  readonly api: apigwv2.HttpApi;
  /** The API's `$default` stage, with its throttling and access logs. */
  readonly stage: apigwv2.HttpStage;
  /** The registry table: the one given as `table`, or the one created. */
  readonly table: dynamodb.ITable;
  /** The key that signs access tokens: the one given as `signingKey`, or the one created. */
  readonly signingKey: kms.IKey;
  /** The function behind the RFC 8414 metadata document. */
  readonly metadataFunction: lambda.Function;
  /** The function behind the JWKS: it may only read the published keys' public halves. */
  readonly jwksFunction: lambda.Function;
  /**
   * The function behind the token endpoint (and `/revoke` with the interactive flow): of the construct's functions,
   * the one that signs.
   */
  readonly tokenFunction: lambda.Function;
  /**
   * The browser-facing function of the interactive flow (`/authorize`, `/callback`); none when it is disabled. It
   * reads the registry, writes only login records and codes, reads the connections' client secrets, and has no KMS
   * permission: it never signs.
   */
  readonly authorizeFunction?: lambda.Function;
  /**
   * The function behind `POST /register` (Dynamic Client Registration), when enabled: it writes only registration
   * items (`DCR#…`) and counts them through the index; no KMS, no other item.
   */
  readonly registerFunction?: lambda.Function;
  /** The custom domain, when `domainName` is set: point a DNS alias at its regional domain name. */
  readonly domainName?: apigwv2.DomainName;
  /** Alarms created by default; add actions to them (for example an SNS topic). */
  readonly alarms: cloudwatch.Alarm[] = [];
  /** The value of the `Server` dimension of this server's metrics. */
  readonly metricsServerName: string;
  /** The function behind the registry seeding custom resource, when `registry` is set. */
  readonly seedFunction?: lambda.Function;
  private readonly registrySecrets: readonly string[];
  /** API Gateway route settings (per-route throttles), written to the stage once all routes are added. */
  private readonly routeThrottles: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};

  /**
   * Validates the props (throwing at synth on a value the server would refuse) and creates the server's resources.
   * @param scope The construct the server is created in.
   * @param id The server's construct id, unique within `scope`.
   * @param props The protected resources and the server's options.
   */
  constructor(scope: Construct, id: string, props: IdJagAuthorizationServerProps) {
    super(scope, id);
    validateProps(props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    this.metricsServerName = Names.uniqueResourceName(this, { maxLength: 64 });

    this.table = props.table ?? this.createTable(removalPolicy);
    const ownKey = props.signingKey === undefined;
    this.signingKey = props.signingKey ?? this.createSigningKey(removalPolicy);

    if (props.domainName) {
      this.domainName = new apigwv2.DomainName(this, 'DomainName', {
        domainName: props.domainName,
        certificate: props.certificate!,
      });
    }
    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'OAuth authorization server for ID-JAG (RFC 7523 jwt-bearer) token exchange',
      createDefaultStage: false,
      disableExecuteApiEndpoint: props.domainName !== undefined,
    });
    const accessLogs = this.logGroup('AccessLogs', retention, removalPolicy);
    this.stage = new apigwv2.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttlingRateLimit ?? 100, burstLimit: props.throttlingBurstLimit ?? 200 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: ACCESS_LOG_FORMAT,
      },
      ...(this.domainName ? { domainMapping: { domainName: this.domainName } } : {}),
    });

    this.issuer = props.domainName ? `https://${props.domainName}` : this.api.apiEndpoint;
    this.metadataUrl = `${this.issuer}/.well-known/oauth-authorization-server`;
    const interactive = interactiveSettings(props.interactive);
    const serverConfig = Stack.of(this).toJsonString({
      issuer: this.issuer,
      resources: props.resources,
      defaultResource: props.defaultResource,
      accessTokenTtlSeconds: (props.accessTokenLifetime ?? Duration.hours(1)).toSeconds(),
      clockSkewSeconds: (props.clockSkew ?? Duration.seconds(60)).toSeconds(),
      // Every function reads the same configuration: the metadata advertises the flow, the token endpoint redeems its
      // codes, the authorize function serves it.
      interactive: interactive.config,
      clientIdMetadataDocuments: cimdPolicy(props.clientIdMetadataDocuments),
      dynamicClientRegistration: dcrSettings(props.dynamicClientRegistration),
    });
    const registryCacheSeconds = String((props.registryCacheTtl ?? Duration.seconds(30)).toSeconds());
    const metrics = { METRICS_NAMESPACE, METRICS_SERVER_NAME: this.metricsServerName };
    const signing = {
      SIGNING_KEY_ID: this.signingKey.keyArn,
      PREVIOUS_SIGNING_KEY_IDS: (props.previousSigningKeys ?? []).map((key) => key.keyArn).join(','),
      NEXT_SIGNING_KEY_IDS: (props.nextSigningKeys ?? []).map((key) => key.keyArn).join(','),
      SIGNING_ALGORITHM: props.signingAlgorithm ?? TokenSigningAlgorithm.ES256,
    };

    this.metadataFunction = this.handlerFunction('Metadata', 'metadata', retention, removalPolicy, {
      AUTH_SERVER_CONFIG: serverConfig,
    });
    this.jwksFunction = this.handlerFunction('Jwks', 'jwks', retention, removalPolicy, {
      AUTH_SERVER_CONFIG: serverConfig,
      ...signing,
    });
    this.tokenFunction = this.handlerFunction('Token', 'token', retention, removalPolicy, {
      AUTH_SERVER_CONFIG: serverConfig,
      ...signing,
      TABLE_NAME: this.table.tableName,
      REGISTRY_CACHE_SECONDS: registryCacheSeconds,
      ...metrics,
    });
    this.registrySecrets = props.registry ? seedSecretReferences(props.registry) : [];
    if (interactive.config.enabled) {
      // No signing key, no KMS: this function never signs.
      this.authorizeFunction = this.handlerFunction('Authorize', 'authorize', retention, removalPolicy, {
        AUTH_SERVER_CONFIG: serverConfig,
        TABLE_NAME: this.table.tableName,
        REGISTRY_CACHE_SECONDS: registryCacheSeconds,
        ...metrics,
      });
      this.grantAuthorizeFunction(this.authorizeFunction, props.interactive?.connectionSecrets ?? []);
    }

    this.grantTokenFunction(ownKey, interactive.config.enabled, props.dynamicClientRegistration?.enabled === true);
    const published = [this.signingKey, ...(props.previousSigningKeys ?? []), ...(props.nextSigningKeys ?? [])];
    for (const key of published) key.grant(this.jwksFunction, 'kms:GetPublicKey');

    this.addRoutes(interactive.config.enabled);
    if (this.authorizeFunction) {
      this.addSignInRoutes(this.authorizeFunction, {
        rateLimit: props.interactive?.throttlingRateLimit ?? Math.min(20, props.throttlingRateLimit ?? 100),
        burstLimit: props.interactive?.throttlingBurstLimit ?? Math.min(40, props.throttlingBurstLimit ?? 200),
      });
    }
    if (props.dynamicClientRegistration?.enabled) {
      this.registerFunction = this.handlerFunction('Register', 'register', retention, removalPolicy, {
        AUTH_SERVER_CONFIG: serverConfig,
        TABLE_NAME: this.table.tableName,
        ...metrics,
      });
      this.grantRegisterFunction(this.registerFunction);
      this.addRegisterRoute(this.registerFunction, {
        rateLimit: props.dynamicClientRegistration.throttlingRateLimit ?? 1,
        burstLimit: props.dynamicClientRegistration.throttlingBurstLimit ?? 5,
      });
    }
    if (Object.keys(this.routeThrottles).length > 0) {
      (this.stage.node.defaultChild as apigwv2.CfnStage).routeSettings = this.routeThrottles;
    }
    this.createAlarms(props.tokenErrorAlarmThreshold ?? 100);
    if (props.registry) {
      this.seedFunction = this.seedRegistry(props, retention, removalPolicy);
    }
  }

  /**
   * The AWS Secrets Manager secrets that the connections in the `registry` prop keep their client secrets in: each
   * secret's ARN or name as declared, once, in declaration order (empty without `registry`).
   *
   * The authorize function reads these secrets when it exchanges a code at a tenant's IdP, and may read exactly these
   * and `interactive.connectionSecrets`: `secretsmanager:GetSecretValue` on each ARN as given, or for a name on
   * `arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-??????` (Secrets Manager appends six characters
   * to a secret's name in its ARN). Secrets of connections added with the admin CLI are not known at synth: list them
   * in `interactive.connectionSecrets`.
   */
  secretReferences(): string[] {
    return [...this.registrySecrets];
  }

  private seedRegistry(
    props: IdJagAuthorizationServerProps,
    retention: logs.RetentionDays,
    removalPolicy: RemovalPolicy,
  ): lambda.Function {
    const registry = seedDocument(props.registry!, props.resources);
    const seed = this.handlerFunction('Seed', 'seed', retention, removalPolicy, { TABLE_NAME: this.table.tableName });
    this.grantAdmin(seed);
    // CloudFormation calls the function on Create, and on Update only when these properties change: they hold the
    // registry and pruning alone, so that the seed runs exactly when they change (the construct test checks this).
    const resource = new CustomResource(this, 'Registry', {
      serviceToken: seed.functionArn,
      resourceType: 'Custom::IdJagRegistry',
      properties: { Registry: registry, Prune: String(props.pruneRegistry ?? false) },
    });
    resource.node.addDependency(seed);
    return seed;
  }

  /**
   * Lets a principal manage tenants, trusted issuers and clients (what the admin CLI needs).
   * @param grantee The principal: an operator's role, or a function that manages the registry.
   */
  grantAdmin(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:Query',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:DescribeTable',
      ],
      // The one index by name, not index/*: listing needs it, nothing else does.
      resourceArns: [this.table.tableArn, `${this.table.tableArn}/index/${TABLE_KEYS.indexName}`],
    });
  }

  /**
   * Access tokens issued.
   * @param props Options that override the metric's defaults (the sum over 5 minutes).
   */
  metricTokensIssued(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('TokensIssued', props);
  }

  /**
   * Token requests refused with a 4xx OAuth error, optionally only those with one error code.
   * @param errorCode Only the requests that ended with this OAuth error code (the metric's `Error` dimension);
   *   all of them when omitted.
   * @param props Options that override the metric's defaults (the sum over 5 minutes).
   */
  metricTokenRejections(errorCode?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('TokenRejections', props, errorCode);
  }

  /**
   * Token requests that failed with a 5xx (`server_error`, `temporarily_unavailable`).
   * @param errorCode Only the requests that ended with this OAuth error code (the metric's `Error` dimension);
   *   all of them when omitted.
   * @param props Options that override the metric's defaults (the sum over 5 minutes).
   */
  metricTokenFailures(errorCode?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('TokenFailures', props, errorCode);
  }

  /**
   * All token requests that did not get a token.
   * @param props Options that override the expression's defaults (5 minutes).
   */
  metricTokenErrors(props?: cloudwatch.MathExpressionOptions): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: 'FILL(rejections, 0) + FILL(failures, 0)',
      usingMetrics: { rejections: this.metricTokenRejections(), failures: this.metricTokenFailures() },
      label: 'Token errors',
      period: Duration.minutes(5),
      ...props,
    });
  }

  /**
   * Sign-ins that ended with an authorization code sent back to the client (interactive flow).
   * @param props Options that override the metric's defaults (the sum over 5 minutes).
   */
  metricSignInCodesIssued(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('SignInCodesIssued', props);
  }

  /**
   * Sign-ins the user (or the upstream IdP, for the user) refused: `access_denied` back to the client.
   * @param props Options that override the metric's defaults (the sum over 5 minutes).
   */
  metricSignInDenials(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('SignInDenials', props);
  }

  /**
   * Sign-in requests refused with a 4xx (a bad authorization request, an unknown client or redirect URI, an expired
   * or foreign sign-in, an ID token that fails validation), optionally only those with one error code.
   * @param errorCode Only the requests that ended with this OAuth error code (the metric's `Error` dimension);
   *   all of them when omitted.
   * @param props Options that override the metric's defaults (the sum over 5 minutes).
   */
  metricSignInRejections(errorCode?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('SignInRejections', props, errorCode);
  }

  /**
   * Sign-in steps that failed on our side or the upstream IdP's (`server_error`, `temporarily_unavailable`): the IdP
   * unreachable or refusing our client, a client secret unreadable, DynamoDB.
   * @param errorCode Only the requests that ended with this OAuth error code (the metric's `Error` dimension);
   *   all of them when omitted.
   * @param props Options that override the metric's defaults (the sum over 5 minutes).
   */
  metricSignInFailures(errorCode?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('SignInFailures', props, errorCode);
  }

  /**
   * Refresh tokens presented again after they were used (interactive flow): each one revoked its grant. It means that
   * a refresh token was stolen and used by two parties, or that a client raced its own refresh; the
   * `RefreshTokenReuseAlarm` watches it.
   * @param props Options that override the metric's defaults (the sum over 5 minutes).
   */
  metricRefreshTokenReuse(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RefreshTokenReuse', props);
  }

  /**
   * Revocation requests (`POST /revoke`, RFC 7009) that revoked a grant.
   * @param props Options that override the metric's defaults (the sum over 5 minutes).
   */
  metricGrantsRevoked(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('GrantsRevoked', props);
  }

  /**
   * Revocation requests answered 200 with nothing to revoke: an unknown or expired token, another client's, an
   * access token.
   * @param props Options that override the metric's defaults (the sum over 5 minutes).
   */
  metricRevocationsIgnored(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RevocationsIgnored', props);
  }

  /**
   * Revocation requests refused with a 4xx (a bad request, an unauthenticated client), optionally by error code.
   * @param errorCode Only the requests that ended with this OAuth error code (the metric's `Error` dimension);
   *   all of them when omitted.
   * @param props Options that override the metric's defaults (the sum over 5 minutes).
   */
  metricRevocationRejections(errorCode?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RevocationRejections', props, errorCode);
  }

  /**
   * Revocation requests that failed with a 5xx (`server_error`, `temporarily_unavailable`), optionally by error code.
   * @param errorCode Only the requests that ended with this OAuth error code (the metric's `Error` dimension);
   *   all of them when omitted.
   * @param props Options that override the metric's defaults (the sum over 5 minutes).
   */
  metricRevocationFailures(errorCode?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RevocationFailures', props, errorCode);
  }

  /**
   * Clients registered at `/register` (Dynamic Client Registration).
   * @param props Options that override the metric's defaults (the sum over 5 minutes).
   */
  metricClientsRegistered(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ClientsRegistered', props);
  }

  /**
   * Registration requests refused for their metadata (`invalid_redirect_uri`, `invalid_client_metadata`, a bad
   * request), optionally by error code.
   * @param errorCode Only the requests that ended with this OAuth error code (the metric's `Error` dimension);
   *   all of them when omitted.
   * @param props Options that override the metric's defaults (the sum over 5 minutes).
   */
  metricRegistrationRejections(errorCode?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RegistrationRejections', props, errorCode);
  }

  /**
   * Registration requests refused because the cap of unexpired registrations is reached: registration is closed to
   * every client until registrations expire (`dynamicClientRegistration.maxClients`).
   * @param props Options that override the metric's defaults (the sum over 5 minutes).
   */
  metricRegistrationsRefusedAtCap(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RegistrationsRefusedAtCap', props);
  }

  /**
   * Registration requests that failed with a 5xx (DynamoDB, or a bug).
   * @param props Options that override the metric's defaults (the sum over 5 minutes).
   */
  metricRegistrationFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RegistrationFailures', props);
  }

  private metric(name: string, props?: cloudwatch.MetricOptions, errorCode?: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: { Server: this.metricsServerName, ...(errorCode ? { Error: errorCode } : {}) },
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...props,
    });
  }

  private createTable(removalPolicy: RemovalPolicy): dynamodb.Table {
    const table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy,
    });
    table.addGlobalSecondaryIndex({
      indexName: TABLE_KEYS.indexName,
      partitionKey: { name: TABLE_KEYS.indexPartitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.indexSortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    return table;
  }

  /**
   * The account administers the key through IAM, by the explicit actions of KEY_ADMIN_ACTIONS: nothing cryptographic
   * and no grants. Who signs is settled in grantTokenFunction, which knows the role.
   */
  private createSigningKey(removalPolicy: RemovalPolicy): kms.Key {
    const policy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'AccountAdministersTheKeyButCannotSign',
          principals: [new iam.AccountRootPrincipal()],
          actions: KEY_ADMIN_ACTIONS,
          resources: ['*'],
        }),
      ],
    });
    return new kms.Key(this, 'SigningKey', {
      description: 'Signs the access tokens of an ID-JAG authorization server',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      alias: `alias/id-jag/${Names.uniqueResourceName(this, { maxLength: 200, separator: '-' })}`,
      policy,
      removalPolicy,
    });
  }

  private grantTokenFunction(ownKey: boolean, interactive: boolean, dynamicRegistration: boolean): void {
    const role = this.tokenFunction.role!;
    // The table itself only: the token path never reads the index (Table.grant would add index/*).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
        resources: [this.table.tableArn],
      }),
    );
    // It writes only its single-use records: recording one, and releasing it when the request is refused after all.
    // Both actions always carry the item's key, so ForAllValues never meets an empty set of leading keys here.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
        resources: [this.table.tableArn],
        conditions: leadingKeys(ITEM_PREFIX.replay),
      }),
    );
    if (interactive) {
      // The authorization_code grant redeems a code once (a conditional update of its record) and stores the grant
      // it starts (two items under GRANT#) with its first refresh token (REFRESH#): conditional puts of new items.
      // The refresh_token grant uses a token once (a conditional update) and stores its successor (a put). A reused
      // token, a replayed code and POST /revoke revoke a grant (an update, which also records the revocation of a
      // grant not stored yet). Every failed condition is read back with GetItem, which the table read above allows.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:UpdateItem'],
          resources: [this.table.tableArn],
          conditions: leadingKeys(GRANT_ITEM_PREFIX.code, GRANT_ITEM_PREFIX.grant, GRANT_ITEM_PREFIX.refresh),
        }),
      );
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:PutItem'],
          resources: [this.table.tableArn],
          conditions: leadingKeys(GRANT_ITEM_PREFIX.grant, GRANT_ITEM_PREFIX.refresh),
        }),
      );
    }
    if (interactive && dynamicRegistration) {
      // A dynamically registered client that obtains a token stays registered: a conditional update of its
      // registration's end, and of nothing else of it (its secret hashes, redirect URIs and grants stay as registered).
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:UpdateItem'],
          resources: [this.table.tableArn],
          conditions: {
            ...leadingKeys(DYNAMIC_CLIENT_PREFIX),
            'ForAllValues:StringEquals': {
              'dynamodb:Attributes': [TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey, TABLE_KEYS.ttlAttribute],
            },
          },
        }),
      );
    }
    this.signingKey.grant(role, 'kms:Sign', 'kms:GetPublicKey');
    if (ownKey) {
      for (const statement of onlyRoleSigns(role)) this.signingKey.addToResourcePolicy(statement);
    }
  }

  /**
   * The authorize function reads the registry (clients and login records by key, tenants in batches, connections
   * through the index), writes only login records and codes, and reads the connections' client secrets. Nothing else:
   * no KMS, no other item.
   */
  private grantAuthorizeFunction(fn: lambda.Function, connectionSecrets: readonly secretsmanager.ISecret[]): void {
    const role = fn.role!;
    const table = this.table.tableArn;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'], resources: [table] }),
    );
    // connections() is one Query on the index; nothing in this function queries the table itself.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${table}/index/${TABLE_KEYS.indexName}`] }),
    );
    // A login starts with a login record and ends with a code: both conditional puts of new items.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [table],
        conditions: leadingKeys(GRANT_ITEM_PREFIX.login, GRANT_ITEM_PREFIX.code),
      }),
    );
    // Login records change (tenant chosen, consent given) and are used once: conditional updates. Codes never change
    // here; only the token function redeems them.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:UpdateItem'],
        resources: [table],
        conditions: leadingKeys(GRANT_ITEM_PREFIX.login),
      }),
    );
    const secretArns = [
      ...this.registrySecrets.map((reference) => this.secretArnForPolicy(reference)),
      ...connectionSecrets.map((secret) => {
        if (secret.encryptionKey) {
          Annotations.of(this).addWarningV2(
            'cdk-id-jag-authorization-server:connectionSecretKey',
            `connection secret ${secret.node.path} is encrypted with a customer managed KMS key: let the authorize ` +
              "function decrypt with it in that key's policy (kms:Decrypt with kms:ViaService secretsmanager), " +
              'the construct grants it no KMS permission',
          );
        }
        // A complete ARN as it is; a partial one (a secret imported by name) with the suffix Secrets Manager appends.
        return secret.secretFullArn ?? `${secret.secretArn}-??????`;
      }),
    ];
    if (secretArns.length > 0) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [...new Set(secretArns)] }),
      );
    }
  }

  /** A secret's ARN as given, or for a name the ARN pattern of every secret of that name here. */
  private secretArnForPolicy(reference: string): string {
    if (reference.startsWith('arn:')) return reference;
    return Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${reference}-??????`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /**
   * The register function writes new registrations (a conditional put under `DCR#`) and counts the unexpired ones
   * with one Query of the index's `DCR` partition. Nothing else: it reads no item, signs nothing.
   */
  private grantRegisterFunction(fn: lambda.Function): void {
    const role = fn.role!;
    const table = this.table.tableArn;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [table],
        conditions: leadingKeys(DYNAMIC_CLIENT_PREFIX),
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${table}/index/${TABLE_KEYS.indexName}`],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [DYNAMIC_CLIENT_PREFIX] } },
      }),
    );
  }

  /** `/register` (ANY, so that the endpoint answers a wrong method with 405), with a throttle of its own. */
  private addRegisterRoute(fn: lambda.Function, throttle: { rateLimit: number; burstLimit: number }): void {
    const { routes } = endpointsOf('https://issuer.invalid');
    const integration = new HttpLambdaIntegration('RegisterIntegration', fn);
    for (const route of this.api.addRoutes({ path: routes.register, methods: [apigwv2.HttpMethod.ANY], integration })) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions::AwsSolutions-APIG4',
        reason:
          'Public by design: Dynamic Client Registration (RFC 7591) is open registration, opted into by the ' +
          'deployment; it is throttled, capped, and registered clients always get the consent page.',
      });
      this.routeThrottles[(route.node.defaultChild as apigwv2.CfnRoute).routeKey] = {
        ThrottlingRateLimit: throttle.rateLimit,
        ThrottlingBurstLimit: throttle.burstLimit,
      };
      this.stage.node.addDependency(route);
    }
  }

  private logGroup(id: string, retention: logs.RetentionDays, removalPolicy: RemovalPolicy): logs.LogGroup {
    return new logs.LogGroup(this, id, { retention, removalPolicy });
  }

  /**
   * A function from its prebuilt bundle, with its own log group and a role that may write only there (no managed
   * policy: AWSLambdaBasicExecutionRole would allow any log group).
   */
  private handlerFunction(
    id: string,
    name: HandlerName,
    retention: logs.RetentionDays,
    removalPolicy: RemovalPolicy,
    environment: Record<string, string>,
  ): lambda.Function {
    const logGroup = this.logGroup(`${id}Logs`, retention, removalPolicy);
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `ID-JAG authorization server: ${name} function`,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    return new lambda.Function(this, `${id}Function`, {
      description: `ID-JAG authorization server: ${name}`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(handlerAssetPath(name)),
      memorySize: MEMORY_MB[name],
      timeout: Duration.seconds(TIMEOUT_SECONDS[name]),
      environment: { ...environment, NODE_OPTIONS: '--enable-source-maps' },
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
    });
  }

  /**
   * The issuer is always a bare origin here, so the routes are the issuer-without-path ones. The token function also
   * serves `/revoke` with the interactive flow: its handler tells the two apart by route key (`ANY /revoke`,
   * lambda/handlers/token.ts). Both have the stage's throttling, per route.
   */
  private addRoutes(interactive: boolean): void {
    const { routes } = endpointsOf('https://issuer.invalid');
    const metadata = new HttpLambdaIntegration('MetadataIntegration', this.metadataFunction);
    const token = new HttpLambdaIntegration('TokenIntegration', this.tokenFunction);
    const added = [
      ...routes.metadata.flatMap((path) =>
        this.api.addRoutes({ path, methods: [apigwv2.HttpMethod.GET], integration: metadata }),
      ),
      ...this.api.addRoutes({
        path: routes.jwks,
        methods: [apigwv2.HttpMethod.GET],
        integration: new HttpLambdaIntegration('JwksIntegration', this.jwksFunction),
      }),
      // ANY, so that the endpoint itself answers a wrong method with an OAuth error and 405.
      ...this.api.addRoutes({ path: routes.token, methods: [apigwv2.HttpMethod.ANY], integration: token }),
      ...(interactive
        ? this.api.addRoutes({ path: routes.revoke, methods: [apigwv2.HttpMethod.ANY], integration: token })
        : []),
    ];
    for (const route of added) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions::AwsSolutions-APIG4',
        reason:
          'Public by design: metadata and JWKS are public documents (RFC 8414, RFC 7517), and the token and ' +
          'revocation endpoints authenticate each client themselves (RFC 6749 §2.3: client_secret_basic/post, ' +
          'private_key_jwt; RFC 7009 §2.1).',
      });
    }
  }

  /**
   * The interactive flow's browser-facing routes. Like the others they have no API Gateway authorizer: a browser
   * arrives there unauthenticated, by design. Each has a throttle of its own (API Gateway's route settings), lower than
   * the stage's; the stage must be deployed after the routes it names, else CloudFormation cannot find them.
   */
  private addSignInRoutes(fn: lambda.Function, throttle: { rateLimit: number; burstLimit: number }): void {
    const { routes } = endpointsOf('https://issuer.invalid');
    const integration = new HttpLambdaIntegration('AuthorizeIntegration', fn);
    const added = [
      ...this.api.addRoutes({
        path: routes.authorize,
        methods: [apigwv2.HttpMethod.GET, apigwv2.HttpMethod.POST],
        integration,
      }),
      ...this.api.addRoutes({ path: routes.callback, methods: [apigwv2.HttpMethod.GET], integration }),
    ];
    for (const route of added) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions::AwsSolutions-APIG4',
        reason:
          'Public by design: the authorization endpoint and the callback are where a browser arrives, unauthenticated, ' +
          'from the client or the upstream IdP (OAuth 2.1 §3.1, OpenID Connect §3.1.2.5). The function checks the ' +
          'client and redirect URI, binds each step to a login record and a __Host- cookie, and CSRF-protects its forms.',
      });
      this.routeThrottles[(route.node.defaultChild as apigwv2.CfnRoute).routeKey] = {
        ThrottlingRateLimit: throttle.rateLimit,
        ThrottlingBurstLimit: throttle.burstLimit,
      };
      this.stage.node.addDependency(route);
    }
  }

  private createAlarms(tokenErrorThreshold: number): void {
    const alarm = (id: string, description: string, metric: cloudwatch.IMetric, threshold: number) => {
      const created = new cloudwatch.Alarm(this, id, {
        metric,
        alarmDescription: description,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      this.alarms.push(created);
    };
    alarm(
      'TokenFailuresAlarm',
      'The token endpoint answered server_error or temporarily_unavailable (DynamoDB, KMS, an IdP key set, or a bug).',
      this.metricTokenFailures(),
      5,
    );
    alarm(
      'DependencyThrottlingAlarm',
      'Token requests were refused with temporarily_unavailable: KMS or DynamoDB throttling, or an IdP key set outage.',
      this.metricTokenFailures('temporarily_unavailable'),
      1,
    );
    alarm('TokenErrorsAlarm', 'Many token requests were rejected.', this.metricTokenErrors(), tokenErrorThreshold);
    alarm(
      'Api5xxAlarm',
      'The API answered with 5xx (including Lambda errors and timeouts).',
      this.api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      5,
    );
    alarm(
      'TokenFunctionThrottlesAlarm',
      'The token function was throttled by Lambda concurrency limits.',
      this.tokenFunction.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
      1,
    );
    if (this.authorizeFunction) {
      alarm(
        'SignInFailuresAlarm',
        "Sign-ins failed on our side or the upstream IdP's: an IdP unreachable or refusing our client, a client " +
          "secret unreadable, DynamoDB (see the authorize function's decision lines for the reason).",
        this.metricSignInFailures(),
        3,
      );
      alarm(
        'RefreshTokenReuseAlarm',
        'A refresh token was used a second time, and its grant revoked: the token was stolen and used by two parties, ' +
          'or a client raced its own refresh. The token function logs each with outcome refresh_token_reused, the ' +
          'client, the tenant and the grant id: see the runbook in docs/admin-cli.md#runbook-cutting-someone-off.',
        this.metricRefreshTokenReuse(),
        1,
      );
    }
    if (this.registerFunction) {
      alarm(
        'RegistrationClosedAlarm',
        'Dynamic Client Registration refused a client because the cap of unexpired registrations is reached: no new ' +
          'client can register until registrations expire. A flood of registrations, or a cap too low for the ' +
          'clients in use: raise dynamicClientRegistration.maxClients or lower unusedLifetime (docs/clients.md).',
        this.metricRegistrationsRefusedAtCap(),
        1,
      );
    }
  }
}

/**
 * The token path waits on DynamoDB, KMS and an IdP's key set; seeding writes a whole registry. The callback waits, in
 * turn, on the upstream IdP's discovery (5 s timeout, cached) and code exchange (5 s), on its metadata and key set
 * for the ID token (2 s each, cached), and on Secrets Manager and a handful of DynamoDB calls: 14 s of timeouts in
 * the worst case (a cold instance, every fetch hanging up to its limit), plus the SDK calls with their retries. 20 s
 * covers that and stays under API Gateway's 30 s integration timeout, so that the user sees our error page rather
 * than API Gateway's bare 503.
 */
const TIMEOUT_SECONDS: Record<HandlerName, number> = {
  metadata: 5,
  jwks: 5,
  token: 10,
  authorize: 20,
  register: 10,
  seed: 60,
};

/**
 * The token function is the hot path (memory buys CPU, and so latency for signing and verifying). The authorize
 * function serves people, up to four requests per sign-in, often on cold instances since sign-ins are rare: 512 MB
 * gives its start (the DynamoDB and Secrets Manager clients, jose) twice the CPU of 256 MB, as Lambda allots CPU in
 * proportion to memory, at a cost that sign-in volumes make negligible.
 */
const MEMORY_MB: Record<HandlerName, number> = {
  metadata: 256,
  jwks: 256,
  token: 1024,
  authorize: 512,
  register: 256,
  seed: 256,
};

/** `ForAllValues:StringLike` on `dynamodb:LeadingKeys`: only items whose partition key starts with one of these. */
function leadingKeys(...prefixes: string[]): Record<string, Record<string, string[]>> {
  return { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((prefix) => `${prefix}#*`) } };
}

/** The CIMD policy as AUTH_SERVER_CONFIG holds them (lambda/core/config.ts), its hosts checked at synth. */
function cimdPolicy(options: ClientIdMetadataDocumentOptions = {}) {
  for (const host of options.hosts ?? []) {
    if (Token.isUnresolved(host) || !isUrlHost(host)) {
      throw new Error(
        `clientIdMetadataDocuments.hosts: '${host}' is not a host as a URL writes it (lower case, a port only if not 443)`,
      );
    }
  }
  return { enabled: options.enabled ?? true, ...(options.hosts ? { hosts: [...options.hosts] } : {}) };
}

/** The DCR settings as AUTH_SERVER_CONFIG holds them (lambda/core/config.ts, `dynamicClientRegistration`). */
function dcrSettings(options: DynamicClientRegistrationOptions = {}) {
  const defaults = CONFIG_DEFAULTS.dynamicClientRegistration;
  return {
    enabled: options.enabled ?? defaults.enabled,
    maxClients: options.maxClients ?? defaults.maxClients,
    unusedLifetimeSeconds: options.unusedLifetime?.toSeconds() ?? defaults.unusedLifetimeSeconds,
  };
}

/** The interactive settings as AUTH_SERVER_CONFIG holds them (lambda/core/config.ts, `interactive`). */
function interactiveSettings(options: InteractiveSignInOptions | undefined) {
  const enabled = options?.enabled ?? CONFIG_DEFAULTS.interactive.enabled;
  return {
    config: enabled
      ? {
          enabled,
          productName: options?.productName ?? CONFIG_DEFAULTS.interactive.productName,
          transactionTtlSeconds:
            options?.transactionLifetime?.toSeconds() ?? CONFIG_DEFAULTS.interactive.transactionTtlSeconds,
          refreshTokens: {
            idleSeconds:
              options?.refreshTokenIdleLifetime?.toSeconds() ?? CONFIG_DEFAULTS.interactive.refreshTokens.idleSeconds,
            absoluteSeconds:
              options?.refreshTokenAbsoluteLifetime?.toSeconds() ??
              CONFIG_DEFAULTS.interactive.refreshTokens.absoluteSeconds,
          },
        }
      : { enabled },
  };
}

/**
 * What the account's IAM principals may be allowed to do with the signing key: what CloudFormation calls to create,
 * read, update and delete the key and its alias, and what an operator needs to inspect it, revoke a grant and cancel
 * a deletion. Explicit actions, no wildcards: `kms:Create*` would include CreateGrant, and a grant can give Sign.
 * Left out on purpose: every cryptographic operation, CreateGrant, ReplicateKey and UpdatePrimaryRegion (a replica
 * has a key policy of its own), and key material import. PutKeyPolicy stays, as CloudFormation needs it for every
 * update; whoever holds it can rewrite this policy, visibly and logged (see SECURITY.md).
 */
const KEY_ADMIN_ACTIONS = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:UpdateKeyDescription',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:EnableKey',
  'kms:DisableKey',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:UpdateAlias',
  'kms:DeleteAlias',
  'kms:GetPublicKey',
  'kms:ListKeyPolicies',
  'kms:ListGrants',
  'kms:RevokeGrant',
];

/**
 * Key policy statements that leave `kms:Sign` to `role` alone. The denies are what makes it hold: an explicit deny in
 * the key policy overrides any allow, from an IAM policy or from a grant, existing or future. The role is matched by
 * `aws:PrincipalArn`, which for a role session is the role's ARN (not the session's); a request that does not carry
 * the key is denied too.
 */
function onlyRoleSigns(role: iam.IRole): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'TokenFunctionSigns',
      principals: [role],
      actions: ['kms:Sign'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'NobodyElseSigns',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:Sign'],
      resources: ['*'],
      conditions: { ArnNotEquals: { 'aws:PrincipalArn': role.roleArn } },
    }),
    // Nothing needs a grant on this key (Lambda and CloudFormation use none); without grants, the key policy alone
    // says who may use the key.
    new iam.PolicyStatement({
      sid: 'NobodyCreatesGrants',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
    }),
  ];
}

/** Access log fields: who called what and how it ended; no headers, so never a credential. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    ip: '$context.identity.sourceIp',
    requestTime: '$context.requestTime',
    method: '$context.httpMethod',
    path: '$context.path',
    routeKey: '$context.routeKey',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
    userAgent: '$context.identity.userAgent',
  }),
);

function validateProps(props: IdJagAuthorizationServerProps): void {
  if ((props.domainName === undefined) !== (props.certificate === undefined)) {
    throw new Error('domainName and certificate go together: set both or neither');
  }
  if (
    props.domainName !== undefined &&
    !Token.isUnresolved(props.domainName) &&
    !/^[a-z0-9.-]+$/i.test(props.domainName)
  ) {
    throw new Error(`domainName must be a host name such as auth.example.com, got '${props.domainName}'`);
  }
  if (props.resources.length === 0) {
    throw new Error('resources must list at least one protected resource (the MCP servers the tokens are for)');
  }
  validateLifetime(
    'accessTokenLifetime',
    props.accessTokenLifetime,
    [60, '1 minute'],
    [MAX_ACCESS_TOKEN_TTL_SECONDS, '24 hours'],
  );
  validateLifetime('clockSkew', props.clockSkew, [0, '0 seconds'], [MAX_CLOCK_SKEW_SECONDS, '5 minutes']);
  validateInteractive(props.interactive);
  validateDynamicClientRegistration(props);
  try {
    // The issuer is a deploy-time value; a placeholder lets the core validate everything else now, at synth.
    resolveServerConfig(
      {
        issuer: 'https://issuer.invalid',
        resources: props.resources,
        defaultResource: props.defaultResource,
        accessTokenTtlSeconds: props.accessTokenLifetime?.toSeconds(),
        clockSkewSeconds: props.clockSkew?.toSeconds(),
        interactive: Token.isUnresolved(props.interactive?.productName)
          ? undefined
          : interactiveSettings(props.interactive).config,
      },
      { source: 'IdJagAuthorizationServer props' },
    );
  } catch (error) {
    if (error instanceof ConfigError) throw new Error(withPropNames(error.message));
    throw error;
  }
}

function validateDynamicClientRegistration(props: IdJagAuthorizationServerProps): void {
  const options = props.dynamicClientRegistration;
  if (options === undefined) return;
  const { maxClients, unusedLifetime, throttlingRateLimit, throttlingBurstLimit } = options;
  if (options.enabled && props.interactive?.enabled === false) {
    throw new Error('dynamicClientRegistration needs the interactive flow: registered clients sign users in with it');
  }
  if (
    maxClients !== undefined &&
    !Token.isUnresolved(maxClients) &&
    !(Number.isInteger(maxClients) && maxClients >= 1 && maxClients <= MAX_DYNAMIC_CLIENTS)
  ) {
    throw new Error(`dynamicClientRegistration.maxClients must be a whole number from 1 to 1000000, got ${maxClients}`);
  }
  validateLifetime(
    'dynamicClientRegistration.unusedLifetime',
    unusedLifetime,
    [MIN_DYNAMIC_CLIENT_LIFETIME_SECONDS, '1 hour'],
    [MAX_DYNAMIC_CLIENT_LIFETIME_SECONDS, '365 days'],
  );
  validateThrottle('dynamicClientRegistration', { throttlingRateLimit, throttlingBurstLimit });
}

/** A Duration prop within the core's bounds (lambda/core/config.ts), named as the prop rather than the config field. */
/** A route's own throttle, as the props name it under `prop`: numbers of at least 0 (tokens are left to CloudFormation). */
function validateThrottle(prop: string, throttle: Record<string, number | undefined>): void {
  for (const [name, value] of Object.entries(throttle)) {
    if (value !== undefined && !Token.isUnresolved(value) && !(Number.isFinite(value) && value >= 0)) {
      throw new Error(`${prop}.${name} must be a number of at least 0, got ${value}`);
    }
  }
}

function validateLifetime(
  name: string,
  lifetime: Duration | undefined,
  [min, minText]: readonly [number, string],
  [max, maxText]: readonly [number, string],
): void {
  if (lifetime === undefined) return;
  const seconds = lifetime.toSeconds({ integral: false });
  const got = lifetime.toHumanString();
  if (!Number.isInteger(seconds)) throw new Error(`${name} must be whole seconds, got ${got}`);
  if (seconds < min) throw new Error(`${name} must be at least ${minText}, got ${got}`);
  if (seconds > max) throw new Error(`${name} must be at most ${maxText}, got ${got}`);
}

/** The core names its configuration fields; the construct's user knows the props. */
function withPropNames(message: string): string {
  return message
    .replace(/\baccessTokenTtlSeconds\b/g, 'accessTokenLifetime')
    .replace(/\bclockSkewSeconds\b/g, 'clockSkew');
}

function validateInteractive(options: InteractiveSignInOptions | undefined): void {
  if (options === undefined) return;
  const { productName, transactionLifetime, throttlingRateLimit, throttlingBurstLimit } = options;
  if (
    productName !== undefined &&
    !Token.isUnresolved(productName) &&
    !(productName.length >= 1 && productName.length <= 100)
  ) {
    throw new Error(`interactive.productName must be 1 to 100 characters, got ${productName.length}`);
  }
  if (transactionLifetime !== undefined) {
    const seconds = transactionLifetime.toSeconds({ integral: false });
    if (!Number.isInteger(seconds) || seconds < 60 || seconds > 3600) {
      throw new Error(
        `interactive.transactionLifetime must be whole seconds from 1 to 60 minutes, got ${transactionLifetime.toHumanString()}`,
      );
    }
  }
  validateThrottle('interactive', { throttlingRateLimit, throttlingBurstLimit });
  validateRefreshTokenLifetimes(options);
}

/** Whole seconds from 5 minutes to 365 days each (lambda/core/config.ts), the idle lifetime at most the absolute. */
function validateRefreshTokenLifetimes(options: InteractiveSignInOptions): void {
  const { refreshTokenIdleLifetime: idle, refreshTokenAbsoluteLifetime: absolute } = options;
  for (const [name, lifetime] of Object.entries({
    refreshTokenIdleLifetime: idle,
    refreshTokenAbsoluteLifetime: absolute,
  })) {
    if (lifetime === undefined) continue;
    const seconds = lifetime.toSeconds({ integral: false });
    if (
      !Number.isInteger(seconds) ||
      seconds < MIN_REFRESH_TOKEN_LIFETIME_SECONDS ||
      seconds > MAX_REFRESH_TOKEN_LIFETIME_SECONDS
    ) {
      throw new Error(
        `interactive.${name} must be whole seconds from 5 minutes to 365 days, got ${lifetime.toHumanString()}`,
      );
    }
  }
  const defaults = CONFIG_DEFAULTS.interactive.refreshTokens;
  const idleSeconds = idle?.toSeconds() ?? defaults.idleSeconds;
  const absoluteSeconds = absolute?.toSeconds() ?? defaults.absoluteSeconds;
  if (idleSeconds > absoluteSeconds) {
    const describe = (lifetime: Duration | undefined, fallback: number) =>
      lifetime?.toHumanString() ?? `${Duration.seconds(fallback).toDays()} days by default`;
    throw new Error(
      `interactive.refreshTokenIdleLifetime (${describe(idle, defaults.idleSeconds)}) must not exceed ` +
        `interactive.refreshTokenAbsoluteLifetime (${describe(absolute, defaults.absoluteSeconds)})`,
    );
  }
}
