// The crypto floor, as the issue defines it: with jose, verify one ES256 assertion and sign one ES256 access token.
import { compactVerify, createLocalJWKSet, generateKeyPair, SignJWT } from 'jose';
import { assertionMinter, idpKey } from './mint';
import { measure, type Summary } from './stats';

/** The floor's rate with `concurrency` in flight, on whatever cores this process may use. */
export async function measureFloor(seconds: number, concurrency: number): Promise<Summary> {
  const idp = idpKey();
  const mint = assertionMinter({ ...idp, issuer: 'https://idp.example', audience: 'x', clientId: 'y' });
  const assertions = Array.from({ length: 2000 }, mint);
  let next = 0;
  const jwks = createLocalJWKSet(idp.jwks);
  const key = (await generateKeyPair('ES256')).privateKey;
  const claims = { iss: 'x', sub: 'y', aud: 'z', iat: 1, exp: 2, jti: 'j', scope: 'files:read', tenant: 't' };
  return measure(
    async () => {
      await compactVerify(assertions[next++ % assertions.length]!, jwks, { algorithms: ['ES256'] });
      await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k' }).sign(key);
    },
    seconds,
    concurrency,
  );
}
