import fc from 'fast-check';
import { generateKeyPair, SignJWT } from 'jose';
import { JWT_BEARER_GRANT_TYPE } from '../../lambda/core/model';
import type { HttpApiHandler } from '../../lambda/handlers/api';
import {
  basic,
  CLIENT_ASSERTION_TYPE_JWT_BEARER,
  CLIENTS,
  createFixture,
  type Fixture,
  ISSUER,
  MCP,
  NOW,
  OTHER_MCP,
  SECRET,
  tokenRequest,
} from '../support/fixture';
import { callHandler, type HandlerAnswer, LogCapture, tokenHandler } from '../support/hardening';
import { documentedSubject, verifyAccessToken } from '../support/outcome';
import { b64json } from '../support/test-idp';

/**
 * Property-based fuzzing of the token endpoint through the token handler (API Gateway v2 events in, the Lambda
 * handler's code path, in-memory ports). The seed is fixed so a run is reproducible; FUZZ_SEED picks another, and
 * fast-check prints the seed and path of any failure.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20_250_806);
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const settings = { seed: SEED, numRuns: RUNS };

const ACME = 'https://acme.okta.example';
const GLOBEX = 'https://globex.idp.example';
const RFC_ERRORS = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
];

let f: Fixture;
let handler: HttpApiHandler;
const logs = new LogCapture();

beforeAll(async () => {
  f = await createFixture();
  handler = tokenHandler(f, logs.logger);
});

/** Every answer: JSON, never cached, never a 5xx. */
function expectWellFormed(answer: HandlerAnswer): void {
  expect(answer.status).toBeLessThan(500);
  expect(answer.headers['Cache-Control']).toBe('no-store');
  expect(answer.headers.Pragma).toBe('no-cache');
  expect(answer.headers['Content-Type']).toBe('application/json');
}

/** A refusal: a 4xx with an RFC error code and no token. */
function expectRefused(answer: HandlerAnswer): void {
  expectWellFormed(answer);
  expect(answer.status).toBeGreaterThanOrEqual(400);
  expect(RFC_ERRORS).toContain(answer.body.error);
  expect(typeof answer.body.error_description).toBe('string');
  expect(answer.body).not.toHaveProperty('access_token');
}

async function expectToken(answer: HandlerAnswer, audience = MCP): Promise<Record<string, unknown>> {
  expectWellFormed(answer);
  if (answer.status !== 200) throw new Error(`expected a token, got ${answer.status} ${JSON.stringify(answer.body)}`);
  const { claims } = await verifyAccessToken(String(answer.body.access_token), f.signer, audience, NOW);
  return claims;
}

// ---- arbitraries --------------------------------------------------------------------------------------------------

const KNOWN_PARAMETERS = [
  'grant_type',
  'assertion',
  'scope',
  'resource',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
];
/** Keys that have tripped JavaScript code before: prototype names and JOSE header names. */
const HOSTILE_KEYS = ['__proto__', 'constructor', 'toString', 'valueOf', 'toJSON', 'hasOwnProperty'];
const JOSE_KEYS = ['alg', 'typ', 'kid', 'jku', 'jwk', 'x5u', 'x5c', 'crit', 'b64', 'cty', 'enc', 'zip'];
const CLAIM_KEYS = ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'client_id', 'scope', 'resource', 'cnf', 'tenant'];

const key = fc.oneof(fc.constantFrom(...HOSTILE_KEYS, ...JOSE_KEYS, ...CLAIM_KEYS), fc.string({ maxLength: 8 }));
const jsonish = fc.jsonValue({ maxDepth: 2 });
const hostileObject = fc.oneof(
  fc.dictionary(key, jsonish, { maxKeys: 6 }),
  // A header or claim set a JSON parser produces, including values whose String() throws.
  fc.dictionary(key, fc.oneof(jsonish, fc.constant({ toString: 1 }), fc.constant({ valueOf: {} })), { maxKeys: 6 }),
);
const segment = fc.oneof(
  hostileObject.map(b64json),
  jsonish.map(b64json),
  fc.string({ unit: 'binary', maxLength: 40 }).map((text) => Buffer.from(text).toString('base64url')),
  fc.string({ maxLength: 40 }),
  fc.constant(''),
);
/** Things shaped like JWTs: three (or two, four, five) dot-separated segments of hostile JSON or bytes. */
const jwtLike = fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.'));
const parameterValue = fc.oneof(
  fc.constantFrom(JWT_BEARER_GRANT_TYPE, CLIENT_ASSERTION_TYPE_JWT_BEARER, CLIENTS.basic, SECRET, MCP, 'files:read'),
  jwtLike,
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.webUrl({ withFragments: true, withQueryParameters: true }),
);
const parameterName = fc.oneof(fc.constantFrom(...KNOWN_PARAMETERS), fc.string({ maxLength: 12 }));
/** Form bodies, encoded properly or by hand (raw `%`, invalid escapes, escaped UTF-8 that is not UTF-8). */
const formBody = fc.oneof(
  fc
    .array(fc.tuple(parameterName, parameterValue), { maxLength: 8 })
    .map((pairs) => new URLSearchParams(pairs).toString()),
  fc
    .array(
      fc.tuple(
        parameterName,
        fc.oneof(parameterValue, fc.constantFrom('%', '%ZZ', '%ED%A0%80', '%C0%AF', '%FF%FE', '%00', '+%2B+')),
      ),
      { maxLength: 8 },
    )
    .map((pairs) => pairs.map(([name, value]) => `${name}=${value}`).join('&')),
);
const hugeBody = fc
  .tuple(fc.string({ minLength: 1, maxLength: 4 }), fc.integer({ min: 4_000, max: 9_000 }))
  .map(([unit, times]) => `grant_type=${encodeURIComponent(JWT_BEARER_GRANT_TYPE)}&assertion=${unit.repeat(times)}`);
const contentType = fc.oneof(
  fc.constantFrom(
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded; charset=utf-8',
    'APPLICATION/X-WWW-FORM-URLENCODED;charset="UTF-8"',
    'application/x-www-form-urlencoded; charset=iso-8859-1',
    'application/x-www-form-urlencoded;;;=;charset',
    'application/json',
    'multipart/form-data; boundary=x',
    'text/plain',
    '',
  ),
  fc.string({ maxLength: 40 }),
);
const authorization = fc.oneof(
  fc.constant(undefined),
  fc.constant(basic(CLIENTS.basic, SECRET)),
  fc.constant(basic(CLIENTS.basic, `${SECRET}x`)),
  fc.constantFrom('Basic', 'Basic ', 'Basic ====', 'Bearer abc', 'Basic Og==', 'basic Y2xhdWRlOg=='),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }).map((text) => `Basic ${Buffer.from(text).toString('base64')}`),
  fc
    .tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }))
    .map(([id, secret]) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`),
);
const headerName = fc.oneof(
  fc.constantFrom('content-length', 'transfer-encoding', 'content-encoding', 'x-forwarded-for', 'cookie', 'dpop'),
  fc.string({ minLength: 1, maxLength: 12 }),
);

/** Requests built from nothing valid: method, headers, encoding and body all arbitrary. */
const arbitraryRequest = fc.record({
  method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'post', 'PATCH'),
  contentType: fc.option(contentType, { nil: undefined }),
  contentTypeName: fc.constantFrom('content-type', 'Content-Type', 'CONTENT-TYPE'),
  authorization,
  extraHeaders: fc.dictionary(headerName, fc.string({ maxLength: 30 }), { maxKeys: 3 }),
  body: fc.option(
    fc.oneof(formBody, formBody, fc.string({ maxLength: 200 }), fc.string({ unit: 'binary' }), hugeBody),
    {
      nil: undefined,
    },
  ),
  encoding: fc.constantFrom('text', 'base64', 'garbage-base64'),
});

describe('token endpoint fuzzing, through the handler', () => {
  it('answers arbitrary requests with a 4xx RFC error, no-store, and never a token or a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryRequest, async (input) => {
        const headers: Record<string, string> = { ...input.extraHeaders };
        if (input.contentType !== undefined) headers[input.contentTypeName] = input.contentType;
        if (input.authorization !== undefined) headers.authorization = input.authorization;
        const base64 = input.encoding !== 'text' && input.body !== undefined;
        const body =
          input.body === undefined || input.encoding === 'text'
            ? input.body
            : input.encoding === 'base64'
              ? Buffer.from(input.body).toString('base64')
              : input.body;
        const answer = await callHandler(handler, { method: input.method, headers, body, isBase64Encoded: base64 });
        expectRefused(answer);
      }),
      settings,
    );
  });

  it('refuses a hostile JOSE header whose values cannot be turned into strings (regression: was a 500)', async () => {
    const [, payload, signature] = (await f.idp.mint()).split('.');
    for (const header of [
      { alg: 'RS256', typ: { toString: 1 } },
      { alg: { toString: 1 }, typ: 'oauth-id-jag+jwt' },
      { alg: 'RS256', typ: ['oauth-id-jag+jwt'] },
      { alg: { valueOf: {} }, typ: 'application/oauth-id-jag+jwt' },
    ]) {
      const answer = await callHandler(handler, tokenRequest(`${b64json(header)}.${payload}.${signature}`));
      expectRefused(answer);
      expect(answer.body.error).toBe('invalid_grant');
    }
  });
});

// ---- claims, re-signed by the trusted IdP: an oracle from PROTOCOL.md §3 decides ----------------------------------

type Claims = Record<string, unknown>;
const SKEW = 60;
const MAX_LIFETIME = 300;
const MCP_SCOPES = ['files:read', 'files:write', 'admin'];
const OTHER_SCOPES = ['other:read'];

const wrongTypes = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), jsonish, { maxKeys: 2 }),
  // Parsed JSON whose String() throws.
  fc.constantFrom({ toString: 1 }, { valueOf: {}, toString: null }),
);
/** Near misses of a string: lookalikes, case, trailing slash, padding, NUL, the value inside an array. */
const nearMisses = (value: string) =>
  fc.constantFrom(
    `${value}/`,
    value.toUpperCase(),
    ` ${value}`,
    `${value}\u0000`,
    value.replace(/a/g, '\u0430'),
    value.normalize('NFD').replace(/e/g, 'e\u0301'),
    [value],
    [value, value],
    '',
  );
const stringClaim = (value: string) => fc.oneof(nearMisses(value), wrongTypes, fc.string({ maxLength: 20 }));
const time = (base: number) =>
  fc.oneof(
    fc.integer({ min: base - 2 * MAX_LIFETIME, max: base + 2 * MAX_LIFETIME }),
    fc.double({ min: base - 1000, max: base + 1000, noNaN: true }),
    fc.constantFrom(1e308, -1e308, 0, -1, Number.MAX_SAFE_INTEGER, 2 ** 64),
    fc.integer({ min: base - 500, max: base + 500 }).map(String),
    fc.integer({ min: base - 500, max: base + 500 }).map((n) => [n]),
    wrongTypes,
  );
const unicodeText = (maxLength: number) =>
  fc.oneof(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    fc.constantFrom('\u202Eevil', '\uD83D\uDE00', 'a'.repeat(maxLength), 'a'.repeat(maxLength + 1)),
  );

/** Each claim is kept or replaced; `undefined` in a replacement removes the claim. */
const claimChanges = fc.record(
  {
    iss: fc.oneof(stringClaim(ACME), fc.constant(GLOBEX), fc.constant(undefined)),
    aud: fc.oneof(stringClaim(ISSUER), fc.constantFrom([ISSUER], [ISSUER, MCP], [], `${ISSUER}/token`, MCP, undefined)),
    client_id: fc.oneof(stringClaim(CLIENTS.basic), fc.constantFrom(CLIENTS.post, undefined)),
    sub: fc.oneof(unicodeText(1024), wrongTypes, fc.constant(undefined), fc.constant('')),
    jti: fc.oneof(unicodeText(256), wrongTypes, fc.constant(undefined), fc.constant('')),
    exp: fc.oneof(time(NOW + 300), fc.constant(undefined)),
    iat: fc.oneof(time(NOW), fc.constant(undefined)),
    nbf: fc.oneof(time(NOW), fc.constant(undefined)),
    resource: fc.oneof(
      fc.constantFrom(MCP, [MCP], OTHER_MCP, [OTHER_MCP], [MCP, OTHER_MCP], [], 'https://unknown.example/mcp'),
      wrongTypes,
    ),
    scope: fc.oneof(
      fc.subarray([...MCP_SCOPES, ...OTHER_SCOPES, 'bogus']).map((scopes) => scopes.join(' ')),
      wrongTypes,
    ),
    cnf: fc.oneof(fc.constant({ jkt: 'abc' }), fc.constant(null), jsonish),
    // Claims nobody checks: neutral whatever they hold.
    email: fc.oneof(unicodeText(64), wrongTypes),
    tenant: jsonish,
    extra: fc.dictionary(
      fc.string({ maxLength: 8 }).filter((name) => !CLAIM_KEYS.includes(name) && name !== 'email'),
      jsonish,
      { maxKeys: 3 },
    ),
  },
  { requiredKeys: [] },
);
const headerChanges = fc.record(
  {
    typ: fc.oneof(
      fc
        .constantFrom('oauth-id-jag+jwt', 'application/oauth-id-jag+jwt')
        .chain((typ) =>
          fc
            .array(fc.boolean(), { minLength: typ.length, maxLength: typ.length })
            .map((upper) => [...typ].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('')),
        ),
      fc.constantFrom('JWT', 'at+jwt', 'id_token+jwt', 'oauth-id-jag+jwt ', 'application/jwt', undefined),
      wrongTypes,
    ),
    // Never consulted for keys: neutral.
    jku: fc.webUrl(),
    x5u: fc.webUrl(),
  },
  { requiredKeys: [] },
);

const numeric = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const isString = (value: unknown, max: number) => typeof value === 'string' && value.length > 0 && value.length <= max;

/** PROTOCOL.md §3–4 as an independent oracle: would this (signed, trusted-issuer) assertion earn a token? */
function shouldIssue(
  assertion: string,
  claims: Claims,
  header: Claims,
  usedJtis: Set<string>,
): { ok: boolean; audience?: string } {
  if (Buffer.byteLength(assertion) > 8 * 1024) return { ok: false }; // invalid_request: too large
  const typ = header.typ;
  if (typeof typ !== 'string' || !['oauth-id-jag+jwt', 'application/oauth-id-jag+jwt'].includes(typ.toLowerCase())) {
    return { ok: false };
  }
  if (claims.iss !== ACME) return { ok: false };
  const aud = claims.aud;
  if (!(aud === ISSUER || (Array.isArray(aud) && aud.length === 1 && aud[0] === ISSUER))) return { ok: false };
  if (claims.client_id !== CLIENTS.basic) return { ok: false };
  if (!isString(claims.sub, 1024)) return { ok: false };
  const exp = numeric(claims.exp);
  const iat = numeric(claims.iat);
  if (exp === undefined || exp <= NOW - SKEW) return { ok: false };
  if (iat === undefined || iat > NOW + SKEW) return { ok: false };
  if (claims.nbf !== undefined && !(numeric(claims.nbf) !== undefined && (claims.nbf as number) <= NOW + SKEW)) {
    return { ok: false };
  }
  if (exp - iat > MAX_LIFETIME) return { ok: false };
  if (!isString(claims.jti, 256) || usedJtis.has(claims.jti as string)) return { ok: false };
  const resource = claims.resource;
  let resources: unknown[] | undefined;
  if (resource !== undefined) {
    resources = typeof resource === 'string' ? [resource] : Array.isArray(resource) ? resource : undefined;
    if (!resources || resources.length === 0 || !resources.every((r) => r === MCP || r === OTHER_MCP)) {
      return { ok: false };
    }
    if (resources.length > 1) return { ok: false }; // invalid_target: several resources
  }
  if (claims.scope !== undefined && typeof claims.scope !== 'string') return { ok: false };
  if (claims.cnf !== undefined) return { ok: false };
  const audience = (resources?.[0] as string | undefined) ?? MCP;
  const supported = audience === MCP ? MCP_SCOPES : OTHER_SCOPES;
  const asserted = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : undefined;
  if (asserted && asserted.length > 0 && !asserted.some((scope) => supported.includes(scope))) return { ok: false };
  return { ok: true, audience };
}

function applyChanges(base: Claims, changes: Record<string, unknown>): Claims {
  const { extra, ...named } = changes as { extra?: Claims };
  const result: Claims = { ...base, ...extra };
  for (const [name, value] of Object.entries(named)) {
    if (value === undefined) delete result[name];
    else result[name] = value;
  }
  // What the IdP's JSON.stringify puts on the wire, which is what the server sees.
  return JSON.parse(JSON.stringify(result)) as Claims;
}

describe('assertions re-signed by the trusted IdP with changed claims and headers', () => {
  it('issue a token exactly when every rule of PROTOCOL.md §3 holds, and never otherwise', async () => {
    const used = new Set<string>();
    let issued = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(claimChanges, headerChanges, fc.boolean(), async (claimEdits, headerEdits, keepValid) => {
        // Half the runs change only neutral things, so that the "token" side of the oracle is exercised as well.
        const edits = keepValid
          ? { email: claimEdits.email, tenant: claimEdits.tenant, extra: claimEdits.extra }
          : claimEdits;
        const headerEditsUsed = keepValid ? { jku: headerEdits.jku } : headerEdits;
        const claims = applyChanges(f.idp.claims(), edits);
        const header = applyChanges({ alg: 'RS256', typ: 'oauth-id-jag+jwt', kid: f.idp.kid }, headerEditsUsed);
        const assertion = await f.idp.mint({
          claims: withRemovals(claims, CLAIM_KEYS),
          header: withRemovals(header, ['typ']),
        });
        const expected = shouldIssue(assertion, claims, header, used);
        const answer = await callHandler(handler, tokenRequest(assertion));
        if (expected.ok) {
          const token = await expectToken(answer, expected.audience);
          expect(token).toMatchObject({
            sub: documentedSubject('acme', ACME, claims.sub as string),
            idp_iss: ACME,
            idp_sub: claims.sub,
            client_id: CLIENTS.basic,
            tenant: 'acme',
          });
          used.add(claims.jti as string);
          issued++;
        } else {
          expectRefused(answer);
          expect(['invalid_grant', 'invalid_target', 'invalid_scope', 'invalid_request']).toContain(answer.body.error);
          refused++;
        }
      }),
      settings,
    );
    expect(issued).toBeGreaterThan(RUNS / 5);
    expect(refused).toBeGreaterThan(RUNS / 5);
  });
});

/** `mint` merges over the IdP's defaults: name each default the changed set lacks, so that it is removed. */
function withRemovals(target: Claims, names: readonly string[]): Claims {
  const result: Claims = { ...target };
  for (const name of names) if (!(name in result)) result[name] = undefined;
  return result;
}

// ---- the valid assertion, mutated as a string: segments, encodings, signatures -------------------------------------

type TokenMutation = (token: string, other: string, attacker: string) => string;

const at = (text: string, index: number) => index % Math.max(text.length, 1);
const tokenMutation: fc.Arbitrary<{ name: string; mutate: TokenMutation }> = fc.oneof(
  fc
    .tuple(fc.nat(), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=.'))
    .map(([index, replacement]) => ({
      name: 'replace one character',
      mutate: (token: string) => {
        const i = at(token, index);
        return token.slice(0, i) + replacement + token.slice(i + 1);
      },
    })),
  fc.nat().map((index) => ({
    name: 'cut',
    mutate: (token: string) => token.slice(0, at(token, index)),
  })),
  fc.nat().map((index) => ({
    name: 'insert a character that base64url does not have',
    mutate: (token: string) => {
      const i = at(token, index);
      return `${token.slice(0, i)}${' =+/%\n\t'[index % 7]}${token.slice(i)}`;
    },
  })),
  fc.constantFrom<{ name: string; mutate: TokenMutation }>(
    { name: 'swap header and payload', mutate: (t) => swap(t, 0, 1) },
    { name: 'swap payload and signature', mutate: (t) => swap(t, 1, 2) },
    {
      name: 'signature of another assertion',
      mutate: (t, o) => [...t.split('.').slice(0, 2), o.split('.')[2]].join('.'),
    },
    {
      name: 'payload of another assertion',
      mutate: (t, o) => [t.split('.')[0], o.split('.')[1], t.split('.')[2]].join('.'),
    },
    { name: 'signed by an attacker key with the same kid', mutate: (_, __, a) => a },
    {
      name: 'unsigned (alg none)',
      mutate: (t) => `${b64json({ alg: 'none', typ: 'oauth-id-jag+jwt' })}.${t.split('.')[1]}.`,
    },
    { name: 'signature removed', mutate: (t) => `${t.split('.').slice(0, 2).join('.')}.` },
    { name: 'a fourth segment', mutate: (t) => `${t}.${t.split('.')[2]}` },
    { name: 'five segments (JWE shape)', mutate: (t) => `${t}.a.b` },
    {
      name: 'padded base64',
      mutate: (t) =>
        t
          .split('.')
          .map((s) => `${s}==`)
          .join('.'),
    },
    { name: 'standard base64 alphabet', mutate: (t) => t.replace(/-/g, '+').replace(/_/g, '/') },
    { name: 'surrounding whitespace', mutate: (t) => ` ${t}\n` },
    { name: 'upper-cased', mutate: (t) => t.toUpperCase() },
    { name: 'header re-encoded with different JSON spacing', mutate: (t) => reencodeHeader(t) },
    { name: 'doubled', mutate: (t) => `${t}${t}` },
  ),
);

function swap(token: string, i: number, j: number): string {
  const parts = token.split('.');
  [parts[i], parts[j]] = [parts[j]!, parts[i]!];
  return parts.join('.');
}

function reencodeHeader(token: string): string {
  const [header, ...rest] = token.split('.');
  const json = JSON.stringify(JSON.parse(Buffer.from(header!, 'base64url').toString()), null, 1);
  return [Buffer.from(json).toString('base64url'), ...rest].join('.');
}

/**
 * A mutation is neutral only when the server sees the same signed bytes: identical header and payload segments (the
 * signature covers their text) and a signature segment that decodes to the same bytes (base64url's unused trailing
 * bits may differ). Only then may a token be issued.
 */
function sameSignedToken(original: string, mutated: string): boolean {
  const a = original.split('.');
  const b = mutated.split('.');
  if (b.length !== 3 || a[0] !== b[0] || a[1] !== b[1]) return false;
  if (!/^[A-Za-z0-9_-]*$/.test(b[2]!)) return false;
  return Buffer.from(a[2]!, 'base64url').equals(Buffer.from(b[2]!, 'base64url'));
}

describe('the valid assertion mutated as a string', () => {
  it('earns a token only when the signed bytes are unchanged', async () => {
    const attackerKeys = await generateKeyPair('RS256');
    let neutral = 0;
    await fc.assert(
      fc.asyncProperty(tokenMutation, async ({ mutate }) => {
        const token = await f.idp.mint();
        const other = await f.idp.mint();
        const attacker = await new SignJWT(f.idp.claims())
          .setProtectedHeader({ alg: 'RS256', typ: 'oauth-id-jag+jwt', kid: f.idp.kid })
          .sign(attackerKeys.privateKey);
        const mutated = mutate(token, other, attacker);
        const answer = await callHandler(handler, tokenRequest(mutated));
        if (answer.status === 200) {
          expect(sameSignedToken(token, mutated)).toBe(true);
          await expectToken(answer);
          neutral++;
        } else {
          expectRefused(answer);
        }
        if (!sameSignedToken(token, mutated)) expect(answer.status).not.toBe(200);
      }),
      settings,
    );
    // Some mutations (a changed unused bit at the end of the signature) are neutral; most are not.
    expect(neutral).toBeLessThan(RUNS / 2);
  });

  it('accepts a signature whose unused trailing base64url bits differ, and only once (same jti)', async () => {
    const token = await f.idp.mint();
    const [header, payload, signature] = token.split('.') as [string, string, string];
    // An RS256 signature is 256 bytes: 342 characters, the last carrying 2 bits of data and 4 unused ones.
    const last = signature.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[(alphabet.indexOf(last) & ~0b1111) | (~alphabet.indexOf(last) & 0b1111)]!;
    const variant = `${header}.${payload}.${signature.slice(0, -1)}${twin}`;
    expect(variant).not.toBe(token);
    expect(sameSignedToken(token, variant)).toBe(true);
    await expectToken(await callHandler(handler, tokenRequest(variant)));
    // The same assertion in its original spelling is a replay: single use is by (iss, jti), not by the string.
    const replay = await callHandler(handler, tokenRequest(token));
    expectRefused(replay);
    expect(replay.body.error).toBe('invalid_grant');
  });
});

// ---- the valid request, mutated as an HTTP request -----------------------------------------------------------------

interface RequestShape {
  readonly params: [string, string][];
  readonly headers: Record<string, string>;
  readonly method: string;
  readonly base64: boolean;
}

interface RequestMutation {
  readonly name: string;
  /** True when the mutation must not change the answer: a token is still issued. */
  readonly neutral: boolean;
  readonly apply: (shape: RequestShape) => RequestShape;
}

const FORM = 'application/x-www-form-urlencoded';
const withParams = (shape: RequestShape, params: [string, string][]): RequestShape => ({ ...shape, params });
const withHeaders = (shape: RequestShape, headers: Record<string, string>): RequestShape => ({ ...shape, headers });
const requestMutation: fc.Arbitrary<RequestMutation> = fc.oneof(
  // Neutral: what a client may legitimately vary.
  fc.constant<RequestMutation>({
    name: 'parameters reversed',
    neutral: true,
    apply: (s) => withParams(s, [...s.params].reverse()),
  }),
  fc.constant<RequestMutation>({ name: 'body base64-encoded', neutral: true, apply: (s) => ({ ...s, base64: true }) }),
  fc
    .constantFrom(
      'application/x-www-form-urlencoded;charset=UTF-8',
      'Application/X-WWW-Form-Urlencoded; charset="utf-8"',
      'application/x-www-form-urlencoded ; charset = utf-8',
    )
    .map((type) => ({
      name: `content type ${type}`,
      neutral: true,
      // Only respells the valid type: it must not undo a harmful one applied before.
      apply: (s: RequestShape) =>
        s.headers['content-type'] === FORM ? withHeaders(s, { ...s.headers, 'content-type': type }) : s,
    })),
  fc
    .tuple(
      fc.string({ minLength: 1, maxLength: 10 }).filter((name) => !KNOWN_PARAMETERS.includes(name)),
      fc.string({ maxLength: 10 }),
    )
    .map(([name, value]) => ({
      name: 'an unknown parameter',
      neutral: true,
      apply: (s: RequestShape) => withParams(s, [...s.params, [name, value]]),
    })),
  fc.constantFrom<RequestMutation>(
    { name: 'default resource named', neutral: true, apply: (s) => withParams(s, [...s.params, ['resource', MCP]]) },
    {
      name: 'a granted scope asked for',
      neutral: true,
      apply: (s) => withParams(s, [...s.params, ['scope', 'files:read admin']]),
    },
    {
      name: 'matching client_id',
      neutral: true,
      apply: (s) => withParams(s, [...s.params, ['client_id', CLIENTS.basic]]),
    },
    { name: 'empty scope (omitted)', neutral: true, apply: (s) => withParams(s, [...s.params, ['scope', '']]) },
    // Security relevant: each must be refused.
    { name: 'POST with GET', neutral: false, apply: (s) => ({ ...s, method: 'GET' }) },
    {
      name: 'no grant_type',
      neutral: false,
      apply: (s) =>
        withParams(
          s,
          s.params.filter(([n]) => n !== 'grant_type'),
        ),
    },
    {
      name: 'no assertion',
      neutral: false,
      apply: (s) =>
        withParams(
          s,
          s.params.filter(([n]) => n !== 'assertion'),
        ),
    },
    {
      name: 'assertion twice',
      neutral: false,
      apply: (s) => withParams(s, [...s.params, ...s.params.filter(([n]) => n === 'assertion')]),
    },
    {
      name: 'grant_type twice',
      neutral: false,
      apply: (s) => withParams(s, [...s.params, ['grant_type', JWT_BEARER_GRANT_TYPE]]),
    },
    {
      name: 'client_secret as well as Basic',
      neutral: false,
      apply: (s) => withParams(s, [...s.params, ['client_secret', SECRET]]),
    },
    {
      name: 'no Authorization',
      neutral: false,
      apply: (s) => withHeaders(s, { 'content-type': s.headers['content-type']! }),
    },
    {
      name: 'other client_id',
      neutral: false,
      apply: (s) => withParams(s, [...s.params, ['client_id', CLIENTS.post]]),
    },
    {
      name: 'unknown resource',
      neutral: false,
      apply: (s) => withParams(s, [...s.params, ['resource', 'https://evil.example/mcp']]),
    },
    {
      name: 'resource with fragment',
      neutral: false,
      apply: (s) => withParams(s, [...s.params, ['resource', `${MCP}#x`]]),
    },
    {
      name: 'two resources',
      neutral: false,
      apply: (s) => withParams(s, [...s.params, ['resource', MCP], ['resource', OTHER_MCP]]),
    },
    {
      name: 'scope of another resource',
      neutral: false,
      apply: (s) => withParams(s, [...s.params, ['scope', 'other:read']]),
    },
    {
      name: 'JSON content type',
      neutral: false,
      apply: (s) => withHeaders(s, { ...s.headers, 'content-type': 'application/json' }),
    },
    {
      name: 'latin-1 charset',
      neutral: false,
      apply: (s) =>
        withHeaders(s, { ...s.headers, 'content-type': 'application/x-www-form-urlencoded; charset=latin1' }),
    },
    {
      name: 'client assertion type added',
      neutral: false,
      apply: (s) => withParams(s, [...s.params, ['client_assertion_type', CLIENT_ASSERTION_TYPE_JWT_BEARER]]),
    },
  ),
  fc
    .constantFrom('authorization_code', 'client_credentials', 'refresh_token', 'password', `${JWT_BEARER_GRANT_TYPE} `)
    .map((grant) => ({
      name: `grant_type ${grant}`,
      neutral: false,
      apply: (s: RequestShape) =>
        withParams(
          s,
          s.params.map(([n, v]) => [n, n === 'grant_type' ? grant : v]),
        ),
    })),
  fc
    .oneof(fc.string({ minLength: 1, maxLength: 60 }), fc.constant(`${SECRET} `), fc.constant(SECRET.slice(0, -1)))
    .filter((secret) => secret !== SECRET)
    .map((secret) => ({
      name: 'wrong secret',
      neutral: false,
      apply: (s: RequestShape) => withHeaders(s, { ...s.headers, authorization: basic(CLIENTS.basic, secret) }),
    })),
);

function toRequest(shape: RequestShape) {
  const body = new URLSearchParams(shape.params).toString();
  return {
    method: shape.method,
    headers: shape.headers,
    body: shape.base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: shape.base64,
  };
}

describe('the valid request mutated as an HTTP request', () => {
  it('keeps its token under neutral changes and loses it under any security-relevant one', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(requestMutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        const assertion = await f.idp.mint();
        let shape: RequestShape = {
          params: [
            ['grant_type', JWT_BEARER_GRANT_TYPE],
            ['assertion', assertion],
          ],
          headers: { 'content-type': FORM, authorization: basic(CLIENTS.basic, SECRET) },
          method: 'POST',
          base64: false,
        };
        for (const mutation of mutations) shape = mutation.apply(shape);
        const answer = await callHandler(handler, toRequest(shape));
        // RFC 6749 §3.2: a parameter sent twice is an error, however neutral each copy (resource may repeat, but
        // RFC 8707 then asks for one token per resource and this server issues one audience: invalid_target).
        const names = shape.params.map(([name]) => name);
        const unique = new Set(names).size === names.length;
        if (unique && mutations.every((mutation) => mutation.neutral)) await expectToken(answer);
        else expectRefused(answer);
      }),
      settings,
    );
  });
});

describe('what the fuzzing wrote to the log', () => {
  it('holds one decision line per request, none of them a failure, and never the client secret', () => {
    const decisions = logs.records().filter((record) => record.message === 'token decision');
    expect(decisions.length).toBeGreaterThanOrEqual(4 * RUNS);
    expect(decisions.filter((record) => record.outcome === 'failed')).toEqual([]);
    expect(logs.records().filter((record) => record.message === 'handler failed')).toEqual([]);
    // The client secret went out in thousands of requests, in every position a parameter can take.
    expect(logs.text()).not.toContain(SECRET);
  });
});
