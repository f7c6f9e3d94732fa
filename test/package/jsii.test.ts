import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Assembly,
  type ClassType,
  type EnumType,
  type InterfaceType,
  isClassType,
  isEnumType,
  isInterfaceType,
  loadAssemblyFromFile,
  type Type,
} from '@jsii/spec';
import { IdJagAuthorizationServer, METRICS_NAMESPACE } from '../../lib';

const root = join(__dirname, '..', '..');
const NAME = 'cdk-id-jag-authorization-server';

/**
 * The jsii assembly (`.jsii`, written by `npm run build`): what jsii-pacmak turns into the Python, Java, .NET and Go
 * packages and what Construct Hub reads. Its public surface is checked here, and API.md against it.
 */
describe('the jsii assembly', () => {
  let assembly: Assembly;

  beforeAll(() => {
    if (!existsSync(join(root, '.jsii'))) throw new Error('run `npm run build` first (npm test does)');
    // Validated against the jsii schema while loading.
    assembly = loadAssemblyFromFile(join(root, '.jsii'), true);
  });

  const type = <T extends Type>(name: string, is: (type: Type | undefined) => type is T): T => {
    const found = assembly.types?.[`${NAME}.${name}`];
    if (!is(found)) throw new Error(`${name}: missing from the assembly, or not of the expected kind`);
    return found;
  };

  it('is this package, at its version, with the language targets the README names', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(assembly.name).toBe(NAME);
    expect(assembly.version).toBe(manifest.version);
    expect(assembly.targets).toEqual({
      js: { npm: NAME },
      python: { distName: NAME, module: 'cdk_id_jag_authorization_server' },
      java: {
        package: 'io.github.cdkidjag.authorizationserver',
        maven: { groupId: 'io.github.cdk-id-jag', artifactId: NAME },
      },
      dotnet: { namespace: 'CdkIdJag.AuthorizationServer', packageId: 'CdkIdJag.AuthorizationServer' },
      go: { moduleName: 'github.com/cdk-id-jag/cdk-id-jag-authorization-server-go', packageName: 'idjag' },
    });
    expect(Object.keys(assembly.dependencies ?? {}).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    // The runtime dependencies that are not jsii libraries travel inside the npm package.
    expect(assembly.bundled).toEqual({ jose: manifest.dependencies.jose, valibot: manifest.dependencies.valibot });
    expect(assembly.keywords).toEqual(expect.arrayContaining(['awscdk', 'cdk']));
  });

  it('has the construct, its props, the option structs, the registry structs and the signing algorithm enum', () => {
    const construct = type('IdJagAuthorizationServer', isClassType);
    expect(construct.base).toBe('constructs.Construct');
    expect(construct.initializer?.parameters?.map((parameter) => [parameter.name, parameter.type])).toEqual([
      ['scope', { fqn: 'constructs.Construct' }],
      ['id', { primitive: 'string' }],
      ['props', { fqn: `${NAME}.IdJagAuthorizationServerProps` }],
    ]);
    for (const struct of [
      'IdJagAuthorizationServerProps',
      'ProtectedResource',
      'InteractiveSignInOptions',
      'DynamicClientRegistrationOptions',
      'ClientIdMetadataDocumentOptions',
      'RegistrySeed',
      'TenantRegistration',
      'IssuerRegistration',
      'ConnectionRegistration',
      'ConnectionSecretReference',
      'ClientRegistration',
      'ClientRefreshTokenLifetimes',
    ]) {
      expect([struct, type(struct, isInterfaceType).datatype]).toEqual([struct, true]);
    }
    const props = type('IdJagAuthorizationServerProps', isInterfaceType);
    const prop = (name: string) => props.properties?.find((property) => property.name === name);
    expect(prop('resources')?.optional).toBeUndefined();
    expect(prop('signingKey')?.optional).toBe(true);
    expect(prop('signingKey')?.type).toEqual({ fqn: 'aws-cdk-lib.aws_kms.IKey' });
    expect(prop('table')?.type).toEqual({ fqn: 'aws-cdk-lib.aws_dynamodb.ITable' });
    expect(prop('accessTokenLifetime')?.type).toEqual({ fqn: 'aws-cdk-lib.Duration' });
    expect(prop('signingAlgorithm')?.type).toEqual({ fqn: `${NAME}.TokenSigningAlgorithm` });
    expect(type('TokenSigningAlgorithm', isEnumType).members.map((member) => member.name)).toEqual([
      'ES256',
      'RS256',
      'PS256',
    ]);
  });

  it('has every public method of the construct: the metric helpers, grantAdmin and secretReferences', () => {
    const construct = type('IdJagAuthorizationServer', isClassType);
    const inAssembly = (construct.methods ?? []).map((method) => method.name).sort();
    const helpers = Object.getOwnPropertyNames(IdJagAuthorizationServer.prototype).filter((name) =>
      /^(metric[A-Z]|grantAdmin$|secretReferences$)/.test(name),
    );
    expect(helpers.length).toBeGreaterThan(10);
    expect(inAssembly).toEqual([...helpers].sort());
    expect(construct.methods?.find((method) => method.name === 'metricTokenErrors')?.returns?.type).toEqual({
      fqn: 'aws-cdk-lib.aws_cloudwatch.MathExpression',
    });
    // The metrics' namespace, for dashboards in any language (the TypeScript export METRICS_NAMESPACE stays).
    expect(construct.properties?.find((property) => property.name === 'METRICS_NAMESPACE')).toMatchObject({
      static: true,
      const: true,
      immutable: true,
    });
    expect(IdJagAuthorizationServer.METRICS_NAMESPACE).toBe(METRICS_NAMESPACE);
  });

  it('documents every type, initializer, method, parameter, property and enum member', () => {
    const undocumented: string[] = [];
    const check = (where: string, docs: { summary?: string } | undefined) => {
      if (!docs?.summary?.trim()) undocumented.push(where);
    };
    for (const [fqn, entry] of Object.entries(assembly.types ?? {})) {
      const name = fqn.slice(NAME.length + 1);
      check(name, entry.docs);
      if (isEnumType(entry)) {
        for (const member of (entry as EnumType).members) check(`${name}.${member.name}`, member.docs);
        continue;
      }
      const withMembers = entry as ClassType | InterfaceType;
      for (const property of withMembers.properties ?? []) check(`${name}.${property.name}`, property.docs);
      const callables = [
        ...(isClassType(entry) && entry.initializer ? [{ name: '<initializer>', ...entry.initializer }] : []),
        ...(withMembers.methods ?? []),
      ];
      for (const callable of callables) {
        check(`${name}.${callable.name}`, callable.docs);
        for (const parameter of callable.parameters ?? []) {
          check(`${name}.${callable.name}(${parameter.name})`, parameter.docs);
        }
      }
    }
    expect(undocumented).toEqual([]);
  });

  it('matches the committed API.md (npm run build regenerates it)', async () => {
    const { renderApiReference } = require(join(root, 'scripts', 'api-reference.cjs')) as {
      renderApiReference: (root: string) => Promise<string>;
    };
    expect(await renderApiReference(root)).toBe(readFileSync(join(root, 'API.md'), 'utf8'));
  }, 60_000);
});
