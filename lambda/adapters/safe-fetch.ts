import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';
import { isLoopbackHost } from '../core/config';

export interface SafeFetchOptions {
  /** Largest response body accepted, in bytes. */
  readonly maxBytes: number;
  /** Local mode: accept `http:` URLs on loopback hosts. */
  readonly allowHttpLoopback?: boolean;
  /** Local mode: accept loopback and private addresses. In Lambda they are refused (no SSRF into the VPC). */
  readonly allowPrivateAddresses?: boolean;
}

/** The URL is not one we fetch: wrong scheme, or it resolves to an address we refuse. */
export class RefusedUrlError extends Error {
  override readonly name = 'RefusedUrlError';
}

export class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
}

/** The server could not be reached, or answered with a 5xx: worth retrying later. */
export class UpstreamUnavailableError extends Error {
  override readonly name = 'UpstreamUnavailableError';
}

const refused = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  refused.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  // Unspecified, loopback and the deprecated IPv4-compatible form (::a.b.c.d).
  ['::', 96],
  // NAT64 (RFC 6052, RFC 8215): 64:ff9b::169.254.169.254 reaches the IPv4 address it embeds through a NAT64 gateway.
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  refused.addSubnet(network, prefix, 'ipv6');
}

/** Loopback, private, link-local (the instance metadata service), multicast and reserved ranges. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return refused.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    return mapped ? refused.check(mapped, 'ipv4') : refused.check(address, 'ipv6');
  }
  return true;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A DNS lookup that refuses private addresses, so that a public name pointing inside cannot be used for SSRF. */
function guardedLookup(hostname: string, options: { all?: boolean }, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const bad = addresses.find(({ address }) => isPrivateAddress(address));
    if (bad || addresses.length === 0) {
      return callback(new RefusedUrlError(`${hostname} resolves to a refused address`), []);
    }
    if (options.all) return callback(null, addresses);
    const [first] = addresses as [LookupAddress];
    callback(null, first.address, first.family);
  });
}

export type FetchLike = (
  url: string,
  init?: {
    signal?: AbortSignal | null;
    headers?: Headers | Record<string, string>;
    /** GET unless told: POST only for an upstream IdP's token endpoint. */
    method?: 'GET' | 'POST';
    body?: string;
  },
) => Promise<Response>;

/**
 * A minimal GET for documents we must fetch from third parties (issuer key sets and metadata), or a form POST to an
 * upstream IdP's token endpoint: https only (http on loopback in local mode), no redirects followed, private addresses
 * refused, the body capped, and the caller's abort signal honoured. It returns a standard Response, read as fetch's would be.
 */
export function createSafeFetch(options: SafeFetchOptions): FetchLike {
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input);
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const local = options.allowHttpLoopback === true && isLoopbackHost(url.hostname);
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
        return reject(new RefusedUrlError(`refusing to fetch a ${url.protocol} URL`));
      }
      const checkAddresses = options.allowPrivateAddresses !== true;
      if (checkAddresses && isIP(host) && isPrivateAddress(host)) {
        return reject(new RefusedUrlError('refusing to fetch from a private address'));
      }
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const request = send(url, {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(new Headers(init.headers ?? {}).entries()),
        signal: init.signal ?? undefined,
        ...(checkAddresses ? { lookup: guardedLookup as never } : {}),
      });
      request.on('error', (error) => {
        if (error.name === 'AbortError' && init.signal?.aborted) return reject(init.signal.reason);
        reject(error instanceof RefusedUrlError ? error : new UpstreamUnavailableError(error.message));
      });
      request.on('response', (response: IncomingMessage) => {
        const status = response.statusCode ?? 0;
        if (status >= 500) {
          response.resume();
          return reject(new UpstreamUnavailableError(`HTTP ${status}`));
        }
        const declared = Number(response.headers['content-length'] ?? 0);
        if (declared > options.maxBytes) {
          request.destroy();
          return reject(new ResponseTooLargeError(`declared ${declared} bytes`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            request.destroy();
            reject(new ResponseTooLargeError(`more than ${options.maxBytes} bytes`));
          } else {
            chunks.push(chunk);
          }
        });
        response.on('end', () => {
          // 1xx/3xx bodies are not meaningful to us; a Response cannot carry them anyway.
          const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
          // Only the headers a caller reads: the cache lifetime of a client metadata document.
          const headers = new Headers({ 'content-type': 'application/json' });
          for (const name of ['cache-control', 'age']) {
            const value = response.headers[name];
            if (typeof value === 'string') headers.set(name, value);
          }
          resolve(new Response(body, { status: Math.max(status, 200), headers }));
        });
        response.on('error', (error) => reject(new UpstreamUnavailableError(error.message)));
      });
      request.end(init.body);
    });
}
