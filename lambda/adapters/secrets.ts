import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServerError, TemporarilyUnavailableError } from '../core/errors';
import { parseSecretRef } from '../core/model';
import type { SecretSource } from '../core/ports';
import { isTransientStoreError } from './dynamodb/errors';

export interface SecretsManagerSourceOptions {
  readonly client: SecretsManagerClient;
  /** How long a secret is reused before it is read again (a rotation takes effect within it). @default 300000 */
  readonly cacheMaxAgeMs?: number;
  readonly nowMs?: () => number;
}

/**
 * Upstream client secrets from AWS Secrets Manager (`secretsmanager:<arn or name>` references, model.ts), cached briefly in the function. Only `secretsmanager:` references;
 * the construct grants `GetSecretValue` on exactly the secrets the registry declares. A missing or unreadable secret is
 * a misconfiguration (`server_error`); throttling or an outage, `temporarily_unavailable`. Values are never logged.
 */
export class SecretsManagerSource implements SecretSource {
  private readonly cache = new Map<string, { value: Promise<string>; at: number }>();

  constructor(private readonly options: SecretsManagerSourceOptions) {}

  secret(ref: string): Promise<string> {
    const parsed = parseSecretRef(ref);
    if (parsed?.kind !== 'secretsmanager') return Promise.reject(new ServerError(`not a Secrets Manager reference`));
    const now = (this.options.nowMs ?? Date.now)();
    const cached = this.cache.get(parsed.secretId);
    if (cached && now - cached.at < (this.options.cacheMaxAgeMs ?? 300_000)) return cached.value;
    const value = this.read(parsed.secretId);
    this.cache.set(parsed.secretId, { value, at: now });
    value.catch(() => this.cache.delete(parsed.secretId));
    return value;
  }

  private async read(id: string): Promise<string> {
    try {
      const { SecretString } = await this.options.client.send(new GetSecretValueCommand({ SecretId: id }));
      if (typeof SecretString !== 'string' || SecretString === '') throw new ServerError('secret has no string value');
      return SecretString;
    } catch (error) {
      if (error instanceof ServerError) throw error;
      const name = (error as { name?: unknown }).name;
      const described = typeof name === 'string' ? name : 'failure';
      if (isTransientStoreError(error)) throw new TemporarilyUnavailableError(`secrets manager ${described}`);
      throw new ServerError(`secrets manager ${described}`);
    }
  }
}

/** Local mode: `file:<name>` is `<dataDir>/secrets/<name>`, its content the secret (a final newline dropped). */
export class FileSecretSource implements SecretSource {
  constructor(private readonly dataDir: string) {}

  async secret(ref: string): Promise<string> {
    const parsed = parseSecretRef(ref);
    if (parsed?.kind !== 'file') throw new ServerError('not a file secret reference');
    let text: string;
    try {
      text = await readFile(join(this.dataDir, 'secrets', parsed.name), 'utf8');
    } catch {
      throw new ServerError(`secret file ${parsed.name} cannot be read`);
    }
    const value = text.replace(/\r?\n$/, '');
    if (value === '') throw new ServerError(`secret file ${parsed.name} is empty`);
    return value;
  }
}
