import type { Interaction, PageView } from '../../lambda/core/authorize/interaction';

/** A string that breaks out of every context it could land in, if it were ever not escaped. */
export const HOSTILE = `<img src=//evil.example/x.png>"'&<script>alert(1)</script>\u202Egnp.exe`;

export const TRANSACTION = 'tx_0123456789abcdefghijklmnopqrstuv';
export const CSRF = 'csrf_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** The pages as the core would ask for them, with realistic data. */
export const VIEWS = {
  error: {
    name: 'error',
    error: 'invalid_request',
    description: 'The redirect URI is not registered for this application.',
  },
  'home-realm': {
    name: 'home-realm',
    transactionId: TRANSACTION,
    csrfToken: CSRF,
    client: { clientId: 'https://claude.ai/oauth/mcp-client.json', host: 'claude.ai', name: 'Claude' },
  },
  'home-realm-problem': {
    name: 'home-realm',
    transactionId: TRANSACTION,
    csrfToken: CSRF,
    client: { clientId: 'demo-client' },
    email: 'alice@unknown.example',
    problem: 'No organisation signs in with that email domain. Check the address, or ask your administrator.',
  },
  consent: {
    name: 'consent',
    transactionId: TRANSACTION,
    csrfToken: CSRF,
    client: { clientId: 'https://claude.ai/oauth/mcp-client.json', host: 'claude.ai', name: 'Claude' },
    redirectUri: 'https://claude.ai/api/mcp/auth_callback',
    resource: 'https://mcp.example.com/mcp',
    scopes: ['mcp:tools', 'mcp:resources', 'mcp:prompts'],
    tenantName: 'Acme Corp',
  },
  'consent-hostile': {
    name: 'consent',
    transactionId: TRANSACTION,
    csrfToken: CSRF,
    client: { clientId: 'https://tools.example.net/client.json', host: 'tools.example.net', name: HOSTILE },
    redirectUri: 'http://127.0.0.1:53682/callback',
    resource: 'https://mcp.example.com/mcp',
    scopes: ['read'],
    tenantName: HOSTILE,
  },
} as const satisfies Record<string, PageView>;

export type ViewName = keyof typeof VIEWS;

export function pageOf(name: ViewName, status = name === 'error' ? 400 : 200): Interaction {
  return {
    kind: 'page',
    status,
    page: VIEWS[name],
    cookies: name === 'error' ? undefined : [{ name: '__Host-tx', value: TRANSACTION, maxAgeSeconds: 600 }],
  };
}
