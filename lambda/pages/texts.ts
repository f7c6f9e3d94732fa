import { type Html, html } from './html';

/**
 * Every word the pages show, in one place (English only for now). Texts with a dynamic part are functions of markup
 * the views built with `html`, so the values in them are escaped where they were made.
 */
export const TEXTS = {
  /** The browser tab: the page, then the product. */
  documentTitle: (page: string, productName: string) => `${page} · ${productName}`,
  client: {
    id: 'Application ID',
    name: 'Calls itself',
    /** Beside a name the client chose for itself: nobody checked it. */
    unverified: 'unverified',
    /** A client that registered itself (DCR), named in a heading instead of its random id. */
    selfRegistered: 'An application that registered itself',
  },
  error: {
    title: 'Sign-in error',
    heading: 'This sign-in cannot continue',
    next: 'You can close this page and start again from the application.',
    code: (code: Html) => html`Error code for support: ${code}`,
  },
  homeRealm: {
    title: 'Sign in',
    heading: (client: Html) => html`Sign in to continue to ${client}`,
    intro: 'Enter your work email, and we will take you to your organisation’s sign-in page.',
    email: 'Work email',
    submit: 'Continue',
  },
  consent: {
    title: 'Approve access',
    heading: (client: Html, resource: Html) => html`${client} wants to access ${resource}`,
    scopes: 'It asks for these permissions',
    noScopes: 'No specific permissions: access without scopes.',
    signInWith: (tenant: Html) => html`You will sign in with ${tenant}.`,
    returnsTo: 'Returns you to',
    warning: 'Approve only if you started this sign-in and you trust this application.',
    approve: 'Approve',
    deny: 'Deny',
  },
} as const;
