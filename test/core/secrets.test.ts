import { generateClientSecret, hashClientSecret, isSecretHash, verifyClientSecret } from '../../lambda/core/secrets';

describe('client secrets', () => {
  it('stores a salted hash that does not contain the secret and differs per hashing', () => {
    const secret = generateClientSecret();
    const first = hashClientSecret(secret);
    const second = hashClientSecret(secret);
    expect(first).not.toContain(secret);
    expect(first).not.toBe(second);
    expect(isSecretHash(first)).toBe(true);
  });

  it('verifies the right secret and refuses a wrong one, a truncated one and an empty one', () => {
    const secret = generateClientSecret();
    const stored = [{ hash: hashClientSecret(secret) }];
    expect(verifyClientSecret(secret, stored, 0)).toBe(true);
    expect(verifyClientSecret(`${secret}x`, stored, 0)).toBe(false);
    expect(verifyClientSecret(secret.slice(0, -1), stored, 0)).toBe(false);
    expect(verifyClientSecret('', stored, 0)).toBe(false);
  });

  it('refuses a secret whose grace period has ended', () => {
    const secret = generateClientSecret();
    expect(verifyClientSecret(secret, [{ hash: hashClientSecret(secret), notAfter: 100 }], 99)).toBe(true);
    expect(verifyClientSecret(secret, [{ hash: hashClientSecret(secret), notAfter: 100 }], 100)).toBe(false);
  });

  it('refuses everything for a client with no stored secret', () => {
    expect(verifyClientSecret('anything', [], 0)).toBe(false);
  });

  it('generates 256-bit secrets', () => {
    expect(Buffer.from(generateClientSecret(), 'base64url')).toHaveLength(32);
  });
});
