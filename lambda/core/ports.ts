import type { JSONWebKeySet, JWK, JWTVerifyGetKey } from 'jose';
import type { Client, RegisteredTrust } from './model';

/** Tenants, trusted issuers and clients. Implementations may cache; the core never writes here. */
export interface Registry {
  /** Every registration whose issuer is exactly `issuer`, with its tenant, enabled or not. */
  trustsForIssuer(issuer: string): Promise<readonly RegisteredTrust[]>;
  getClient(clientId: string): Promise<Client | undefined>;
}

/** An id that may be used once: an assertion's `jti` within its issuer, a client assertion's within its client. */
export interface SingleUse {
  readonly namespace: string;
  readonly id: string;
  /** Epoch seconds until which the record is kept: later than any moment the id could still be accepted. */
  readonly keepUntil: number;
}

/** What a successful record leaves its writer: the means to undo it when the request is refused after all. */
export interface RecordedUse {
  /** Removes this record, and only if it is still the one this writer wrote. Never throws. */
  release(): Promise<void>;
}

/** Single-use records for assertion ids. */
export interface ReplayStore {
  /**
   * Records the id atomically (a conditional write), judged at `now`: the epoch seconds on which the request was
   * accepted, so that acceptance and the record's lifetime are decided on one clock. Resolves a receipt when this
   * call recorded it, undefined when a record that is live at `now` already existed.
   */
  recordOnce(use: SingleUse, now: number): Promise<RecordedUse | undefined>;
}

/** Signs access tokens with a key the core never sees (KMS in AWS, a key file locally). */
export interface Signer {
  /** The key that signs now. */
  activeKey(): Promise<{ readonly kid: string; readonly alg: string }>;
  /** Signs the JWS signing input with the active key and returns the JOSE-form signature. */
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
  /** Public keys to publish: the active key and every key whose tokens may still be live. */
  publicKeys(): Promise<readonly JWK[]>;
}

/** Where a key set comes from: inline, by URI, or discovered from an issuer's metadata. */
export interface KeySource {
  readonly jwks?: JSONWebKeySet;
  readonly jwksUri?: string;
  /** Used for discovery when no `jwksUri` is registered. */
  readonly issuer?: string;
}

/** Turns a registered key source into a jose key getter (with caching, timeouts and refetch limits). */
export interface KeyResolver {
  keysFor(source: KeySource): JWTVerifyGetKey;
}

export interface Clock {
  /** Epoch seconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Math.floor(Date.now() / 1000) };
