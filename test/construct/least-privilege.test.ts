import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { DynamoClientRegistrations } from '../../lambda/adapters/dynamodb/client-registrations';
import { DynamoGrantStore } from '../../lambda/adapters/dynamodb/grant-store';
import {
  clientKey,
  codeKey,
  connectionKey,
  dynamicClientKey,
  grantByClientKey,
  grantKey,
  issuerPartition,
  loginKey,
  refreshTokenKey,
  replayKey,
  tenantKey,
} from '../../lambda/adapters/dynamodb/items';
import { DynamoRegistry } from '../../lambda/adapters/dynamodb/registry';
import { DynamoReplayStore } from '../../lambda/adapters/dynamodb/replay-store';
import { IdJagAuthorizationServer, type IdJagAuthorizationServerProps } from '../../lib';

/**
 * Every IAM action of KMS: the API operations of @aws-sdk/client-kms, with ReEncrypt authorized as ReEncryptFrom and
 * ReEncryptTo (Service Authorization Reference, "Actions defined by AWS Key Management Service"). Wildcards in a
 * policy are expanded against this list, so that `kms:Create*` counts as the kms:CreateGrant it allows.
 */
const KMS_ACTIONS = [
  'CancelKeyDeletion',
  'ConnectCustomKeyStore',
  'CreateAlias',
  'CreateCustomKeyStore',
  'CreateGrant',
  'CreateKey',
  'Decapsulate',
  'Decrypt',
  'DeleteAlias',
  'DeleteCustomKeyStore',
  'DeleteImportedKeyMaterial',
  'DeriveSharedSecret',
  'DescribeCustomKeyStores',
  'DescribeKey',
  'DisableKey',
  'DisableKeyRotation',
  'DisconnectCustomKeyStore',
  'EnableKey',
  'EnableKeyRotation',
  'Encapsulate',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateMac',
  'GenerateRandom',
  'GetKeyLastUsage',
  'GetKeyPolicy',
  'GetKeyRotationStatus',
  'GetParametersForImport',
  'GetPublicKey',
  'ImportKeyMaterial',
  'ListAliases',
  'ListGrants',
  'ListKeyPolicies',
  'ListKeyRotations',
  'ListKeys',
  'ListResourceTags',
  'ListRetirableGrants',
  'PutKeyPolicy',
  'ReEncryptFrom',
  'ReEncryptTo',
  'ReplicateKey',
  'RetireGrant',
  'RevokeGrant',
  'RotateKeyOnDemand',
  'ScheduleKeyDeletion',
  'Sign',
  'TagResource',
  'UntagResource',
  'UpdateAlias',
  'UpdateCustomKeyStore',
  'UpdateKeyDescription',
  'UpdatePrimaryRegion',
  'Verify',
  'VerifyMac',
].map((name) => `kms:${name}`);

/** Operations that use key material, and those that would hand the key to another policy: nobody's by default. */
const CRYPTOGRAPHIC_OR_ESCAPING = [
  'kms:Sign',
  'kms:Verify',
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyPair',
  'kms:GenerateDataKeyPairWithoutPlaintext',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:GenerateMac',
  'kms:VerifyMac',
  'kms:DeriveSharedSecret',
  'kms:Encapsulate',
  'kms:Decapsulate',
  'kms:CreateGrant',
  'kms:ReplicateKey',
  'kms:UpdatePrimaryRegion',
  'kms:ImportKeyMaterial',
];

/**
 * What CloudFormation calls on the key and its alias (the AWS::KMS::Key read, update and delete handlers and the
 * AWS::KMS::Alias handlers), and what an operator needs to inspect the key, revoke a grant, and undo a deletion.
 */
const ADMINISTRATION = [
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

/** Every DynamoDB action that changes an item. */
const DYNAMODB_WRITES = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
];

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** IAM's wildcard match: `*` any run of characters, `?` one character, case-insensitive. */
function like(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(value);
}

/** The concrete actions a statement's Action patterns match, out of `universe`. */
function actionsOf(statement: Statement, universe: readonly string[]): string[] {
  expect(statement.NotAction).toBeUndefined();
  const patterns = [statement.Action ?? []].flat();
  return universe.filter((action) => patterns.some((pattern) => like(pattern, action)));
}

const TOKEN_ROLE_ARN = { 'Fn::GetAtt': [expect.stringMatching(/^AuthTokenRole/), 'Arn'] };
const EVERYONE = { AWS: '*' };

/** A stack with the construct; `props` may build resources (keys) in that stack first. */
function synth(props: (stack: Stack) => Partial<IdJagAuthorizationServerProps> = () => ({})) {
  const app = new App({ builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'Stack', { env: { account: '123456789012', region: 'eu-west-1' } });
  new IdJagAuthorizationServer(stack, 'Auth', {
    resources: [{ id: 'https://mcp.example.com/mcp', scopes: ['files:read'] }],
    ...props(stack),
  });
  return { template: Template.fromStack(stack) };
}

function keyPolicyOf(template: Template): Statement[] {
  const keys = Object.values(template.findResources('AWS::KMS::Key'));
  expect(keys).toHaveLength(1);
  return keys[0]!.Properties.KeyPolicy.Statement;
}

/** The statements of the IAM policies attached to the role whose logical id starts with `rolePrefix`. */
function roleStatements(template: Template, rolePrefix: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${rolePrefix}`))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

describe('the signing key policy', () => {
  const { template } = synth();
  const statements = keyPolicyOf(template);
  const allows = statements.filter((statement) => statement.Effect === 'Allow');
  const denies = statements.filter((statement) => statement.Effect === 'Deny');

  it('allows kms:Sign to the token function role alone, and nothing else to it', () => {
    const signers = allows.filter((statement) => actionsOf(statement, KMS_ACTIONS).includes('kms:Sign'));
    expect(signers).toHaveLength(1);
    expect(signers[0]!.Principal).toEqual({ AWS: TOKEN_ROLE_ARN });
    expect(actionsOf(signers[0]!, KMS_ACTIONS)).toEqual(['kms:Sign']);
    expect(signers[0]!.Condition).toBeUndefined();
  });

  it('allows no principal to create a grant, so no one can grant themselves Sign', () => {
    for (const statement of allows) {
      expect(actionsOf(statement, KMS_ACTIONS)).not.toContain('kms:CreateGrant');
    }
  });

  it('uses only the Principal element: no NotPrincipal that would turn an allow into "everyone but"', () => {
    for (const statement of statements) expect(statement.NotPrincipal).toBeUndefined();
  });

  it('denies kms:Sign to every principal but the token function role, which no grant can override', () => {
    const denySign = denies.filter((statement) => actionsOf(statement, KMS_ACTIONS).includes('kms:Sign'));
    expect(denySign).toHaveLength(1);
    expect(denySign[0]).toMatchObject({
      Principal: EVERYONE,
      Resource: '*',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': TOKEN_ROLE_ARN } },
    });
    expect(Object.keys(denySign[0]!.Condition!)).toEqual(['ArnNotEquals']);
  });

  it('denies kms:CreateGrant to everyone, unconditionally', () => {
    const denyGrants = denies.filter((statement) => actionsOf(statement, KMS_ACTIONS).includes('kms:CreateGrant'));
    expect(denyGrants).toHaveLength(1);
    expect(denyGrants[0]).toMatchObject({ Principal: EVERYONE, Resource: '*' });
    expect(denyGrants[0]!.Condition).toBeUndefined();
  });

  it('denies nothing that administration or a CloudFormation update needs', () => {
    for (const statement of denies) {
      for (const action of ADMINISTRATION) expect(actionsOf(statement, KMS_ACTIONS)).not.toContain(action);
    }
  });

  it('lets the account administer and delete the key through IAM, by explicit actions, none cryptographic', () => {
    const account = allows.filter((statement) => JSON.stringify(statement.Principal).includes(':root'));
    expect(account).toHaveLength(1);
    const actions = [account[0]!.Action].flat();
    for (const action of actions) expect(action).not.toMatch(/[*?]/);
    expect(actions.sort()).toEqual([...ADMINISTRATION].sort());
    for (const action of CRYPTOGRAPHIC_OR_ESCAPING) expect(actions).not.toContain(action);
  });

  it('lets the token role sign and read the public key, and the JWKS function read it', () => {
    const signing = roleStatements(template, 'AuthTokenRole').filter((statement) =>
      [statement.Action].flat().some((action) => action?.startsWith('kms:')),
    );
    expect(signing).toEqual([
      {
        Effect: 'Allow',
        Action: ['kms:Sign', 'kms:GetPublicKey'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^AuthSigningKey/), 'Arn'] },
      },
    ]);
    const jwks = roleStatements(template, 'AuthJwksRole').filter(
      (statement) => statement.Action === 'kms:GetPublicKey',
    );
    expect(jwks).toEqual([
      {
        Effect: 'Allow',
        Action: 'kms:GetPublicKey',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^AuthSigningKey/), 'Arn'] },
      },
    ]);
  });

  it('lets the JWKS function read previous and next keys, and the token role sign only with the active one', () => {
    const previous = 'arn:aws:kms:eu-west-1:123456789012:key/previous';
    const next = 'arn:aws:kms:eu-west-1:123456789012:key/next';
    const { template: rotated } = synth((stack) => ({
      previousSigningKeys: [kms.Key.fromKeyArn(stack, 'Previous', previous)],
      nextSigningKeys: [kms.Key.fromKeyArn(stack, 'Next', next)],
    }));
    const jwksResources = roleStatements(rotated, 'AuthJwksRole')
      .filter((statement) => statement.Action === 'kms:GetPublicKey')
      .map((statement) => statement.Resource);
    expect(jwksResources).toEqual(
      expect.arrayContaining([previous, next, { 'Fn::GetAtt': [expect.stringMatching(/^AuthSigningKey/), 'Arn'] }]),
    );
    const tokenKms = roleStatements(rotated, 'AuthTokenRole').filter((statement) =>
      JSON.stringify(statement.Action).includes('kms:'),
    );
    expect(JSON.stringify(tokenKms)).not.toContain(previous);
    expect(JSON.stringify(tokenKms)).not.toContain(next);
  });

  it('leaves the policy of a key the user supplies as it is: the construct cannot own it', () => {
    const { template: supplied } = synth((stack) => ({
      signingKey: new kms.Key(stack, 'Own', { keySpec: kms.KeySpec.ECC_NIST_P256, keyUsage: kms.KeyUsage.SIGN_VERIFY }),
    }));
    const policy = JSON.stringify(keyPolicyOf(supplied));
    expect(policy).not.toContain('TokenRole');
    expect(policy).not.toContain('"Deny"');
  });
});

describe("the token function's table access", () => {
  const { template } = synth();
  const table = { 'Fn::GetAtt': [expect.stringMatching(/^AuthTable/), 'Arn'] };
  const dynamo = roleStatements(template, 'AuthTokenRole').filter((statement) =>
    JSON.stringify(statement.Action).includes('dynamodb:'),
  );

  it('writes single-use records (put, delete), codes (update), grants and refresh tokens (put, update), nothing else', () => {
    const writes = dynamo.filter((statement) => actionsOf(statement, DYNAMODB_WRITES).length > 0);
    expect(writes).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
        Resource: table,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['REPLAY#*'] } },
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:UpdateItem',
        Resource: table,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CODE#*', 'GRANT#*', 'REFRESH#*'] } },
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:PutItem',
        Resource: table,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['GRANT#*', 'REFRESH#*'] } },
      },
    ]);
  });

  it('has no write action without a leading-key condition, and none of the others at all', () => {
    for (const statement of dynamo) {
      const writes = actionsOf(statement, DYNAMODB_WRITES);
      if (writes.length === 0) continue;
      expect(Object.keys(statement.Condition ?? {})).toEqual(['ForAllValues:StringLike']);
      expect(Object.keys(statement.Condition!['ForAllValues:StringLike']!)).toEqual(['dynamodb:LeadingKeys']);
      for (const action of writes)
        expect(['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']).toContain(action);
    }
  });

  it('matches the keys of single-use records, codes, grants and refresh tokens, and no registration or login key', () => {
    const own = [
      replayKey('assertion:https://idp.example', 'jti-1'),
      codeKey('c0de-hash'),
      grantKey('grant-1'),
      grantByClientKey('grant-1'),
      refreshTokenKey('refresh-hash'),
    ];
    const others = [
      tenantKey('acme'),
      clientKey('claude'),
      connectionKey('acme'),
      { pk: issuerPartition('https://idp.example') },
      loginKey('login-1'),
    ];
    const patterns = ['REPLAY#*', 'CODE#*', 'GRANT#*', 'REFRESH#*'];
    for (const key of own) expect(patterns.some((pattern) => like(pattern, key.pk))).toBe(true);
    for (const key of others) expect(patterns.some((pattern) => like(pattern, key.pk))).toBe(false);
  });

  it('reads (GetItem, BatchGetItem, Query) the table itself, not its index, without conditions', () => {
    const reads = dynamo.filter((statement) => actionsOf(statement, DYNAMODB_WRITES).length === 0);
    expect(reads).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
        Resource: table,
      },
    ]);
  });
});

/**
 * What one DynamoDB call asks IAM for: the action, the table or its index, the partition keys it touches and, for a
 * write, the top-level attributes it names (`dynamodb:Attributes`: the key, and what its expressions name).
 */
interface TableRequest {
  readonly action: string;
  readonly on: 'table' | 'index';
  readonly leadingKeys: readonly string[];
  readonly attributes?: readonly string[];
}

/** Words of update and condition expressions that are not attribute names. */
const EXPRESSION_WORDS = new Set(
  ['SET', 'REMOVE', 'ADD', 'DELETE', 'AND', 'OR', 'NOT', 'BETWEEN', 'IN'].concat(
    ['attribute_exists', 'attribute_not_exists', 'attribute_type', 'if_not_exists', 'list_append', 'size'],
    ['begins_with', 'contains'],
  ),
);

/** The attribute names an expression uses: `#name` placeholders resolved, plain names as they are. */
function expressionAttributes(expression: string | undefined, names: Record<string, string> = {}): string[] {
  return [...(expression ?? '').matchAll(/[#:]?[A-Za-z_][A-Za-z0-9_]*/g)]
    .map(([token]) => token)
    .filter((token) => !token.startsWith(':') && !EXPRESSION_WORDS.has(token))
    .map((token) => (token.startsWith('#') ? (names[token] ?? token) : token));
}

/**
 * A DynamoDB client that answers every call with an empty result and records what IAM would be asked. The real
 * adapters run against it, so that the requests checked below are exactly those the functions make.
 */
function recordingClient(): { client: DynamoDBClient; requests: TableRequest[] } {
  const requests: TableRequest[] = [];
  type Input = {
    Key?: { pk?: { S?: string } };
    Item?: { pk?: { S?: string } };
    UpdateExpression?: string;
    ConditionExpression?: string;
    ExpressionAttributeNames?: Record<string, string>;
    IndexName?: string;
    ExpressionAttributeValues?: { ':pk'?: { S?: string } };
    RequestItems?: Record<string, { Keys: { pk?: { S?: string } }[] }>;
  };
  const send = async (command: { input: Input; constructor: { name: string } }) => {
    const name = command.constructor.name.replace(/Command$/, '');
    const { input } = command;
    const keys =
      name === 'BatchGetItem'
        ? Object.values(input.RequestItems ?? {}).flatMap((request) => request.Keys.map((key) => key.pk?.S ?? ''))
        : name === 'Query'
          ? [input.ExpressionAttributeValues?.[':pk']?.S ?? '']
          : [(input.Key ?? input.Item)?.pk?.S ?? ''];
    const written = input.Item ?? (name === 'UpdateItem' || name === 'DeleteItem' ? input.Key : undefined);
    const attributes = written && [
      ...new Set([
        ...Object.keys(written),
        ...expressionAttributes(input.UpdateExpression, input.ExpressionAttributeNames),
        ...expressionAttributes(input.ConditionExpression, input.ExpressionAttributeNames),
      ]),
    ];
    requests.push({
      action: `dynamodb:${name}`,
      on: input.IndexName ? 'index' : 'table',
      leadingKeys: keys,
      ...(attributes ? { attributes } : {}),
    });
    return { Attributes: {}, Items: [], Responses: {} };
  };
  return { client: { send } as unknown as DynamoDBClient, requests };
}

/**
 * Whether an identity policy's Allow statements allow a request: an action pattern matches, the resource is the
 * table (or its index), and the conditions this construct uses hold: `ForAllValues:StringLike` on
 * `dynamodb:LeadingKeys` for every key, and `ForAllValues:StringEquals` on `dynamodb:Attributes` for every attribute
 * named. (ForAllValues over an empty set holds too: every request here has keys, and every write names attributes.)
 */
function allows(statements: Statement[], request: TableRequest, resources: { table: unknown; index: unknown }) {
  expect(request.leadingKeys.length).toBeGreaterThan(0);
  return statements.some((statement) => {
    if (statement.Effect !== 'Allow' || actionsOf(statement, [request.action]).length === 0) return false;
    const wanted = JSON.stringify(resources[request.on]);
    if (![statement.Resource].flat().some((resource) => JSON.stringify(resource) === wanted)) return false;
    if (statement.Condition === undefined) return true;
    const { 'ForAllValues:StringLike': like_, 'ForAllValues:StringEquals': equals, ...others } = statement.Condition;
    expect(Object.keys(others)).toEqual([]);
    const patterns = [like_!['dynamodb:LeadingKeys']].flat() as string[];
    if (!request.leadingKeys.every((key) => patterns.some((pattern) => like(pattern, key)))) return false;
    if (equals === undefined) return true;
    expect(Object.keys(equals)).toEqual(['dynamodb:Attributes']);
    expect(request.attributes?.length).toBeGreaterThan(0);
    const allowed = [equals['dynamodb:Attributes']].flat() as string[];
    return request.attributes!.every((attribute) => allowed.includes(attribute));
  });
}

const NOW = 1_800_000_000;
const TRANSACTION = {
  id: 'login-1',
  browserBinding: 'binding',
  clientId: 'inspector',
  redirectUri: 'http://127.0.0.1/callback',
  codeChallenge: 'challenge',
  resource: 'https://mcp.example.com/mcp',
  scopes: ['files:read'],
  consented: false,
  createdAt: NOW,
  expiresAt: NOW + 600,
};
const CODE = {
  codeHash: 'c0de-hash',
  grantId: 'grant-1',
  clientId: 'inspector',
  redirectUri: 'http://127.0.0.1/callback',
  codeChallenge: 'challenge',
  resource: 'https://mcp.example.com/mcp',
  scopes: ['files:read'],
  tenantId: 'acme',
  idpIssuer: 'https://acme.okta.com',
  idpSubject: 'alice',
  issuedAt: NOW,
  expiresAt: NOW + 60,
};

const GRANT = {
  grantId: 'grant-1',
  clientId: 'inspector',
  tenantId: 'acme',
  idpIssuer: 'https://acme.okta.com',
  idpSubject: 'alice',
  subject: 'subject-of-alice',
  resource: 'https://mcp.example.com/mcp',
  scopes: ['files:read'],
  createdAt: NOW,
  expiresAt: NOW + 3600,
};
const REFRESH_TOKEN = {
  tokenHash: 'refresh-hash',
  grantId: 'grant-1',
  clientId: 'inspector',
  issuedAt: NOW,
  usableUntil: NOW + 600,
  keepUntil: NOW + 3600,
};

/** Every table call the authorize function's adapters make: the registry's reads and the login's records. */
async function authorizeCalls(): Promise<TableRequest[]> {
  const { client, requests } = recordingClient();
  const registry = new DynamoRegistry({ client, tableName: 'table', cacheMaxAgeMs: 0 });
  const grants = new DynamoGrantStore({ client, tableName: 'table' });
  await registry.getClient('inspector');
  await registry.getTenant('acme');
  await registry.connections();
  await grants.createTransaction(TRANSACTION);
  await grants.getTransaction(TRANSACTION.id, NOW);
  await grants.updateTransaction(TRANSACTION.id, { tenantId: 'acme', consented: true }, NOW);
  await grants.updateTransaction(TRANSACTION.id, {}, NOW);
  await grants.consumeTransaction(TRANSACTION.id, NOW);
  await grants.createCode(CODE);
  return requests;
}

/** Every table call the token function's adapters make: registry reads, single use, code redemption, revocation. */
async function tokenCalls(): Promise<TableRequest[]> {
  const { client, requests } = recordingClient();
  const registry = new DynamoRegistry({ client, tableName: 'table', cacheMaxAgeMs: 0 });
  const replays = new DynamoReplayStore({ client, tableName: 'table' });
  const grants = new DynamoGrantStore({ client, tableName: 'table' });
  await registry.trustsForIssuer('https://acme.okta.com');
  await registry.getClient('claude');
  await registry.getTenant('acme');
  const recorded = await replays.recordOnce({ namespace: 'https://acme.okta.com', id: 'jti-1', keepUntil: NOW }, NOW);
  await recorded?.release();
  await grants.redeemCode(CODE.codeHash, NOW);
  await grants.revokeGrant(CODE.grantId, NOW, NOW + 3600);
  await grants.createGrant(GRANT, REFRESH_TOKEN);
  await grants.getGrant(GRANT.grantId);
  await grants.useRefreshToken(REFRESH_TOKEN.tokenHash, GRANT.clientId, NOW);
  await grants.addRefreshToken({ ...REFRESH_TOKEN, tokenHash: 'next-hash' });
  await grants.findRefreshToken(REFRESH_TOKEN.tokenHash);
  return requests;
}

const DYNAMIC_CLIENT_ID = `dcr_${'a'.repeat(43)}`;

/** Every table call the register function's adapter makes: the cap's count, then the registration. */
async function registerCalls(): Promise<TableRequest[]> {
  const { client, requests } = recordingClient();
  const registrations = new DynamoClientRegistrations({ client, tableName: 'table' });
  const registered = await registrations.register(
    {
      clientId: DYNAMIC_CLIENT_ID,
      authMethod: 'none',
      secrets: [],
      grantTypes: ['authorization_code'],
      tenants: ['*'],
      enabled: true,
      redirectUris: ['http://127.0.0.1/callback'],
    },
    NOW,
    { expiresAt: NOW + 86400, maxClients: 10 },
  );
  expect(registered).toBe('registered');
  return requests;
}

/** Keys of every kind of item in the table. */
const EVERY_KEY = {
  dcr: dynamicClientKey(DYNAMIC_CLIENT_ID).pk,
  tenant: tenantKey('acme').pk,
  issuer: issuerPartition('https://acme.okta.com'),
  connection: connectionKey('acme').pk,
  client: clientKey('claude').pk,
  replay: replayKey('https://acme.okta.com', 'jti-1').pk,
  login: loginKey('login-1').pk,
  code: codeKey('c0de-hash').pk,
  grant: grantKey('grant-1').pk,
  refresh: refreshTokenKey('refresh-hash').pk,
};

describe("the authorize function's access", () => {
  const { template } = synth((stack) => ({
    registry: {
      tenants: [
        {
          id: 'acme',
          connection: {
            issuer: 'https://acme.okta.com',
            clientId: 'mcp',
            clientSecret: { secretsManager: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-oidc-AbCdEf' },
          },
        },
        {
          id: 'globex',
          connection: {
            issuer: 'https://globex.example',
            clientId: 'mcp',
            clientSecret: { secretsManager: 'globex/oidc' },
          },
        },
        { id: 'initech', connection: { issuer: 'https://initech.example', clientId: 'mcp', authMethod: 'none' } },
      ],
    },
    interactive: {
      connectionSecrets: [
        secretsmanager.Secret.fromSecretNameV2(stack, 'ByName', 'cli/hooli-oidc'),
        secretsmanager.Secret.fromSecretCompleteArn(
          stack,
          'ByArn',
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cli/umbrella-oidc-XyZ123',
        ),
      ],
    },
  }));
  const statements = roleStatements(template, 'AuthAuthorizeRole');
  const table = { 'Fn::GetAtt': [expect.stringMatching(/^AuthTable/), 'Arn'] };
  const index = { 'Fn::Join': ['', [table, '/index/gsi1']] };
  const secretName = (name: string) => ({
    'Fn::Join': [
      '',
      ['arn:', { Ref: 'AWS::Partition' }, `:secretsmanager:eu-west-1:123456789012:secret:${name}-??????`],
    ],
  });

  it('has no KMS permission at all, in its policies or in the key policy', () => {
    for (const statement of statements) expect(actionsOf(statement, KMS_ACTIONS)).toEqual([]);
    expect(JSON.stringify(statements)).not.toContain('kms:');
    expect(JSON.stringify(keyPolicyOf(template))).not.toContain('AuthorizeRole');
  });

  it('writes login records and codes (put) and login records (update) only, by leading key', () => {
    const writes = statements.filter((statement) => actionsOf(statement, DYNAMODB_WRITES).length > 0);
    expect(writes).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:PutItem',
        Resource: table,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['LOGIN#*', 'CODE#*'] } },
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:UpdateItem',
        Resource: table,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['LOGIN#*'] } },
      },
    ]);
  });

  it('may write no grant and no refresh token: only the token function issues and revokes them', () => {
    const writes = JSON.stringify(statements.filter((statement) => actionsOf(statement, DYNAMODB_WRITES).length > 0));
    expect(writes).not.toContain('GRANT#');
    expect(writes).not.toContain('REFRESH#');
  });

  it('reads items by key and in batches from the table, and queries only the index', () => {
    const reads = statements.filter(
      (statement) =>
        actionsOf(statement, DYNAMODB_WRITES).length === 0 && JSON.stringify(statement.Action).includes('dynamodb:'),
    );
    expect(reads).toEqual([
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'], Resource: table },
      { Effect: 'Allow', Action: 'dynamodb:Query', Resource: index },
    ]);
  });

  it('reads exactly the declared connection secrets: ARNs as given, names with the six-character suffix', () => {
    const secrets = statements.filter((statement) => JSON.stringify(statement.Action).includes('secretsmanager:'));
    expect(secrets).toEqual([
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: [
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-oidc-AbCdEf',
          secretName('globex/oidc'),
          secretName('cli/hooli-oidc'),
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cli/umbrella-oidc-XyZ123',
        ],
      },
    ]);
  });

  it('may read no secret when no connection names one', () => {
    const { template: bare } = synth();
    expect(JSON.stringify(roleStatements(bare, 'AuthAuthorizeRole'))).not.toContain('secretsmanager:');
  });

  it('is allowed every table call its adapters make, and no write to any other kind of item', async () => {
    await expectExactTableAccess(
      template,
      statements,
      await authorizeCalls(),
      ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      (kind, action) =>
        (action === 'dynamodb:PutItem' && (kind === 'login' || kind === 'code')) ||
        (action === 'dynamodb:UpdateItem' && kind === 'login'),
    );
  });
});

describe("the register function's access", () => {
  const { template } = synth(() => ({ dynamicClientRegistration: { enabled: true } }));
  const statements = roleStatements(template, 'AuthRegisterRole');

  it('is allowed every table call its adapter makes, and writes registrations only', async () => {
    await expectExactTableAccess(
      template,
      statements,
      await registerCalls(),
      ['dynamodb:Query', 'dynamodb:PutItem'],
      (kind, action) => kind === 'dcr' && action === 'dynamodb:PutItem',
    );
  });

  it('queries only the index partition of registrations, and reads no item of the table', () => {
    const resources = { table: tableRef(template), index: { 'Fn::Join': ['', [tableRef(template), '/index/gsi1']] } };
    for (const partition of ['CLIENT', 'CONNECTION', 'TENANT', 'ISSUER', 'USER_GRANTS#acme']) {
      expect(allows(statements, { action: 'dynamodb:Query', on: 'index', leadingKeys: [partition] }, resources)).toBe(
        false,
      );
    }
    for (const action of ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan']) {
      for (const key of Object.values(EVERY_KEY)) {
        expect(allows(statements, { action, on: 'table', leadingKeys: [key] }, resources)).toBe(false);
      }
    }
  });

  it('has no KMS or Secrets Manager permission', () => {
    expect(JSON.stringify(statements)).not.toMatch(/kms:|secretsmanager:/);
  });
});

/** The DynamoDB actions the token function's adapters use. */
const TOKEN_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:DeleteItem',
  'dynamodb:UpdateItem',
];

/** The writes the token function may make to a whole item, by kind of item. */
const tokenWrites = (kind: string, action: string) =>
  (kind === 'replay' && (action === 'dynamodb:PutItem' || action === 'dynamodb:DeleteItem')) ||
  (kind === 'code' && action === 'dynamodb:UpdateItem') ||
  ((kind === 'grant' || kind === 'refresh') && (action === 'dynamodb:PutItem' || action === 'dynamodb:UpdateItem'));

describe("the token function's table access, proven against its adapters' calls", () => {
  const { template } = synth();
  const statements = roleStatements(template, 'AuthTokenRole');

  it('is allowed every table call its adapters make, and no write to any other kind of item', async () => {
    await expectExactTableAccess(template, statements, await tokenCalls(), TOKEN_ACTIONS, tokenWrites);
  });

  it('may not query the index: the token path never lists registrations', async () => {
    const resources = { table: tableRef(template), index: { 'Fn::Join': ['', [tableRef(template), '/index/gsi1']] } };
    const request = { action: 'dynamodb:Query', on: 'index' as const, leadingKeys: ['CONNECTION'] };
    expect(allows(statements, request, resources)).toBe(false);
  });
});

describe("the token function's access with Dynamic Client Registration on", () => {
  const { template } = synth(() => ({ dynamicClientRegistration: { enabled: true } }));
  const statements = roleStatements(template, 'AuthTokenRole');

  it("may move a registration's end on, and write nothing else of any registration", async () => {
    const { client, requests } = recordingClient();
    const registrations = new DynamoClientRegistrations({ client, tableName: 'table' });
    await registrations.extend(DYNAMIC_CLIENT_ID, NOW + 86400, NOW);
    await expectExactTableAccess(
      template,
      statements,
      [...(await tokenCalls()), ...requests],
      TOKEN_ACTIONS,
      // The probes write an arbitrary attribute: still nothing under DCR#.
      tokenWrites,
    );
    expect(requests).toEqual([
      {
        action: 'dynamodb:UpdateItem',
        on: 'table',
        leadingKeys: [`DCR#${DYNAMIC_CLIENT_ID}`],
        attributes: ['pk', 'sk', 'expiresAt'],
      },
    ]);
  });

  it('may not change what a registration is: its secrets, redirect URIs, grants, or its end by a put', () => {
    const resources = { table: tableRef(template), index: { 'Fn::Join': ['', [tableRef(template), '/index/gsi1']] } };
    const dcr = [`DCR#${DYNAMIC_CLIENT_ID}`];
    for (const attribute of ['secrets', 'redirectUris', 'grantTypes', 'firstParty', 'type']) {
      const request = { action: 'dynamodb:UpdateItem', on: 'table' as const, leadingKeys: dcr };
      expect(allows(statements, { ...request, attributes: ['pk', 'sk', 'expiresAt', attribute] }, resources)).toBe(
        false,
      );
    }
    for (const action of ['dynamodb:PutItem', 'dynamodb:DeleteItem']) {
      const request = { action, on: 'table' as const, leadingKeys: dcr, attributes: ['pk', 'sk', 'expiresAt'] };
      expect(allows(statements, request, resources)).toBe(false);
    }
  });

  it('has no such permission while registration is off', () => {
    const off = roleStatements(synth().template, 'AuthTokenRole');
    expect(JSON.stringify(off)).not.toContain('DCR#');
    expect(JSON.stringify(off)).not.toContain('dynamodb:Attributes');
  });
});

describe('table writes of every role', () => {
  it('are each restricted by leading key, but for the seed, which administers the registry', () => {
    const { template } = synth(() => ({ registry: {}, dynamicClientRegistration: { enabled: true } }));
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    let restricted = 0;
    for (const policy of policies) {
      const roles = JSON.stringify(policy.Properties.Roles);
      for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) {
        const writes = actionsOf(statement, DYNAMODB_WRITES);
        if (writes.length === 0) continue;
        if (roles.includes('"AuthSeedRole')) continue;
        // The leading keys always; the token role's renewal of a registration also limits the attributes.
        const condition = Object.keys(statement.Condition ?? {});
        expect({ roles, condition }).toEqual({
          roles,
          condition:
            roles.includes('"AuthTokenRole') && condition.length === 2
              ? ['ForAllValues:StringLike', 'ForAllValues:StringEquals']
              : ['ForAllValues:StringLike'],
        });
        const patterns = [statement.Condition!['ForAllValues:StringLike']!['dynamodb:LeadingKeys']].flat() as string[];
        expect(patterns.length).toBeGreaterThan(0);
        for (const pattern of patterns) expect(pattern).toMatch(/^(REPLAY|LOGIN|CODE|GRANT|REFRESH|DCR)#\*$/);
        expect(writes.filter((action) => /Batch|PartiQL/.test(action))).toEqual([]);
        restricted++;
      }
    }
    // The token role's four statements, the authorize role's two and the register role's one.
    expect(restricted).toBe(7);
  });
});

/** The table's ARN as the template refers to it. */
function tableRef(template: Template): unknown {
  const [id] = Object.keys(template.findResources('AWS::DynamoDB::Table'));
  return { 'Fn::GetAtt': [id, 'Arn'] };
}

/**
 * A role is allowed every table call its adapters made (exactly those actions), and of the writes to each kind of item
 * only those `writable` says.
 */
async function expectExactTableAccess(
  template: Template,
  statements: Statement[],
  calls: readonly TableRequest[],
  actions: readonly string[],
  writable: (kind: string, action: string) => boolean,
): Promise<void> {
  const resources = { table: tableRef(template), index: { 'Fn::Join': ['', [tableRef(template), '/index/gsi1']] } };
  expect(new Set(calls.map((call) => call.action))).toEqual(new Set(actions));
  for (const call of calls)
    expect({ call, allowed: allows(statements, call, resources) }).toEqual({ call, allowed: true });
  for (const [kind, key] of Object.entries(EVERY_KEY)) {
    for (const action of DYNAMODB_WRITES) {
      // A write of any attribute: one limited to certain attributes does not count as a write of the item.
      const request = { action, on: 'table' as const, leadingKeys: [key], attributes: ['pk', 'sk', 'secrets'] };
      expect({ kind, action, allowed: allows(statements, request, resources) }).toEqual({
        kind,
        action,
        allowed: writable(kind, action),
      });
    }
  }
}
