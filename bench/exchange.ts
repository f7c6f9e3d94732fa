// Benchmarks 1 and 2: the crypto floor (jose verify of an assertion + one ES256 token signature) and the full core
// exchange in process with in-memory ports and a local signer. Prints JSON on stdout.
import { generateKeyPairSync, subtle } from 'node:crypto';
import { compactVerify, createLocalJWKSet, generateKeyPair, SignJWT } from 'jose';
import { KeyObjectSigner } from '../lambda/adapters/key-object-signer';
import type { Signer } from '../lambda/core/ports';
import { createTokenEndpoint } from '../lambda/core/token-endpoint';
import { createFixture, tokenRequest } from '../test/support/fixture';
import type { IdpAlgorithm } from '../test/support/test-idp';
import { EXHAUSTED, measure, round, type Summary } from './stats';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
/** In flight at once; the run script pins the process to one core, so this measures CPU cost per operation. */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
/** Fresh assertions minted ahead for each core run (warm-up included); a run that uses them all ends early. */
const POOL = Number(process.env.BENCH_POOL ?? 20_000);

async function forAlgorithm(alg: IdpAlgorithm) {
  const f = await createFixture();
  // Real time, so that assertions minted now are valid now.
  f.clock.now = () => Math.floor(Date.now() / 1000);
  const idp = await f.addIdp({
    issuer: `https://bench-${alg.toLowerCase()}.idp.example`,
    tenantId: `bench-${alg.toLowerCase()}`,
    alg,
  });
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const local = new KeyObjectSigner(privateKey, 'ES256');
  // The floor signs as jose does (WebCrypto, off the main thread); so does the core here, so that the two do the
  // same crypto by the same means. The local signer (node:crypto, synchronous) is measured as a second variant.
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  const webCryptoKey = await subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const webCrypto: Signer = {
    activeKey: () => local.activeKey(),
    publicKeys: () => local.publicKeys(),
    sign: async (input) => new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, webCryptoKey, input)),
  };
  const exchange = createTokenEndpoint({ ...f, signer: webCrypto });
  const exchangeLocal = createTokenEndpoint({ ...f, signer: local });

  // Assertions are minted and requests built ahead: minting is the IdP's cost, form encoding the client's.
  const mint = (count: number) => Promise.all(Array.from({ length: count }, () => idp.mint()));
  // The floor may verify the same assertions again; the core may not (each jti is single use), so it needs fresh ones.
  const floorPool = await mint(2_000);
  let nextAssertion = 0;
  const take = () => floorPool[nextAssertion++ % floorPool.length]!;

  // The floor, as the issue defines it: with jose, one assertion verified and one ES256 token signed.
  const jwks = createLocalJWKSet(idp.jwks);
  const joseKey = (await generateKeyPair('ES256')).privateKey;
  const floorClaims = { iss: 'x', sub: 'y', aud: 'z', iat: 1, exp: 2, jti: 'j', scope: 'files:read', tenant: 't' };
  const floorOperation = async () => {
    await compactVerify(take(), jwks, { algorithms: [alg] });
    await new SignJWT(floorClaims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k' }).sign(joseKey);
  };
  /** A core run over its own fresh requests, minted before the run starts. */
  const coreOperation = async (endpoint = exchange) => {
    const requests = (await mint(POOL)).map((assertion) => tokenRequest(assertion));
    let next = 0;
    return async () => {
      const request = requests[next++];
      if (request === undefined) return EXHAUSTED;
      const outcome = await endpoint(request);
      if (outcome.response.status !== 200) throw new Error(`exchange failed: ${outcome.response.body}`);
    };
  };
  const summary = (result: Summary) => ({
    opsPerSecond: round(result.opsPerSecond, 0),
    p50Ms: round(result.p50Ms, 3),
    p99Ms: round(result.p99Ms, 3),
  });
  // Latency: one at a time. Throughput: several in flight, so that jose's thread-pool crypto overlaps.
  const floorSequential = await measure(floorOperation, SECONDS);
  const coreSequential = await measure(await coreOperation(), SECONDS);
  const floor = await measure(floorOperation, SECONDS, CONCURRENCY);
  const core = await measure(await coreOperation(), SECONDS, CONCURRENCY);
  const coreLocalSigner = await measure(await coreOperation(exchangeLocal), SECONDS);
  return {
    assertionAlgorithm: alg,
    sequential: { floor: summary(floorSequential), core: summary(coreSequential) },
    concurrent: { concurrency: CONCURRENCY, floor: summary(floor), core: summary(core) },
    coreWithLocalSigner: summary(coreLocalSigner),
    ratioToFloor: round(core.opsPerSecond / floor.opsPerSecond),
  };
}

async function main() {
  const results = [];
  for (const alg of ['ES256', 'RS256'] as const) results.push(await forAlgorithm(alg));
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
