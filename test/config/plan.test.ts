import { type Change, describeChange, orderChanges, planApply } from '../../lambda/config/plan';
import { parseRegistryConfig, toClient, toConnections, toIssuerTrust, toTenant } from '../../lambda/config/schema';
import { EMPTY_STATE, type RegistryState, stateProblems } from '../../lambda/config/state';
import type { Client, Connection, IssuerTrust, Tenant } from '../../lambda/core/model';
import { hashClientSecret } from '../../lambda/core/secrets';

const OKTA = 'https://acme.okta.com';
const HASH = hashClientSecret('n'.repeat(43));
const OLD_HASH = hashClientSecret('o'.repeat(43));

const FILE = {
  tenants: [{ id: 'acme', issuers: [{ issuer: OKTA }] }],
  clients: [
    { clientId: 'claude', authMethod: 'client_secret_basic' },
    { clientId: 'hashed', authMethod: 'client_secret_post', secretHash: HASH },
  ],
};

/** The state a table would hold after applying `file` (secrets given explicitly). */
function stateOf(file: unknown, secrets: Record<string, Client['secrets']> = {}): RegistryState {
  const config = parseRegistryConfig(file);
  return {
    tenants: config.tenants.map((tenant) => ({ value: toTenant(tenant), version: 1 })),
    trusts: config.tenants.flatMap((tenant) =>
      tenant.issuers.map((issuer) => ({ value: toIssuerTrust(tenant.id, issuer), version: 1 })),
    ),
    connections: config.tenants.flatMap(toConnections).map((value) => ({ value, version: 2 })),
    clients: config.clients.map((client) => {
      const value = toClient(client);
      return { value: { ...value, secrets: secrets[value.clientId] ?? value.secrets }, version: 3 };
    }),
    malformed: [],
  };
}

const lines = (changes: readonly Change[]) => changes.map(describeChange);

describe('planApply', () => {
  it('creates everything in a safe order and generates secrets only where no hash is given', () => {
    const plan = planApply(EMPTY_STATE, parseRegistryConfig(FILE));
    expect(lines(plan.changes)).toEqual([
      '+ tenant acme',
      `+ issuer ${OKTA} for tenant acme`,
      '+ client claude (a new secret will be generated)',
      '+ client hashed',
    ]);
    expect(plan.problems).toEqual([]);
  });

  it('plans nothing when the table already matches, keeping stored secrets of clients without secretHash', () => {
    const state = stateOf(FILE, { claude: [{ hash: OLD_HASH }] });
    expect(planApply(state, parseRegistryConfig(FILE)).changes).toEqual([]);
  });

  it('updates only what changed, naming the fields (never their values), against the stored version', () => {
    const state = stateOf(FILE, { claude: [{ hash: OLD_HASH }] });
    const changed = structuredClone(FILE);
    Object.assign(changed.tenants[0]!, { displayName: 'Acme' });
    Object.assign(changed.tenants[0]!.issuers[0]!, { enabled: false });
    changed.clients[1]!.secretHash = OLD_HASH;
    const plan = planApply(state, parseRegistryConfig(changed));
    expect(lines(plan.changes)).toEqual([
      '~ tenant acme: displayName',
      `~ issuer ${OKTA} for tenant acme: enabled`,
      '~ client hashed: secrets',
    ]);
    expect(plan.changes.map((change) => change.previousVersion)).toEqual([1, 1, 3]);
    expect(lines(plan.changes).join()).not.toContain(OLD_HASH);
  });

  it("keeps a rotation's grace secret while the file names the current secret", () => {
    const rotated = [{ hash: HASH }, { hash: OLD_HASH, notAfter: 2_000_000_000 }];
    const state = stateOf(FILE, { claude: [{ hash: OLD_HASH }], hashed: rotated });
    expect(planApply(state, parseRegistryConfig(FILE)).changes).toEqual([]);
  });

  it('generates a secret for an existing client that has none (it changed to a secret method)', () => {
    const state = stateOf(FILE, { claude: [] });
    expect(lines(planApply(state, parseRegistryConfig(FILE)).changes)).toEqual([
      '~ client claude: secrets (a new secret will be generated)',
    ]);
  });

  it('keeps registrations the file does not declare unless pruning, and then removes issuers before tenants', () => {
    const state = stateOf(
      {
        ...FILE,
        tenants: [...FILE.tenants, { id: 'old', issuers: [{ issuer: 'https://old.example' }] }],
        clients: [...FILE.clients, { clientId: 'legacy', authMethod: 'none' }],
      },
      { claude: [{ hash: OLD_HASH }] },
    );
    const config = parseRegistryConfig(FILE);
    const kept = planApply(state, config);
    expect(kept.changes).toEqual([]);
    expect(kept.kept).toHaveLength(3);
    const pruned = planApply(state, config, { prune: true });
    expect(lines(pruned.changes)).toEqual([
      '- client legacy',
      '- issuer https://old.example for tenant old',
      '- tenant old',
    ]);
    expect(pruned.kept).toEqual([]);
  });

  it("with managedBy (the construct's seed), marks what it declares and lets go of marked items it no longer declares", () => {
    const state = stateOf(
      { ...FILE, clients: [...FILE.clients, { clientId: 'dropped', authMethod: 'none' }] },
      { claude: [{ hash: OLD_HASH }] },
    );
    const marked: RegistryState = {
      ...state,
      clients: state.clients.map((client) =>
        client.value.clientId === 'dropped' ? { ...client, managedBy: 'construct' } : client,
      ),
    };
    const plan = planApply(marked, parseRegistryConfig(FILE), { managedBy: 'construct' });
    expect(lines(plan.changes)).toEqual([
      '~ tenant acme: managedBy',
      `~ issuer ${OKTA} for tenant acme: managedBy`,
      '~ client claude: managedBy',
      '~ client hashed: managedBy',
      '~ client dropped: managedBy',
    ]);
    expect(plan.changes.map((change) => (change.action === 'delete' ? 'delete' : change.managedBy))).toEqual([
      'construct',
      'construct',
      'construct',
      'construct',
      undefined,
    ]);
    expect(plan.kept).toEqual([{ kind: 'client', clientId: 'dropped' }]);
  });

  it('without managedBy (id-jag-admin apply), keeps stored marks on what it updates and never changes a mark', () => {
    const state = stateOf(FILE, { claude: [{ hash: OLD_HASH }] });
    const marked: RegistryState = {
      ...state,
      tenants: state.tenants.map((tenant) => ({ ...tenant, managedBy: 'construct' })),
    };
    expect(planApply(marked, parseRegistryConfig(FILE)).changes).toEqual([]);
    const renamed = structuredClone(FILE);
    Object.assign(renamed.tenants[0]!, { displayName: 'Acme' });
    expect(planApply(marked, parseRegistryConfig(renamed)).changes).toEqual([
      expect.objectContaining({ action: 'update', fields: ['displayName'], managedBy: 'construct' }),
    ]);
  });

  it('reports only problems the change would introduce', () => {
    const state = stateOf({ tenants: [{ id: 'a', issuers: [{ issuer: OKTA }] }] });
    const plan = planApply(state, parseRegistryConfig({ tenants: [{ id: 'b', issuers: [{ issuer: OKTA }] }] }));
    expect(plan.problems).toEqual([expect.stringContaining(`issuer ${OKTA} is trusted by tenants a, b`)]);
    expect(
      planApply(state, parseRegistryConfig({ tenants: [{ id: 'a', issuers: [{ issuer: OKTA }] }] })).problems,
    ).toEqual([]);
  });

  it('orders writes so that every intermediate state is safe', () => {
    const tenant: Tenant = { id: 't', enabled: true };
    const trust = { tenantId: 't', issuer: OKTA } as IssuerTrust;
    const changes: Change[] = [
      { action: 'delete', ref: { kind: 'tenant', tenantId: 'x' } },
      { action: 'create', entity: { kind: 'issuer', value: trust }, fields: [] },
      { action: 'delete', ref: { kind: 'issuer', tenantId: 'x', issuer: OKTA } },
      { action: 'create', entity: { kind: 'tenant', value: tenant }, fields: [] },
    ];
    expect(lines(orderChanges(changes))).toEqual([
      '+ tenant t',
      `+ issuer ${OKTA} for tenant t`,
      `- issuer ${OKTA} for tenant x`,
      '- tenant x',
    ]);
  });
});

const SECRET = { secretsManager: 'acme/oidc' };
// biome-ignore lint/suspicious/noExplicitAny: tests edit the document freely.
const CONNECTED: { tenants: any[] } = {
  tenants: [
    {
      id: 'acme',
      issuers: [{ issuer: OKTA }],
      connection: { issuer: OKTA, clientId: 'mcp', clientSecret: SECRET, domains: ['acme.com'] },
    },
    {
      id: 'globex',
      connection: { issuer: 'https://globex.idp.example', clientId: 'mcp', authMethod: 'none', default: true },
    },
  ],
};

describe('planApply with connections', () => {
  it('creates connections after their tenants and issuers, and changes nothing when the table matches', () => {
    const plan = planApply(EMPTY_STATE, parseRegistryConfig(CONNECTED));
    expect(lines(plan.changes)).toEqual([
      '+ tenant acme',
      '+ tenant globex',
      `+ issuer ${OKTA} for tenant acme`,
      '+ connection for tenant acme',
      '+ connection for tenant globex',
    ]);
    expect(plan.problems).toEqual([]);
    expect(planApply(stateOf(CONNECTED), parseRegistryConfig(CONNECTED)).changes).toEqual([]);
  });

  it('updates a connection against its stored version, naming the fields, never the secret reference value', () => {
    const changed = structuredClone(CONNECTED);
    changed.tenants[0].connection = {
      ...changed.tenants[0].connection,
      clientSecret: { secretsManager: 'acme/oidc-rotated' },
      domains: ['acme.com', 'acme.org'],
    };
    const plan = planApply(stateOf(CONNECTED), parseRegistryConfig(changed));
    expect(lines(plan.changes)).toEqual(['~ connection for tenant acme: clientSecretRef, domains']);
    expect(plan.changes[0]?.previousVersion).toBe(2);
    expect(lines(plan.changes).join()).not.toContain('rotated');
  });

  it('keeps an undeclared connection unless pruning, and prunes it before its tenant', () => {
    const state = stateOf(CONNECTED);
    const withoutGlobex = { tenants: [CONNECTED.tenants[0]] };
    expect(planApply(state, parseRegistryConfig(withoutGlobex)).kept).toEqual([
      { kind: 'tenant', tenantId: 'globex' },
      { kind: 'connection', tenantId: 'globex' },
    ]);
    const pruned = planApply(state, parseRegistryConfig(withoutGlobex), { prune: true });
    expect(lines(pruned.changes)).toEqual(['- connection for tenant globex', '- tenant globex']);
    // A tenant declared without its connection loses only the connection.
    const disconnected = { tenants: [{ ...CONNECTED.tenants[0], connection: undefined }, CONNECTED.tenants[1]] };
    expect(lines(planApply(state, parseRegistryConfig(disconnected), { prune: true }).changes)).toEqual([
      '- connection for tenant acme',
    ]);
  });

  it('marks connections it declares when seeding, and lets go of those it no longer declares', () => {
    const state = stateOf(CONNECTED);
    const marked: RegistryState = {
      ...state,
      tenants: state.tenants.map((tenant) => ({ ...tenant, managedBy: 'construct' })),
      trusts: state.trusts.map((trust) => ({ ...trust, managedBy: 'construct' })),
      connections: state.connections.map((connection) => ({ ...connection, managedBy: 'construct' })),
    };
    const plan = planApply(marked, parseRegistryConfig({ tenants: [CONNECTED.tenants[0]] }), {
      managedBy: 'construct',
    });
    expect(lines(plan.changes)).toEqual(['~ tenant globex: managedBy', '~ connection for tenant globex: managedBy']);
    expect(plan.changes.map((change) => (change.action === 'delete' ? 'delete' : change.managedBy))).toEqual([
      undefined,
      undefined,
    ]);
  });

  it('refuses a plan whose result has a domain claimed twice or two defaults with what the table keeps', () => {
    const state = stateOf(CONNECTED);
    const file = (connection: object) => ({ tenants: [{ id: 'initech', connection }] });
    const base = { issuer: 'https://initech.idp.example', clientId: 'mcp', authMethod: 'none' };
    expect(planApply(state, parseRegistryConfig(file({ ...base, domains: ['acme.com'] }))).problems).toEqual([
      'domain acme.com is claimed by the connections of tenants acme, initech: one at most',
    ]);
    expect(planApply(state, parseRegistryConfig(file({ ...base, default: true }))).problems).toEqual([
      'the connections of tenants globex, initech are all the default: one at most',
    ]);
    // Pruning the other claims first makes the result unambiguous.
    expect(planApply(state, parseRegistryConfig(file({ ...base, default: true })), { prune: true }).problems).toEqual(
      [],
    );
  });

  it('orders connection removals first and connection writes after tenants and issuers', () => {
    const connection = { tenantId: 't', issuer: OKTA } as Connection;
    const tenant: Tenant = { id: 't', enabled: true };
    const changes: Change[] = [
      { action: 'delete', ref: { kind: 'tenant', tenantId: 'x' } },
      { action: 'create', entity: { kind: 'connection', value: connection }, fields: [] },
      { action: 'delete', ref: { kind: 'connection', tenantId: 'x' } },
      { action: 'create', entity: { kind: 'tenant', value: tenant }, fields: [] },
      { action: 'delete', ref: { kind: 'client', clientId: 'c' } },
    ];
    expect(lines(orderChanges(changes))).toEqual([
      '- connection for tenant x',
      '+ tenant t',
      '+ connection for tenant t',
      '- client c',
      '- tenant x',
    ]);
  });
});

describe('stateProblems', () => {
  it('finds a connection whose tenant is missing, a domain claimed twice and two defaults', () => {
    const connection = (tenantId: string, domains: string[], isDefault: boolean): Connection => ({
      tenantId,
      issuer: OKTA,
      clientId: 'mcp',
      authMethod: 'none',
      scopes: ['openid'],
      domains,
      isDefault,
      enabled: true,
    });
    const state: RegistryState = {
      ...EMPTY_STATE,
      tenants: [{ value: { id: 'a', enabled: true } }, { value: { id: 'b', enabled: true } }],
      connections: [
        { value: connection('a', ['a.example', 'shared.example'], true) },
        { value: connection('b', ['shared.example'], true) },
        { value: connection('gone', [], false) },
      ],
    };
    expect(stateProblems(state)).toEqual([
      'the connection of tenant gone belongs to a tenant that does not exist',
      'domain shared.example is claimed by the connections of tenants a, b: one at most',
      'the connections of tenants a, b are all the default: one at most',
    ]);
  });

  it('finds orphaned trusts, clients naming missing tenants and ambiguous issuers', () => {
    const trust = (tenantId: string, tenantClaim?: string) =>
      toIssuerTrust(tenantId, {
        issuer: OKTA,
        tenantClaim,
        algorithms: ['RS256'],
        maxAssertionLifetimeSeconds: 300,
        enabled: true,
      });
    const broken: RegistryState = {
      tenants: [{ value: { id: 'a', enabled: true } }],
      trusts: [{ value: trust('a', 'a') }, { value: trust('b') }],
      clients: [
        { value: { clientId: 'c', authMethod: 'none', secrets: [], grantTypes: ['g'], tenants: ['b'], enabled: true } },
      ],
      connections: [],
      malformed: [],
    };
    expect(stateProblems(broken)).toEqual([
      `issuer ${OKTA} belongs to tenant b, which does not exist`,
      'client c names tenant b, which does not exist',
      `issuer ${OKTA} is trusted by tenants a, b: each of them must require a different tenantClaim`,
    ]);
  });
});
