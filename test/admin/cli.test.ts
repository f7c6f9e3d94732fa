import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { RegistryTable } from '../../lambda/adapters/dynamodb/admin-store';
import { DynamoRegistry } from '../../lambda/adapters/dynamodb/registry';
import { privateHostProblem } from '../../lambda/admin/command';
import { hashClientSecret, isSecretHash, verifyClientSecret } from '../../lambda/core/secrets';
import { createLogger } from '../../lambda/handlers/logger';
import { seedRegistry } from '../../lambda/handlers/seed-registry';
import { type AdminRun, runAdmin } from '../support/admin-cli';
import { LocalDynamo } from '../support/dynalite';

const NOW = 1_800_000_000;
const OKTA = 'https://acme.okta.example';

const FILE = {
  resources: [{ id: 'https://mcp.example.com/mcp', scopes: ['files:read', 'files:write'] }],
  tenants: [
    { id: 'acme', displayName: 'Acme', issuers: [{ issuer: OKTA, jwksUri: `${OKTA}/keys` }] },
    { id: 'globex', issuers: [{ issuer: 'https://globex.idp.example', algorithms: ['ES256'] }] },
  ],
  clients: [
    { clientId: 'claude', authMethod: 'client_secret_basic', scopes: ['files:read'] },
    { clientId: 'limited', authMethod: 'none', tenants: ['globex'] },
  ],
};

/** The admin CLI in process against dynalite: real parsing, real SDK calls, captured output. */
describe('id-jag-admin', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  let dir: string;
  let tableName: string;
  let now: number;

  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
    client = dynamo.client();
    dir = mkdtempSync(join(tmpdir(), 'id-jag-admin-'));
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    tableName = `cli-${Math.random().toString(36).slice(2)}`;
    now = NOW;
    expect((await cli('init-table')).code).toBe(0);
  });

  const run = (args: readonly string[], stdin?: string, env: Record<string, string> = {}): Promise<AdminRun> =>
    runAdmin(args, { stdin, env, now: () => now });

  /** A command against this test's table in local mode. */
  const cli = (...args: string[]) => run([...args, '--endpoint', dynamo.endpoint, '--table', tableName]);

  function file(name: string, content: unknown): string {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  }

  const registry = () => new DynamoRegistry({ client, tableName, cacheMaxAgeMs: 0 });
  const secretIn = (output: string, clientId: string) =>
    new RegExp(`client_secret for ${clientId}: (\\S+)`).exec(output)?.[1] ?? '';

  it('creates the table, and says so when it already exists', async () => {
    const again = await cli('init-table');
    expect(again).toMatchObject({ code: 0, stdout: `table ${tableName} exists\n` });
  });

  it('applies a file: prints the plan and the generated secret once; a second run changes nothing', async () => {
    const path = file('registry.json', FILE);
    const first = await cli('apply', '-f', path);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('+ tenant acme\n');
    expect(first.stdout).toContain(`+ issuer ${OKTA} for tenant acme\n`);
    expect(first.stdout).toContain('+ client claude (a new secret will be generated)\n');
    expect(first.stdout).toContain('6 to create, 0 to update, 0 to remove: done');
    const secret = secretIn(first.stdout, 'claude');
    expect(secret).toHaveLength(43);
    expect(first.stdout.split(secret)).toHaveLength(2);

    const stored = await registry().getClient('claude');
    expect(verifyClientSecret(secret, stored!.secrets, NOW)).toBe(true);
    expect(await registry().trustsForIssuer(OKTA)).toMatchObject([{ tenant: { id: 'acme', displayName: 'Acme' } }]);

    const second = await cli('apply', '-f', path);
    expect(second).toEqual({ code: 0, stdout: 'no changes\n', stderr: '' });
    expect((await registry().getClient('claude'))!.secrets).toEqual(stored!.secrets);
  });

  it('with --dry-run prints the plan and writes nothing; --prune removes what the file leaves out', async () => {
    await cli('apply', '-f', file('full.json', FILE));
    const smaller = file('smaller.json', { ...FILE, tenants: [FILE.tenants[1]], clients: [FILE.clients[1]] });

    const kept = await cli('apply', '-f', smaller);
    expect(kept.stdout).toContain('no changes');
    expect(kept.stdout).toContain('  = tenant acme');

    const dry = await cli('apply', '-f', smaller, '--prune', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('- client claude\n');
    expect(dry.stdout).toContain(`- issuer ${OKTA} for tenant acme\n- tenant acme\n`);
    expect(dry.stdout).toContain('dry run: nothing was written');
    expect(await registry().getClient('claude')).toBeDefined();

    const pruned = await cli('apply', '-f', smaller, '--prune');
    expect(pruned.code).toBe(0);
    expect(await registry().getClient('claude')).toBeUndefined();
    expect(await registry().trustsForIssuer(OKTA)).toEqual([]);
  });

  it('prints JSON that parses, with --json', async () => {
    const applied = await cli('apply', '-f', file('registry.json', FILE), '--json');
    const document = JSON.parse(applied.stdout);
    expect(document.changes).toHaveLength(6);
    expect(document.secrets).toEqual([{ clientId: 'claude', secret: expect.any(String) }]);

    expect(JSON.parse((await cli('tenants', 'list', '--json')).stdout)).toEqual([
      { id: 'acme', displayName: 'Acme', enabled: true, issuers: 1 },
      { id: 'globex', enabled: true, issuers: 1 },
    ]);
    const shown = JSON.parse((await cli('clients', 'show', 'claude', '--json')).stdout);
    expect(shown).toEqual({
      clientId: 'claude',
      authMethod: 'client_secret_basic',
      scopes: ['files:read'],
      tenants: ['*'],
      grantTypes: ['urn:ietf:params:oauth:grant-type:jwt-bearer'],
      firstParty: false,
      enabled: true,
      secrets: [{}],
    });
    const issuers = JSON.parse((await cli('issuers', 'list', '--tenant', 'globex', '--json')).stdout);
    expect(issuers).toEqual([
      {
        tenant: 'globex',
        issuer: 'https://globex.idp.example',
        algorithms: ['ES256'],
        maxAssertionLifetimeSeconds: 300,
        enabled: true,
      },
    ]);
    expect(JSON.parse((await cli('tenants', 'show', 'globex', '--json')).stdout)).toEqual({
      id: 'globex',
      enabled: true,
      issuers: [
        {
          issuer: 'https://globex.idp.example',
          algorithms: ['ES256'],
          maxAssertionLifetimeSeconds: 300,
          enabled: true,
        },
      ],
      clients: ['claude', 'limited'],
    });
  });

  it('lists and shows in text, never printing secret hashes', async () => {
    await cli('apply', '-f', file('registry.json', FILE));
    const tenants = await cli('tenants', 'list');
    expect(tenants.stdout.split('\n')[0]).toMatch(/^TENANT\s+ENABLED\s+ISSUERS\s+DISPLAY NAME$/);
    expect(tenants.stdout).toMatch(/acme\s+true\s+1\s+Acme/);
    const clients = await cli('clients', 'list');
    expect(clients.stdout).toMatch(/claude\s+client_secret_basic\s+true\s+\*\s+files:read/);
    const shown = await cli('clients', 'show', 'claude');
    expect(shown.stdout).toContain('secrets:      current');
    expect(shown.stdout).not.toContain('hs256$');
    const issuer = await cli('issuers', 'show', OKTA);
    expect(issuer.stdout).toContain(`jwks uri:     ${OKTA}/keys`);
  });

  it('manages tenants, issuers and clients one by one', async () => {
    expect((await cli('tenants', 'add', 'acme', '--display-name', 'Acme')).stdout).toBe('+ tenant acme\n');
    const trusted = await cli(
      'issuers',
      'add',
      OKTA,
      '--tenant',
      'acme',
      '--algorithms',
      'RS256,ES256',
      '--not-after',
      '2030-01-01T00:00:00Z',
    );
    expect(trusted).toMatchObject({ code: 0, stdout: `+ issuer ${OKTA} for tenant acme\n` });
    expect((await registry().trustsForIssuer(OKTA))[0]?.trust).toMatchObject({
      algorithms: ['RS256', 'ES256'],
      notAfter: Date.UTC(2030, 0, 1) / 1000,
    });

    const disabled = await cli('issuers', 'update', OKTA, '--tenant', 'acme', '--disable', '--not-after', '');
    expect(disabled.stdout).toBe(`~ issuer ${OKTA} for tenant acme: enabled, notAfter\n`);
    expect((await cli('issuers', 'update', OKTA, '--tenant', 'acme', '--disable')).stdout).toBe('no changes\n');
    expect((await cli('tenants', 'update', 'acme', '--display-name', '')).stdout).toBe('~ tenant acme: displayName\n');

    const added = await cli('clients', 'add', 'claude', '--tenants', 'acme', '--scopes', 'files:read');
    expect(added.code).toBe(0);
    const secret = secretIn(added.stdout, 'claude');
    expect(verifyClientSecret(secret, (await registry().getClient('claude'))!.secrets, NOW)).toBe(true);
    expect((await cli('clients', 'update', 'claude', '--scopes', '')).stdout).toBe('~ client claude: scopes\n');
    expect((await registry().getClient('claude'))?.scopes).toBeUndefined();

    const keys = file('keys.json', { keys: [{ kty: 'EC', crv: 'P-256', x: 'eA', y: 'eQ' }] });
    expect((await cli('clients', 'add', 'keyed', '--auth-method', 'private_key_jwt', '--jwks-file', keys)).code).toBe(
      0,
    );
    expect((await registry().getClient('keyed'))?.jwks).toEqual({
      keys: [{ kty: 'EC', crv: 'P-256', x: 'eA', y: 'eQ' }],
    });
    // A client known by its metadata document (CIMD) is registered under its URL: the document has its keys and
    // redirect URIs, the registration what it may do.
    const documented = 'https://claude.example/oauth/client-metadata.json';
    const listed = await cli(
      'clients',
      'add',
      documented,
      '--auth-method',
      'private_key_jwt',
      '--grant-types',
      'urn:ietf:params:oauth:grant-type:jwt-bearer,authorization_code',
      '--tenants',
      'acme',
    );
    expect(listed).toEqual({ code: 0, stdout: `+ client ${documented}\n`, stderr: '' });
    expect(await registry().getClient(documented)).toMatchObject({ authMethod: 'private_key_jwt', tenants: ['acme'] });

    expect((await cli('issuers', 'remove', OKTA, '--tenant', 'acme')).stdout).toBe(
      `- issuer ${OKTA} for tenant acme\n`,
    );
    expect((await cli('clients', 'remove', 'keyed')).stdout).toBe('- client keyed\n');
    expect(await registry().getClient('keyed')).toBeUndefined();
  });

  it('accepts an http issuer on a loopback host in local mode', async () => {
    await cli('tenants', 'add', 'dev');
    const local = await cli('issuers', 'add', 'http://127.0.0.1:9000', '--tenant', 'dev');
    expect(local.code).toBe(0);
  });

  describe('rotate-secret', () => {
    let first: string;
    beforeEach(async () => {
      first = secretIn((await cli('clients', 'add', 'claude')).stdout, 'claude');
    });
    const secrets = async () => (await registry().getClient('claude'))!.secrets;

    it('prints the new secret once; the new one works and the old one is refused at once', async () => {
      const rotated = await cli('clients', 'rotate-secret', 'claude');
      expect(rotated.code).toBe(0);
      const second = secretIn(rotated.stdout, 'claude');
      expect(second).not.toBe(first);
      expect(rotated.stdout.split(second)).toHaveLength(2);
      expect(verifyClientSecret(second, await secrets(), NOW)).toBe(true);
      expect(verifyClientSecret(first, await secrets(), NOW)).toBe(false);
    });

    it('with --grace keeps the old secret valid until then, and only that one', async () => {
      const second = secretIn((await cli('clients', 'rotate-secret', 'claude', '--grace', '600')).stdout, 'claude');
      expect(verifyClientSecret(first, await secrets(), NOW + 599)).toBe(true);
      expect(verifyClientSecret(first, await secrets(), NOW + 600)).toBe(false);
      expect(verifyClientSecret(second, await secrets(), NOW + 600)).toBe(true);
      expect((await cli('clients', 'show', 'claude')).stdout).toContain('previous, valid until 2027-01-15T08:10:00Z');

      now += 10;
      const third = secretIn((await cli('clients', 'rotate-secret', 'claude', '--grace', '60')).stdout, 'claude');
      const stored = await secrets();
      expect(stored).toHaveLength(2);
      expect(verifyClientSecret(first, stored, now)).toBe(false);
      expect(verifyClientSecret(second, stored, now + 59)).toBe(true);
      expect(verifyClientSecret(third, stored, now + 59)).toBe(true);
    });

    it('keeps the rotated secret when the configuration file is applied again', async () => {
      const path = file('claude.json', { clients: [{ clientId: 'claude', authMethod: 'client_secret_basic' }] });
      expect((await cli('apply', '-f', path)).stdout).toBe('no changes\n');
      const second = secretIn((await cli('clients', 'rotate-secret', 'claude')).stdout, 'claude');
      expect((await cli('apply', '-f', path)).stdout).toBe('no changes\n');
      expect(verifyClientSecret(second, await secrets(), NOW)).toBe(true);
    });

    it('writes nothing with --dry-run and prints no secret', async () => {
      const dry = await cli('clients', 'rotate-secret', 'claude', '--dry-run');
      expect(dry.stdout).toBe(
        '~ client claude: secrets (a new secret will be generated)\ndry run: nothing was written\n',
      );
      expect(verifyClientSecret(first, await secrets(), NOW)).toBe(true);
    });

    it('refuses a client without a secret, and a bad grace period', async () => {
      await cli('clients', 'add', 'public', '--auth-method', 'none');
      expect(await cli('clients', 'rotate-secret', 'public')).toMatchObject({
        code: 1,
        stderr: 'error: client public uses none: it has no secret to rotate\n',
      });
      expect((await cli('clients', 'rotate-secret', 'claude', '--grace', 'soon')).stderr).toContain(
        '--grace: must be a whole number of seconds',
      );
    });
  });

  describe("registrations declared in the construct's registry prop", () => {
    const SEEDED_SECRET = 'd'.repeat(43);
    const SEEDED = {
      tenants: [
        {
          id: 'acme',
          issuers: [{ issuer: OKTA }],
          connection: { issuer: OKTA, clientId: 'mcp', clientSecret: { secretsManager: 'acme/oidc' } },
        },
      ],
      clients: [{ clientId: 'claude', authMethod: 'client_secret_basic', secretHash: hashClientSecret(SEEDED_SECRET) }],
    };
    const declared = (name: string) =>
      `${name} is declared in the construct's registry prop; the next deployment that changes the registry will ` +
      'restore it; change it in code';

    /** What the construct's custom resource does on Create: the seed handler itself, on this test's table. */
    beforeEach(async () => {
      const event = {
        RequestType: 'Create',
        ResourceProperties: { ServiceToken: 'seed', Registry: JSON.stringify(SEEDED) },
      } as unknown as CloudFormationCustomResourceEvent;
      const logger = createLogger({ service: 'seed', write: () => undefined });
      const outcome = await seedRegistry(event, new RegistryTable({ client, tableName }), logger);
      expect(outcome.status).toBe('SUCCESS');
    });

    it('warns on stderr and in --json when it disables a seeded client, and still disables it', async () => {
      const disabled = await cli('clients', 'update', 'claude', '--disable', '--json');
      expect(disabled.code).toBe(0);
      expect(disabled.stderr).toBe(`warning: ${declared('client claude')}\n`);
      expect(JSON.parse(disabled.stdout)).toEqual({
        changes: ['~ client claude: enabled'],
        warnings: [declared('client claude')],
      });
      expect((await registry().getClient('claude'))?.enabled).toBe(false);

      const enabled = await cli('clients', 'update', 'claude', '--enable');
      expect(enabled).toEqual({
        code: 0,
        stdout: '~ client claude: enabled\n',
        stderr: `warning: ${declared('client claude')}\n`,
      });
    });

    it('warns when it rotates the secret of a seeded client, and still rotates it', async () => {
      const rotated = await cli('clients', 'rotate-secret', 'claude');
      expect(rotated.code).toBe(0);
      expect(rotated.stderr).toBe(`warning: ${declared('client claude')}\n`);
      const secrets = (await registry().getClient('claude'))!.secrets;
      expect(verifyClientSecret(secretIn(rotated.stdout, 'claude'), secrets, NOW)).toBe(true);
      expect(verifyClientSecret(SEEDED_SECRET, secrets, NOW)).toBe(false);
    });

    it.each<[string, string[], string[]]>([
      ['tenants update', ['tenants', 'update', 'acme', '--display-name', 'Acme'], ['tenant acme']],
      [
        'issuers update',
        ['issuers', 'update', OKTA, '--tenant', 'acme', '--disable'],
        [`issuer ${OKTA} for tenant acme`],
      ],
      ['issuers remove', ['issuers', 'remove', OKTA, '--tenant', 'acme'], [`issuer ${OKTA} for tenant acme`]],
      ['clients remove', ['clients', 'remove', 'claude'], ['client claude']],
      ['connections update', ['connections', 'update', 'acme', '--disable'], ['connection for tenant acme']],
      [
        'connections set',
        ['connections', 'set', 'acme', '--issuer', OKTA, '--client-id', 'other', '--secrets-manager', 'acme/oidc'],
        ['connection for tenant acme'],
      ],
      ['connections remove', ['connections', 'remove', 'acme'], ['connection for tenant acme']],
      [
        'tenants remove',
        ['tenants', 'remove', 'acme'],
        ['connection for tenant acme', `issuer ${OKTA} for tenant acme`, 'tenant acme'],
      ],
      ['a dry run', ['clients', 'update', 'claude', '--scopes', 'files:read', '--dry-run'], ['client claude']],
    ])('warns on %s of a seeded registration, and still does it', async (_, args, names) => {
      const result = await cli(...args);
      expect(result.code).toBe(0);
      expect(result.stdout).not.toBe('no changes\n');
      expect(result.stderr).toBe(names.map((name) => `warning: ${declared(name)}\n`).join(''));
    });

    it('does not warn when it changes registrations created with the CLI', async () => {
      await cli('tenants', 'add', 'globex');
      const added = await cli('clients', 'add', 'other', '--tenants', 'globex');
      expect(added.stderr).toBe('');
      expect(await cli('clients', 'update', 'other', '--disable')).toMatchObject({ code: 0, stderr: '' });
      expect(await cli('clients', 'rotate-secret', 'other')).toMatchObject({ code: 0, stderr: '' });
      expect(await cli('tenants', 'update', 'globex', '--disable')).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse((await cli('clients', 'remove', 'other', '--json')).stdout)).toEqual({
        changes: ['- client other'],
      });
    });

    it('keeps the mark when it changes a seeded registration, so that the next change warns too', async () => {
      await cli('clients', 'update', 'claude', '--disable');
      await cli('clients', 'rotate-secret', 'claude');
      const again = await cli('clients', 'update', 'claude', '--scopes', 'files:read');
      expect(again.stderr).toBe(`warning: ${declared('client claude')}\n`);
    });

    it('shows which registrations the registry prop declares', async () => {
      await cli('clients', 'add', 'other', '--auth-method', 'none');
      expect(JSON.parse((await cli('clients', 'show', 'claude', '--json')).stdout)).toMatchObject({
        managedBy: 'construct',
      });
      expect(JSON.parse((await cli('clients', 'show', 'other', '--json')).stdout)).not.toHaveProperty('managedBy');
      expect(JSON.parse((await cli('tenants', 'show', 'acme', '--json')).stdout)).toMatchObject({
        managedBy: 'construct',
      });
      expect(JSON.parse((await cli('issuers', 'show', OKTA, '--json')).stdout)).toEqual([
        expect.objectContaining({ tenant: 'acme', managedBy: 'construct' }),
      ]);
      expect(JSON.parse((await cli('connections', 'show', 'acme', '--json')).stdout)).toMatchObject({
        tenant: 'acme',
        managedBy: 'construct',
      });
      const declaredIn = "declared in:  the construct's registry prop (change it in code)\n";
      expect((await cli('clients', 'show', 'claude')).stdout).toContain(declaredIn);
      expect((await cli('clients', 'show', 'other')).stdout).not.toContain('declared in');
      // The tenant, its issuer and its connection.
      expect((await cli('tenants', 'show', 'acme')).stdout.split(declaredIn)).toHaveLength(4);
    });

    it('apply warns about the seeded registrations it changes or prunes, and only those', async () => {
      const path = file('apply.json', {
        tenants: [
          { id: 'acme', displayName: 'Acme', issuers: [{ issuer: OKTA }], connection: SEEDED.tenants[0]!.connection },
        ],
        clients: [{ clientId: 'new', authMethod: 'none' }],
      });
      const warnings = [declared('tenant acme'), declared('client claude')];
      const dry = await cli('apply', '-f', path, '--prune', '--dry-run', '--json');
      expect(dry.code).toBe(0);
      expect(dry.stderr).toBe(warnings.map((warning) => `warning: ${warning}\n`).join(''));
      expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, warnings });

      const applied = await cli('apply', '-f', path, '--prune');
      expect(applied.code).toBe(0);
      expect(applied.stdout).toContain('~ tenant acme: displayName\n');
      expect(applied.stdout).toContain('- client claude\n');
      expect(applied.stderr).toBe(warnings.map((warning) => `warning: ${warning}\n`).join(''));
      expect(await registry().getClient('claude')).toBeUndefined();

      expect((await cli('apply', '-f', path)).stderr).toBe('');
      expect((await cli('tenants', 'update', 'acme', '--disable')).stderr).toBe(
        `warning: ${declared('tenant acme')}\n`,
      );
    });
  });

  describe('connections', () => {
    const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-oidc-AbCdEf';
    const CONNECTED = {
      ...FILE,
      tenants: [
        {
          ...FILE.tenants[0],
          connection: {
            issuer: OKTA,
            clientId: 'mcp-acme',
            clientSecret: { secretsManager: SECRET_ARN },
            domains: ['acme.com'],
          },
        },
        {
          ...FILE.tenants[1],
          connection: { issuer: 'https://globex.idp.example', clientId: 'mcp', authMethod: 'none', default: true },
        },
      ],
    };
    const set = (...args: string[]) => cli('connections', 'set', ...args);

    it('apply writes the connections of a file; a second run changes nothing; --prune removes one left out', async () => {
      const path = file('connected.json', CONNECTED);
      const first = await cli('apply', '-f', path);
      expect(first.code).toBe(0);
      expect(first.stdout).toContain('+ connection for tenant acme\n+ connection for tenant globex\n');
      expect(await cli('apply', '-f', path)).toEqual({ code: 0, stdout: 'no changes\n', stderr: '' });
      expect((await registry().connections()).map((c) => c.tenantId).sort()).toEqual(['acme', 'globex']);

      const without = structuredClone(CONNECTED) as typeof CONNECTED;
      delete (without.tenants[1] as { connection?: unknown }).connection;
      const pruned = await cli('apply', '-f', file('without.json', without), '--prune');
      expect(pruned.stdout).toContain('- connection for tenant globex\n');
      expect((await registry().connections()).map((c) => c.tenantId)).toEqual(['acme']);
    });

    it('lists and shows connections, the secret only as the reference to where it is kept', async () => {
      await cli('apply', '-f', file('connected.json', CONNECTED));
      const listed = await cli('connections', 'list');
      expect(listed.stdout.split('\n')[0]).toMatch(
        /^TENANT\s+ISSUER\s+CLIENT ID\s+AUTH METHOD\s+DEFAULT\s+ENABLED\s+DOMAINS$/,
      );
      expect(listed.stdout).toMatch(
        /acme\s+https:\/\/acme\.okta\.example\s+mcp-acme\s+client_secret_basic\s+false\s+true\s+acme\.com/,
      );
      expect(JSON.parse((await cli('connections', 'list', '--json')).stdout)).toEqual([
        {
          tenant: 'acme',
          ...CONNECTED.tenants[0]!.connection,
          authMethod: 'client_secret_basic',
          scopes: ['openid', 'email', 'profile'],
          default: false,
          enabled: true,
        },
        {
          tenant: 'globex',
          ...CONNECTED.tenants[1]!.connection,
          scopes: ['openid', 'email', 'profile'],
          domains: [],
          enabled: true,
        },
      ]);
      const shown = await cli('connections', 'show', 'acme');
      expect(shown.stdout).toContain(`secret:       secretsmanager:${SECRET_ARN}\n`);
      expect(shown.stdout).toContain('domains:      acme.com\n');
      const { tenant: _, ...shownConnection } = JSON.parse((await cli('connections', 'show', 'acme', '--json')).stdout);
      expect(JSON.parse((await cli('tenants', 'show', 'acme', '--json')).stdout).connection).toEqual(shownConnection);
      expect(shownConnection).toMatchObject({ clientId: 'mcp-acme', clientSecret: { secretsManager: SECRET_ARN } });
      expect((await cli('tenants', 'show', 'acme')).stdout).toContain(
        'connection:\n  issuer:       https://acme.okta.example\n',
      );
      expect((await cli('connections', 'show', 'nobody')).stderr).toBe('error: tenant nobody has no connection\n');
    });

    it('sets, replaces, updates and removes a connection one command at a time', async () => {
      await cli('tenants', 'add', 'acme');
      const created = await set(
        'acme',
        '--issuer',
        OKTA,
        '--client-id',
        'mcp-acme',
        '--secrets-manager',
        SECRET_ARN,
        '--domains',
        'Acme.com,acme.co.uk',
      );
      expect(created).toEqual({ code: 0, stdout: '+ connection for tenant acme\n', stderr: '' });
      expect(await registry().connections()).toEqual([
        {
          tenantId: 'acme',
          issuer: OKTA,
          clientId: 'mcp-acme',
          authMethod: 'client_secret_basic',
          clientSecretRef: `secretsmanager:${SECRET_ARN}`,
          scopes: ['openid', 'email', 'profile'],
          domains: ['acme.com', 'acme.co.uk'],
          isDefault: false,
          enabled: true,
        },
      ]);
      const same = ['acme', '--issuer', OKTA, '--client-id', 'mcp-acme', '--secrets-manager', SECRET_ARN];
      expect((await set(...same, '--domains', 'acme.com,acme.co.uk')).stdout).toBe('no changes\n');
      // set declares the whole connection: what it leaves out takes its default.
      expect((await set(...same, '--auth-method', 'client_secret_post')).stdout).toBe(
        '~ connection for tenant acme: authMethod, domains\n',
      );

      expect((await cli('connections', 'update', 'acme', '--domains', 'acme.org', '--default')).stdout).toBe(
        '~ connection for tenant acme: domains, isDefault\n',
      );
      expect((await cli('connections', 'update', 'acme', '--secrets-manager', 'acme/rotated')).stdout).toBe(
        '~ connection for tenant acme: clientSecretRef\n',
      );
      expect((await cli('connections', 'update', 'acme', '--auth-method', 'none', '--disable')).stdout).toBe(
        '~ connection for tenant acme: authMethod, clientSecretRef, enabled\n',
      );
      expect((await registry().connections())[0]).toMatchObject({
        authMethod: 'none',
        enabled: false,
        isDefault: true,
      });
      expect((await registry().connections())[0]).not.toHaveProperty('clientSecretRef');
      expect((await cli('connections', 'update', 'acme', '--scopes', 'openid', '--domains', '')).stdout).toBe(
        '~ connection for tenant acme: domains, scopes\n',
      );

      const dry = await cli('connections', 'remove', 'acme', '--dry-run');
      expect(dry.stdout).toBe('- connection for tenant acme\ndry run: nothing was written\n');
      expect(await registry().connections()).toHaveLength(1);
      expect((await cli('connections', 'remove', 'acme')).stdout).toBe('- connection for tenant acme\n');
      expect(await registry().connections()).toEqual([]);
      expect((await cli('connections', 'remove', 'acme')).stderr).toBe('error: tenant acme has no connection\n');
    });

    it('accepts a secret kept in a file in local mode', async () => {
      await cli('tenants', 'add', 'dev');
      const local = await set(
        'dev',
        '--issuer',
        'http://127.0.0.1:9000',
        '--client-id',
        'dev',
        '--secret-file',
        'dev-oidc',
      );
      expect(local.code).toBe(0);
      expect((await registry().connections())[0]?.clientSecretRef).toBe('file:dev-oidc');
    });

    it('refuses a secret file outside local mode before reaching any table', async () => {
      const result = await run([
        'connections',
        'set',
        'acme',
        '--issuer',
        OKTA,
        '--client-id',
        'mcp',
        '--secret-file',
        'acme-oidc',
        '--table',
        'anything',
        '--region',
        'eu-west-1',
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        'error: --secret-file: secrets in files are for the local server only: in AWS keep the secret in Secrets Manager (secretsManager)\n',
      );
    });

    it('refuses a plain secret without echoing it', async () => {
      await cli('tenants', 'add', 'acme');
      const result = await set(
        'acme',
        '--issuer',
        OKTA,
        '--client-id',
        'mcp',
        '--client-secret',
        'upstream-s3cret-value',
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('--client-secret: plain secrets are not accepted');
      expect(result.stderr).toContain('--secrets-manager <secret ARN or name>');
      expect(result.stderr).not.toContain('upstream-s3cret-value');
    });

    it.each<[string, string[], RegExp]>([
      [
        'an unknown tenant',
        ['set', 'nope', '--issuer', OKTA, '--client-id', 'c', '--secrets-manager', 's'],
        /^error: unknown tenant nope\n$/,
      ],
      ['no --issuer', ['set', 'acme', '--client-id', 'c'], /--issuer <url> is required/],
      ['no --client-id', ['set', 'acme', '--issuer', OKTA], /--client-id <id> is required/],
      [
        'an http issuer outside loopback',
        ['set', 'acme', '--issuer', 'http://idp.example', '--client-id', 'c', '--secrets-manager', 's'],
        /^error: --issuer: must use https/,
      ],
      [
        'a secret method without a secret',
        ['set', 'acme', '--issuer', OKTA, '--client-id', 'c'],
        /--auth-method client_secret_basic needs to know where the client secret is kept: --secrets-manager/,
      ],
      [
        'a public connection with a secret',
        ['set', 'acme', '--issuer', OKTA, '--client-id', 'c', '--auth-method', 'none', '--secrets-manager', 's'],
        /a public connection has no secret/,
      ],
      [
        'two places for the secret',
        ['set', 'acme', '--issuer', OKTA, '--client-id', 'c', '--secrets-manager', 's', '--secret-file', 'f'],
        /--secrets-manager and --secret-file conflict/,
      ],
      [
        'a Secrets Manager id that is neither ARN nor name',
        ['set', 'acme', '--issuer', OKTA, '--client-id', 'c', '--secrets-manager', 'arn:aws:s3:::b'],
        /^error: --secrets-manager: must be a Secrets Manager secret ARN/,
      ],
      [
        'a secret file name with a directory',
        ['set', 'acme', '--issuer', OKTA, '--client-id', 'c', '--secret-file', '../x'],
        /^error: --secret-file: must be a plain file name/,
      ],
      [
        'scopes without openid',
        ['set', 'acme', '--issuer', OKTA, '--client-id', 'c', '--auth-method', 'none', '--scopes', 'email'],
        /^error: --scopes: must include openid/,
      ],
      [
        'a bad domain',
        ['set', 'acme', '--issuer', OKTA, '--client-id', 'c', '--auth-method', 'none', '--domains', 'acme'],
        /^error: --domains\.0: must be a domain name/,
      ],
      [
        'an update of a tenant without a connection',
        ['update', 'acme', '--disable'],
        /^error: tenant acme has no connection\n$/,
      ],
      [
        'conflicting default flags',
        ['update', 'acme', '--default', '--not-default'],
        /--default and --not-default conflict/,
      ],
    ])('refuses %s with exit code 1', async (_, args, expected) => {
      await cli('tenants', 'add', 'acme');
      const result = await cli('connections', ...args);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(expected);
      expect(await registry().connections()).toEqual([]);
    });

    it('refuses a domain another connection claims, and a second default, naming the rule', async () => {
      await cli('apply', '-f', file('connected.json', CONNECTED));
      await cli('tenants', 'add', 'initech');
      const base = ['initech', '--issuer', 'https://initech.idp.example', '--client-id', 'c', '--auth-method', 'none'];
      const claimed = await set(...base, '--domains', 'acme.com');
      expect(claimed).toMatchObject({
        code: 1,
        stderr:
          'error: refusing the change: domain acme.com is claimed by the connections of tenants acme, initech: one at most\n',
      });
      const defaults = await set(...base, '--default');
      expect(defaults.code).toBe(1);
      expect(defaults.stderr).toContain('the connections of tenants globex, initech are all the default: one at most');
      expect((await cli('connections', 'update', 'acme', '--default')).code).toBe(1);
      // Moving the default: first let go, then claim.
      expect((await cli('connections', 'update', 'globex', '--not-default')).code).toBe(0);
      expect((await set(...base, '--default')).code).toBe(0);
    });

    it('removing a tenant removes its connection first', async () => {
      await cli('apply', '-f', file('connected.json', CONNECTED));
      await cli('clients', 'remove', 'limited');
      const removed = await cli('tenants', 'remove', 'globex');
      expect(removed.stdout).toBe(
        '- connection for tenant globex\n- issuer https://globex.idp.example for tenant globex\n- tenant globex\n',
      );
      expect((await registry().connections()).map((c) => c.tenantId)).toEqual(['acme']);
    });

    it('refuses a file whose connections claim a domain twice, pointing at the second claim', async () => {
      const twice = structuredClone(CONNECTED) as typeof CONNECTED;
      (twice.tenants[1]!.connection as { domains?: string[] }).domains = ['ACME.com'];
      const refused = await cli('apply', '-f', file('twice.json', twice));
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        '- tenants.1.connection.domains.0: domain acme.com is already claimed by the connection of tenant acme',
      );
    });
  });

  describe('interactive clients', () => {
    const GRANTS = ['--grant-types', 'authorization_code,refresh_token'];

    it('adds a client with redirect URIs (repeatable) and the first-party flag, shows and updates them', async () => {
      const added = await cli(
        'clients',
        'add',
        'inspector',
        '--auth-method',
        'none',
        ...GRANTS,
        '--redirect-uri',
        'http://127.0.0.1/callback',
        '--redirect-uri',
        'com.example.inspector:/cb',
        '--first-party',
      );
      expect(added).toEqual({ code: 0, stdout: '+ client inspector\n', stderr: '' });
      expect(await registry().getClient('inspector')).toMatchObject({
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: ['http://127.0.0.1/callback', 'com.example.inspector:/cb'],
        firstParty: true,
      });
      const shown = await cli('clients', 'show', 'inspector');
      expect(shown.stdout).toContain(
        'redirect uri: http://127.0.0.1/callback\nredirect uri: com.example.inspector:/cb\nfirst party:  true\n',
      );
      expect(JSON.parse((await cli('clients', 'show', 'inspector', '--json')).stdout)).toMatchObject({
        redirectUris: ['http://127.0.0.1/callback', 'com.example.inspector:/cb'],
        firstParty: true,
      });

      expect(
        (await cli('clients', 'update', 'inspector', '--redirect-uri', 'https://inspector.example.com/cb')).stdout,
      ).toBe('~ client inspector: redirectUris\n');
      expect((await cli('clients', 'update', 'inspector', '--not-first-party')).stdout).toBe(
        '~ client inspector: firstParty\n',
      );
      expect(await registry().getClient('inspector')).not.toHaveProperty('firstParty');
      const jwtOnly = await cli(
        'clients',
        'update',
        'inspector',
        '--grant-types',
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
        '--redirect-uri',
        '',
      );
      expect(jwtOnly.stdout).toBe('~ client inspector: grantTypes, redirectUris\n');
      expect(await registry().getClient('inspector')).not.toHaveProperty('redirectUris');
    });

    it('keeps a first-party client unchanged when a client without the flag was registered before it existed', async () => {
      await cli('clients', 'add', 'legacy', '--auth-method', 'none');
      expect(await registry().getClient('legacy')).not.toHaveProperty('firstParty');
      const path = file('legacy.json', { clients: [{ clientId: 'legacy', authMethod: 'none' }] });
      expect((await cli('apply', '-f', path)).stdout).toBe('no changes\n');
    });

    it.each<[string, string[], RegExp]>([
      [
        'a redirect URI with a fragment',
        ['--redirect-uri', 'https://a.example/cb#x'],
        /^error: --redirect-uri\.0: must not have a fragment/,
      ],
      [
        'an http redirect URI outside loopback',
        ['--redirect-uri', 'http://a.example/cb'],
        /^error: --redirect-uri\.0: http is accepted only for loopback hosts/,
      ],
      [
        'a second redirect URI that is invalid',
        ['--redirect-uri', 'https://a.example/cb', '--redirect-uri', 'javascript:alert(1)'],
        /^error: --redirect-uri\.1: the javascript scheme cannot be a redirect URI/,
      ],
    ])('refuses %s', async (_, args, expected) => {
      const result = await cli('clients', 'add', 'app', '--auth-method', 'none', ...GRANTS, ...args);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(expected);
    });

    it('refuses the authorization_code grant without a redirect URI, and redirect URIs without it', async () => {
      const noUri = await cli('clients', 'add', 'app', '--auth-method', 'none', ...GRANTS);
      expect(noUri).toMatchObject({
        code: 1,
        stderr: 'error: --redirect-uri: the authorization_code grant needs at least one redirect URI\n',
      });
      const noGrant = await cli(
        'clients',
        'add',
        'app',
        '--auth-method',
        'none',
        '--redirect-uri',
        'https://a.example/cb',
      );
      expect(noGrant.code).toBe(1);
      expect(noGrant.stderr).toContain('redirect URIs are used only by the authorization_code grant');
    });
  });

  describe("a client's refresh token lifetimes", () => {
    const INTERACTIVE = [
      '--auth-method',
      'none',
      '--grant-types',
      'authorization_code,refresh_token',
      '--redirect-uri',
      'http://127.0.0.1/callback',
    ];
    const addInspector = (...args: string[]) => cli('clients', 'add', 'inspector', ...INTERACTIVE, ...args);

    it('sets them as seconds or durations, shows them, and changes each on its own', async () => {
      const added = await addInspector('--refresh-token-idle', '7d', '--refresh-token-absolute', '2592000');
      expect(added).toEqual({ code: 0, stdout: '+ client inspector\n', stderr: '' });
      expect((await registry().getClient('inspector'))?.refreshTokens).toEqual({
        idleSeconds: 7 * 86400,
        absoluteSeconds: 30 * 86400,
      });
      expect((await cli('clients', 'show', 'inspector')).stdout).toContain('refresh tokens: idle 7d, absolute 30d\n');
      expect(JSON.parse((await cli('clients', 'show', 'inspector', '--json')).stdout).refreshTokens).toEqual({
        idleSeconds: 604800,
        absoluteSeconds: 2592000,
      });

      const idle = await cli('clients', 'update', 'inspector', '--refresh-token-idle', '12h');
      expect(idle.stdout).toBe('~ client inspector: refreshTokens\n');
      expect((await registry().getClient('inspector'))?.refreshTokens).toEqual({
        idleSeconds: 12 * 3600,
        absoluteSeconds: 30 * 86400,
      });
      expect((await cli('clients', 'update', 'inspector', '--refresh-token-idle', '43200')).stdout).toBe(
        'no changes\n',
      );
    });

    it('removes one with "", and both: the deployment\'s lifetimes apply again', async () => {
      await addInspector('--refresh-token-idle', '1d', '--refresh-token-absolute', '30d');
      await cli('clients', 'update', 'inspector', '--refresh-token-idle', '');
      expect((await registry().getClient('inspector'))?.refreshTokens).toEqual({ absoluteSeconds: 30 * 86400 });
      expect((await cli('clients', 'show', 'inspector')).stdout).toContain(
        "refresh tokens: idle the deployment's, absolute 30d\n",
      );
      await cli('clients', 'update', 'inspector', '--refresh-token-absolute', '');
      expect(await registry().getClient('inspector')).not.toHaveProperty('refreshTokens');
      expect((await cli('clients', 'show', 'inspector')).stdout).toContain(
        "refresh tokens: idle the deployment's, absolute the deployment's\n",
      );
    });

    it('applies a file that sets them, and a second run changes nothing', async () => {
      const path = file('lifetimes.json', {
        clients: [
          {
            clientId: 'inspector',
            authMethod: 'none',
            grantTypes: ['authorization_code', 'refresh_token'],
            redirectUris: ['http://127.0.0.1/callback'],
            refreshTokens: { idleSeconds: 3600 },
          },
        ],
      });
      expect((await cli('apply', '-f', path)).code).toBe(0);
      expect((await registry().getClient('inspector'))?.refreshTokens).toEqual({ idleSeconds: 3600 });
      expect((await cli('apply', '-f', path)).stdout).toBe('no changes\n');
    });

    it.each<[string, string[], string]>([
      [
        'an idle lifetime under five minutes',
        ['--refresh-token-idle', '4m'],
        '--refresh-token-idle: must be at least 300',
      ],
      [
        'an absolute lifetime over a year',
        ['--refresh-token-absolute', '366d'],
        '--refresh-token-absolute: must be at most 31536000 (a year)',
      ],
      [
        'a lifetime that is no duration',
        ['--refresh-token-idle', '2 weeks'],
        '--refresh-token-idle: must be whole seconds or a duration such as 30m, 12h or 14d',
      ],
      [
        'an idle lifetime longer than the absolute one',
        ['--refresh-token-idle', '30d', '--refresh-token-absolute', '7d'],
        '--refresh-token-idle: must not exceed absoluteSeconds',
      ],
    ])('refuses %s', async (_, args, message) => {
      const result = await addInspector(...args);
      expect(result).toEqual({ code: 1, stdout: '', stderr: `error: ${message}\n` });
      expect(await registry().getClient('inspector')).toBeUndefined();
    });

    it('refuses an idle lifetime longer than the absolute one already stored', async () => {
      await addInspector('--refresh-token-absolute', '7d');
      const result = await cli('clients', 'update', 'inspector', '--refresh-token-idle', '8d');
      expect(result).toMatchObject({
        code: 1,
        stderr: 'error: --refresh-token-idle: must not exceed absoluteSeconds\n',
      });
      expect((await registry().getClient('inspector'))?.refreshTokens).toEqual({ absoluteSeconds: 7 * 86400 });
    });

    it('refuses them for a client without the refresh_token grant, and keeps them from outliving the grant', async () => {
      const refusal =
        'error: --refresh-token-idle, --refresh-token-absolute: refresh token lifetimes are used only by the ' +
        'refresh_token grant: add it to grantTypes\n';
      const jwtBearer = await cli('clients', 'add', 'agent', '--auth-method', 'none', '--refresh-token-idle', '1d');
      expect(jwtBearer).toMatchObject({ code: 1, stderr: refusal });
      expect(await registry().getClient('agent')).toBeUndefined();

      await addInspector('--refresh-token-idle', '1d');
      const withoutGrant = await cli('clients', 'update', 'inspector', '--grant-types', 'authorization_code');
      expect(withoutGrant).toMatchObject({ code: 1, stderr: refusal });
      const both = await cli(
        'clients',
        'update',
        'inspector',
        '--grant-types',
        'authorization_code',
        '--refresh-token-idle',
        '',
      );
      expect(both.stdout).toBe('~ client inspector: grantTypes, refreshTokens\n');
      expect((await cli('clients', 'show', 'inspector')).stdout).not.toContain('refresh tokens');
    });
  });

  describe('removing a tenant', () => {
    beforeEach(async () => {
      await cli('apply', '-f', file('registry.json', FILE));
    });

    it('removes its issuer trusts first, then the tenant', async () => {
      const removed = await cli('tenants', 'remove', 'acme');
      expect(removed.stdout).toBe(`- issuer ${OKTA} for tenant acme\n- tenant acme\n`);
      expect(await registry().trustsForIssuer(OKTA)).toEqual([]);
      expect((await cli('tenants', 'show', 'acme')).code).toBe(1);
    });

    it('is refused while a client names the tenant', async () => {
      const refused = await cli('tenants', 'remove', 'globex');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /^error: cannot remove tenant globex: client limited still names it in tenants; change that first \(/,
      );
      expect(refused.stderr).not.toContain('does not exist');
      expect(await registry().trustsForIssuer('https://globex.idp.example')).toHaveLength(1);
    });

    it('names every client that still names the tenant', async () => {
      await cli('clients', 'add', 'other', '--auth-method', 'none', '--tenants', 'globex,acme');
      const refused = await cli('tenants', 'remove', 'globex');
      expect(refused.stderr).toContain('cannot remove tenant globex: clients limited, other still name it in tenants');
    });

    it('finishes a removal that was interrupted after the issuers were removed', async () => {
      const table = new RegistryTable({ client, tableName });
      await table.write({
        action: 'delete',
        ref: { kind: 'issuer', tenantId: 'acme', issuer: OKTA },
        previousVersion: 1,
      });
      expect((await cli('tenants', 'remove', 'acme')).stdout).toBe('- tenant acme\n');
      expect((await cli('tenants', 'remove', 'acme')).stderr).toBe('error: unknown tenant acme\n');
    });

    it('removes issuer trusts left behind without their tenant', async () => {
      const table = new RegistryTable({ client, tableName });
      await table.write({ action: 'delete', ref: { kind: 'tenant', tenantId: 'acme' }, previousVersion: 1 });
      expect((await cli('tenants', 'remove', 'acme')).stdout).toBe(`- issuer ${OKTA} for tenant acme\n`);
      expect((await new RegistryTable({ client, tableName }).loadState()).trusts).toHaveLength(1);
    });
  });

  describe('bad input: a clear message on stderr and exit code 1', () => {
    it.each<[string, string[], RegExp]>([
      [
        'an http issuer outside loopback',
        ['issuers', 'add', 'http://idp.example', '--tenant', 'acme'],
        /^error: <issuer>: must use https/,
      ],
      [
        'an invalid issuer URL',
        ['issuers', 'add', 'not a url', '--tenant', 'acme'],
        /^error: <issuer>: must be an absolute URL/,
      ],
      ['an unknown tenant', ['issuers', 'add', OKTA, '--tenant', 'nope'], /^error: unknown tenant nope\n$/],
      ['an issuer without --tenant', ['issuers', 'add', OKTA], /--tenant <tenant-id> is required/],
      [
        'a weak algorithm',
        ['issuers', 'add', OKTA, '--tenant', 'acme', '--algorithms', 'HS256'],
        /--algorithms\.0: HS256 is not allowed/,
      ],
      [
        'a lifetime that is not a number',
        ['issuers', 'add', OKTA, '--tenant', 'acme', '--max-assertion-lifetime-seconds', '5m'],
        /--max-assertion-lifetime-seconds: must be a number/,
      ],
      ['an unknown client', ['clients', 'show', 'nobody'], /^error: unknown client nobody\n$/],
      [
        'a client naming an unknown tenant',
        ['clients', 'add', 'c', '--tenants', 'initech'],
        /^error: unknown tenant initech\n$/,
      ],
      ['an invalid tenant id', ['tenants', 'add', 'Acme Corp'], /^error: <tenant-id>: must be 1-63 lowercase/],
      ['a duplicate tenant', ['tenants', 'add', 'acme'], /tenant acme already exists \(use tenants update\)/],
      [
        'an auth method change',
        ['clients', 'update', 'claude', '--auth-method', 'none'],
        /--auth-method cannot change/,
      ],
      ['conflicting flags', ['tenants', 'update', 'acme', '--enable', '--disable'], /--enable and --disable conflict/],
      ['an unknown command', ['tenant', 'list'], /unknown command tenant/],
      ['an unknown subcommand', ['tenants', 'rename'], /unknown command tenants rename/],
      [
        'an unknown flag, in one line',
        ['tenants', 'list', '--colour'],
        /^error: unknown option --colour; see id-jag-admin tenants list --help\n$/,
      ],
      [
        'an unknown flag before the command',
        ['--colour', 'tenants', 'list'],
        /^error: unknown option --colour; see id-jag-admin --help\n$/,
      ],
      [
        'a flag without its value',
        ['tenants', 'list', '--table'],
        /^error: --table needs a value; see id-jag-admin tenants list --help\n$/,
      ],
      [
        'a value on a switch',
        ['tenants', 'list', '--json=yes'],
        /^error: --json takes no value; see id-jag-admin tenants list --help\n$/,
      ],
      [
        'private_key_jwt without keys, in flags',
        ['clients', 'add', 'keyless', '--auth-method', 'private_key_jwt'],
        /^error: --auth-method private_key_jwt needs the client public keys: --jwks-uri or --jwks-file\n$/,
      ],
      [
        'keys on a client that is not private_key_jwt, in flags',
        ['clients', 'add', 'keyed', '--jwks-uri', 'https://keys.example/jwks'],
        /only private_key_jwt clients have keys \(--jwks-uri, --jwks-file\)\n$/,
      ],
      ['a missing argument', ['tenants', 'show'], /usage: id-jag-admin tenants show <tenant-id> \[options\]/],
      ['a missing file', ['apply'], /-f <file\.json> is required/],
      ['--dry-run on a read', ['tenants', 'list', '--dry-run'], /--dry-run is for commands that write/],
      [
        'a file that does not exist',
        ['apply', '-f', '/nonexistent/registry.json'],
        /cannot read \/nonexistent\/registry\.json/,
      ],
    ])('%s', async (_, args, expected) => {
      await cli('tenants', 'add', 'acme');
      await cli('clients', 'add', 'claude');
      const result = await cli(...args);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(expected);
    });

    it('refuses a plain secret without echoing it', async () => {
      const result = await cli('clients', 'add', 'claude', '--secret', 'hunter2-hunter2-hunter2');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('--secret: plain secrets are not accepted');
      expect(result.stderr).not.toContain('hunter2');
    });

    it('reports malformed JSON and invalid fields with the file and the path of the problem', async () => {
      const syntax = await cli('apply', '-f', file('broken.json', '{"tenants": [}'));
      expect(syntax.code).toBe(1);
      expect(syntax.stderr).toMatch(/^error: invalid .*broken\.json:\n {2}- not valid JSON: /);
      const invalid = structuredClone(FILE);
      invalid.tenants[0]!.issuers[0]!.issuer = 'http://acme.okta.example';
      const fields = await cli('apply', '-f', file('invalid.json', invalid));
      expect(fields.code).toBe(1);
      expect(fields.stderr).toContain('- tenants.0.issuers.0.issuer: must use https');
      expect((await cli('tenants', 'list', '--json')).stdout).toBe('[]\n');
    });

    it('refuses a file whose result would be ambiguous with registrations the table keeps', async () => {
      await cli('tenants', 'add', 'acme');
      expect((await cli('issuers', 'add', OKTA, '--tenant', 'acme')).code).toBe(0);
      const other = file('other.json', { tenants: [{ id: 'other', issuers: [{ issuer: OKTA }] }] });
      const refused = await cli('apply', '-f', other);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('must require a different tenantClaim');
    });

    it('asks for a table when none is given', async () => {
      const result = await run(['tenants', 'list', '--endpoint', dynamo.endpoint]);
      expect(result).toMatchObject({ code: 1, stderr: 'error: no table: pass --table <name> or set TABLE_NAME\n' });
      const fromEnv = await run(['tenants', 'list', '--endpoint', dynamo.endpoint], undefined, {
        TABLE_NAME: tableName,
      });
      expect(fromEnv.code).toBe(0);
    });

    it('creates tables in local mode only', async () => {
      const result = await run(['init-table', '--table', 'x', '--region', 'us-east-1']);
      expect(result).toMatchObject({ code: 1, stderr: expect.stringContaining('local mode only') });
    });
  });

  describe('addresses the deployed server would refuse to fetch from', () => {
    /** Outside local mode (an endpoint that is not loopback): the refusal comes before any call to AWS. */
    const remote = (...args: string[]) =>
      run([...args, '--endpoint', 'https://dynamodb.invalid', '--table', 'x', '--region', 'us-east-1']);

    it.each([
      ['https://10.0.0.1'],
      ['https://127.0.0.1'],
      ['https://[::1]'],
      ['https://169.254.169.254'],
      ['https://localhost'],
      ['https://[::ffff:192.168.1.1]'],
    ])('refuses the issuer %s outside local mode, saying the fetcher would', async (issuer) => {
      const result = await remote('issuers', 'add', issuer, '--tenant', 'acme');
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^error: <issuer>: \S+ is a loopback or private address: the server's fetcher refuses/,
      );
    });

    it('refuses private key URLs of issuers and clients, and connection issuers', async () => {
      const jwks = await remote('issuers', 'add', OKTA, '--tenant', 'acme', '--jwks-uri', 'https://192.168.0.5/keys');
      expect(jwks.stderr).toMatch(/^error: --jwks-uri: 192\.168\.0\.5 is a loopback or private address/);
      const clientKeys = await remote(
        'clients',
        'add',
        'k',
        '--auth-method',
        'private_key_jwt',
        '--jwks-uri',
        'https://[fd00::1]/k',
      );
      expect(clientKeys.stderr).toMatch(/^error: --jwks-uri: \[fd00::1\] is a loopback or private address/);
      const connection = await remote(
        'connections',
        'set',
        'acme',
        '--issuer',
        'https://10.1.2.3',
        '--client-id',
        'c',
        '--secrets-manager',
        'acme-oidc',
      );
      expect(connection.stderr).toMatch(/^error: --issuer: 10\.1\.2\.3 is a loopback or private address/);
    });

    it('refuses them in a file too, by their path', async () => {
      const config = structuredClone(FILE);
      (config.tenants[0]!.issuers[0] as { jwksUri: string }).jwksUri = 'https://127.0.0.1/keys';
      const result = await remote('apply', '-f', file('private.json', config));
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^error: tenants\.0\.issuers\.0\.jwksUri: 127\.0\.0\.1 is a loopback or private/);
    });

    it('accepts public addresses and host names (resolved only when the server fetches)', () => {
      expect(privateHostProblem('https://93.184.215.14')).toBeUndefined();
      expect(privateHostProblem('https://[2606:4700::1111]/keys')).toBeUndefined();
      expect(privateHostProblem('https://idp.internal.example')).toBeUndefined();
      expect(privateHostProblem('https://idp.localhost')).toBeDefined();
    });

    it('accepts them in local mode', async () => {
      await cli('tenants', 'add', 'acme');
      const result = await cli('issuers', 'add', 'https://127.0.0.1:8443', '--tenant', 'acme');
      expect(result).toMatchObject({ code: 0, stderr: '' });
    });
  });

  describe('store failures: exit code 2', () => {
    it('says how to give the region when none is configured', async () => {
      const names = ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_CONFIG_FILE', 'AWS_PROFILE'] as const;
      const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
      for (const name of names) delete process.env[name];
      process.env.AWS_CONFIG_FILE = '/nonexistent';
      try {
        const result = await run(['tenants', 'list', '--table', 'x']);
        expect(result.code).toBe(2);
        expect(result.stderr).toBe(
          'error: Region is missing: set AWS_REGION or pass --region, or use --local for the local server\n',
        );
      } finally {
        for (const [name, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
    });

    it('reports a missing table with a hint', async () => {
      const result = await run(['tenants', 'list', '--endpoint', dynamo.endpoint, '--table', 'missing-table']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^error: ResourceNotFoundException: .*init-table/);
    });
  });

  describe('--version', () => {
    it("prints the package's version and exits 0", async () => {
      const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
      expect(await run(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
      expect((await run(['--help'])).stdout).toContain('id-jag-admin --version prints the version.');
    });
  });

  describe('hash-secret', () => {
    it('hashes a secret read from stdin, without the trailing newline', async () => {
      const secret = 'r'.repeat(40);
      const result = await run(['hash-secret'], `${secret}\n`);
      expect(result.code).toBe(0);
      const hash = result.stdout.trim();
      expect(isSecretHash(hash)).toBe(true);
      expect(verifyClientSecret(secret, [{ hash }], NOW)).toBe(true);
      expect(result.stdout).not.toContain(secret);
    });

    it('refuses a short secret and empty input', async () => {
      expect(await run(['hash-secret'], 'short\n')).toMatchObject({
        code: 1,
        stderr: expect.stringContaining('too short'),
      });
      expect(await run(['hash-secret'], '')).toMatchObject({ code: 1, stderr: 'error: no secret on stdin\n' });
    });

    it('generates a secret and its hash with --generate, and gives JSON with --json', async () => {
      const result = JSON.parse((await run(['hash-secret', '--generate', '--json'])).stdout);
      expect(verifyClientSecret(result.secret, [{ hash: result.secretHash }], NOW)).toBe(true);
    });
  });

  describe('help', () => {
    it('describes every command, and each command its options', async () => {
      const overview = await run(['--help']);
      expect(overview.code).toBe(0);
      for (const command of [
        'tenants add',
        'issuers update',
        'connections set',
        'connections remove',
        'clients rotate-secret',
        'apply',
        'hash-secret',
        'init-table',
      ]) {
        expect(overview.stdout).toContain(`  ${command}`);
      }
      const add = await run(['issuers', 'add', '--help']);
      expect(add.code).toBe(0);
      expect(add.stdout).toContain('Usage: id-jag-admin issuers add <issuer> [options]');
      expect(add.stdout).toContain('--jwks-uri <url>');
      expect(add.stdout).toContain('--dry-run');
      expect((await run(['clients', '--help'])).stdout).toContain('clients rotate-secret <client-id>');
      expect((await run(['connections', '--help'])).stdout).toContain('connections update <tenant-id>');
      expect((await run(['clients', 'add', '--help'])).stdout).toContain('--redirect-uri <uri> (repeatable)');
      expect((await run(['connections', 'set', '--help'])).stdout).toContain('--secrets-manager <arn-or-name>');
      expect((await run([])).code).toBe(1);
    });
  });
});
