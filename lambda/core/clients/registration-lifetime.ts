import type { ServerConfig } from '../config';
import type { AuditContext } from '../grants/context';
import type { Client } from '../model';
import type { ClientRegistrations } from '../ports';

/** The longest a renewal waits: a client in use is written to at most about once a day. */
const MAX_RENEWAL_STEP_SECONDS = 86_400;

/**
 * The new end of a dynamically registered client that has just obtained a token, when its registration is due to be
 * moved on; else undefined. A registration ends `unusedLifetimeSeconds` after its last use (RFC 7591 clients "expire
 * when unused"), but writing its end on every token would be a write per request: it moves only once the end would
 * gain a step (a tenth of the lifetime, at most a day), so a client in use ends at most a step earlier than exact.
 */
export function renewedRegistrationEnd(client: Client, now: number, unusedLifetimeSeconds: number): number | undefined {
  if (client.registrationEndsAt === undefined) return undefined;
  const renewed = now + unusedLifetimeSeconds;
  const step = Math.min(MAX_RENEWAL_STEP_SECONDS, Math.floor(unusedLifetimeSeconds / 10));
  return renewed - client.registrationEndsAt >= step ? renewed : undefined;
}

/**
 * Keeps a dynamically registered client that obtained a token registered. A failed write leaves the token standing:
 * the registration then ends when it would have, and the audit record says so.
 */
export async function keepRegistrationInUse(
  deps: { readonly config: ServerConfig; readonly registrations?: Pick<ClientRegistrations, 'extend'> },
  client: Client,
  now: number,
  audit: AuditContext,
): Promise<void> {
  const { config, registrations } = deps;
  if (!registrations || !config.dynamicClientRegistration.enabled) return;
  const endsAt = renewedRegistrationEnd(client, now, config.dynamicClientRegistration.unusedLifetimeSeconds);
  if (endsAt === undefined) return;
  try {
    if ((await registrations.extend(client.clientId, endsAt, now)) === 'extended') audit.registration = 'extended';
  } catch {
    audit.registration = 'not_extended';
  }
}
