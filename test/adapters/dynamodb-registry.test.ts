import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { RegistryTable, writeChanges } from '../../lambda/adapters/dynamodb/admin-store';
import { toItem } from '../../lambda/adapters/dynamodb/attributes';
import { entityItem } from '../../lambda/adapters/dynamodb/items';
import { DynamoRegistry, type DynamoRegistryOptions } from '../../lambda/adapters/dynamodb/registry';
import type { Change } from '../../lambda/config/plan';
import { parseRegistryConfig, toTenant } from '../../lambda/config/schema';
import type { Entity } from '../../lambda/config/state';
import { TemporarilyUnavailableError } from '../../lambda/core/errors';
import {
  AUTHORIZATION_CODE_GRANT_TYPE,
  type Client,
  type Connection,
  type IssuerTrust,
  JWT_BEARER_GRANT_TYPE,
  MAX_ISSUER_BYTES,
  REFRESH_TOKEN_GRANT_TYPE,
  type Tenant,
} from '../../lambda/core/model';
import { hashClientSecret } from '../../lambda/core/secrets';
import { type LocalDynamo, localDynamoForFile } from '../support/dynalite';

const ACME: Tenant = { id: 'acme', displayName: 'Acme', enabled: true };
const GLOBEX: Tenant = { id: 'globex', enabled: true };
const OKTA = 'https://acme.okta.example';
const SHARED = 'https://login.shared.example';

const trust = (fields: Partial<IssuerTrust> & Pick<IssuerTrust, 'tenantId' | 'issuer'>): IssuerTrust => ({
  jwksUri: `${fields.issuer}/keys`,
  algorithms: ['RS256', 'ES256'],
  maxAssertionLifetimeSeconds: 300,
  enabled: true,
  ...fields,
});

const CLAUDE: Client = {
  clientId: 'claude',
  authMethod: 'client_secret_basic',
  secrets: [{ hash: hashClientSecret('s'.repeat(43)) }, { hash: hashClientSecret('o'.repeat(43)), notAfter: 1_900 }],
  grantTypes: [JWT_BEARER_GRANT_TYPE],
  scopes: ['files:read'],
  tenants: ['acme'],
  enabled: true,
};

const KEYED: Client = {
  clientId: 'keyed',
  authMethod: 'private_key_jwt',
  secrets: [],
  jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'eA', y: 'eQ', kid: 'k1', key_ops: ['verify'] }] },
  grantTypes: [JWT_BEARER_GRANT_TYPE],
  tenants: ['*'],
  enabled: true,
};

const INTERACTIVE: Client = {
  clientId: 'inspector',
  authMethod: 'none',
  secrets: [],
  grantTypes: [AUTHORIZATION_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE],
  tenants: ['*'],
  enabled: true,
  redirectUris: ['http://127.0.0.1/callback', 'com.example.inspector:/cb'],
  firstParty: true,
};

const ACME_CONNECTION: Connection = {
  tenantId: 'acme',
  issuer: OKTA,
  clientId: 'mcp-acme',
  authMethod: 'client_secret_basic',
  clientSecretRef: 'secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-AbCdEf',
  scopes: ['openid', 'email', 'profile'],
  domains: ['acme.com', 'acme.co.uk'],
  isDefault: false,
  enabled: true,
};

const GLOBEX_CONNECTION: Connection = {
  tenantId: 'globex',
  issuer: 'https://login.globex.example',
  clientId: 'mcp-globex',
  authMethod: 'none',
  scopes: ['openid'],
  domains: [],
  isDefault: true,
  enabled: false,
};

/** The DynamoDB registry against dynalite, through the real SDK client. */
describe('DynamoRegistry', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  let tableName: string;
  let table: RegistryTable;
  let nowMs: number;
  let reports: string[];

  const local = localDynamoForFile();
  beforeEach(async () => {
    ({ dynamo, client } = local);
    tableName = await dynamo.createTable(client);
    table = new RegistryTable({ client, tableName });
    nowMs = 1_000_000;
    reports = [];
  });

  const registry = (options: Partial<DynamoRegistryOptions> = {}) =>
    new DynamoRegistry({
      client,
      tableName,
      nowMs: () => nowMs,
      onInvalidItem: (description) => reports.push(description),
      ...options,
    });

  async function seed(...entities: Entity[]) {
    const changes: Change[] = entities.map((entity) => ({ action: 'create', entity, fields: [] }));
    const result = await writeChanges(table, changes);
    if (result.error) throw result.error;
  }

  /** A client of the same dynalite that is throttled for as long as `throttling.on`. */
  function flakyClient(throttling: { on: boolean }): DynamoDBClient {
    const flaky = dynamo.client();
    flaky.middlewareStack.add(
      (next) => (args) => {
        if (throttling.on) throw Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
        return next(args);
      },
      { step: 'initialize' },
    );
    return flaky;
  }

  /** A client of the same dynalite that records the name of every command it sends. */
  const countingClient = () => dynamo.recordingClient(tableName);

  const putRaw = (record: Parameters<typeof toItem>[0]) =>
    client.send(new PutItemCommand({ TableName: tableName, Item: toItem(record) }));

  it('resolves every trust of an issuer with its tenant, exactly as written', async () => {
    const acmeTrust = trust({ tenantId: 'acme', issuer: SHARED, tenantClaim: 'acme', notAfter: 2_000_000_000 });
    // Without jwksUri: keys are discovered from the issuer's metadata.
    const { jwksUri: _, ...globexTrust } = trust({ tenantId: 'globex', issuer: SHARED, tenantClaim: 'globex' });
    await seed(
      { kind: 'tenant', value: ACME },
      { kind: 'tenant', value: GLOBEX },
      { kind: 'issuer', value: acmeTrust },
      { kind: 'issuer', value: globexTrust },
      { kind: 'issuer', value: trust({ tenantId: 'acme', issuer: OKTA }) },
    );
    const found = await registry().trustsForIssuer(SHARED);
    expect([...found].sort((a, b) => a.tenant.id.localeCompare(b.tenant.id))).toEqual([
      { trust: acmeTrust, tenant: ACME },
      { trust: globexTrust, tenant: GLOBEX },
    ]);
    expect(reports).toEqual([]);
  });

  it("asks again at once for an issuer's tenants DynamoDB left unprocessed, and answers 503 when it keeps doing so", async () => {
    const ids = ['t1', 't2', 't3', 't4'];
    await seed(
      ...ids.map((id): Entity => ({ kind: 'tenant', value: { id, enabled: true } })),
      ...ids.map((id): Entity => ({ kind: 'issuer', value: trust({ tenantId: id, issuer: SHARED, tenantClaim: id }) })),
    );
    // Half the keys in the first answer, the rest in the second; then one key per answer, too few for four keys.
    const twice = dynamo.recordingClient(tableName, (call, keys) => (call === 0 ? keys.length / 2 : keys.length));
    const slowly = dynamo.recordingClient(tableName, () => 1);
    try {
      expect(
        (await registry({ client: twice.client }).trustsForIssuer(SHARED)).map((found) => found.tenant.id).sort(),
      ).toEqual(ids);
      expect(twice.sent.filter((name) => name === 'BatchGetItemCommand')).toHaveLength(2);
      await expect(registry({ client: slowly.client }).trustsForIssuer(SHARED)).rejects.toThrow(
        TemporarilyUnavailableError,
      );
      // Three requests, the registry's attempts (the token path asks again without waiting).
      expect(slowly.sent.filter((name) => name === 'BatchGetItemCommand')).toHaveLength(3);
    } finally {
      twice.client.destroy();
      slowly.client.destroy();
    }
  });

  it('returns disabled trusts and disabled tenants too, for the core to reject', async () => {
    await seed(
      { kind: 'tenant', value: { ...ACME, enabled: false } },
      { kind: 'issuer', value: trust({ tenantId: 'acme', issuer: OKTA, enabled: false }) },
    );
    const [found] = await registry().trustsForIssuer(OKTA);
    expect(found?.tenant.enabled).toBe(false);
    expect(found?.trust.enabled).toBe(false);
  });

  it('compares the issuer exactly: no trailing-slash or case normalisation', async () => {
    await seed({ kind: 'tenant', value: ACME }, { kind: 'issuer', value: trust({ tenantId: 'acme', issuer: OKTA }) });
    const r = registry();
    expect(await r.trustsForIssuer(`${OKTA}/`)).toEqual([]);
    expect(await r.trustsForIssuer(OKTA.toUpperCase())).toEqual([]);
    expect(await r.trustsForIssuer('https://unknown.example')).toEqual([]);
    expect(await r.trustsForIssuer(OKTA)).toHaveLength(1);
  });

  it('answers an absurdly long issuer with no trust, without asking DynamoDB (it would refuse the key)', async () => {
    expect(await registry().trustsForIssuer(`https://x.example/${'a'.repeat(5000)}`)).toEqual([]);
  });

  it('answers an issuer or client_id that is not well-formed Unicode, or too long in UTF-8 bytes only, without asking DynamoDB', async () => {
    const { client: counting, sent } = countingClient();
    try {
      const r = registry({ client: counting });
      // A lone surrogate has no UTF-8 form: real DynamoDB answers ValidationException, which would be a 500.
      expect(await r.trustsForIssuer('https://x.example/\ud800')).toEqual([]);
      expect(await r.getClient('client-\udfff')).toBeUndefined();
      // 450 two-byte characters: 900 characters would pass a character count, 1,800 bytes do not fit the index key.
      expect(await r.trustsForIssuer(`https://x.example/${'é'.repeat(450)}`)).toEqual([]);
      expect(await r.getClient('é'.repeat(129))).toBeUndefined();
      expect(sent).toEqual([]);
      // A well-formed one of the same shape is looked up.
      expect(await r.trustsForIssuer('https://x.example/é')).toEqual([]);
      expect(sent).toEqual(['QueryCommand']);
    } finally {
      counting.destroy();
    }
  });

  it('stores and resolves a registration at the largest sizes the schema allows (tenant id and issuer in one index key)', async () => {
    const tenantId = `t${'0'.repeat(62)}`;
    const issuer = `https://x.example/${'é'.repeat((MAX_ISSUER_BYTES - 'https://x.example/'.length) / 2)}`;
    expect(Buffer.byteLength(issuer)).toBe(MAX_ISSUER_BYTES);
    const config = parseRegistryConfig({ tenants: [{ id: tenantId, issuers: [{ issuer }] }] });
    await seed(
      { kind: 'tenant', value: toTenant(config.tenants[0]!) },
      { kind: 'issuer', value: trust({ tenantId, issuer }) },
    );
    expect(await registry().trustsForIssuer(issuer)).toEqual([
      expect.objectContaining({ tenant: expect.objectContaining({ id: tenantId }) }),
    ]);
  });

  it('drops a trust whose tenant item is missing (an interrupted removal) and reports it', async () => {
    await seed({ kind: 'issuer', value: trust({ tenantId: 'ghost', issuer: OKTA }) });
    expect(await registry().trustsForIssuer(OKTA)).toEqual([]);
    expect(reports).toEqual([expect.stringContaining('missing tenant ghost')]);
  });

  it('gets a client with all its fields, and undefined for an unknown one', async () => {
    await seed({ kind: 'client', value: CLAUDE }, { kind: 'client', value: KEYED });
    const r = registry();
    expect(await r.getClient('claude')).toEqual(CLAUDE);
    expect(await r.getClient('keyed')).toEqual(KEYED);
    expect(await r.getClient('nobody')).toBeUndefined();
    expect(await r.getClient('')).toBeUndefined();
    expect(await r.getClient('x'.repeat(300))).toBeUndefined();
  });

  it('gets a client with its redirect URIs and first-party flag, exactly as written', async () => {
    await seed({ kind: 'client', value: INTERACTIVE });
    expect(await registry().getClient('inspector')).toEqual(INTERACTIVE);
  });

  it('gets a client with its own refresh token lifetimes, either or both, exactly as written', async () => {
    const both = { ...INTERACTIVE, refreshTokens: { idleSeconds: 3600, absoluteSeconds: 86400 } };
    const idleOnly = { ...INTERACTIVE, clientId: 'idle-only', refreshTokens: { idleSeconds: 7200 } };
    await seed({ kind: 'client', value: both }, { kind: 'client', value: idleOnly });
    expect(await registry().getClient('inspector')).toEqual(both);
    expect(await registry().getClient('idle-only')).toEqual(idleOnly);
    expect(reports).toEqual([]);
  });

  describe('tenants', () => {
    it('gets a tenant, enabled or not, and undefined for an unknown one', async () => {
      await seed({ kind: 'tenant', value: ACME }, { kind: 'tenant', value: { ...GLOBEX, enabled: false } });
      const r = registry();
      expect(await r.getTenant('acme')).toEqual(ACME);
      expect(await r.getTenant('globex')).toEqual({ ...GLOBEX, enabled: false });
      expect(await r.getTenant('initech')).toBeUndefined();
    });

    it('answers a tenant id that could not be a key (empty, too long, malformed) without asking DynamoDB', async () => {
      const { client: counting, sent } = countingClient();
      try {
        const r = registry({ client: counting });
        expect(await r.getTenant('')).toBeUndefined();
        expect(await r.getTenant('t'.repeat(64))).toBeUndefined();
        expect(await r.getTenant('\ud800')).toBeUndefined();
        expect(sent).toEqual([]);
      } finally {
        counting.destroy();
      }
    });

    it('treats a malformed tenant item as absent and reports it', async () => {
      await putRaw({ pk: 'TENANT#acme', sk: 'TENANT', type: 'tenant', tenantId: 'acme', enabled: 'yes' });
      expect(await registry().getTenant('acme')).toBeUndefined();
      expect(reports).toEqual([expect.stringContaining('pk=TENANT#acme')]);
    });

    it('caches a tenant, and "not found", for the cache time', async () => {
      await seed({ kind: 'tenant', value: ACME });
      const r = registry({ cacheMaxAgeMs: 30_000 });
      expect(await r.getTenant('acme')).toEqual(ACME);
      expect(await r.getTenant('globex')).toBeUndefined();
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: entityItem({ kind: 'tenant', value: { ...ACME, enabled: false } }, 2),
        }),
      );
      await seed({ kind: 'tenant', value: GLOBEX });
      nowMs += 29_999;
      expect(await r.getTenant('acme')).toEqual(ACME);
      expect(await r.getTenant('globex')).toBeUndefined();
      nowMs += 1;
      expect(await r.getTenant('acme')).toEqual({ ...ACME, enabled: false });
      expect(await r.getTenant('globex')).toEqual(GLOBEX);
    });
  });

  describe('connections', () => {
    it('lists every connection, enabled or not, exactly as written, with one Query on the index', async () => {
      await seed(
        { kind: 'tenant', value: ACME },
        { kind: 'tenant', value: GLOBEX },
        { kind: 'connection', value: ACME_CONNECTION },
        { kind: 'connection', value: GLOBEX_CONNECTION },
        // Other registrations share the table, not the index partition.
        { kind: 'client', value: INTERACTIVE },
        { kind: 'issuer', value: trust({ tenantId: 'acme', issuer: OKTA }) },
      );
      const { client: counting, sent } = countingClient();
      try {
        const found = await registry({ client: counting }).connections();
        expect([...found].sort((a, b) => a.tenantId.localeCompare(b.tenantId))).toEqual([
          ACME_CONNECTION,
          GLOBEX_CONNECTION,
        ]);
        expect(sent).toEqual(['QueryCommand']);
      } finally {
        counting.destroy();
      }
      expect(reports).toEqual([]);
    });

    it('answers an empty list when there are none', async () => {
      await seed({ kind: 'tenant', value: ACME });
      expect(await registry().connections()).toEqual([]);
    });

    it('reads every page of the index', async () => {
      const tenants = Array.from({ length: 30 }, (_, n) => `t${n}`);
      const padding = 'x'.repeat(40_000);
      for (const tenantId of tenants) {
        // Large items, so that the 1 MB page limit splits the Query.
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: {
              ...entityItem({ kind: 'connection', value: { ...ACME_CONNECTION, tenantId } }, 1),
              pad: { S: padding },
            },
          }),
        );
      }
      const { client: counting, sent } = countingClient();
      try {
        expect((await registry({ client: counting }).connections()).map((c) => c.tenantId).sort()).toEqual(
          [...tenants].sort(),
        );
        expect(sent.length).toBeGreaterThan(1);
      } finally {
        counting.destroy();
      }
    });

    it('shares one Query between concurrent callers and caches the list for the cache time', async () => {
      await seed({ kind: 'connection', value: ACME_CONNECTION });
      const { client: counting, sent } = countingClient();
      try {
        const r = new DynamoRegistry({ client: counting, tableName, nowMs: () => nowMs, cacheMaxAgeMs: 30_000 });
        const lists = await Promise.all(Array.from({ length: 10 }, () => r.connections()));
        expect(new Set(lists).size).toBe(1);
        await seed({ kind: 'connection', value: GLOBEX_CONNECTION });
        nowMs += 29_999;
        expect(await r.connections()).toHaveLength(1);
        expect(sent).toEqual(['QueryCommand']);
        nowMs += 1;
        expect(await r.connections()).toHaveLength(2);
        expect(sent).toEqual(['QueryCommand', 'QueryCommand']);
      } finally {
        counting.destroy();
      }
    });

    it('does not cache a failure', async () => {
      const throttling = { on: true };
      const flaky = flakyClient(throttling);
      try {
        await seed({ kind: 'connection', value: ACME_CONNECTION });
        const r = new DynamoRegistry({ client: flaky, tableName, nowMs: () => nowMs });
        await expect(r.connections()).rejects.toBeInstanceOf(TemporarilyUnavailableError);
        throttling.on = false;
        expect(await r.connections()).toEqual([ACME_CONNECTION]);
      } finally {
        flaky.destroy();
      }
    });

    it.each<[string, Record<string, unknown>]>([
      ['scopes without openid', { scopes: { L: [{ S: 'email' }] } }],
      ['an unknown auth method', { authMethod: { S: 'private_key_jwt' } }],
      ['a secret method without a secret reference', { clientSecretRef: undefined }],
      ['a plain secret where the reference belongs', { clientSecretRef: { S: 'hunter2-upstream-secret' } }],
      ['a file reference that escapes the data directory', { clientSecretRef: { S: 'file:../../etc/passwd' } }],
      ['a domain in upper case', { domains: { L: [{ S: 'ACME.com' }] } }],
      ['isDefault stored as a string', { isDefault: { S: 'false' } }],
      ['no enabled attribute', { enabled: undefined }],
      ['a tenantId that differs from its key', { tenantId: { S: 'globex' } }],
    ])('ignores and reports a connection item with %s, never quoting its values', async (_, patch) => {
      const item: Record<string, unknown> = {
        ...entityItem({ kind: 'connection', value: ACME_CONNECTION }, 1),
        ...patch,
      };
      for (const [name, value] of Object.entries(item)) if (value === undefined) delete item[name];
      await client.send(new PutItemCommand({ TableName: tableName, Item: item as never }));
      await seed({ kind: 'connection', value: GLOBEX_CONNECTION });
      expect(await registry().connections()).toEqual([GLOBEX_CONNECTION]);
      expect(reports).toEqual([expect.stringContaining('pk=CONNECTION#acme')]);
      expect(reports[0]).not.toContain('hunter2');
      expect(reports[0]).not.toContain('passwd');
    });

    it('ignores a public connection item that carries a secret reference', async () => {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            ...entityItem({ kind: 'connection', value: GLOBEX_CONNECTION }, 1),
            clientSecretRef: { S: 'secretsmanager:globex' },
          },
        }),
      );
      expect(await registry().connections()).toEqual([]);
      expect(reports).toEqual([expect.stringContaining('clientSecretRef')]);
    });
  });

  describe('malformed items are treated as absent and reported by key only', () => {
    it.each([
      ['an algorithm outside the asymmetric allowlist', { algorithms: { L: [{ S: 'HS256' }] } }],
      ['no enabled attribute', { enabled: undefined }],
      ['enabled stored as a string', { enabled: { S: 'true' } }],
      ['an issuer attribute that differs from its key', { issuer: { S: 'https://other.example' } }],
      ['no algorithms', { algorithms: { L: [] } }],
      ['a negative lifetime', { maxAssertionLifetimeSeconds: { N: '-5' } }],
    ])('an issuer trust with %s', async (_, patch) => {
      await seed({ kind: 'tenant', value: ACME });
      const item: Record<string, unknown> = {
        ...entityItem({ kind: 'issuer', value: trust({ tenantId: 'acme', issuer: OKTA }) }, 1),
        ...patch,
      };
      for (const [name, value] of Object.entries(item)) if (value === undefined) delete item[name];
      await client.send(new PutItemCommand({ TableName: tableName, Item: item as never }));
      expect(await registry().trustsForIssuer(OKTA)).toEqual([]);
      expect(reports).toHaveLength(1);
      expect(reports[0]).toContain(`pk=ISSUER#${OKTA}`);
    });

    it('a tenant without enabled makes its trusts absent', async () => {
      await seed({ kind: 'issuer', value: trust({ tenantId: 'acme', issuer: OKTA }) });
      await putRaw({ pk: 'TENANT#acme', sk: 'TENANT', type: 'tenant', tenantId: 'acme' });
      expect(await registry().trustsForIssuer(OKTA)).toEqual([]);
      expect(reports.some((report) => report.includes('pk=TENANT#acme') && report.includes('enabled'))).toBe(true);
    });

    it('a client whose secret is not a hash is absent, and the report never quotes the stored value', async () => {
      const plain = 'plain-secret-that-must-never-be-logged';
      await putRaw({
        pk: 'CLIENT#claude',
        sk: 'CLIENT',
        type: 'client',
        clientId: 'claude',
        authMethod: 'client_secret_basic',
        secrets: [{ hash: plain }],
        grantTypes: [JWT_BEARER_GRANT_TYPE],
        tenants: ['*'],
        enabled: true,
      });
      expect(await registry().getClient('claude')).toBeUndefined();
      expect(reports).toHaveLength(1);
      expect(reports[0]).toContain('pk=CLIENT#claude');
      expect(reports[0]).toContain('secrets.0.hash');
      expect(reports[0]).not.toContain(plain);
    });

    it('a client with an unknown auth method or missing tenants is absent', async () => {
      const item = entityItem({ kind: 'client', value: CLAUDE }, 1);
      await client.send(
        new PutItemCommand({ TableName: tableName, Item: { ...item, authMethod: { S: 'client_secret_jwt' } } }),
      );
      expect(await registry().getClient('claude')).toBeUndefined();
      const { tenants: _, ...withoutTenants } = entityItem({ kind: 'client', value: KEYED }, 1);
      await client.send(new PutItemCommand({ TableName: tableName, Item: withoutTenants }));
      expect(await registry().getClient('keyed')).toBeUndefined();
      expect(reports).toHaveLength(2);
    });

    it.each([
      ['an idle lifetime under the minimum', { M: { idleSeconds: { N: '0' } } }],
      ['an absolute lifetime over the maximum', { M: { absoluteSeconds: { N: String(400 * 86400) } } }],
      [
        'an idle lifetime longer than the absolute one',
        { M: { idleSeconds: { N: '7200' }, absoluteSeconds: { N: '3600' } } },
      ],
      ['a lifetime stored as a string', { M: { idleSeconds: { S: '3600' } } }],
      ['an unknown lifetime field', { M: { idle: { N: '3600' } } }],
    ])('a client with refresh token lifetimes with %s is absent', async (_, refreshTokens) => {
      const item = entityItem({ kind: 'client', value: INTERACTIVE }, 1);
      await client.send(new PutItemCommand({ TableName: tableName, Item: { ...item, refreshTokens } as never }));
      expect(await registry().getClient('inspector')).toBeUndefined();
      expect(reports).toEqual([expect.stringContaining('refreshTokens')]);
    });

    it('a client item stored under another client id is absent', async () => {
      const item = entityItem({ kind: 'client', value: CLAUDE }, 1);
      await client.send(new PutItemCommand({ TableName: tableName, Item: { ...item, pk: { S: 'CLIENT#mallory' } } }));
      expect(await registry().getClient('mallory')).toBeUndefined();
      expect(reports[0]).toContain('key does not match');
    });

    it('reports through console.warn by default', async () => {
      await putRaw({ pk: 'CLIENT#claude', sk: 'CLIENT', type: 'client', clientId: 'claude' });
      const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
      try {
        expect(await new DynamoRegistry({ client, tableName }).getClient('claude')).toBeUndefined();
        expect(warn).toHaveBeenCalledWith(expect.stringContaining('pk=CLIENT#claude'));
      } finally {
        warn.mockRestore();
      }
    });
  });

  describe('cache', () => {
    it('does not see a change within the cache time, and sees it after', async () => {
      await seed({ kind: 'tenant', value: ACME }, { kind: 'issuer', value: trust({ tenantId: 'acme', issuer: OKTA }) });
      const r = registry({ cacheMaxAgeMs: 30_000 });
      expect(await r.trustsForIssuer(OKTA)).toHaveLength(1);
      const disabled = trust({ tenantId: 'acme', issuer: OKTA, enabled: false });
      await client.send(
        new PutItemCommand({ TableName: tableName, Item: entityItem({ kind: 'issuer', value: disabled }, 2) }),
      );
      nowMs += 29_999;
      expect((await r.trustsForIssuer(OKTA))[0]?.trust.enabled).toBe(true);
      nowMs += 1;
      expect((await r.trustsForIssuer(OKTA))[0]?.trust.enabled).toBe(false);
    });

    it('caches "not found" too, for the same time', async () => {
      const r = registry({ cacheMaxAgeMs: 10_000 });
      expect(await r.getClient('claude')).toBeUndefined();
      await seed({ kind: 'client', value: CLAUDE });
      nowMs += 9_000;
      expect(await r.getClient('claude')).toBeUndefined();
      nowMs += 1_000;
      expect(await r.getClient('claude')).toEqual(CLAUDE);
    });

    it('with 0 reads every time', async () => {
      const r = registry({ cacheMaxAgeMs: 0 });
      expect(await r.getClient('claude')).toBeUndefined();
      await seed({ kind: 'client', value: CLAUDE });
      expect(await r.getClient('claude')).toEqual(CLAUDE);
    });

    it('shares one request between concurrent misses for the same key', async () => {
      await seed({ kind: 'tenant', value: ACME }, { kind: 'issuer', value: trust({ tenantId: 'acme', issuer: OKTA }) });
      const { client: counting, sent } = countingClient();
      try {
        const r = new DynamoRegistry({ client: counting, tableName, nowMs: () => nowMs });
        const results = await Promise.all(Array.from({ length: 20 }, () => r.trustsForIssuer(OKTA)));
        expect(new Set(results).size).toBe(1);
        await Promise.all(Array.from({ length: 20 }, () => r.getClient('nobody')));
        // One Query and one BatchGetItem for the issuer, one GetItem for the client.
        expect(sent.sort()).toEqual(['BatchGetItemCommand', 'GetItemCommand', 'QueryCommand']);
      } finally {
        counting.destroy();
      }
    });

    it('keeps at most maxCacheEntries answers, so unknown issuers cannot grow it without bound', async () => {
      const { client: counting, sent } = countingClient();
      try {
        const r = new DynamoRegistry({ client: counting, tableName, nowMs: () => nowMs, maxCacheEntries: 2 });
        for (const n of [1, 2, 3]) await r.trustsForIssuer(`https://spray${n}.example`);
        await r.trustsForIssuer('https://spray3.example');
        expect(sent).toHaveLength(3);
        await r.trustsForIssuer('https://spray1.example');
        expect(sent).toHaveLength(4);
      } finally {
        counting.destroy();
      }
    });

    it('does not cache a failure', async () => {
      const throttling = { on: true };
      const flaky = flakyClient(throttling);
      try {
        await seed({ kind: 'client', value: CLAUDE });
        const r = new DynamoRegistry({ client: flaky, tableName, nowMs: () => nowMs });
        await expect(r.getClient('claude')).rejects.toBeInstanceOf(TemporarilyUnavailableError);
        throttling.on = false;
        expect(await r.getClient('claude')).toEqual(CLAUDE);
      } finally {
        flaky.destroy();
      }
    });
  });

  describe('error mapping', () => {
    function failingClient(error: Record<string, unknown>): DynamoDBClient {
      const failing = dynamo.client();
      failing.middlewareStack.add(
        () => () => {
          throw Object.assign(new Error(String(error.name)), error);
        },
        { step: 'initialize' },
      );
      return failing;
    }

    it.each([
      [{ name: 'ThrottlingException', $fault: 'client' }],
      [{ name: 'ProvisionedThroughputExceededException', $fault: 'client' }],
      [{ name: 'RequestLimitExceeded', $fault: 'client' }],
      [{ name: 'InternalServerError', $fault: 'server' }],
      [{ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }],
    ])('maps %o to temporarily_unavailable', async (error) => {
      const failing = failingClient(error);
      try {
        const r = new DynamoRegistry({ client: failing, tableName });
        await expect(r.getClient('claude')).rejects.toBeInstanceOf(TemporarilyUnavailableError);
        await expect(r.trustsForIssuer(OKTA)).rejects.toMatchObject({
          error: 'temporarily_unavailable',
          reason: `dynamodb ${error.name}`,
        });
      } finally {
        failing.destroy();
      }
    });

    it('lets other errors through unchanged (the core answers server_error)', async () => {
      const failing = failingClient({ name: 'ValidationException', $fault: 'client' });
      try {
        await expect(new DynamoRegistry({ client: failing, tableName }).getClient('claude')).rejects.toMatchObject({
          name: 'ValidationException',
        });
      } finally {
        failing.destroy();
      }
    });

    it('a missing table is a ResourceNotFoundException, not a temporary failure', async () => {
      const r = new DynamoRegistry({ client, tableName: 'no-such-table' });
      await expect(r.getClient('claude')).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
      await expect(r.getClient('claude')).rejects.not.toBeInstanceOf(TemporarilyUnavailableError);
    });
  });
});
