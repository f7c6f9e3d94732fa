import { generateClientSecret, hashClientSecret } from '../core/secrets';
import type { CommandContext, CommandSpec } from './command';
import { EXIT, UsageError } from './io';

/** The secret scheme is a fast salted HMAC, safe only for long random secrets (see lambda/core/secrets.ts). */
export const MIN_SECRET_LENGTH = 32;
const MAX_SECRET_BYTES = 4096;

export const hashSecret: CommandSpec = {
  name: 'hash-secret',
  args: [],
  summary: 'print the hash of a client secret read from stdin, for secretHash in a configuration file',
  details:
    'Example: openssl rand -base64 32 | id-jag-admin hash-secret\n' +
    '         id-jag-admin hash-secret --generate   (makes a secret, prints it and its hash)\n' +
    `The secret must be random and at least ${MIN_SECRET_LENGTH} characters long.`,
  options: { generate: { type: 'boolean', description: 'generate a new secret instead of reading one' } },
  usesTable: false,
  writes: false,
  async run(context) {
    const generated = context.flag('generate') ? generateClientSecret() : undefined;
    const secret = generated ?? (await readSecret(context));
    if (secret.length < MIN_SECRET_LENGTH) {
      throw new UsageError(
        `the secret is too short: use a random secret of at least ${MIN_SECRET_LENGTH} characters ` +
          '(or hash-secret --generate)',
      );
    }
    const secretHash = hashClientSecret(secret);
    context.out.result(generated ? { secret: generated, secretHash } : { secretHash }, () => {
      if (generated) context.out.line(`secret:     ${generated}`);
      context.out.line(generated ? `secretHash: ${secretHash}` : secretHash);
    });
    return EXIT.ok;
  },
};

/** All of stdin, without the line break a shell pipe or prompt adds. */
async function readSecret(context: CommandContext): Promise<string> {
  if (!context.io.stdin) throw new UsageError('no stdin to read the secret from');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of context.io.stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
    size += bytes.length;
    if (size > MAX_SECRET_BYTES) throw new UsageError('stdin is too long for a secret');
    chunks.push(bytes);
  }
  const secret = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (secret === '') throw new UsageError('no secret on stdin');
  return secret;
}

export const initTable: CommandSpec = {
  name: 'init-table',
  args: [],
  summary: 'create the table (local mode only: in AWS the construct creates it)',
  details: 'Example: id-jag-admin init-table --endpoint http://127.0.0.1:8000 --table id-jag',
  options: {},
  usesTable: true,
  writes: true,
  async run(context) {
    if (!context.localMode) {
      throw new UsageError('init-table works in local mode only (--endpoint http://127.0.0.1:<port>)');
    }
    const table = context.table();
    if (context.dryRun) {
      context.out.result({ dryRun: true, table: table.tableName }, () =>
        context.out.line(`would create table ${table.tableName}`),
      );
      return EXIT.ok;
    }
    const outcome = await table.createTable();
    context.out.result({ table: table.tableName, outcome }, () =>
      context.out.line(outcome === 'created' ? `created table ${table.tableName}` : `table ${table.tableName} exists`),
    );
    return EXIT.ok;
  },
};
