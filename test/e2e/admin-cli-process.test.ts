import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const bundle = join(__dirname, '..', '..', 'dist', 'bin', 'admin.mjs');

describe('id-jag-admin as a process', () => {
  it('stops quietly when its reader has closed the pipe (--help | head -1), with no stack and exit code 0', async () => {
    if (!existsSync(bundle)) throw new Error('run `npm run build` first (npm test does)');
    const child = spawn(process.execPath, [bundle, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Like `head -1` once it has its line: the reading end is gone before the help is written.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  }, 30_000);
});
