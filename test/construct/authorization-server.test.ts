import { App, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { resolveServerConfig } from '../../lambda/core/config';
import { IdJagAuthorizationServer, type IdJagAuthorizationServerProps, TokenSigningAlgorithm } from '../../lib';

const RESOURCES = [{ id: 'https://mcp.example.com/mcp', scopes: ['files:read', 'files:write'] }];

/** A stack with the construct; CloudFormation validation stays off here (one test below turns it on). */
function stackWith(props: Partial<IdJagAuthorizationServerProps> = {}, validate = false) {
  const app = new App({ builtinCloudFormationValidation: validate });
  const stack = new Stack(app, 'Stack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const server = new IdJagAuthorizationServer(stack, 'Auth', { resources: RESOURCES, ...props });
  return { app, stack, server };
}

function synth(props: Partial<IdJagAuthorizationServerProps> = {}, validate = false) {
  const built = stackWith(props, validate);
  return { ...built, template: Template.fromStack(built.stack) };
}

function environmentOf(template: Template, description: string): Record<string, unknown> {
  const functions = template.findResources('AWS::Lambda::Function', {
    Properties: { Description: `ID-JAG authorization server: ${description}` },
  });
  return Object.values(functions)[0]!.Properties.Environment.Variables;
}

describe('IdJagAuthorizationServer', () => {
  const { server, template } = synth();

  describe('API', () => {
    it('is an HTTP API with the metadata, JWKS, token, revocation and sign-in routes', () => {
      template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
      template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
      const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
        (route) => route.Properties.RouteKey,
      );
      expect(routes.sort()).toEqual([
        'ANY /revoke',
        'ANY /token',
        'GET /.well-known/oauth-authorization-server',
        'GET /.well-known/openid-configuration',
        'GET /authorize',
        'GET /callback',
        'GET /jwks.json',
        'POST /authorize',
      ]);
    });

    it('throttles the stage and writes access logs without headers', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
        AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      });
      const format = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0]!.Properties.AccessLogSettings
        .Format as string;
      expect(format).not.toMatch(/authorization|header/i);
    });

    it('honours throttling props', () => {
      const { template: custom } = synth({ throttlingRateLimit: 20, throttlingBurstLimit: 40 });
      custom.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      });
    });
  });

  describe('functions', () => {
    it('runs four functions from the prebuilt bundles on arm64 and a current Node.js runtime', () => {
      template.resourceCountIs('AWS::Lambda::Function', 4);
      for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
        expect(fn.Properties).toMatchObject({
          Architectures: ['arm64'],
          Runtime: 'nodejs24.x',
          Handler: 'index.handler',
          LoggingConfig: { LogGroup: { Ref: expect.stringMatching(/Logs/) } },
        });
        expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
      }
    });

    it('gives each function its own log group with a retention', () => {
      template.resourceCountIs('AWS::Logs::LogGroup', 5);
      template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
    });

    it('configures the token function with the issuer, resources, table, keys and metrics', () => {
      const env = environmentOf(template, 'token');
      expect(env).toMatchObject({
        TABLE_NAME: { Ref: expect.stringMatching(/^AuthTable/) },
        SIGNING_KEY_ID: { 'Fn::GetAtt': [expect.stringMatching(/^AuthSigningKey/), 'Arn'] },
        SIGNING_ALGORITHM: 'ES256',
        PREVIOUS_SIGNING_KEY_IDS: '',
        NEXT_SIGNING_KEY_IDS: '',
        REGISTRY_CACHE_SECONDS: '30',
        METRICS_NAMESPACE: 'IdJagAuthorizationServer',
        METRICS_SERVER_NAME: server.metricsServerName,
      });
      const config = JSON.stringify(env.AUTH_SERVER_CONFIG);
      expect(config).toContain('ApiEndpoint');
      expect(config).toContain('https://mcp.example.com/mcp');
      expect(config).toContain('\\"accessTokenTtlSeconds\\":3600');
    });

    it('keeps the metadata function free of table and key configuration', () => {
      expect(Object.keys(environmentOf(template, 'metadata')).sort()).toEqual(['AUTH_SERVER_CONFIG', 'NODE_OPTIONS']);
    });
  });

  describe('table', () => {
    it('is on demand with point-in-time recovery, TTL, deletion protection and retention', () => {
      template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
          GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'gsi1' })],
        },
      });
    });

    it('uses an existing table instead of creating one', () => {
      const stack = new Stack(new App({ builtinCloudFormationValidation: false }));
      const table = dynamodb.Table.fromTableName(stack, 'Existing', 'registry');
      new IdJagAuthorizationServer(stack, 'Auth', { resources: RESOURCES, table });
      const existing = Template.fromStack(stack);
      existing.resourceCountIs('AWS::DynamoDB::Table', 0);
      expect(JSON.stringify(existing.toJSON())).toContain('"TABLE_NAME":"registry"');
    });
  });

  describe('signing key', () => {
    it('is an asymmetric P-256 signing key, retained, with an alias', () => {
      template.hasResource('AWS::KMS::Key', {
        DeletionPolicy: 'Retain',
        Properties: { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' },
      });
      template.hasResourceProperties('AWS::KMS::Alias', { AliasName: Match.stringLikeRegexp('^alias/id-jag/') });
    });

    // Who may sign, administer or grant: test/construct/least-privilege.test.ts.
  });

  describe('least privilege', () => {
    const policies = () =>
      Object.entries(template.findResources('AWS::IAM::Policy')).map(([, policy]) => ({
        roles: JSON.stringify(policy.Properties.Roles),
        statements: policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
      }));
    const actionsOf = (roleName: string) =>
      policies()
        .filter((policy) => policy.roles.includes(roleName))
        .flatMap((policy) => policy.statements.flatMap((statement) => [statement.Action].flat()))
        .sort();

    it('lets only the token function sign, and nothing use kms:*', () => {
      for (const { roles, statements } of policies()) {
        for (const action of statements.flatMap((statement) => [statement.Action].flat())) {
          expect(action).not.toBe('kms:*');
          if (action === 'kms:Sign') expect(roles).toContain('TokenRole');
        }
      }
    });

    it('grants the token function exactly its table, key and log actions', () => {
      // Which items each write may touch: test/construct/least-privilege.test.ts.
      expect(actionsOf('TokenRole')).toEqual([
        'dynamodb:BatchGetItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'kms:GetPublicKey',
        'kms:Sign',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ]);
    });

    it('grants the authorize function only its table actions and its logs: no KMS, no secrets without connections', () => {
      expect(actionsOf('AuthorizeRole')).toEqual([
        'dynamodb:BatchGetItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ]);
    });

    it('grants the JWKS function only kms:GetPublicKey and its logs', () => {
      expect(actionsOf('JwksRole')).toEqual(['kms:GetPublicKey', 'logs:CreateLogStream', 'logs:PutLogEvents']);
    });

    it('grants the metadata function only its logs, and attaches no managed policy anywhere', () => {
      expect(actionsOf('MetadataRole')).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      }
    });

    it('grantAdmin gives the registry actions the admin CLI needs, on the table and its index', () => {
      const { stack, server: admin } = stackWith();
      const operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
      admin.grantAdmin(operator);
      const policy = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).find((p) =>
        JSON.stringify(p.Properties.Roles).includes('Operator'),
      )!;
      const statement = policy.Properties.PolicyDocument.Statement[0];
      expect(statement.Action).toEqual(
        expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query']),
      );
      expect(JSON.stringify(statement.Resource)).toContain('/index/gsi1');
    });
  });

  describe('rotation and custom keys', () => {
    it('publishes previous and next keys and lets the JWKS function read them', () => {
      const stack = new Stack(new App({ builtinCloudFormationValidation: false }));
      const active = new kms.Key(stack, 'Active', {
        keySpec: kms.KeySpec.ECC_NIST_P256,
        keyUsage: kms.KeyUsage.SIGN_VERIFY,
      });
      const previous = kms.Key.fromKeyArn(stack, 'Old', 'arn:aws:kms:eu-west-1:123456789012:key/old');
      const next = kms.Key.fromKeyArn(stack, 'Next', 'arn:aws:kms:eu-west-1:123456789012:key/next');
      new IdJagAuthorizationServer(stack, 'Auth', {
        resources: RESOURCES,
        signingKey: active,
        previousSigningKeys: [previous],
        nextSigningKeys: [next],
      });
      const rotated = Template.fromStack(stack);
      rotated.resourceCountIs('AWS::KMS::Key', 1);
      const env = environmentOf(rotated, 'jwks');
      expect(env.PREVIOUS_SIGNING_KEY_IDS).toBe('arn:aws:kms:eu-west-1:123456789012:key/old');
      expect(env.NEXT_SIGNING_KEY_IDS).toBe('arn:aws:kms:eu-west-1:123456789012:key/next');
      expect(JSON.stringify(rotated.toJSON())).toContain(
        '"kms:GetPublicKey","Effect":"Allow","Resource":"arn:aws:kms:eu-west-1:123456789012:key/old"',
      );
    });

    it('passes the signing algorithm to the functions', () => {
      const { template: rsa } = synth({ signingAlgorithm: TokenSigningAlgorithm.PS256 });
      expect(environmentOf(rsa, 'token').SIGNING_ALGORITHM).toBe('PS256');
    });
  });

  describe('custom domain', () => {
    it('maps the domain, makes it the issuer and disables the execute-api endpoint', () => {
      const app = new App({ builtinCloudFormationValidation: false });
      const stack = new Stack(app, 'Domain', { env: { region: 'eu-west-1' } });
      const certificate = acm.Certificate.fromCertificateArn(
        stack,
        'Cert',
        'arn:aws:acm:eu-west-1:123456789012:certificate/x',
      );
      const domain = new IdJagAuthorizationServer(stack, 'Auth', {
        resources: RESOURCES,
        domainName: 'auth.example.com',
        certificate,
      });
      const withDomain = Template.fromStack(stack);
      expect(domain.issuer).toBe('https://auth.example.com');
      withDomain.hasResourceProperties('AWS::ApiGatewayV2::DomainName', { DomainName: 'auth.example.com' });
      withDomain.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 1);
      withDomain.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: true });
      expect(JSON.stringify(environmentOf(withDomain, 'token').AUTH_SERVER_CONFIG)).toContain(
        'https://auth.example.com',
      );
    });
  });

  describe('alarms and metrics', () => {
    it('creates alarms for token failures, dependency throttling, token errors, API 5xx, function throttles, sign-in failures and refresh token reuse', () => {
      template.resourceCountIs('AWS::CloudWatch::Alarm', 7);
      expect(server.alarms).toHaveLength(7);
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'TokenFailures',
        Namespace: 'IdJagAuthorizationServer',
        Dimensions: [
          { Name: 'Error', Value: 'temporarily_unavailable' },
          { Name: 'Server', Value: server.metricsServerName },
        ],
      });
    });

    it('offers metrics for issued tokens, rejections by error code and failures', () => {
      expect(server.metricTokensIssued().metricName).toBe('TokensIssued');
      expect(server.metricTokenRejections('invalid_grant').dimensions).toEqual({
        Server: server.metricsServerName,
        Error: 'invalid_grant',
      });
      expect(server.metricTokenFailures().metricName).toBe('TokenFailures');
    });
  });

  describe('interactive sign-in', () => {
    /** AUTH_SERVER_CONFIG as a function reads it, with a placeholder for the deploy-time issuer. */
    const configOf = (from: Template, description: string) => {
      const value = environmentOf(from, description).AUTH_SERVER_CONFIG as { 'Fn::Join': [string, unknown[]] };
      const parts = value['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'https://api.invalid'));
      return resolveServerConfig(JSON.parse(parts.join('')), { source: description });
    };
    /** The routes whose integration invokes the function with this logical id prefix. */
    const routesTo = (from: Template, functionPrefix: string) => {
      const integrations = Object.entries(from.findResources('AWS::ApiGatewayV2::Integration'))
        .filter(([, integration]) =>
          JSON.stringify(integration.Properties.IntegrationUri).includes(`"${functionPrefix}`),
        )
        .map(([id]) => id);
      return Object.values(from.findResources('AWS::ApiGatewayV2::Route'))
        .filter((route) => integrations.some((id) => JSON.stringify(route.Properties.Target).includes(`"${id}"`)))
        .map((route) => route.Properties.RouteKey)
        .sort();
    };
    const signInRoutes = ['GET /authorize', 'GET /callback', 'POST /authorize'];

    it('runs the authorize function from its own bundle with the configuration, the table, the cache and metrics', () => {
      expect(server.authorizeFunction).toBeDefined();
      expect(environmentOf(template, 'authorize')).toEqual({
        AUTH_SERVER_CONFIG: environmentOf(template, 'token').AUTH_SERVER_CONFIG,
        TABLE_NAME: { Ref: expect.stringMatching(/^AuthTable/) },
        REGISTRY_CACHE_SECONDS: '30',
        METRICS_NAMESPACE: 'IdJagAuthorizationServer',
        METRICS_SERVER_NAME: server.metricsServerName,
        NODE_OPTIONS: '--enable-source-maps',
      });
      const [authorize] = Object.values(
        template.findResources('AWS::Lambda::Function', {
          Properties: { Description: 'ID-JAG authorization server: authorize' },
        }),
      );
      expect(authorize!.Properties).toMatchObject({
        Timeout: 20,
        MemorySize: 512,
        Role: { 'Fn::GetAtt': [expect.stringMatching(/^AuthAuthorizeRole/), 'Arn'] },
      });
      const codes = Object.values(template.findResources('AWS::Lambda::Function')).map(
        (fn) => fn.Properties.Code.S3Key,
      );
      expect(new Set(codes).size).toBe(4);
    });

    it('gives every function the same interactive settings, so that the metadata advertises the flow', () => {
      for (const description of ['metadata', 'jwks', 'token', 'authorize']) {
        expect(configOf(template, description).interactive).toEqual({
          enabled: true,
          productName: 'MCP server',
          transactionTtlSeconds: 600,
          codeTtlSeconds: 60,
          refreshTokens: { idleSeconds: 14 * 86400, absoluteSeconds: 90 * 86400 },
        });
      }
    });

    it('puts productName and transactionLifetime into the configuration', () => {
      const { template: named } = synth({
        interactive: { productName: 'Acme Files', transactionLifetime: Duration.minutes(15) },
      });
      expect(configOf(named, 'authorize').interactive).toMatchObject({
        enabled: true,
        productName: 'Acme Files',
        transactionTtlSeconds: 900,
      });
      expect(configOf(named, 'metadata').interactive).toEqual(configOf(named, 'authorize').interactive);
    });

    it('routes GET and POST /authorize and GET /callback to the authorize function, and nothing else', () => {
      expect(routesTo(template, 'AuthAuthorizeFunction')).toEqual(signInRoutes);
    });

    it('routes ANY /revoke to the token function, with the token route and the stage throttling', () => {
      // The token function's handler sends the route key ANY /revoke to the revocation endpoint (RFC 7009).
      expect(routesTo(template, 'AuthTokenFunction')).toEqual(['ANY /revoke', 'ANY /token']);
      const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
      expect(stage!.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 });
      expect(Object.keys(stage!.Properties.RouteSettings)).not.toContain('ANY /revoke');
      const permissions = Object.values(
        template.findResources('AWS::Lambda::Permission', {
          Properties: { FunctionName: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AuthTokenFunction'), 'Arn'] } },
        }),
      );
      const paths = permissions.map(
        (permission) => JSON.stringify(permission.Properties.SourceArn).match(/\/\*\/\*([^"]*)"/)?.[1],
      );
      expect(paths.sort()).toEqual(['/revoke', '/token']);
    });

    it("puts the refresh token lifetimes into every function's configuration", () => {
      const { template: custom } = synth({
        interactive: {
          refreshTokenIdleLifetime: Duration.days(7),
          refreshTokenAbsoluteLifetime: Duration.days(30),
        },
      });
      for (const description of ['metadata', 'jwks', 'token', 'authorize']) {
        expect(configOf(custom, description).interactive.refreshTokens).toEqual({
          idleSeconds: 7 * 86400,
          absoluteSeconds: 30 * 86400,
        });
      }
    });

    it("puts the CIMD policy into every function's configuration: accepted by default, as the props say otherwise", () => {
      for (const description of ['metadata', 'token', 'authorize']) {
        expect(configOf(template, description).clientIdMetadataDocuments).toEqual({ enabled: true });
      }
      const { template: listedOnly } = synth({ clientIdMetadataDocuments: { hosts: ['claude.ai'] } });
      expect(configOf(listedOnly, 'token').clientIdMetadataDocuments).toEqual({ enabled: true, hosts: ['claude.ai'] });
      const { template: off } = synth({ clientIdMetadataDocuments: { enabled: false } });
      expect(configOf(off, 'authorize').clientIdMetadataDocuments).toEqual({ enabled: false });
    });

    it('refuses a CIMD host that is not a URL host, at synth', () => {
      expect(() => synth({ clientIdMetadataDocuments: { hosts: ['https://claude.ai/'] } })).toThrow(
        /clientIdMetadataDocuments\.hosts: 'https:\/\/claude\.ai\/' is not a host/,
      );
    });

    it('alarms on any refresh token reuse (a stolen token, or a client racing its own refresh), 1 in 5 minutes', () => {
      const alarms = template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { MetricName: 'RefreshTokenReuse' },
      });
      expect(Object.keys(alarms)).toEqual([expect.stringMatching(/^AuthRefreshTokenReuseAlarm/)]);
      expect(Object.values(alarms)[0]!.Properties).toEqual({
        MetricName: 'RefreshTokenReuse',
        Namespace: 'IdJagAuthorizationServer',
        Dimensions: [{ Name: 'Server', Value: server.metricsServerName }],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmDescription: expect.stringMatching(
          /stolen.*raced its own refresh.*docs\/admin-cli\.md#runbook-cutting-someone-off/,
        ),
      });
    });

    it('offers metrics for refresh token reuse and for revocations by outcome and error code', () => {
      expect(server.metricRefreshTokenReuse()).toMatchObject({
        metricName: 'RefreshTokenReuse',
        namespace: 'IdJagAuthorizationServer',
        dimensions: { Server: server.metricsServerName },
        statistic: 'Sum',
      });
      expect(server.metricGrantsRevoked().metricName).toBe('GrantsRevoked');
      expect(server.metricRevocationsIgnored().metricName).toBe('RevocationsIgnored');
      expect(server.metricRevocationRejections('invalid_client').dimensions).toEqual({
        Server: server.metricsServerName,
        Error: 'invalid_client',
      });
      expect(server.metricRevocationFailures().metricName).toBe('RevocationFailures');
    });

    it('lets API Gateway invoke the authorize function on each of its routes only', () => {
      const permissions = Object.values(
        template.findResources('AWS::Lambda::Permission', {
          Properties: { FunctionName: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AuthAuthorizeFunction'), 'Arn'] } },
        }),
      );
      const paths = permissions.map(
        (permission) => JSON.stringify(permission.Properties.SourceArn).match(/\/\*\/\*([^"]*)"/)?.[1],
      );
      expect(paths.sort()).toEqual(['/authorize', '/authorize', '/callback']);
      for (const permission of permissions) expect(permission.Properties.Principal).toBe('apigateway.amazonaws.com');
    });

    it('throttles each sign-in route below the stage, and deploys the stage after the routes it names', () => {
      const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
      expect(stage!.Properties.RouteSettings).toEqual(
        Object.fromEntries(signInRoutes.map((key) => [key, { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 }])),
      );
      // CloudFormation refuses route settings for a route that does not exist yet.
      const routeIds = Object.entries(template.findResources('AWS::ApiGatewayV2::Route'))
        .filter(([, route]) => signInRoutes.includes(route.Properties.RouteKey))
        .map(([id]) => id);
      expect(stage!.DependsOn).toEqual(expect.arrayContaining(routeIds));
    });

    it('honours the sign-in throttling props, and never defaults above a lower stage limit', () => {
      const settings = (props: Partial<IdJagAuthorizationServerProps>) =>
        Object.values(synth(props).template.findResources('AWS::ApiGatewayV2::Stage'))[0]!.Properties.RouteSettings[
          'GET /callback'
        ];
      expect(settings({ interactive: { throttlingRateLimit: 5, throttlingBurstLimit: 10 } })).toEqual({
        ThrottlingRateLimit: 5,
        ThrottlingBurstLimit: 10,
      });
      expect(settings({ throttlingRateLimit: 8, throttlingBurstLimit: 16 })).toEqual({
        ThrottlingRateLimit: 8,
        ThrottlingBurstLimit: 16,
      });
    });

    it('alarms on sign-in failures of the server (upstream IdPs, secrets, DynamoDB), 3 in 5 minutes', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'SignInFailures',
        Namespace: 'IdJagAuthorizationServer',
        Dimensions: [{ Name: 'Server', Value: server.metricsServerName }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 3,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    });

    it('offers metrics for codes issued, denials, rejections and failures by error code', () => {
      expect(server.metricSignInCodesIssued().metricName).toBe('SignInCodesIssued');
      expect(server.metricSignInDenials().metricName).toBe('SignInDenials');
      expect(server.metricSignInRejections('invalid_request').dimensions).toEqual({
        Server: server.metricsServerName,
        Error: 'invalid_request',
      });
      expect(server.metricSignInFailures('temporarily_unavailable')).toMatchObject({
        metricName: 'SignInFailures',
        namespace: 'IdJagAuthorizationServer',
        dimensions: { Server: server.metricsServerName, Error: 'temporarily_unavailable' },
      });
    });

    it('warns at synth that a connection secret under a customer managed key needs kms:Decrypt from its key policy', () => {
      const app = new App({ builtinCloudFormationValidation: false });
      const stack = new Stack(app, 'Stack', { env: { account: '123456789012', region: 'eu-west-1' } });
      const secret = secretsmanager.Secret.fromSecretAttributes(stack, 'Encrypted', {
        secretCompleteArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:globex-oidc-AbCdEf',
        encryptionKey: kms.Key.fromKeyArn(stack, 'SecretKey', 'arn:aws:kms:eu-west-1:123456789012:key/secrets'),
      });
      new IdJagAuthorizationServer(stack, 'Auth', {
        resources: RESOURCES,
        interactive: { connectionSecrets: [secret] },
      });
      Annotations.fromStack(stack).hasWarning('/Stack/Auth', Match.stringLikeRegexp('customer managed KMS key'));
      expect(JSON.stringify(Template.fromStack(stack).toJSON())).not.toContain('kms:Decrypt');
    });

    describe('when disabled', () => {
      const { server: off, template: jwtBearerOnly } = synth({ interactive: { enabled: false } });

      it('creates no authorize function, no sign-in routes and no route settings', () => {
        expect(off.authorizeFunction).toBeUndefined();
        jwtBearerOnly.resourceCountIs('AWS::Lambda::Function', 3);
        const routes = Object.values(jwtBearerOnly.findResources('AWS::ApiGatewayV2::Route')).map(
          (route) => route.Properties.RouteKey,
        );
        expect(routes.filter((key) => signInRoutes.includes(key))).toEqual([]);
        expect(routes).not.toContain('ANY /revoke');
        expect(routes).toHaveLength(4);
        const [stage] = Object.values(jwtBearerOnly.findResources('AWS::ApiGatewayV2::Stage'));
        expect(stage!.Properties.RouteSettings).toBeUndefined();
      });

      it('tells every function that the flow is off, so the metadata advertises jwt-bearer only', () => {
        for (const description of ['metadata', 'token']) {
          expect(configOf(jwtBearerOnly, description).interactive.enabled).toBe(false);
        }
      });

      it('gives the token function no code, grant or refresh token writes, and raises no sign-in or reuse alarm', () => {
        const text = JSON.stringify(jwtBearerOnly.toJSON());
        expect(text).not.toContain('CODE#');
        expect(text).not.toContain('GRANT#');
        expect(text).not.toContain('REFRESH#');
        expect(text).not.toContain('LOGIN#');
        expect(text).not.toContain('SignInFailures');
        expect(text).not.toContain('RefreshTokenReuse');
        expect(off.alarms).toHaveLength(5);
      });
    });
  });

  describe('validation', () => {
    it.each<[string, Partial<IdJagAuthorizationServerProps>, RegExp]>([
      ['a domain without certificate', { domainName: 'auth.example.com' }, /domainName and certificate go together/],
      ['a relative resource id', { resources: [{ id: '/mcp', scopes: [] }] }, /resources\.0\.id/],
      ['an unknown default resource', { defaultResource: 'https://other.example' }, /defaultResource/],
      [
        'a token lifetime above a day, naming the prop',
        { accessTokenLifetime: Duration.hours(48) },
        /^accessTokenLifetime must be at most 24 hours, got 2 days$/,
      ],
      [
        'a token lifetime under a minute',
        { accessTokenLifetime: Duration.seconds(10) },
        /^accessTokenLifetime must be at least 1 minute, got 10 seconds$/,
      ],
      [
        'a token lifetime in fractions of a second',
        { accessTokenLifetime: Duration.millis(90_500) },
        /^accessTokenLifetime must be whole seconds/,
      ],
      [
        'a clock skew over 5 minutes, naming the prop',
        { clockSkew: Duration.minutes(6) },
        /^clockSkew must be at most 5 minutes, got 6 minutes$/,
      ],
      [
        'no resources (the prop is required)',
        { resources: [] },
        /^resources must list at least one protected resource/,
      ],
      ['a malformed scope', { resources: [{ id: 'https://m.example', scopes: ['a b'] }] }, /scopes/],
      [
        'a sign-in that may last under a minute',
        { interactive: { transactionLifetime: Duration.seconds(30) } },
        /interactive\.transactionLifetime must be whole seconds from 1 to 60 minutes/,
      ],
      [
        'a sign-in that may last over an hour',
        { interactive: { transactionLifetime: Duration.minutes(61) } },
        /interactive\.transactionLifetime/,
      ],
      [
        'an empty product name',
        { interactive: { productName: '' } },
        /interactive\.productName must be 1 to 100 characters/,
      ],
      ['a product name over 100 characters', { interactive: { productName: 'x'.repeat(101) } }, /productName/],
      [
        'a negative sign-in throttle',
        { interactive: { throttlingRateLimit: -1 } },
        /interactive\.throttlingRateLimit must be a number of at least 0/,
      ],
      [
        'a refresh token idle lifetime under 5 minutes',
        { interactive: { refreshTokenIdleLifetime: Duration.minutes(4) } },
        /interactive\.refreshTokenIdleLifetime must be whole seconds from 5 minutes to 365 days, got 4 minutes/,
      ],
      [
        'a refresh token absolute lifetime over 365 days',
        { interactive: { refreshTokenAbsoluteLifetime: Duration.days(366) } },
        /interactive\.refreshTokenAbsoluteLifetime must be whole seconds from 5 minutes to 365 days, got 366 days/,
      ],
      [
        'a refresh token lifetime in fractions of a second',
        { interactive: { refreshTokenIdleLifetime: Duration.millis(600_500) } },
        /interactive\.refreshTokenIdleLifetime must be whole seconds/,
      ],
      [
        'an idle lifetime above the absolute one',
        {
          interactive: {
            refreshTokenIdleLifetime: Duration.days(30),
            refreshTokenAbsoluteLifetime: Duration.days(7),
          },
        },
        /interactive\.refreshTokenIdleLifetime \(30 days\) must not exceed interactive\.refreshTokenAbsoluteLifetime \(7 days\)/,
      ],
      [
        'an absolute lifetime below the default idle one',
        { interactive: { refreshTokenAbsoluteLifetime: Duration.days(7) } },
        /interactive\.refreshTokenIdleLifetime \(14 days by default\) must not exceed/,
      ],
    ])('rejects %s with a clear message', (_, props, message) => {
      expect(() => synth(props)).toThrow(message);
    });

    it('can destroy its resources when asked', () => {
      const { template: disposable } = synth({ removalPolicy: RemovalPolicy.DESTROY });
      disposable.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Delete',
        Properties: { DeletionProtectionEnabled: false },
      });
      disposable.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete' });
    });
  });

  describe('registry seeding', () => {
    const registry = {
      tenants: [{ id: 'acme', issuers: [{ issuer: 'https://acme.okta.com' }] }],
      clients: [
        { clientId: 'claude', authMethod: 'client_secret_basic', secretHash: `hs256$c2FsdA$${'A'.repeat(43)}` },
      ],
    };

    it('writes the declared registrations through a custom resource backed by the seed function', () => {
      const { template: seeded, server: seeder } = synth({ registry, pruneRegistry: true });
      seeded.hasResourceProperties('Custom::IdJagRegistry', {
        Registry: JSON.stringify(registry),
        Prune: 'true',
        ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AuthSeedFunction'), 'Arn'] },
      });
      expect(seeder.seedFunction).toBeDefined();
      expect(environmentOf(seeded, 'seed')).toMatchObject({ TABLE_NAME: { Ref: expect.stringMatching(/^AuthTable/) } });
    });

    it('runs the seed on create and when the registry or pruneRegistry changes, never on other deployments', () => {
      // CloudFormation calls a custom resource's function on Create, on Delete, and on Update only when its
      // properties change: these properties must depend on the registry and pruning alone.
      const properties = (props: Partial<IdJagAuthorizationServerProps>) =>
        Object.values(synth(props).template.findResources('Custom::IdJagRegistry'))[0]!.Properties;
      const base = properties({ registry });
      expect(Object.keys(base).sort()).toEqual(['Prune', 'Registry', 'ServiceToken']);
      expect(
        properties({
          registry,
          pruneRegistry: false,
          resources: [...RESOURCES, { id: 'https://other.example.com/mcp', scopes: ['tools'] }],
          accessTokenLifetime: Duration.minutes(10),
          clockSkew: Duration.seconds(30),
          registryCacheTtl: Duration.seconds(5),
          throttlingRateLimit: 10,
          throttlingBurstLimit: 20,
          tokenErrorAlarmThreshold: 5,
          interactive: { productName: 'Other', transactionLifetime: Duration.minutes(5) },
        }),
      ).toEqual(base);
      expect(properties({ registry, pruneRegistry: true })).not.toEqual(base);
      expect(properties({ registry: { ...registry, clients: [] } })).not.toEqual(base);
    });

    it('accepts an empty registry, which hands the registrations over to the admin CLI', () => {
      synth({ registry: {} }).template.hasResourceProperties('Custom::IdJagRegistry', {
        Registry: JSON.stringify({ tenants: [], clients: [] }),
      });
    });

    it('creates no seeding without a registry', () => {
      template.resourceCountIs('Custom::IdJagRegistry', 0);
      expect(server.seedFunction).toBeUndefined();
    });

    describe('connections and interactive clients', () => {
      const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-oidc-AbCdEf';
      const interactive = {
        tenants: [
          {
            id: 'acme',
            connection: {
              issuer: 'https://acme.okta.com',
              clientId: '0oa1b2c3',
              clientSecret: { secretsManager: SECRET_ARN },
              domains: ['acme.com'],
            },
          },
          {
            id: 'globex',
            issuers: [{ issuer: 'https://login.globex.example' }],
            connection: {
              issuer: 'https://login.globex.example',
              clientId: 'mcp',
              authMethod: 'client_secret_post',
              clientSecret: { secretsManager: 'globex/oidc' },
              default: true,
            },
          },
          {
            id: 'initech',
            connection: {
              issuer: 'https://initech.example',
              clientId: 'mcp',
              clientSecret: { secretsManager: SECRET_ARN },
            },
          },
          { id: 'public', connection: { issuer: 'https://public.example', clientId: 'mcp', authMethod: 'none' } },
        ],
        clients: [
          {
            clientId: 'inspector',
            authMethod: 'none',
            grantTypes: ['authorization_code', 'refresh_token'],
            redirectUris: ['http://127.0.0.1/callback'],
            firstParty: true,
            refreshTokens: { idleSeconds: 86_400 },
          },
        ],
      };

      it('seeds connections and interactive clients in the same JSON shape as the configuration file', () => {
        synth({ registry: interactive }).template.hasResourceProperties('Custom::IdJagRegistry', {
          Registry: JSON.stringify(interactive),
        });
      });

      it('lists the Secrets Manager secrets its connections reference, each once, for the grant to come', () => {
        expect(synth({ registry: interactive }).server.secretReferences()).toEqual([SECRET_ARN, 'globex/oidc']);
        expect(server.secretReferences()).toEqual([]);
        expect(synth({ registry: registry }).server.secretReferences()).toEqual([]);
      });

      it('puts references in the template, never a secret value', () => {
        const template = JSON.stringify(synth({ registry: interactive }).template.toJSON());
        expect(template).toContain(SECRET_ARN);
        expect(template).not.toContain('SecretString');
      });

      it.each<[string, (seed: typeof interactive) => void, RegExp]>([
        [
          'a plain secret',
          (seed) => ((seed.tenants[0]!.connection as Record<string, unknown>).clientSecret = 'plain-value'),
          /tenants\.0\.connection\.clientSecret: plain secrets are not accepted/,
        ],
        [
          "a secret in a file (the local server's)",
          (seed) => ((seed.tenants[0]!.connection as Record<string, unknown>).clientSecret = { file: 'acme' }),
          /secrets in files are for the local server only/,
        ],
        [
          'a secret method without a secret',
          (seed) => delete (seed.tenants[1]!.connection as Record<string, unknown>).clientSecret,
          /tenants\.1\.connection\.clientSecret: client_secret_post needs clientSecret/,
        ],
        [
          "a client's refresh token lifetime over a year",
          (seed) => ((seed.clients[0] as Record<string, unknown>).refreshTokens = { absoluteSeconds: 400 * 86_400 }),
          /clients\.0\.refreshTokens\.absoluteSeconds/,
        ],
        [
          'two default connections',
          (seed) => ((seed.tenants[0]!.connection as Record<string, unknown>).default = true),
          /only one connection may be the default/,
        ],
        [
          'a domain claimed twice',
          (seed) => ((seed.tenants[2]!.connection as Record<string, unknown>).domains = ['acme.com']),
          /domain acme\.com is already claimed by the connection of tenant acme/,
        ],
        [
          'a bad domain',
          (seed) => ((seed.tenants[0]!.connection as Record<string, unknown>).domains = ['alice@acme.com']),
          /tenants\.0\.connection\.domains\.0: must be a domain name/,
        ],
        [
          'an http redirect URI outside loopback',
          (seed) => (seed.clients[0]!.redirectUris = ['http://app.example.com/cb']),
          /clients\.0\.redirectUris\.0: http is accepted only for loopback hosts/,
        ],
        [
          'the authorization_code grant without redirect URIs',
          (seed) => delete (seed.clients[0] as Record<string, unknown>).redirectUris,
          /clients\.0\.redirectUris: the authorization_code grant needs at least one redirect URI/,
        ],
      ])('rejects %s at synth with the schema message', (_, change, message) => {
        const seed = structuredClone(interactive);
        change(seed);
        expect(() => synth({ registry: seed as IdJagAuthorizationServerProps['registry'] })).toThrow(message);
      });
    });

    it.each<[string, object, RegExp]>([
      [
        'a secret client without secretHash',
        { clients: [{ clientId: 'c', authMethod: 'client_secret_basic' }] },
        /secretHash/,
      ],
      ['an http issuer', { tenants: [{ id: 'a', issuers: [{ issuer: 'http://idp.example' }] }] }, /https/],
      [
        'a symmetric algorithm',
        { tenants: [{ id: 'a', issuers: [{ issuer: 'https://i.example', algorithms: ['HS256'] }] }] },
        /algorithms/,
      ],
      [
        'a client scope no resource has',
        { clients: [{ clientId: 'c', authMethod: 'none', scopes: ['admin'] }] },
        /scope/,
      ],
    ])('rejects %s at synth with the schema message', (_, seed, message) => {
      expect(() => synth({ registry: seed as IdJagAuthorizationServerProps['registry'] })).toThrow(message);
    });
  });

  it('synthesizes a template that passes the built-in CloudFormation validation', () => {
    const { app } = stackWith({}, true);
    expect(() => app.synth()).not.toThrow();
  });

  it('passes cdk-nag AwsSolutionsChecks with only reasoned acknowledgements', () => {
    const app = new App({ builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'Nag', { env: { account: '123456789012', region: 'eu-west-1' } });
    new IdJagAuthorizationServer(stack, 'Auth', {
      resources: RESOURCES,
      registry: {
        tenants: [
          {
            id: 'acme',
            issuers: [{ issuer: 'https://acme.okta.com' }],
            connection: {
              issuer: 'https://acme.okta.com',
              clientId: 'mcp',
              clientSecret: { secretsManager: 'acme/oidc' },
            },
          },
        ],
      },
      interactive: {
        connectionSecrets: [secretsmanager.Secret.fromSecretNameV2(stack, 'CliSecret', 'globex/oidc')],
      },
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});

describe('dynamic client registration', () => {
  const configOf = (from: Template, description: string) => {
    const value = environmentOf(from, description).AUTH_SERVER_CONFIG as { 'Fn::Join': [string, unknown[]] };
    const parts = value['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'https://api.invalid'));
    return resolveServerConfig(JSON.parse(parts.join('')), { source: description });
  };
  const routeKeys = (from: Template) =>
    Object.values(from.findResources('AWS::ApiGatewayV2::Route')).map((route) => route.Properties.RouteKey);
  const stageOf = (from: Template) => Object.values(from.findResources('AWS::ApiGatewayV2::Stage'))[0]!;

  it('is off by default: no function, no route, and every function told so', () => {
    const { server, template } = synth();
    expect(server.registerFunction).toBeUndefined();
    expect(routeKeys(template)).not.toContain('ANY /register');
    expect(configOf(template, 'token').dynamicClientRegistration.enabled).toBe(false);
    expect(configOf(template, 'metadata').dynamicClientRegistration.enabled).toBe(false);
  });

  describe('when enabled', () => {
    const { server, template } = synth({ dynamicClientRegistration: { enabled: true } });

    it('routes ANY /register to a register function of its own, with the configuration and the table', () => {
      expect(server.registerFunction).toBeDefined();
      expect(routeKeys(template)).toContain('ANY /register');
      expect(environmentOf(template, 'register')).toEqual({
        AUTH_SERVER_CONFIG: environmentOf(template, 'token').AUTH_SERVER_CONFIG,
        TABLE_NAME: { Ref: expect.stringMatching(/^AuthTable/) },
        METRICS_NAMESPACE: 'IdJagAuthorizationServer',
        METRICS_SERVER_NAME: server.metricsServerName,
        NODE_OPTIONS: '--enable-source-maps',
      });
      template.resourceCountIs('AWS::Lambda::Function', 5);
    });

    it('alarms as soon as the cap refuses a client (registration closed to everyone), and offers its metrics', () => {
      const alarms = template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { MetricName: 'RegistrationsRefusedAtCap' },
      });
      expect(Object.keys(alarms)).toEqual([expect.stringMatching(/^AuthRegistrationClosedAlarm/)]);
      expect(Object.values(alarms)[0]!.Properties).toMatchObject({
        Namespace: 'IdJagAuthorizationServer',
        Dimensions: [{ Name: 'Server', Value: server.metricsServerName }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmDescription: expect.stringMatching(/maxClients/),
      });
      expect(server.metricClientsRegistered().metricName).toBe('ClientsRegistered');
      expect(server.metricRegistrationFailures().metricName).toBe('RegistrationFailures');
      expect(server.metricRegistrationRejections('invalid_redirect_uri').dimensions).toEqual({
        Server: server.metricsServerName,
        Error: 'invalid_redirect_uri',
      });
      const { template: off } = synth();
      expect(
        Object.keys(
          off.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'RegistrationsRefusedAtCap' } }),
        ),
      ).toEqual([]);
    });

    it('tells every function the defaults: a cap of 1000, 30 days', () => {
      for (const description of ['metadata', 'token', 'authorize', 'register']) {
        expect(configOf(template, description).dynamicClientRegistration).toEqual({
          enabled: true,
          maxClients: 1000,
          unusedLifetimeSeconds: 30 * 86400,
        });
      }
    });

    it('throttles /register on its own route, far below the stage, beside the sign-in routes', () => {
      const settings = stageOf(template).Properties.RouteSettings;
      expect(settings['ANY /register']).toEqual({ ThrottlingRateLimit: 1, ThrottlingBurstLimit: 5 });
      expect(settings['GET /callback']).toEqual({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 });
      const [routeId] = Object.entries(template.findResources('AWS::ApiGatewayV2::Route')).find(
        ([, route]) => route.Properties.RouteKey === 'ANY /register',
      )!;
      expect(stageOf(template).DependsOn).toContain(routeId);
    });

    it('honours its props', () => {
      const { template: custom } = synth({
        dynamicClientRegistration: {
          enabled: true,
          maxClients: 50,
          unusedLifetime: Duration.days(7),
          throttlingRateLimit: 2,
          throttlingBurstLimit: 3,
        },
      });
      expect(configOf(custom, 'register').dynamicClientRegistration).toEqual({
        enabled: true,
        maxClients: 50,
        unusedLifetimeSeconds: 7 * 86400,
      });
      expect(stageOf(custom).Properties.RouteSettings['ANY /register']).toEqual({
        ThrottlingRateLimit: 2,
        ThrottlingBurstLimit: 3,
      });
    });
  });

  it.each<[string, Partial<IdJagAuthorizationServerProps>, RegExp]>([
    [
      'without the interactive flow',
      { interactive: { enabled: false }, dynamicClientRegistration: { enabled: true } },
      /dynamicClientRegistration needs the interactive flow/,
    ],
    ['a cap of 0', { dynamicClientRegistration: { maxClients: 0 } }, /maxClients must be a whole number/],
    ['a fractional cap', { dynamicClientRegistration: { maxClients: 1.5 } }, /maxClients must be a whole number/],
    [
      'a lifetime under an hour',
      { dynamicClientRegistration: { unusedLifetime: Duration.minutes(5) } },
      /unusedLifetime must be at least 1 hour/,
    ],
    [
      'a negative throttle',
      { dynamicClientRegistration: { throttlingRateLimit: -1 } },
      /throttlingRateLimit must be a number of at least 0/,
    ],
  ])('refuses %s', (_name, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  it('passes cdk-nag with registration on', () => {
    const app = new App({ builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'Nagged', { env: { account: '123456789012', region: 'eu-west-1' } });
    new IdJagAuthorizationServer(stack, 'Auth', {
      resources: RESOURCES,
      dynamicClientRegistration: { enabled: true },
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});
