import type { AuditRecord } from '../core/audit';
import type { InteractionAudit } from '../core/authorize/endpoint';
import type { RegistrationAudit } from '../core/registration';
import type { RevocationAudit } from '../core/revocation';

export interface MetricsTarget {
  readonly namespace: string;
  /** The `Server` dimension: tells deployments in one account and Region apart. */
  readonly server: string;
}

const METRIC_BY_OUTCOME = {
  issued: 'TokensIssued',
  rejected: 'TokenRejections',
  failed: 'TokenFailures',
  // A refresh token came back after its rotation: it leaked, and its grant was revoked (an alarm watches this).
  refresh_token_reused: 'RefreshTokenReuse',
} as const;

/** Revocation requests (RFC 7009), by outcome: a grant revoked, nothing to revoke, a rejected request, a failure. */
const REVOCATION_METRIC_BY_OUTCOME = {
  revoked: 'GrantsRevoked',
  ignored: 'RevocationsIgnored',
  rejected: 'RevocationRejections',
  failed: 'RevocationFailures',
} as const;

/**
 * Dynamic Client Registration requests, by outcome: a client registered, a request refused for its metadata, one
 * refused because the cap is reached (registration is closed to everyone until registrations expire), a failure.
 */
const REGISTRATION_METRIC_BY_OUTCOME = {
  registered: 'ClientsRegistered',
  rejected: 'RegistrationRejections',
  closed: 'RegistrationsRefusedAtCap',
  failed: 'RegistrationFailures',
} as const;

/**
 * The sign-in metrics, one per outcome of a browser-facing decision: a page shown (home realm, consent), the browser
 * sent to the upstream IdP, a code issued, the user's refusal (or the IdP's), a rejected request, a failure (the IdP
 * unreachable or refusing our client, a secret unreadable, DynamoDB).
 */
const SIGN_IN_METRIC_BY_OUTCOME = {
  page: 'SignInPages',
  upstream: 'SignInRedirects',
  code: 'SignInCodesIssued',
  denied: 'SignInDenials',
  rejected: 'SignInRejections',
  failed: 'SignInFailures',
} as const;

/**
 * CloudWatch embedded metric format fields for one token decision: merged into the audit log line, they make
 * CloudWatch count issued tokens, rejections and failures (per error code) with no metrics API call on the hot path.
 */
export function decisionMetrics(audit: AuditRecord, target: MetricsTarget, timestamp: number): Record<string, unknown> {
  return embeddedMetrics(target, timestamp, METRIC_BY_OUTCOME[audit.outcome], 'ExchangeLatency', audit);
}

/** The same for one revocation request. */
export function revocationMetrics(
  audit: RevocationAudit,
  target: MetricsTarget,
  timestamp: number,
): Record<string, unknown> {
  return embeddedMetrics(target, timestamp, REVOCATION_METRIC_BY_OUTCOME[audit.outcome], 'RevocationLatency', audit);
}

/** The same for one registration request (RFC 7591). */
export function registrationMetrics(
  audit: RegistrationAudit,
  target: MetricsTarget,
  timestamp: number,
): Record<string, unknown> {
  return embeddedMetrics(
    target,
    timestamp,
    REGISTRATION_METRIC_BY_OUTCOME[audit.outcome],
    'RegistrationLatency',
    audit,
  );
}

/** The same for one decision of the interactive flow's browser-facing endpoints (`/authorize`, `/callback`). */
export function signInMetrics(
  audit: InteractionAudit,
  target: MetricsTarget,
  timestamp: number,
): Record<string, unknown> {
  return embeddedMetrics(target, timestamp, SIGN_IN_METRIC_BY_OUTCOME[audit.outcome], 'SignInLatency', audit);
}

/** One count named by the outcome, per `Server` and per (`Server`, `Error`) when there is an error, and a latency. */
function embeddedMetrics(
  target: MetricsTarget,
  timestamp: number,
  name: string,
  latencyName: string,
  audit: { readonly error?: string; readonly latencyMs: number },
): Record<string, unknown> {
  const dimensions = audit.error ? [['Server'], ['Server', 'Error']] : [['Server']];
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: target.namespace,
          Dimensions: dimensions,
          Metrics: [
            { Name: name, Unit: 'Count' },
            { Name: latencyName, Unit: 'Milliseconds' },
          ],
        },
      ],
    },
    Server: target.server,
    ...(audit.error ? { Error: audit.error } : {}),
    [name]: 1,
    [latencyName]: audit.latencyMs,
  };
}
