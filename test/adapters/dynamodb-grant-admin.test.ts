import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { toItem } from '../../lambda/adapters/dynamodb/attributes';
import { GrantAdmin } from '../../lambda/adapters/dynamodb/grant-admin';
import { DynamoGrantStore } from '../../lambda/adapters/dynamodb/grant-store';
import { userGrantsPartition } from '../../lambda/adapters/dynamodb/items';
import { subjectIdentifier } from '../../lambda/core/identity';
import type { UserGrant } from '../../lambda/core/ports';
import { type LocalDynamo, localDynamoForFile } from '../support/dynalite';

const NOW = 1_800_000_000;
const IDP = 'https://login.acme.example';

const userGrant = (grantId: string, fields: Partial<UserGrant> = {}): UserGrant => ({
  grantId,
  clientId: 'inspector',
  tenantId: 'acme',
  idpIssuer: IDP,
  idpSubject: '00u-alice',
  subject: subjectIdentifier({ tenant: 'acme', issuer: IDP, subject: '00u-alice' }),
  email: 'alice@acme.example',
  resource: 'https://mcp.example.com/mcp',
  scopes: ['files:read'],
  createdAt: NOW,
  expiresAt: NOW + 90 * 86400,
  ...fields,
});

/** Listing grants for operators against dynalite: every page of the index, grant items read in batches of 100. */
describe('GrantAdmin', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  let tableName: string;
  let store: DynamoGrantStore;

  const local = localDynamoForFile();
  beforeEach(async () => {
    ({ dynamo, client } = local);
    tableName = await dynamo.createTable(client);
    store = new DynamoGrantStore({ client, tableName });
  });

  /** Stores grants as the server does (grant item, by-client item, first refresh token), a few at a time. */
  async function create(grants: readonly UserGrant[]): Promise<void> {
    for (let start = 0; start < grants.length; start += 25) {
      await Promise.all(
        grants.slice(start, start + 25).map(async (grant) => {
          const token = {
            tokenHash: `hash-${grant.grantId}`,
            grantId: grant.grantId,
            clientId: grant.clientId,
            issuedAt: grant.createdAt,
            usableUntil: grant.createdAt + 3600,
            keepUntil: grant.expiresAt,
          };
          expect(await store.createGrant(grant, token)).toBe(true);
        }),
      );
    }
  }

  const ids = (count: number, prefix = 'g') =>
    Array.from({ length: count }, (_, n) => `${prefix}-${String(n).padStart(3, '0')}`);

  const recordingClient = (edit?: (call: number, keys: unknown[]) => number) => dynamo.recordingClient(tableName, edit);

  it("reads every page of a tenant's partition, and finds a user by sub, IdP subject or email", async () => {
    await create([
      ...ids(7).map((id) => userGrant(id)),
      userGrant('bob-1', { idpSubject: '00u-bob', subject: 'sub-bob', email: 'bob@acme.example' }),
    ]);
    const { client: recording, sent } = recordingClient();
    try {
      const admin = new GrantAdmin({ client: recording, tableName, pageSize: 2 });
      const all = await admin.grantsOfTenant('acme');
      expect(all.grants.map((grant) => grant.grantId).sort()).toEqual([...ids(7), 'bob-1'].sort());
      expect(sent.filter((name) => name === 'QueryCommand').length).toBeGreaterThanOrEqual(4);
      expect(sent).not.toContain('ScanCommand');
      for (const user of [userGrant('x').subject, '00u-alice', 'ALICE@acme.example']) {
        expect((await admin.grantsOfTenant('acme', user)).grants).toHaveLength(7);
      }
      expect((await admin.grantsOfTenant('acme', 'sub-bob')).grants.map((grant) => grant.grantId)).toEqual(['bob-1']);
      expect((await admin.grantsOfTenant('globex', '00u-alice')).grants).toEqual([]);
    } finally {
      recording.destroy();
    }
  });

  it("reads every page of a client's partition and its grants in batches of 100", async () => {
    // 101 grants: one more than a batch holds.
    await create([...ids(101).map((id) => userGrant(id)), userGrant('other-1', { clientId: 'desktop' })]);
    const { client: recording, sent } = recordingClient();
    try {
      const listing = await new GrantAdmin({ client: recording, tableName, pageSize: 25 }).grantsOfClient('inspector');
      expect(listing.grants.map((grant) => grant.grantId)).toEqual(ids(101));
      expect(listing.malformed).toEqual([]);
      expect(sent.filter((name) => name === 'QueryCommand').length).toBeGreaterThanOrEqual(5);
      expect(sent.filter((name) => name === 'BatchGetItemCommand')).toHaveLength(2);
    } finally {
      recording.destroy();
    }
  }, 30_000);

  it('asks again for the keys DynamoDB left unprocessed', async () => {
    await create(ids(12).map((id) => userGrant(id)));
    // The first answer covers 5 keys, the second 4, then the rest.
    const { client: recording, sent } = recordingClient((call, keys) => [5, 4][call] ?? keys.length);
    try {
      const listing = await new GrantAdmin({ client: recording, tableName }).grantsOfClient('inspector');
      expect(listing.grants.map((grant) => grant.grantId)).toEqual(ids(12));
      expect(sent.filter((name) => name === 'BatchGetItemCommand')).toHaveLength(3);
    } finally {
      recording.destroy();
    }
  });

  it('gives up with an error when DynamoDB keeps leaving keys unprocessed', async () => {
    await create(ids(6).map((id) => userGrant(id)));
    // One key per answer: six keys would take more attempts than it makes.
    const { client: recording } = recordingClient(() => 1);
    try {
      await expect(new GrantAdmin({ client: recording, tableName }).grantsOfClient('inspector')).rejects.toThrow(
        'DynamoDB left keys unprocessed',
      );
    } finally {
      recording.destroy();
    }
  });

  it('shows a revocation made a moment ago, in either listing', async () => {
    await create([userGrant('g-1'), userGrant('g-2')]);
    await store.revokeGrant('g-1', NOW + 5, NOW + 86400);
    const admin = new GrantAdmin({ client, tableName });
    for (const listing of [await admin.grantsOfClient('inspector'), await admin.grantsOfTenant('acme')]) {
      expect(listing.grants.map((grant) => [grant.grantId, grant.revokedAt])).toEqual([
        ['g-1', NOW + 5],
        ['g-2', undefined],
      ]);
    }
  });

  it("reports an item in a tenant's partition that is no grant of that tenant, by key only", async () => {
    await create([userGrant('g-1')]);
    const put = (record: Parameters<typeof toItem>[0]) =>
      client.send(new PutItemCommand({ TableName: tableName, Item: toItem(record) }));
    await put({ pk: 'GRANT#g-broken', sk: 'GRANT', gsi1pk: userGrantsPartition('acme'), gsi1sk: 'x#g-broken' });
    const { grantId: _, ...elsewhere } = userGrant('g-moved', { tenantId: 'globex' });
    await put({
      pk: 'GRANT#g-moved',
      sk: 'GRANT',
      ...elsewhere,
      scopes: [...elsewhere.scopes],
      grantId: 'g-moved',
      gsi1pk: userGrantsPartition('acme'),
      gsi1sk: 'y#g-moved',
    });
    const listing = await new GrantAdmin({ client, tableName }).grantsOfTenant('acme');
    expect(listing.grants.map((grant) => grant.grantId)).toEqual(['g-1']);
    expect(listing.malformed).toEqual([
      'ignoring malformed grant item (pk=GRANT#g-broken, sk=GRANT)',
      'ignoring malformed grant item (pk=GRANT#g-moved, sk=GRANT)',
    ]);
  });
});
