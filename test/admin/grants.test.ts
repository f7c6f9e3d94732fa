import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoGrantStore } from '../../lambda/adapters/dynamodb/grant-store';
import { subjectIdentifier } from '../../lambda/core/identity';
import type { UserGrant } from '../../lambda/core/ports';
import { mintRefreshToken } from '../../lambda/core/refresh-tokens';
import { type AdminRunOptions, runAdmin } from '../support/admin-cli';
import { type LocalDynamo, localDynamoForFile } from '../support/dynalite';

const NOW = 1_800_000_000;
const DAY = 86400;
const LIFETIMES = { idleSeconds: 14 * DAY, absoluteSeconds: 90 * DAY };
const ACME_IDP = 'https://login.acme.example';
const GLOBEX_IDP = 'https://login.globex.example';

interface Person {
  readonly tenantId: string;
  readonly idpIssuer: string;
  readonly idpSubject: string;
  readonly email?: string;
}

const ALICE: Person = { tenantId: 'acme', idpIssuer: ACME_IDP, idpSubject: '00u-alice', email: 'Alice@Acme.example' };
const BOB: Person = { tenantId: 'acme', idpIssuer: ACME_IDP, idpSubject: '00u-bob', email: 'bob@acme.example' };
/** Another tenant's user with the same IdP subject and email as Alice: never one of Alice's grants. */
const GLOBEX_ALICE: Person = { ...ALICE, tenantId: 'globex', idpIssuer: GLOBEX_IDP };

const subOf = (person: Person) =>
  subjectIdentifier({ tenant: person.tenantId, issuer: person.idpIssuer, subject: person.idpSubject });

/** `grants list` and `grants revoke` in process against dynalite, on grants the server's own store created. */
describe('id-jag-admin grants', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  let tableName: string;
  let store: DynamoGrantStore;
  let now: number;
  /** Refresh token values handed out, so that a test can prove none is ever printed. */
  let tokens: string[];

  const local = localDynamoForFile();
  beforeEach(async () => {
    ({ dynamo, client } = local);
    tableName = await dynamo.createTable(client);
    store = new DynamoGrantStore({ client, tableName });
    now = NOW;
    tokens = [];
    for (const args of [
      ['tenants', 'add', 'acme'],
      ['tenants', 'add', 'globex'],
      ['clients', 'add', 'inspector', '--auth-method', 'none', ...interactive()],
      ['clients', 'add', 'desktop', '--auth-method', 'none', ...interactive()],
    ]) {
      expect((await cli(...args)).code).toBe(0);
    }
  });

  function interactive(): string[] {
    return ['--grant-types', 'authorization_code,refresh_token', '--redirect-uri', 'http://127.0.0.1/callback'];
  }

  const cli = (...args: string[]) => cliWith({}, ...args);
  const cliWith = (options: AdminRunOptions, ...args: string[]) =>
    runAdmin([...args, '--endpoint', dynamo.endpoint, '--table', tableName], { now: () => now, ...options });
  const json = async (...args: string[]) => {
    const result = await cli(...args, '--json');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    return JSON.parse(result.stdout);
  };
  const listed = async (...args: string[]): Promise<string[]> =>
    (await json('grants', 'list', ...args)).map((grant: { grantId: string }) => grant.grantId).sort();

  /** A grant as the server stores it at code redemption, with its first refresh token. */
  async function grant(grantId: string, person: Person, clientId: string, fields: Partial<UserGrant> = {}) {
    const value: UserGrant = {
      grantId,
      clientId,
      tenantId: person.tenantId,
      idpIssuer: person.idpIssuer,
      idpSubject: person.idpSubject,
      subject: subOf(person),
      ...(person.email ? { email: person.email } : {}),
      resource: 'https://mcp.example.com/mcp',
      scopes: ['files:read', 'files:write'],
      createdAt: NOW - 3600,
      expiresAt: NOW - 3600 + LIFETIMES.absoluteSeconds,
      ...fields,
    };
    const token = mintRefreshToken(value, LIFETIMES, value.createdAt);
    tokens.push(token.value, token.record.tokenHash);
    expect(await store.createGrant(value, token.record)).toBe(true);
    return { grant: value, token };
  }

  async function everyone() {
    await grant('g-alice-inspector', ALICE, 'inspector');
    await grant('g-alice-desktop', ALICE, 'desktop');
    await grant('g-bob-inspector', BOB, 'inspector');
    await grant('g-globex-alice', GLOBEX_ALICE, 'inspector');
  }

  const revokedAt = async (grantId: string) => (await store.getGrant(grantId))?.revokedAt;

  describe('list', () => {
    beforeEach(everyone);

    it.each([
      ['our sub', subOf(ALICE)],
      ['the IdP subject', ALICE.idpSubject],
      ['the email', 'Alice@Acme.example'],
      ['the email in another case', 'alice@ACME.EXAMPLE'],
    ])("lists a user's grants in a tenant by %s, never another tenant's user of the same name", async (_, user) => {
      expect(await listed('--tenant', 'acme', '--user', user)).toEqual(['g-alice-desktop', 'g-alice-inspector']);
      expect(await listed('--tenant', 'globex', '--user', user === subOf(ALICE) ? subOf(GLOBEX_ALICE) : user)).toEqual([
        'g-globex-alice',
      ]);
    });

    it("lists a tenant's grants, a client's across tenants, and a client's in one tenant", async () => {
      expect(await listed('--tenant', 'acme')).toEqual(['g-alice-desktop', 'g-alice-inspector', 'g-bob-inspector']);
      expect(await listed('--client', 'inspector')).toEqual(['g-alice-inspector', 'g-bob-inspector', 'g-globex-alice']);
      expect(await listed('--client', 'inspector', '--tenant', 'acme')).toEqual([
        'g-alice-inspector',
        'g-bob-inspector',
      ]);
    });

    it('shows each grant in JSON: who, what, when, and whether it is active, revoked or expired', async () => {
      await grant('g-old', BOB, 'desktop', { createdAt: NOW - 100 * DAY, expiresAt: NOW - 10 * DAY });
      await store.revokeGrant('g-bob-inspector', NOW - 60, NOW + DAY);
      const documents = await json('grants', 'list', '--tenant', 'acme', '--user', BOB.idpSubject);
      expect(documents).toEqual([
        {
          grantId: 'g-old',
          clientId: 'desktop',
          tenant: 'acme',
          sub: subOf(BOB),
          idpIssuer: ACME_IDP,
          idpSubject: '00u-bob',
          email: 'bob@acme.example',
          resource: 'https://mcp.example.com/mcp',
          scopes: ['files:read', 'files:write'],
          createdAt: '2026-10-07T08:00:00Z',
          expiresAt: '2027-01-05T08:00:00Z',
          status: 'expired',
        },
        expect.objectContaining({
          grantId: 'g-bob-inspector',
          createdAt: '2027-01-15T07:00:00Z',
          revokedAt: '2027-01-15T07:59:00Z',
          status: 'revoked',
        }),
      ]);
    });

    it('prints a table in text, and never a refresh token or its hash', async () => {
      await store.revokeGrant('g-alice-desktop', NOW - 60, NOW + DAY);
      const result = await cli('grants', 'list', '--tenant', 'acme', '--user', ALICE.idpSubject);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      const [header, ...rows] = result.stdout.trimEnd().split('\n');
      expect(header).toMatch(
        /^GRANT\s+CLIENT\s+TENANT\s+EMAIL\s+IDP SUBJECT\s+SUB\s+RESOURCE\s+SCOPES\s+CREATED\s+EXPIRES\s+STATUS$/,
      );
      expect(rows).toHaveLength(2);
      expect(rows.find((row) => row.startsWith('g-alice-desktop'))).toMatch(
        new RegExp(
          `^g-alice-desktop\\s+desktop\\s+acme\\s+Alice@Acme\\.example\\s+00u-alice\\s+${subOf(ALICE)}\\s+` +
            'https://mcp\\.example\\.com/mcp\\s+files:read files:write\\s+2027-01-15T07:00:00Z\\s+' +
            '2027-04-15T07:00:00Z\\s+revoked 2027-01-15T07:59:00Z$',
        ),
      );
      expect(rows.find((row) => row.startsWith('g-alice-inspector'))).toMatch(/\sactive$/);
      const everything = (await cli('grants', 'list', '--client', 'inspector')).stdout;
      for (const token of tokens) expect(result.stdout + everything).not.toContain(token);
    });

    it('says so when nothing matches, and names a tenant or client that does not exist', async () => {
      expect(await cli('grants', 'list', '--tenant', 'acme', '--user', 'carol@acme.example')).toEqual({
        code: 0,
        stdout: 'no grants\n',
        stderr: '',
      });
      expect(await cli('grants', 'list', '--tenant', 'acmee', '--user', 'alice')).toMatchObject({
        code: 1,
        stderr: 'error: unknown tenant acmee\n',
      });
      expect(await cli('grants', 'list', '--client', 'inspectr')).toMatchObject({
        code: 1,
        stderr: 'error: unknown client inspectr\n',
      });
    });

    it('lists every grant of a busy user and client (paging itself: test/adapters/dynamodb-grant-admin.test.ts)', async () => {
      const many = Array.from({ length: 30 }, (_, n) => `g-many-${String(n).padStart(2, '0')}`);
      await Promise.all(many.map((id) => grant(id, BOB, 'desktop')));
      expect(await listed('--client', 'desktop')).toHaveLength(31);
      expect(await listed('--tenant', 'acme', '--user', 'bob@acme.example')).toHaveLength(31);
    }, 30_000);
  });

  describe('revoke', () => {
    beforeEach(everyone);

    it('revokes one grant by id: its refresh tokens are refused from then on', async () => {
      const { token } = await grant('g-carol', { ...BOB, idpSubject: '00u-carol', email: undefined }, 'desktop');
      const result = await cli('grants', 'revoke', '--grant', 'g-carol');
      expect(result).toEqual({
        code: 0,
        stdout: 'revoked grant g-carol (client desktop, tenant acme, user 00u-carol)\n1 grant(s) revoked\n',
        stderr: '',
      });
      // What the next refresh does (lambda/core/grants/refresh-token.ts): find the token, read its grant, and refuse
      // it because the grant is revoked.
      const found = await store.findRefreshToken(token.record.tokenHash);
      expect(found?.grantId).toBe('g-carol');
      expect(await revokedAt(found!.grantId)).toBe(NOW);
      expect(await revokedAt('g-bob-inspector')).toBeUndefined();
    });

    it('revoking a revoked grant changes nothing: the first revocation stands', async () => {
      await cli('grants', 'revoke', '--grant', 'g-bob-inspector');
      now += 600;
      expect(await cli('grants', 'revoke', '--grant', 'g-bob-inspector')).toEqual({
        code: 0,
        stdout: 'nothing to revoke: 1 matching grant(s) already revoked\n',
        stderr: '',
      });
      expect(await revokedAt('g-bob-inspector')).toBe(NOW);
    });

    it("revokes a user's grants in a tenant, by email, and no one else's", async () => {
      const result = await cli('grants', 'revoke', '--tenant', 'acme', '--user', 'alice@acme.example', '--yes');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('revoked grant g-alice-inspector (client inspector, tenant acme, user Alice@');
      expect(result.stdout).toContain('revoked grant g-alice-desktop (client desktop, tenant acme, user Alice@');
      expect(result.stdout).toMatch(/\n2 grant\(s\) revoked\n$/);
      expect(await revokedAt('g-alice-inspector')).toBe(NOW);
      expect(await revokedAt('g-alice-desktop')).toBe(NOW);
      expect(await revokedAt('g-bob-inspector')).toBeUndefined();
      expect(await revokedAt('g-globex-alice')).toBeUndefined();
    });

    it("revokes a user's grants by our sub and by the IdP subject", async () => {
      expect((await cli('grants', 'revoke', '--tenant', 'acme', '--user', subOf(BOB))).code).toBe(0);
      expect(await revokedAt('g-bob-inspector')).toBe(NOW);
      const byIdp = await json('grants', 'revoke', '--tenant', 'globex', '--user', GLOBEX_ALICE.idpSubject);
      expect(byIdp).toEqual({ revoked: ['g-globex-alice'], alreadyRevoked: 0 });
      expect(await revokedAt('g-globex-alice')).toBe(NOW);
      expect(await revokedAt('g-alice-inspector')).toBeUndefined();
    });

    it("revokes a client's grants in every tenant, and only that client's", async () => {
      await store.revokeGrant('g-bob-inspector', NOW - 60, NOW + DAY);
      const result = await json('grants', 'revoke', '--client', 'inspector', '--yes');
      expect(result).toEqual({ revoked: ['g-alice-inspector', 'g-globex-alice'], alreadyRevoked: 1 });
      expect(await revokedAt('g-alice-inspector')).toBe(NOW);
      expect(await revokedAt('g-globex-alice')).toBe(NOW);
      expect(await revokedAt('g-bob-inspector')).toBe(NOW - 60);
      expect(await revokedAt('g-alice-desktop')).toBeUndefined();
    });

    it('keeps each revocation until the grant would have ended', async () => {
      await cli('grants', 'revoke', '--grant', 'g-alice-inspector');
      const stored = await store.getGrant('g-alice-inspector');
      expect(stored).toMatchObject({ revokedAt: NOW, expiresAt: NOW - 3600 + LIFETIMES.absoluteSeconds });
    });

    it('needs --yes to revoke several grants without a terminal, and revokes nothing without it', async () => {
      const result = await cli('grants', 'revoke', '--client', 'inspector');
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: 'error: 3 grants match: pass --yes to revoke them all (there is no terminal to ask)\n',
      });
      for (const id of ['g-alice-inspector', 'g-bob-inspector', 'g-globex-alice']) {
        expect(await revokedAt(id)).toBeUndefined();
      }
    });

    it('asks on a terminal before revoking several, listing them, and revokes nothing when told no', async () => {
      const questions: string[] = [];
      const answer = (yes: boolean) => async (question: string) => {
        questions.push(question);
        return yes;
      };
      const declined = await cliWith(
        { confirm: answer(false) },
        'grants',
        'revoke',
        '--tenant',
        'acme',
        '--user',
        'alice@acme.example',
      );
      expect(declined.code).toBe(1);
      expect(declined.stderr).toContain(
        '  grant g-alice-inspector (client inspector, tenant acme, user Alice@Acme.example)\n',
      );
      expect(declined.stderr).toMatch(/error: cancelled: nothing was revoked\n$/);
      expect(questions).toEqual(['Revoke these 2 grants?']);
      expect(await revokedAt('g-alice-inspector')).toBeUndefined();

      const accepted = await cliWith(
        { confirm: answer(true) },
        'grants',
        'revoke',
        '--tenant',
        'acme',
        '--user',
        'alice@acme.example',
      );
      expect(accepted.code).toBe(0);
      expect(await revokedAt('g-alice-inspector')).toBe(NOW);
      expect(await revokedAt('g-alice-desktop')).toBe(NOW);

      // One grant: no question.
      expect((await cliWith({ confirm: answer(false) }, 'grants', 'revoke', '--grant', 'g-bob-inspector')).code).toBe(
        0,
      );
      expect(questions).toHaveLength(2);
    });

    it('with --dry-run says what it would revoke and revokes nothing', async () => {
      const result = await cli('grants', 'revoke', '--client', 'desktop', '--dry-run');
      expect(result).toEqual({
        code: 0,
        stdout:
          'would revoke grant g-alice-desktop (client desktop, tenant acme, user Alice@Acme.example)\n' +
          'dry run: nothing was written\n',
        stderr: '',
      });
      expect(await revokedAt('g-alice-desktop')).toBeUndefined();
    });

    it('refuses an unknown grant id with exit code 1, and records nothing', async () => {
      expect(await cli('grants', 'revoke', '--grant', 'no-such-grant')).toEqual({
        code: 1,
        stdout: '',
        stderr: 'error: unknown grant no-such-grant\n',
      });
      expect(await store.getGrant('no-such-grant')).toBeUndefined();
    });

    it('says so when no grant of the user is left to revoke', async () => {
      expect(await cli('grants', 'revoke', '--tenant', 'acme', '--user', 'carol@acme.example')).toEqual({
        code: 0,
        stdout: 'no grants match: nothing to revoke\n',
        stderr: '',
      });
    });
  });

  describe('bad selections: exit code 1', () => {
    it.each<[string, string[], string]>([
      ['nothing to select by', ['grants', 'list'], 'give --tenant <tenant-id> --user <user>, or --client <client-id>'],
      ['--user without --tenant', ['grants', 'list', '--user', 'alice'], '--user needs --tenant'],
      ['an empty --user', ['grants', 'list', '--tenant', 'acme', '--user', ''], '--user: must not be empty'],
      ['revoking a whole tenant', ['grants', 'revoke', '--tenant', 'acme'], '--tenant needs --user'],
      ['--grant with another selector', ['grants', 'revoke', '--grant', 'g', '--client', 'c'], '--grant names one'],
      ['--yes on list', ['grants', 'list', '--client', 'inspector', '--yes'], 'unknown option --yes'],
    ])('%s', async (_, args, message) => {
      const result = await cli(...args);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(message);
    });
  });

  it('has help for the group and each command', async () => {
    const group = await runAdmin(['grants', '--help']);
    expect(group.code).toBe(0);
    expect(group.stdout).toContain('grants list');
    expect(group.stdout).toContain('grants revoke');
    const revoke = await runAdmin(['grants', 'revoke', '--help']);
    expect(revoke.stdout).toContain('-y, --yes');
    expect(revoke.stdout).toContain('--grant <grant-id>');
  });
});
