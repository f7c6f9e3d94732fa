import { createInterface } from 'node:readline/promises';
import { main } from '../lambda/admin/main';

/** A yes/no question on the terminal; none without one (CI, pipes), where commands that would ask need --yes. */
async function confirm(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}

// A reader that stops early (`id-jag-admin --help | head -1`) closes the pipe: stop quietly, as other tools do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

// The id-jag-admin command: see docs/admin-cli.md.
const io = {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  ...(process.stdin.isTTY && process.stderr.isTTY ? { confirm } : {}),
};
main(process.argv.slice(2), io).then((code) => {
  process.exitCode = code;
});
