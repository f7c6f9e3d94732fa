import fc from 'fast-check';
import { InvalidRequestError } from '../../lambda/core/errors';
import { type FormParameters, readForm } from '../../lambda/core/http';

/** The form reader as it was first written (URLSearchParams queried per call): the reference for the one-pass reader. */
function referenceForm(body: string, repeatable: readonly string[]): FormParameters {
  const params = new URLSearchParams(body);
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name) && !repeatable.includes(name)) {
      const shown = /^[a-z_]{1,40}$/.test(name) ? ` ${name}` : '';
      throw new InvalidRequestError(`parameter${shown} must not be repeated`);
    }
    seen.add(name);
  }
  const values = (name: string) => params.getAll(name).filter((value) => value !== '');
  return { get: (name) => values(name)[0], getAll: values, has: (name) => values(name).length > 0 };
}

const NAMES = ['grant_type', 'assertion', 'scope', 'resource', 'client_id', '__proto__', 'constructor', 'a b', 'ü'];

/** What a reader answers for every name of interest, or the error it throws. */
function answers(read: () => FormParameters) {
  try {
    const form = read();
    return NAMES.map((name) => ({ name, get: form.get(name), getAll: form.getAll(name), has: form.has(name) }));
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe('reading a form body', () => {
  const request = (body: string) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });

  it('answers get, getAll and has as URLSearchParams queried per call does, for any body', () => {
    const name = fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 4 }));
    const value = fc.oneof(fc.constant(''), fc.string({ maxLength: 6 }), fc.constantFrom('%zz', '%C3%BC', 'a+b', '%'));
    const pair = fc.tuple(name, value).map(([n, v]) => `${encodeURIComponent(n)}=${v}`);
    const body = fc.oneof(
      fc.array(pair, { maxLength: 6 }).map((pairs) => pairs.join('&')),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(body, fc.constantFrom([], ['resource'], ['resource', 'scope']), (text, repeatable) => {
        expect(answers(() => readForm(request(text), 16_384, repeatable))).toEqual(
          answers(() => referenceForm(text, repeatable)),
        );
      }),
      { seed: 20_250_806, numRuns: 3000 },
    );
  });

  it('gives each getAll caller its own array', () => {
    const form = readForm(request('resource=a&resource=b'), 16_384, ['resource']);
    form.getAll('resource').push('c');
    expect(form.getAll('resource')).toEqual(['a', 'b']);
  });
});
