import { type DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { CODE_RECORD_RETENTION_SECONDS, DynamoGrantStore } from '../../lambda/adapters/dynamodb/grant-store';
import {
  clientGrantsPartition,
  grantByClientKey,
  grantKey,
  type Key,
  keyAttributes,
  refreshTokenKey,
  userGrantsPartition,
} from '../../lambda/adapters/dynamodb/items';
import { TABLE_KEYS } from '../../lambda/adapters/dynamodb/table';
import type { AuthorizationCodeGrant, LoginTransaction, RefreshToken, UserGrant } from '../../lambda/core/ports';
import { type LocalDynamo, localDynamoForFile } from '../support/dynalite';

const NOW = 1_800_000_000;

const transaction = (fields: Partial<LoginTransaction> = {}): LoginTransaction => ({
  id: `txn-${Math.random()}`,
  browserBinding: 'binding-hash',
  clientId: 'mcp-inspector',
  redirectUri: 'http://127.0.0.1:5000/callback',
  state: 'client state',
  codeChallenge: 'challenge-S256-value',
  resource: 'https://mcp.example.com/mcp',
  scopes: ['files:read'],
  consented: false,
  createdAt: NOW,
  expiresAt: NOW + 600,
  ...fields,
});

const code = (fields: Partial<AuthorizationCodeGrant> = {}): AuthorizationCodeGrant => ({
  codeHash: `hash-${Math.random()}`,
  grantId: 'grant-1',
  clientId: 'mcp-inspector',
  redirectUri: 'http://127.0.0.1:5000/callback',
  codeChallenge: 'challenge-S256-value',
  resource: 'https://mcp.example.com/mcp',
  scopes: ['files:read', 'files:write'],
  tenantId: 'acme',
  idpIssuer: 'https://login.acme.example',
  idpSubject: 'alice',
  email: 'alice@acme.example',
  authTime: NOW - 5,
  amr: ['pwd'],
  issuedAt: NOW,
  expiresAt: NOW + 60,
  ...fields,
});

/** The interactive flow's records against dynalite: conditional writes only, judged at the caller's clock. */
describe('DynamoGrantStore', () => {
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

  const raw = async (key: Key) =>
    (await client.send(new GetItemCommand({ TableName: tableName, Key: keyAttributes(key), ConsistentRead: true })))
      .Item;
  const indexQuery = async (partition: string) =>
    (
      await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: TABLE_KEYS.indexName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.indexPartitionKey },
          ExpressionAttributeValues: { ':pk': { S: partition } },
        }),
      )
    ).Items ?? [];

  describe('login transactions', () => {
    it('stores a transaction and reads it back exactly while it is live', async () => {
      const stored = transaction({ tenantId: 'acme' });
      await store.createTransaction(stored);
      expect(await store.getTransaction(stored.id, NOW)).toEqual(stored);
      expect(await store.getTransaction(stored.id, NOW + 600)).toBeUndefined();
      expect(await store.getTransaction('unknown', NOW)).toBeUndefined();
    });

    it('never overwrites an existing transaction id', async () => {
      const stored = transaction();
      await store.createTransaction(stored);
      await expect(store.createTransaction({ ...stored, clientId: 'other' })).rejects.toMatchObject({
        name: 'ConditionalCheckFailedException',
      });
    });

    it('records the browser choices on a live transaction only', async () => {
      const stored = transaction();
      await store.createTransaction(stored);
      expect(await store.updateTransaction(stored.id, { tenantId: 'globex' }, NOW)).toBe(true);
      expect(await store.updateTransaction(stored.id, { consented: true }, NOW)).toBe(true);
      expect(await store.getTransaction(stored.id, NOW)).toMatchObject({ tenantId: 'globex', consented: true });
      expect(await store.updateTransaction(stored.id, { consented: false }, NOW + 600)).toBe(false);
      expect(await store.updateTransaction('unknown', { consented: true }, NOW)).toBe(false);
    });

    it('is consumed once: of 30 concurrent uses exactly one gets it, and then nobody', async () => {
      const stored = transaction();
      await store.createTransaction(stored);
      const results = await Promise.all(Array.from({ length: 30 }, () => store.consumeTransaction(stored.id, NOW)));
      expect(results.filter(Boolean)).toEqual([stored]);
      expect(await store.getTransaction(stored.id, NOW)).toBeUndefined();
      expect(await store.updateTransaction(stored.id, { consented: true }, NOW)).toBe(false);
    });

    it('cannot be consumed after it expired', async () => {
      const stored = transaction();
      await store.createTransaction(stored);
      expect(await store.consumeTransaction(stored.id, NOW + 600)).toBeUndefined();
    });
  });

  describe('authorization codes', () => {
    it('keeps only the hash of the code, and the record for a day after issue (TTL)', async () => {
      const grant = code();
      await store.createCode(grant);
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: { pk: { S: `CODE#${grant.codeHash}` }, sk: { S: 'CODE' } } }),
      );
      expect(Item?.expiresAt).toEqual({ N: String(NOW + CODE_RECORD_RETENTION_SECONDS) });
      expect(Item?.redeemableUntil).toEqual({ N: String(NOW + 60) });
    });

    it('redeems a code once with everything it carries; every later redemption is a replay', async () => {
      const grant = code();
      await store.createCode(grant);
      expect(await store.redeemCode(grant.codeHash, NOW + 1)).toEqual({ outcome: 'redeemed', grant });
      expect(await store.redeemCode(grant.codeHash, NOW + 2)).toEqual({ outcome: 'replayed', grant });
      // Still recognised as a replay after the code's own lifetime, so that its grant can be revoked.
      expect(await store.redeemCode(grant.codeHash, NOW + 3600)).toEqual({ outcome: 'replayed', grant });
    });

    it('of 30 concurrent redemptions exactly one redeems and the others see a replay', async () => {
      const grant = code();
      await store.createCode(grant);
      const results = await Promise.all(Array.from({ length: 30 }, () => store.redeemCode(grant.codeHash, NOW)));
      expect(results.filter((result) => result?.outcome === 'redeemed')).toHaveLength(1);
      expect(results.filter((result) => result?.outcome === 'replayed')).toHaveLength(29);
    });

    it('does not redeem an unknown code, nor an expired one that was never redeemed', async () => {
      const grant = code();
      await store.createCode(grant);
      expect(await store.redeemCode('unknown', NOW)).toBeUndefined();
      expect(await store.redeemCode(grant.codeHash, NOW + 60)).toBeUndefined();
      // A refused late attempt leaves no mark (the clock of another request may still be within the lifetime).
      expect(await store.redeemCode(grant.codeHash, NOW + 59)).toMatchObject({ outcome: 'redeemed' });
    });
  });

  describe('grants and their refresh tokens', () => {
    it('stores a grant with its first refresh token, indexed by user and by client, and reads it back exactly', async () => {
      const stored = userGrant();
      expect(await store.createGrant(stored, refreshToken())).toBe(true);
      expect(await store.getGrant(stored.grantId)).toEqual(stored);
      expect(await store.findRefreshToken('token-hash-1')).toEqual(refreshToken());
      expect(await store.getGrant('unknown')).toBeUndefined();

      const byUser = await indexQuery(userGrantsPartition('acme'));
      expect(byUser.map((item) => item.gsi1sk?.S)).toEqual([`${stored.subject}#${stored.grantId}`]);
      const byClient = await indexQuery(clientGrantsPartition('mcp-inspector'));
      expect(byClient.map((item) => item.grantId?.S)).toEqual([stored.grantId]);
      // Both the grant's items and its tokens go when the grant's absolute lifetime is over (TTL).
      const items = await Promise.all(
        [grantKey('grant-1'), grantByClientKey('grant-1'), refreshTokenKey('token-hash-1')].map(raw),
      );
      expect(items.map((item) => item?.expiresAt?.N)).toEqual([
        String(NOW + 7_776_000),
        String(NOW + 7_776_000),
        String(NOW + 7_776_000),
      ]);
      // The token itself is never stored: only its hash, as the key and a field.
      expect(JSON.stringify(items[2])).not.toContain('refresh-token-value');
    });

    it('does not start a grant whose id a replayed code revoked first', async () => {
      await store.revokeGrant('grant-1', NOW, NOW + 100);
      expect(await store.createGrant(userGrant(), refreshToken())).toBe(false);
      expect(await store.findRefreshToken('token-hash-1')).toBeUndefined();
      expect(await store.getGrant('grant-1')).toBeUndefined();
    });

    it('revokes a grant once: the first revocation time stands and the grant is kept until its own end', async () => {
      await store.createGrant(userGrant(), refreshToken());
      await store.revokeGrant('grant-1', NOW + 10, NOW + 20);
      await store.revokeGrant('grant-1', NOW + 30, NOW + 40);
      expect(await store.getGrant('grant-1')).toEqual({ ...userGrant(), revokedAt: NOW + 10 });
      expect((await raw(grantKey('grant-1')))?.expiresAt?.N).toBe(String(NOW + 7_776_000));
    });

    it('uses a refresh token once, for its own client, before its idle end, and remembers when', async () => {
      await store.createGrant(userGrant(), refreshToken());
      expect(await store.useRefreshToken('token-hash-1', 'other-client', NOW)).toBe(false);
      expect(await store.useRefreshToken('token-hash-1', 'mcp-inspector', NOW + 1000)).toBe(false);
      // Refused on one request's clock, still usable on an earlier one's: the refusals wrote nothing.
      expect(await store.findRefreshToken('token-hash-1')).toEqual(refreshToken());
      expect(await store.useRefreshToken('token-hash-1', 'mcp-inspector', NOW + 999)).toBe(true);
      expect(await store.useRefreshToken('token-hash-1', 'mcp-inspector', NOW + 999)).toBe(false);
      expect(await store.findRefreshToken('token-hash-1')).toEqual({ ...refreshToken(), usedAt: NOW + 999 });
      expect(await store.useRefreshToken('unknown-hash', 'mcp-inspector', NOW)).toBe(false);
      expect(await store.findRefreshToken('unknown-hash')).toBeUndefined();
    });

    it('lets exactly one of 100 concurrent uses of one refresh token succeed', async () => {
      await store.createGrant(userGrant(), refreshToken());
      const uses = await Promise.all(
        Array.from({ length: 100 }, () => store.useRefreshToken('token-hash-1', 'mcp-inspector', NOW + 1)),
      );
      expect(uses.filter(Boolean)).toHaveLength(1);
    });

    it('refuses to store a refresh token twice under one hash', async () => {
      await store.createGrant(userGrant(), refreshToken());
      await expect(store.addRefreshToken(refreshToken())).rejects.toThrow();
    });
  });
});

const userGrant = (fields: Partial<UserGrant> = {}): UserGrant => ({
  grantId: 'grant-1',
  clientId: 'mcp-inspector',
  tenantId: 'acme',
  idpIssuer: 'https://login.acme.example',
  idpSubject: 'alice',
  subject: 'c3ViamVjdC1pZGVudGlmaWVyLW9mLWFsaWNlLWF0LWFjbWU',
  email: 'alice@acme.example',
  authTime: NOW - 5,
  amr: ['pwd'],
  resource: 'https://mcp.example.com/mcp',
  scopes: ['files:read'],
  createdAt: NOW,
  expiresAt: NOW + 7_776_000,
  ...fields,
});

const refreshToken = (fields: Partial<RefreshToken> = {}): RefreshToken => ({
  tokenHash: 'token-hash-1',
  grantId: 'grant-1',
  clientId: 'mcp-inspector',
  issuedAt: NOW,
  usableUntil: NOW + 1000,
  keepUntil: NOW + 7_776_000,
  ...fields,
});
