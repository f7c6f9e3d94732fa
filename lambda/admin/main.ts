import { parseArgs } from 'node:util';
import { version as PACKAGE_VERSION } from '../../package.json';
import { ConcurrentChangeError } from '../adapters/dynamodb/admin-store';
import { ConfigError } from '../core/config';
import { apply } from './apply';
import { CLIENT_COMMANDS } from './clients';
import { CommandContext, type CommandSpec, GLOBAL_OPTIONS, type OptionSpecs } from './command';
import { CONNECTION_COMMANDS } from './connections';
import { GRANT_COMMANDS } from './grants';
import { type AdminIo, EXIT, Output, UsageError } from './io';
import { ISSUER_COMMANDS } from './issuers';
import { hashSecret, initTable } from './table-commands';
import { TENANT_COMMANDS } from './tenants';

export const PROGRAM = 'id-jag-admin';

export const COMMANDS: readonly CommandSpec[] = [
  ...TENANT_COMMANDS,
  ...ISSUER_COMMANDS,
  ...CONNECTION_COMMANDS,
  ...CLIENT_COMMANDS,
  ...GRANT_COMMANDS,
  apply,
  hashSecret,
  initTable,
];

const GROUPS = ['tenants', 'issuers', 'connections', 'clients', 'grants'];

/**
 * The admin CLI: `argv` are the arguments after the program name (`process.argv.slice(2)`). Writes to the injected
 * stdout and stderr and resolves to the exit code (see EXIT); it never exits the process itself.
 */
export async function main(argv: readonly string[], io: AdminIo): Promise<number> {
  const out = new Output(io, argv.includes('--json'));
  try {
    return await run([...argv], io, out);
  } catch (error) {
    return report(error, out);
  }
}

/** `--local [--data-dir <dir>]` may come before the command words too (`id-jag-admin --local tenants list`). */
function withLeadingLocalLast(argv: readonly string[]): string[] {
  const leading: string[] = [];
  let rest = [...argv];
  for (;;) {
    const [first, second] = rest;
    if (first === '--local' || first?.startsWith('--data-dir=')) {
      leading.push(first);
      rest = rest.slice(1);
    } else if (first === '--data-dir' && second !== undefined) {
      leading.push(first, second);
      rest = rest.slice(2);
    } else {
      return [...rest, ...leading];
    }
  }
}

async function run(original: string[], io: AdminIo, out: Output): Promise<number> {
  const argv = withLeadingLocalLast(original);
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  const [first, second] = argv;
  if (first === '--version' || (first?.startsWith('-') && !wantsHelp && argv.includes('--version'))) {
    out.line(PACKAGE_VERSION);
    return EXIT.ok;
  }
  if (first?.startsWith('-') && !wantsHelp && !GLOBAL_OPTIONS[first.replace(/^--?|=.*$/g, '')]) {
    throw new UsageError(`unknown option ${first}; see ${PROGRAM} --help`);
  }
  if (first === undefined || first === 'help' || (first.startsWith('-') && wantsHelp)) {
    overview(out);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  const spec =
    COMMANDS.find((command) => command.name === `${first} ${second}`) ?? COMMANDS.find((c) => c.name === first);
  if (!spec) {
    if (GROUPS.includes(first) && (second === undefined || second.startsWith('-'))) {
      groupHelp(out, first);
      return wantsHelp ? EXIT.ok : EXIT.usage;
    }
    const name = GROUPS.includes(first) ? `${first} ${second}` : first;
    throw new UsageError(`unknown command ${name} (see ${PROGRAM} --help)`);
  }
  const rest = argv.slice(spec.name.split(' ').length);
  const { values, positionals } = parse(spec, rest);
  if (values.help) {
    commandHelp(out, spec);
    return EXIT.ok;
  }
  if (values['dry-run'] && !spec.writes)
    throw new UsageError(`--dry-run is for commands that write; ${spec.name} does not`);
  if (positionals.length !== spec.args.length) {
    throw new UsageError(`usage: ${usage(spec)}`);
  }
  const context = new CommandContext(io, positionals, values);
  try {
    return (await spec.run(context)) ?? EXIT.ok;
  } finally {
    context.close();
  }
}

function parse(spec: CommandSpec, args: string[]) {
  const options = { ...GLOBAL_OPTIONS, ...spec.options };
  try {
    return parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(options).map(([name, option]) => [
          name,
          {
            type: option.type,
            ...(option.short ? { short: option.short } : {}),
            ...(option.multiple ? { multiple: true } : {}),
          },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${parseProblem(error as NodeJS.ErrnoException)}; see ${PROGRAM} ${spec.name} --help`);
  }
}

/** parseArgs's own messages are long and suggest `--` tricks; say what is wrong in a few words. */
function parseProblem(error: NodeJS.ErrnoException): string {
  const option = /'(-[^' ]+)/.exec(error.message)?.[1];
  if (option === undefined) return error.message;
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      // A missing value, or the next flag taken for one (`--table --json`): parseArgs calls it ambiguous.
      return /does not take an argument/.test(error.message) ? `${option} takes no value` : `${option} needs a value`;
    default:
      return error.message;
  }
}

/** Exit codes: 1 for what the user can fix in the command or file, 2 for the store, AWS or a concurrent change. */
function report(error: unknown, out: Output): number {
  if (error instanceof UsageError) {
    out.error(error.message);
    return EXIT.usage;
  }
  if (error instanceof ConfigError) {
    out.error(error.message);
    return EXIT.usage;
  }
  if (error instanceof ConcurrentChangeError) {
    out.error(error.message);
    return EXIT.store;
  }
  const name = (error as { name?: unknown })?.name;
  const message = error instanceof Error ? error.message : String(error);
  // An AWS error's name says what failed (ResourceNotFoundException); a plain Error's says nothing.
  const prefix = typeof name === 'string' && name !== 'Error' ? `${name}: ` : '';
  out.error(`${prefix}${message}${hint(name, message)}`);
  return EXIT.store;
}

function hint(name: unknown, message: string): string {
  if (name === 'ResourceNotFoundException') return ' (does the table exist? in local mode, create it with init-table)';
  if (name === 'CredentialsProviderError') return ' (configure AWS credentials, or use --local for the local server)';
  if (/^Region is missing/.test(message))
    return ': set AWS_REGION or pass --region, or use --local for the local server';
  return '';
}

// ---- help ----

function usage(spec: CommandSpec): string {
  return [PROGRAM, spec.name, ...spec.args, '[options]'].join(' ');
}

function optionLines(options: OptionSpecs): string[] {
  const label = (name: string, spec: OptionSpecs[string]) =>
    `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` <${spec.value ?? 'value'}>` : ''}` +
    `${spec.multiple ? ' (repeatable)' : ''}`;
  const entries = Object.entries(options).map(([name, spec]) => [label(name, spec), spec.description] as const);
  const width = Math.max(...entries.map(([text]) => text.length));
  return entries.map(([text, description]) => `  ${text.padEnd(width)}  ${description}`);
}

function commandHelp(out: Output, spec: CommandSpec): void {
  out.line(`Usage: ${usage(spec)}`);
  out.line();
  out.line(spec.summary);
  if (spec.details) {
    out.line();
    out.line(spec.details);
  }
  if (Object.keys(spec.options).length > 0) {
    out.line();
    out.line('Options:');
    for (const line of optionLines(spec.options)) out.line(line);
  }
  out.line();
  out.line('Global options:');
  for (const line of optionLines(GLOBAL_OPTIONS)) out.line(line);
}

function commandList(commands: readonly CommandSpec[]): string[] {
  const width = Math.max(...commands.map((spec) => [spec.name, ...spec.args].join(' ').length));
  return commands.map((spec) => `  ${[spec.name, ...spec.args].join(' ').padEnd(width)}  ${spec.summary}`);
}

function groupHelp(out: Output, group: string): void {
  out.line(`Usage: ${PROGRAM} ${group} <command> [options]`);
  out.line();
  for (const line of commandList(COMMANDS.filter((spec) => spec.name.startsWith(`${group} `)))) out.line(line);
  out.line();
  out.line(`${PROGRAM} ${group} <command> --help shows a command's options.`);
}

function overview(out: Output): void {
  out.line(`Usage: ${PROGRAM} <command> [options]`);
  out.line();
  out.line(
    'Manages the tenants, their trusted issuers and sign-in connections, and the clients of an ID-JAG authorization',
  );
  out.line('server in its DynamoDB table.');
  out.line();
  out.line('Commands:');
  for (const line of commandList(COMMANDS)) out.line(line);
  out.line();
  out.line('Global options:');
  for (const line of optionLines(GLOBAL_OPTIONS)) out.line(line);
  out.line();
  out.line(`${PROGRAM} --version prints the version.`);
  out.line(`Exit codes: 0 success, 1 bad usage or input, 2 DynamoDB/AWS failure or a concurrent change.`);
  out.line(`${PROGRAM} <command> --help shows a command's options.`);
}
