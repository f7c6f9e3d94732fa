import { ConfigError, resolveServerConfig, type ServerConfig } from '../core/config';
import { createLogger, isLogLevel, type Logger } from './logger';
import type { MetricsTarget } from './metrics';

/**
 * Configuration comes from the environment the construct sets, read once per execution environment. A missing or
 * invalid variable is an error that names it.
 */
export type Environment = Readonly<Record<string, string | undefined>>;

export function requireVariable(env: Environment, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new ConfigError('environment', [`${name} is not set`]);
  return value;
}

/** `AUTH_SERVER_CONFIG`: the JSON server configuration (issuer, resources, lifetimes). */
export function serverConfigFrom(env: Environment): ServerConfig {
  const raw = requireVariable(env, 'AUTH_SERVER_CONFIG');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('environment', ['AUTH_SERVER_CONFIG is not valid JSON']);
  }
  return resolveServerConfig(parsed, { source: 'AUTH_SERVER_CONFIG' });
}

/** `REGISTRY_CACHE_SECONDS`: how long registrations are cached (default 30). */
export function registryCacheMsFrom(env: Environment): number {
  const raw = env.REGISTRY_CACHE_SECONDS;
  if (raw === undefined || raw === '') return 30_000;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 3600) {
    throw new ConfigError('environment', ['REGISTRY_CACHE_SECONDS must be an integer from 0 to 3600']);
  }
  return seconds * 1000;
}

/** `METRICS_NAMESPACE` and `METRICS_SERVER_NAME`: both or neither. */
export function metricsTargetFrom(env: Environment): MetricsTarget | undefined {
  const { METRICS_NAMESPACE: namespace, METRICS_SERVER_NAME: server } = env;
  return namespace && server ? { namespace, server } : undefined;
}

/** `LOG_LEVEL`: debug, info (default), warn or error. */
export function loggerFrom(env: Environment, service: string): Logger {
  const level = env.LOG_LEVEL?.toLowerCase();
  return createLogger({ service, level: isLogLevel(level) ? level : 'info' });
}
