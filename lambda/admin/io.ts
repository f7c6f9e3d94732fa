/** What the CLI touches outside itself, injected so that tests run it in process. */
export interface AdminIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Read by `hash-secret`. */
  readonly stdin?: AsyncIterable<string | Uint8Array>;
  /** Consulted for TABLE_NAME, the region and whether credentials are configured. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Epoch seconds, for secret grace periods. @default the system clock */
  readonly now?: () => number;
  /**
   * Asks the operator a yes/no question on the terminal (`grants revoke` before revoking several grants). Absent when
   * there is no terminal (CI, a pipe): a command that would ask requires `--yes` instead.
   */
  readonly confirm?: (question: string) => Promise<boolean>;
}

export const EXIT = {
  ok: 0,
  /** Bad usage or input: unknown command or flag, invalid value, unknown tenant or client, invalid file. */
  usage: 1,
  /** DynamoDB or AWS failed (missing table, no credentials, throttling), or the table changed concurrently. */
  store: 2,
} as const;

/** Bad usage or input: reported on stderr with exit code 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Writes human-readable lines, or one JSON document with `--json`. */
export class Output {
  constructor(
    private readonly io: AdminIo,
    readonly json: boolean,
  ) {}

  line(text = ''): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** Human output only: suppressed with `--json`, which prints `document` instead. */
  result(document: unknown, human: () => void): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    else human();
  }

  warn(text: string): void {
    this.io.stderr.write(`warning: ${text}\n`);
  }

  error(text: string): void {
    this.io.stderr.write(`error: ${text}\n`);
  }
}

/** Left-aligned columns with a header row; empty cells show as `-`. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const cells = rows.map((row) => row.map((cell) => (cell === '' ? '-' : cell)));
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...cells.map((row) => row[column]?.length ?? 0)),
  );
  const format = (row: readonly string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [format(headers), ...cells.map(format)];
}
