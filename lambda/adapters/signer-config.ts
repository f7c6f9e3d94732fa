import { ConfigError } from '../core/config';
import type { TokenAlgorithm } from './key-object-signer';

/** Which KMS keys sign and which are published: set by the construct; rotation changes only these variables. */
export interface SignerConfig {
  /** The key that signs now (key id, key ARN or alias ARN). */
  readonly keyId: string;
  /** Keys that signed before and whose tokens may still be live: published, not signing. */
  readonly previousKeyIds: readonly string[];
  /** Keys about to become active: published ahead, so resource servers know them before the switch. */
  readonly nextKeyIds: readonly string[];
  readonly algorithm: TokenAlgorithm;
}

const ALGORITHMS: readonly TokenAlgorithm[] = ['ES256', 'RS256', 'PS256'];

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);

/** Reads SIGNING_KEY_ID, PREVIOUS_SIGNING_KEY_IDS, NEXT_SIGNING_KEY_IDS and SIGNING_ALGORITHM. */
export function signerConfigFrom(env: Readonly<Record<string, string | undefined>>): SignerConfig {
  const problems: string[] = [];
  const keyId = env.SIGNING_KEY_ID?.trim() ?? '';
  if (keyId === '') problems.push('SIGNING_KEY_ID is not set');
  const algorithm = (env.SIGNING_ALGORITHM?.trim() || 'ES256') as TokenAlgorithm;
  if (!ALGORITHMS.includes(algorithm)) problems.push(`SIGNING_ALGORITHM must be one of ${ALGORITHMS.join(', ')}`);
  const previousKeyIds = list(env.PREVIOUS_SIGNING_KEY_IDS);
  const nextKeyIds = list(env.NEXT_SIGNING_KEY_IDS);
  const all = [keyId, ...previousKeyIds, ...nextKeyIds];
  if (new Set(all).size !== all.length) problems.push('a signing key is listed twice across the key variables');
  if (problems.length > 0) throw new ConfigError('environment', problems);
  return { keyId, previousKeyIds, nextKeyIds, algorithm };
}
