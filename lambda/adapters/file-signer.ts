import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyObjectSigner } from './key-object-signer';

export const SIGNING_KEY_FILE = 'signing-key.pem';

/**
 * The local mode's signer: an ES256 key in `<dataDir>/signing-key.pem`, created (mode 0600) on first use and reused
 * afterwards, so tokens keep the same `kid` across restarts. In AWS the KMS signer takes its place.
 */
export async function loadOrCreateFileSigner(dataDir: string): Promise<KeyObjectSigner> {
  const file = join(dataDir, SIGNING_KEY_FILE);
  if (!existsSync(file)) createKeyFile(dataDir, file);
  const privateKey = createPrivateKey(readFileSync(file, 'utf8'));
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`${file} is not a P-256 private key: remove it to have a new one created`);
  }
  return new KeyObjectSigner(privateKey, 'ES256');
}

function createKeyFile(dataDir: string, file: string): void {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    // 'wx' never overwrites: a key another process wrote in the meantime wins, and we read that one.
    writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
  }
}
