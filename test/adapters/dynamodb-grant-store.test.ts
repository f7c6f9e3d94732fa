import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CODE_RECORD_RETENTION_SECONDS, DynamoGrantStore } from '../../lambda/adapters/dynamodb/grant-store';
import type { AuthorizationCodeGrant, LoginTransaction } from '../../lambda/core/ports';
import { LocalDynamo } from '../support/dynalite';

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

  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
    client = dynamo.client();
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.stop();
  });
  beforeEach(async () => {
    tableName = await dynamo.createTable(client);
    store = new DynamoGrantStore({ client, tableName });
  });

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

  describe('revoked grants', () => {
    it('remembers a revocation until its keep-until time', async () => {
      expect(await store.isGrantRevoked('grant-1', NOW)).toBe(false);
      await store.revokeGrant('grant-1', NOW, NOW + 100);
      expect(await store.isGrantRevoked('grant-1', NOW + 100)).toBe(true);
      expect(await store.isGrantRevoked('grant-1', NOW + 101)).toBe(false);
      expect(await store.isGrantRevoked('grant-2', NOW)).toBe(false);
    });
  });
});
