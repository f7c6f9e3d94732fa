// Lambda entry: the JWKS of the token-signing keys. Needs only kms:GetPublicKey.
import { KmsSigner } from '../adapters/kms-signer';
import { signerConfigFrom } from '../adapters/signer-config';
import { createJwksHandler, once } from './api';
import { loggerFrom, serverConfigFrom } from './environment';

const wiring = once(async () => {
  const signer = new KmsSigner(signerConfigFrom(process.env));
  return { config: serverConfigFrom(process.env), signer };
});
// Start during the init phase; a failure is reported on each request by the handler.
wiring()
  .then(({ signer }) => signer.publicKeys())
  .catch(() => undefined);

export const handler = createJwksHandler(wiring, loggerFrom(process.env, 'jwks'));
