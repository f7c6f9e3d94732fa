import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { loadOrCreateFileSigner, SIGNING_KEY_FILE } from '../../lambda/adapters/file-signer';
import { signJwt } from '../../lambda/core/access-token';

describe('file signer (local mode)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'id-jag-signer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates an owner-only key file on first use and signs tokens that verify', async () => {
    const signer = await loadOrCreateFileSigner(dir);
    expect(statSync(join(dir, SIGNING_KEY_FILE)).mode & 0o777).toBe(0o600);
    const token = await signJwt(signer, { sub: 'alice' });
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: [...(await signer.publicKeys())] }));
    expect(payload.sub).toBe('alice');
  });

  it('creates the data folder when it does not exist yet', async () => {
    const nested = join(dir, 'data', 'local');
    await loadOrCreateFileSigner(nested);
    expect(statSync(join(nested, SIGNING_KEY_FILE)).mode & 0o777).toBe(0o600);
  });

  it('refuses a key file that does not hold a P-256 key', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(join(dir, SIGNING_KEY_FILE), privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    await expect(loadOrCreateFileSigner(dir)).rejects.toThrow(/not a P-256 private key/);
  });

  it('reuses the key on the next start, so the kid stays the same', async () => {
    const first = await (await loadOrCreateFileSigner(dir)).activeKey();
    const second = await (await loadOrCreateFileSigner(dir)).activeKey();
    expect(second).toEqual(first);
  });
});
