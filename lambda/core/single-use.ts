import { MAX_CLOCK_SKEW_SECONDS } from './config';
import type { SingleUse } from './ports';

/**
 * How long a single-use record outlives the `exp` of what it guards. An id is accepted at most until `exp` + the
 * configured clock skew, judged on the request's own clock; keeping the record twice the largest configurable skew
 * beyond `exp` means it outlives every acceptance window, even one that a later increase of the skew widens.
 */
export const SINGLE_USE_MARGIN_SECONDS = 2 * MAX_CLOCK_SKEW_SECONDS;

/** The single-use record for `id`, kept until well after `expiresAt` (a fractional `exp` rounds up). */
export function singleUse(namespace: string, id: string, expiresAt: number): SingleUse {
  return { namespace, id, keepUntil: Math.ceil(expiresAt) + SINGLE_USE_MARGIN_SECONDS };
}
