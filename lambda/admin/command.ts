import { isIP } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RegistryTable } from '../adapters/dynamodb/admin-store';
import { GrantAdmin } from '../adapters/dynamodb/grant-admin';
import { DynamoGrantStore } from '../adapters/dynamodb/grant-store';
import { isPrivateAddress } from '../adapters/safe-fetch';
import type { EntityRef, RegistryState } from '../config/state';
import { ConfigError, isLoopbackHost } from '../core/config';
import { type AdminIo, Output, UsageError } from './io';
import { findLocalTable, type LocalServerFile, socketClient } from './local-table';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly description: string;
  /** Shown in help for string options. */
  readonly value?: string;
  readonly short?: string;
  /** A string option that may be given several times (`--redirect-uri a --redirect-uri b`). */
  readonly multiple?: boolean;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export interface CommandSpec {
  /** The command words, such as `tenants add`. */
  readonly name: string;
  /** Positional arguments, each required, such as `<tenant-id>`. */
  readonly args: readonly string[];
  readonly summary: string;
  /** Longer help, examples included. */
  readonly details?: string;
  readonly options: OptionSpecs;
  /** False for commands that never touch the table (`hash-secret`). */
  readonly usesTable: boolean;
  readonly writes: boolean;
  run(context: CommandContext): Promise<number | undefined>;
}

export const GLOBAL_OPTIONS: OptionSpecs = {
  table: { type: 'string', value: 'name', description: 'the table (default: the TABLE_NAME environment variable)' },
  region: { type: 'string', value: 'region', description: 'the AWS region (default: the SDK configuration)' },
  endpoint: {
    type: 'string',
    value: 'url',
    description: 'a DynamoDB endpoint; on 127.0.0.1 or localhost this is local mode (http issuers, dummy credentials)',
  },
  local: {
    type: 'boolean',
    description: 'the running local server (npm start): its table, found through its data directory',
  },
  'data-dir': {
    type: 'string',
    value: 'dir',
    description: "with --local: the local server's data directory (default: ID_JAG_DATA_DIR or .data)",
  },
  json: { type: 'boolean', description: 'print JSON instead of text' },
  'dry-run': { type: 'boolean', description: 'print what a write would change, and change nothing' },
  help: { type: 'boolean', short: 'h', description: 'show help for the command' },
};

export type Values = Readonly<Record<string, string | boolean | readonly (string | boolean)[] | undefined>>;

/** Everything a command needs: its arguments, output, and (created on first use) the table. */
export class CommandContext {
  readonly out: Output;
  readonly localMode: boolean;
  private client?: DynamoDBClient;
  /** With --local: the running local server's table, found on first use. */
  private localServer?: LocalServerFile;

  constructor(
    readonly io: AdminIo,
    readonly args: readonly string[],
    readonly values: Values,
  ) {
    this.out = new Output(io, values.json === true);
    if (values.local === true) {
      const conflicting = ['endpoint', 'table', 'region'].find((name) => values[name] !== undefined);
      if (conflicting) throw new UsageError(`--local finds the local server's table by itself: drop --${conflicting}`);
    } else if (values['data-dir'] !== undefined) {
      throw new UsageError('--data-dir goes with --local');
    }
    this.localMode = values.local === true || isLocalEndpoint(this.string('endpoint'));
  }

  get env(): Readonly<Record<string, string | undefined>> {
    return this.io.env ?? process.env;
  }

  get dryRun(): boolean {
    return this.values['dry-run'] === true;
  }

  now(): number {
    return this.io.now ? this.io.now() : Math.floor(Date.now() / 1000);
  }

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  /** Every value of a repeatable option, in order; undefined when it was not given. */
  strings(name: string): readonly string[] | undefined {
    const value = this.values[name];
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined;
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  table(): RegistryTable {
    return new RegistryTable(this.dynamo());
  }

  /** Listing grants (the refresh token families of the interactive flow). */
  grantAdmin(): GrantAdmin {
    return new GrantAdmin(this.dynamo());
  }

  /** The server's own grant store: revoking a grant is the same write the server makes. */
  grantStore(): DynamoGrantStore {
    return new DynamoGrantStore(this.dynamo());
  }

  private dynamo(): { client: DynamoDBClient; tableName: string } {
    if (this.flag('local')) {
      this.localServer ??= findLocalTable(this.string('data-dir') ?? this.env.ID_JAG_DATA_DIR ?? '.data');
      this.client ??= socketClient(this.localServer.dynamodbSocket);
      return { client: this.client, tableName: this.localServer.tableName };
    }
    const tableName = this.string('table') ?? this.env.TABLE_NAME;
    if (!tableName) throw new UsageError('no table: pass --table <name> or set TABLE_NAME');
    this.client ??= this.createClient();
    return { client: this.client, tableName };
  }

  /** Loads the registry, reading `refresh` consistently, and warns about items the server would ignore. */
  async loadState(refresh: readonly EntityRef[] = []): Promise<RegistryState> {
    const state = await this.table().loadState(refresh);
    for (const entry of state.malformed) this.out.warn(entry.problem);
    return state;
  }

  close(): void {
    this.client?.destroy();
  }

  private createClient(): DynamoDBClient {
    const endpoint = this.string('endpoint');
    const region =
      this.string('region') ??
      this.env.AWS_REGION ??
      this.env.AWS_DEFAULT_REGION ??
      (this.localMode ? 'us-east-1' : undefined);
    // dynalite accepts any credentials; asking for real ones locally would only get in the way.
    const dummyCredentials = this.localMode && !this.env.AWS_ACCESS_KEY_ID && !this.env.AWS_PROFILE;
    return new DynamoDBClient({
      ...(endpoint ? { endpoint } : {}),
      ...(region ? { region } : {}),
      ...(dummyCredentials ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    });
  }
}

export function isLocalEndpoint(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  try {
    return isLoopbackHost(new URL(endpoint).hostname);
  } catch {
    throw new UsageError(`--endpoint: ${endpoint} is not a URL`);
  }
}

/**
 * Why the deployed server would never fetch from `url`, or undefined: its fetcher refuses loopback, private and
 * link-local addresses (lambda/adapters/safe-fetch.ts). Only what the URL says can be judged here: `localhost` and
 * literal IP addresses; a host name is resolved, and its addresses checked, when the server fetches.
 */
export function privateHostProblem(url: string): string | undefined {
  let hostname: string;
  try {
    hostname = new URL(url).hostname.toLowerCase();
  } catch {
    return undefined; // the schema says what is wrong with it
  }
  const host = hostname.replace(/^\[|\]$/g, '');
  const isLocalhost = host === 'localhost' || host.endsWith('.localhost');
  if (!isLocalhost && !(isIP(host) !== 0 && isPrivateAddress(host))) return undefined;
  return (
    `${hostname} is a loopback or private address: the server's fetcher refuses to fetch from it ` +
    '(only local mode accepts it: --local, or --endpoint on loopback)'
  );
}

/** Outside local mode, refuses the URLs (labelled by flag or file path) that the server's fetcher would refuse. */
export function refusePrivateHosts(
  context: CommandContext,
  urls: readonly (readonly [label: string, url: string | undefined])[],
): void {
  if (context.localMode) return;
  const problems = urls.flatMap(([label, url]) => {
    const problem = url === undefined ? undefined : privateHostProblem(url);
    return problem ? [`${label}: ${problem}`] : [];
  });
  if (problems.length === 1) throw new UsageError(problems[0]!);
  if (problems.length > 1) throw new UsageError(`invalid input:\n  ${problems.join('\n  ')}`);
}

/** Splits a comma- or space-separated list flag. */
export function list(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

/**
 * Validates a registration built from flags, naming flags rather than file fields in the messages
 * (`--jwks-uri: must use https`).
 */
export function withFlagNames<T>(
  parse: () => T,
  positional: Readonly<Record<string, string>> = {},
  /** Phrases of the messages that name file fields, and what to say instead (`jwks or jwksUri` → flags). */
  wording: Readonly<Record<string, string>> = {},
): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const renamed = error.problems.map((problem) => {
      const match = /^([A-Za-z]+)([.\w]*): (.*)$/s.exec(problem);
      if (!match) return problem;
      const [, field = '', rest = '', message] = match;
      // A nested field may have a flag of its own (`clientSecret.file` is --secret-file).
      const whole = positional[`${field}${rest}`];
      if (whole) return `${whole}: ${message}`;
      const name = positional[field] ?? `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      return `${name}${rest}: ${message}`;
    });
    const reworded = renamed.map((problem) =>
      Object.entries(wording).reduce((text, [phrase, replacement]) => text.split(phrase).join(replacement), problem),
    );
    throw new UsageError(reworded.length === 1 ? reworded[0]! : `invalid input:\n  ${reworded.join('\n  ')}`);
  }
}

/** Applies flag edits to a registration: `undefined` keeps a field, `''` removes it (so that its default applies). */
export function withEdits(base: Record<string, unknown>, edits: Record<string, unknown>): Record<string, unknown> {
  const result = { ...base };
  for (const [name, value] of Object.entries(edits)) {
    if (value === '') delete result[name];
    else if (value !== undefined) result[name] = value;
  }
  return result;
}
