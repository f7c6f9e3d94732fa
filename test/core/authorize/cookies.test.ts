import fc from 'fast-check';
import { cookieHeader, readCookie } from '../../../lambda/core/authorize/cookies';

describe('cookieHeader', () => {
  it('writes a __Host- cookie as Secure, HttpOnly, SameSite=Lax, Path=/ with its Max-Age', () => {
    expect(cookieHeader({ name: '__Host-tx', value: 'abc_DEF-123', maxAgeSeconds: 600 })).toBe(
      '__Host-tx=abc_DEF-123; Max-Age=600; Path=/; Secure; HttpOnly; SameSite=Lax',
    );
  });

  it('deletes a cookie with Max-Age=0', () => {
    expect(cookieHeader({ name: '__Host-tx', value: '', maxAgeSeconds: 0 })).toBe(
      '__Host-tx=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax',
    );
  });

  it.each(['tx', '__Secure-tx', '__host-tx', '__Host-', '__Host-a b', '__Host-a;b', '__Host-a=b', '__Host-ü'])(
    'refuses the name %j',
    (name) => {
      expect(() => cookieHeader({ name, value: 'v', maxAgeSeconds: 60 })).toThrow(/__Host- prefix/);
    },
  );

  it.each(['a;b', 'a b', 'a,b', 'a"b', 'a\\b', 'a\r\nSet-Cookie: x=y', 'ü', '\u0000'])(
    'refuses the value %j',
    (value) => {
      expect(() => cookieHeader({ name: '__Host-tx', value, maxAgeSeconds: 60 })).toThrow(/not allowed/);
    },
  );

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses Max-Age %p', (maxAgeSeconds) => {
    expect(() => cookieHeader({ name: '__Host-tx', value: 'v', maxAgeSeconds })).toThrow(/Max-Age/);
  });
});

describe('readCookie', () => {
  it('finds a cookie among others, whitespace around pairs ignored', () => {
    expect(readCookie('a=1;  __Host-tx=abc ;b=2', '__Host-tx')).toBe('abc');
  });

  it('keeps an = inside the value', () => {
    expect(readCookie('__Host-tx=a=b==', '__Host-tx')).toBe('a=b==');
  });

  it('answers undefined without a header, without the cookie, or for a pair without =', () => {
    expect(readCookie(undefined, '__Host-tx')).toBeUndefined();
    expect(readCookie('', '__Host-tx')).toBeUndefined();
    expect(readCookie('a=1; b=2', '__Host-tx')).toBeUndefined();
    expect(readCookie('__Host-tx', '__Host-tx')).toBeUndefined();
  });

  it('matches the name exactly, not by prefix or case', () => {
    expect(readCookie('__Host-txx=1; __host-tx=2; x__Host-tx=3', '__Host-tx')).toBeUndefined();
  });

  it('reads a cookie sent twice as absent: the browser never does, so it is forged or ambiguous', () => {
    expect(readCookie('__Host-tx=first; __Host-tx=second', '__Host-tx')).toBeUndefined();
  });

  it('reads back what cookieHeader wrote, for any valid value', () => {
    const value = fc.stringMatching(/^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]{0,40}$/);
    fc.assert(
      fc.property(value, (v) => {
        const pair = cookieHeader({ name: '__Host-tx', value: v, maxAgeSeconds: 60 }).split(';')[0];
        expect(readCookie(`other=1; ${pair}; more=2`, '__Host-tx')).toBe(v);
      }),
      { seed: 20_251_202, numRuns: 500 },
    );
  });
});
