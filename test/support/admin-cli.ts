import type { AdminIo } from '../../lambda/admin/io';
import { main } from '../../lambda/admin/main';

export interface AdminRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface AdminRunOptions {
  /** Given to the command as all of stdin; absent: no stdin. */
  readonly stdin?: string;
  readonly env?: Record<string, string>;
  readonly now?: () => number;
  /** The terminal's answer to a yes/no question; absent: no terminal, as in CI. */
  readonly confirm?: AdminIo['confirm'];
}

/** The admin CLI in process: real parsing and real SDK calls, output captured. */
export async function runAdmin(args: readonly string[], options: AdminRunOptions = {}): Promise<AdminRun> {
  let stdout = '';
  let stderr = '';
  const { stdin } = options;
  const code = await main(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin:
      stdin === undefined
        ? undefined
        : (async function* () {
            yield stdin;
          })(),
    env: options.env ?? {},
    ...(options.now ? { now: options.now } : {}),
    ...(options.confirm ? { confirm: options.confirm } : {}),
  });
  return { code, stdout, stderr };
}
