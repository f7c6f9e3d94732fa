import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { clientKey, issuerPartition, replayKey, tenantKey } from '../../lambda/adapters/dynamodb/items';
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

  it('writes (put and delete) only items whose partition key starts with REPLAY#', () => {
    const writes = dynamo.filter((statement) => actionsOf(statement, DYNAMODB_WRITES).length > 0);
    expect(writes).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
        Resource: table,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['REPLAY#*'] } },
      },
    ]);
  });

  it('has no write action without the leading-key condition, and none of the others at all', () => {
    for (const statement of dynamo) {
      const writes = actionsOf(statement, DYNAMODB_WRITES);
      if (writes.length === 0) continue;
      expect(statement.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['REPLAY#*'] } });
      expect(writes.sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:PutItem']);
    }
  });

  it('matches the keys of single-use records and no registration key', () => {
    const pattern = 'REPLAY#*';
    expect(like(pattern, replayKey('assertion:https://idp.example', 'jti-1').pk)).toBe(true);
    for (const pk of [tenantKey('acme').pk, clientKey('claude').pk, issuerPartition('https://idp.example')]) {
      expect(like(pattern, pk)).toBe(false);
    }
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
