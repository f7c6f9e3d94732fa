import { TemporarilyUnavailableError } from '../../core/errors';

/** Errors after which the same request may succeed if retried later (the SDK has already retried a few times). */
const THROTTLING = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded']);

interface ServiceErrorShape {
  readonly name?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

export function isTransientStoreError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, $fault, $metadata } = error as ServiceErrorShape;
  if (typeof name === 'string' && (THROTTLING.has(name) || name === 'InternalServerError')) return true;
  const status = $metadata?.httpStatusCode;
  if ($metadata !== undefined && status === undefined) {
    // The SDK gave up without an answer (connection refused or reset, DNS, timeout): an outage the caller may retry,
    // as with KMS; except credentials that cannot be found (a misconfiguration) and our own bugs.
    return name !== 'CredentialsProviderError' && !(error instanceof TypeError);
  }
  return $fault === 'server' || (typeof status === 'number' && status >= 500);
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';
}

/**
 * Throttling, DynamoDB's own failures and no answer at all become `temporarily_unavailable` (503, the client may
 * retry); anything else (a missing table, a validation error: a deployment bug) is rethrown as is, and the core
 * answers `server_error`.
 */
export function toStoreError(error: unknown): unknown {
  if (!isTransientStoreError(error)) return error;
  const name = (error as { name?: unknown }).name;
  return new TemporarilyUnavailableError(`dynamodb ${typeof name === 'string' ? name : 'failure'}`);
}

/** Runs one DynamoDB call with the error mapping applied. */
export async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toStoreError(error);
  }
}
