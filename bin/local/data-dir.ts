import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What only this server puts in a data directory: finding one of them tells its directory from any other. */
const OWN_ENTRIES = ['signing-key.pem', 'dynamodb', 'demo.json', 'demo-idp-key.pem', 'secrets'];

/**
 * Makes the data directory the user's alone (0700): it holds the signing key, the demo credentials and the table,
 * whose socket is guarded by nothing but this directory's mode. A new directory is created 0700; an existing one open
 * to group or others is tightened if it holds this server's files, and refused otherwise, since changing the mode of
 * a directory that may be shared is not ours to do. Returns whether it tightened one. Windows keeps its ACLs.
 */
export function prepareDataDir(dataDir: string): { tightened: boolean } {
  if (process.platform === 'win32') {
    mkdirSync(dataDir, { recursive: true });
    return { tightened: false };
  }
  if (mkdirSync(dataDir, { recursive: true, mode: 0o700 }) !== undefined) {
    chmodSync(dataDir, 0o700); // the umask may have taken bits off; nothing else can have been added
    return { tightened: false };
  }
  const stat = statSync(dataDir);
  if (!stat.isDirectory()) throw new Error(`--data-dir ${dataDir} is not a directory`);
  if (stat.uid !== process.getuid?.()) {
    throw new Error(`${dataDir} belongs to another user: choose a --data-dir of your own`);
  }
  const open = stat.mode & 0o077;
  if (open === 0) return { tightened: false };
  if (!OWN_ENTRIES.some((entry) => existsSync(join(dataDir, entry)))) {
    const mode = (stat.mode & 0o777).toString(8);
    throw new Error(
      `${dataDir} is open to other users (mode ${mode}) and holds no local server data: ` +
        `run \`chmod 700 ${dataDir}\` if it is only for this server, or choose another --data-dir`,
    );
  }
  chmodSync(dataDir, 0o700);
  return { tightened: true };
}
