/**
 * What the browser-facing endpoints (`/authorize`, its form posts, `/callback`) answer, before any HTML: the core
 * decides, a thin page layer (lambda/pages/) renders. The core never writes markup, and the pages never decide.
 */

/** A cookie to set; always `Secure; HttpOnly; SameSite=Lax; Path=/` (a `__Host-` cookie). */
export interface Cookie {
  readonly name: string;
  readonly value: string;
  readonly maxAgeSeconds: number;
}

/** The client as a page names it: its id (or, for a URL client id, its host) is what the user can trust. */
export interface ClientView {
  readonly clientId: string;
  /** A display name the client chose for itself, if any: never shown alone. */
  readonly name?: string;
  /** For a client id that is an https URL (CIMD): its host. */
  readonly host?: string;
  /** A client that registered itself (DCR): its id is a random value that tells the user nothing. */
  readonly selfRegistered?: boolean;
}

/** Every page the browser-facing endpoints can show, with exactly the data it needs. */
export type PageView =
  | {
      /** Something is wrong with the request before the client and redirect URI are verified, or after sign-in. */
      readonly name: 'error';
      /** The OAuth error code, for support (`invalid_request`, `access_denied`…). */
      readonly error: string;
      /** One sentence for the user, never echoing input. */
      readonly description: string;
    }
  | {
      /** Home realm discovery: which organisation the user signs in with, asked by work email. */
      readonly name: 'home-realm';
      readonly transactionId: string;
      readonly csrfToken: string;
      readonly client: ClientView;
      /** What the user typed last time, when it matched no organisation. */
      readonly email?: string;
      /** Why the last email was not accepted. */
      readonly problem?: string;
    }
  | {
      /** Consent (confused deputy protection): the user approves this client for this resource and these scopes. */
      readonly name: 'consent';
      readonly transactionId: string;
      readonly csrfToken: string;
      readonly client: ClientView;
      /** Where the browser goes back to on approval. */
      readonly redirectUri: string;
      /** The MCP server the token will be for. */
      readonly resource: string;
      readonly scopes: readonly string[];
      /** The organisation whose IdP the user will sign in with, when already known. */
      readonly tenantName?: string;
    };

/** The answer of a browser-facing endpoint. */
export type Interaction =
  | { readonly kind: 'redirect'; readonly location: string; readonly cookies?: readonly Cookie[] }
  | { readonly kind: 'page'; readonly status: number; readonly page: PageView; readonly cookies?: readonly Cookie[] };

/** The form fields the pages post back to `/authorize` (POST), by name. */
export const FORM_FIELDS = {
  transaction: 'transaction',
  csrf: 'csrf',
  /** `approve` or `deny` on the consent page; `email` on the home realm page. */
  action: 'action',
  email: 'email',
} as const;
