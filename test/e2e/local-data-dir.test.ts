import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalServer } from '../../bin/local/server';

const quiet = { port: 0, write: () => undefined } as const;
const mode = (path: string) => statSync(path).mode & 0o777;

/**
 * The data directory holds the signing key, the demo credentials and the table (whose socket nothing else guards):
 * it is the user's alone.
 */
describe('the local server’s data directory', () => {
  let work: string;

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'id-jag-data-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('is created 0700', async () => {
    const dataDir = join(work, 'new', 'data');
    const server = await startLocalServer({ ...quiet, dataDir });
    await server.close();
    expect(mode(dataDir)).toBe(0o700);
  });

  it('is tightened to 0700 when it is the server’s own directory and open to others', async () => {
    const dataDir = join(work, 'data');
    const server = await startLocalServer({ ...quiet, dataDir });
    await server.close();
    chmodSync(dataDir, 0o755);

    const again = await startLocalServer({ ...quiet, dataDir });
    await again.close();
    expect(mode(dataDir)).toBe(0o700);
  });

  it('is refused, with what to do, when it is open to others and not the server’s own', async () => {
    const dataDir = join(work, 'shared');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'notes.txt'), 'not the server’s');

    await expect(startLocalServer({ ...quiet, dataDir })).rejects.toThrow(
      `${dataDir} is open to other users (mode 755) and holds no local server data: run \`chmod 700 ${dataDir}\` if it is only for this server, or choose another --data-dir`,
    );
    expect(mode(dataDir)).toBe(0o755);
    expect(readdirSync(dataDir)).toEqual(['notes.txt']);
  });
});
