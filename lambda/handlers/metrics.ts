import type { AuditRecord } from '../core/audit';

export interface MetricsTarget {
  readonly namespace: string;
  /** The `Server` dimension: tells deployments in one account and Region apart. */
  readonly server: string;
}

const METRIC_BY_OUTCOME = {
  issued: 'TokensIssued',
  rejected: 'TokenRejections',
  failed: 'TokenFailures',
} as const;

/**
 * CloudWatch embedded metric format fields for one token decision: merged into the audit log line, they make
 * CloudWatch count issued tokens, rejections and failures (per error code) with no metrics API call on the hot path.
 */
export function decisionMetrics(audit: AuditRecord, target: MetricsTarget, timestamp: number): Record<string, unknown> {
  const name = METRIC_BY_OUTCOME[audit.outcome];
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
            { Name: 'ExchangeLatency', Unit: 'Milliseconds' },
          ],
        },
      ],
    },
    Server: target.server,
    ...(audit.error ? { Error: audit.error } : {}),
    [name]: 1,
    ExchangeLatency: audit.latencyMs,
  };
}
