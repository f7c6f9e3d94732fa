import { hash } from 'node:crypto';

/** A person as an upstream IdP knows them, and the tenant whose trust in that IdP let them in. */
export interface UpstreamIdentity {
  readonly tenant: string;
  /** The IdP's issuer identifier, exactly as registered. */
  readonly issuer: string;
  /** The IdP's `sub` for the person. */
  readonly subject: string;
}

/**
 * The access token's `sub` (DESIGN.md, "Identity"): unique across the whole server, since two IdPs (or two tenants of
 * one multi-tenant IdP) may both say `sub: alice`, and the same for one person whichever flow brings them through the
 * same IdP. It is derived, not stored: SHA-256 over the JSON array [tenant, issuer, subject], base64url (43
 * characters). JSON keeps the three parts apart whatever characters they hold.
 */
export function subjectIdentifier(identity: UpstreamIdentity): string {
  return hash('sha256', JSON.stringify([identity.tenant, identity.issuer, identity.subject]), 'base64url');
}
