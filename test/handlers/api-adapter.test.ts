import { readCookie } from '../../lambda/core/authorize/cookies';
import { header } from '../../lambda/core/http';
import { toHttpRequest, toResult } from '../../lambda/handlers/api';
import { httpApiEvent } from '../support/api-gateway';

/** The handlers' translation between API Gateway (HTTP API, payload 2.0) and the core's transport-neutral HTTP. */
describe('API Gateway payload 2.0 adapter', () => {
  describe('toHttpRequest', () => {
    it('joins event.cookies into one cookie header, as the browser sent it', () => {
      const event = httpApiEvent({ method: 'GET', path: '/authorize', cookies: ['a=1', '__Host-tx=abc'] });
      const request = toHttpRequest(event);
      expect(header(request, 'cookie')).toBe('a=1; __Host-tx=abc');
      expect(readCookie(header(request, 'cookie'), '__Host-tx')).toBe('abc');
    });

    it('replaces a cookie header in the headers with event.cookies, so there is only ever one', () => {
      const event = httpApiEvent({
        method: 'GET',
        path: '/authorize',
        headers: { Cookie: '__Host-tx=forged' },
        cookies: ['__Host-tx=abc'],
      });
      const request = toHttpRequest(event);
      expect(Object.keys(request.headers).filter((name) => name.toLowerCase() === 'cookie')).toEqual(['cookie']);
      expect(header(request, 'cookie')).toBe('__Host-tx=abc');
    });

    it('leaves the headers as they are when the request has no cookies', () => {
      const event = httpApiEvent({ method: 'GET', path: '/authorize', headers: { accept: 'text/html' } });
      expect(toHttpRequest(event).headers).toBe(event.headers);
      expect(header(toHttpRequest(event), 'cookie')).toBeUndefined();
    });
  });

  describe('toResult', () => {
    it('hands each Set-Cookie value to API Gateway in cookies, which sends one header each', () => {
      const result = toResult({
        status: 303,
        headers: { Location: 'https://idp.example.com/authorize' },
        body: '',
        cookies: ['__Host-a=1; Path=/', '__Host-b=2; Path=/'],
      });
      expect(result).toEqual({
        statusCode: 303,
        headers: { Location: 'https://idp.example.com/authorize' },
        body: '',
        isBase64Encoded: false,
        cookies: ['__Host-a=1; Path=/', '__Host-b=2; Path=/'],
      });
    });

    it('has no cookies field when the response sets none', () => {
      expect(toResult({ status: 200, headers: {}, body: '{}', cookies: [] })).not.toHaveProperty('cookies');
      expect(toResult({ status: 200, headers: {}, body: '{}' })).not.toHaveProperty('cookies');
    });
  });
});
