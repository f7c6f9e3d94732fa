import fc from 'fast-check';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { InvalidGrantError } from '../../lambda/core/errors';
import { decodeUnverified } from '../../lambda/core/jwt';

/**
 * `decodeUnverified` decodes the header and claims itself and asks jose only when it would refuse them; either way
 * the answer must be exactly jose's `decodeProtectedHeader` + `decodeJwt`: the same objects, or jose's error message.
 */
type Decoded = { header: unknown; claims: unknown } | { reason: string };

function ours(token: string): Decoded {
  try {
    const { header, claims } = decodeUnverified(
      token,
      (description, reason) => new InvalidGrantError(description, reason),
    );
    return { header, claims };
  } catch (error) {
    return { reason: (error as InvalidGrantError).reason };
  }
}

function jose(token: string): Decoded {
  try {
    return { header: decodeProtectedHeader(token), claims: decodeJwt(token) };
  } catch (error) {
    return { reason: `undecodable: ${(error as Error).message}` };
  }
}

const part = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');
const HEADER = part('{"alg":"ES256","typ":"oauth-id-jag+jwt"}');
const CLAIMS = part('{"iss":"https://idp.example","sub":"user"}');

describe('decoding an assertion before verification agrees with jose', () => {
  it.each([
    ['a plain header and claims', `${HEADER}.${CLAIMS}.c2ln`],
    ['an empty signature', `${HEADER}.${CLAIMS}.`],
    ['a header that is not JSON', `${part('{"alg":')}.${CLAIMS}.c2ln`],
    ['a header that is an array', `${part('["alg"]')}.${CLAIMS}.c2ln`],
    ['a header that is null', `${part('null')}.${CLAIMS}.c2ln`],
    ['a header that is a string', `${part('"ES256"')}.${CLAIMS}.c2ln`],
    ['claims that are an array', `${HEADER}.${part('[1]')}.c2ln`],
    ['claims that are a number', `${HEADER}.${part('1')}.c2ln`],
    ['claims that are not JSON', `${HEADER}.${part('{"iss"')}.c2ln`],
    ['claims in malformed UTF-8', `${HEADER}.${part(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))}.c2ln`],
    ['claims after a byte order mark', `${HEADER}.${part('\ufeff{"sub":"user"}')}.c2ln`],
    ['claims with a lone surrogate escape', `${HEADER}.${part('{"sub":"\\ud800"}')}.c2ln`],
    ['claims with __proto__', `${HEADER}.${part('{"__proto__":{"admin":true},"sub":"x"}')}.c2ln`],
    ['a header of 4n+1 characters', `${HEADER}A.${CLAIMS}.c2ln`],
    ['claims of 4n+1 characters', `${HEADER}.${CLAIMS.slice(0, 4 * Math.floor(CLAIMS.length / 4))}A.c2ln`],
    ['a header with non-zero trailing bits', `${part('{}').slice(0, -1)}1.${CLAIMS}.c2ln`],
    ['claims with non-zero trailing bits', `${HEADER}.${part('{}').slice(0, -1)}1.c2ln`],
  ])('%s', (_, token) => {
    expect(ours(token)).toEqual(jose(token));
  });

  it('any bytes as header and claims', () => {
    const json = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.json().map((text) => Buffer.from(text)),
      fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue()).map((value) => Buffer.from(JSON.stringify(value))),
    );
    fc.assert(
      fc.property(json, json, (header, claims) => {
        if (header.length === 0 || claims.length === 0) return;
        const token = `${part(header)}.${part(claims)}.c2ln`;
        expect(ours(token)).toEqual(jose(token));
      }),
      { seed: 20_250_806, numRuns: 2000 },
    );
  });

  it('returns the offsets of the two dots', () => {
    const decoded = decodeUnverified(`${HEADER}.${CLAIMS}.c2ln`, (description) => new InvalidGrantError(description));
    expect(decoded).toMatchObject({ firstDot: HEADER.length, secondDot: HEADER.length + 1 + CLAIMS.length });
  });
});
