import { Agent, request } from 'node:http';

/**
 * The load generators' one request: a jwt-bearer token request with `assertion`, over keep-alive connections (at
 * most `concurrency` of them), resolved with the HTTP status. A failed connection is an error of the run, counted as
 * status 0, not a crash of the generator.
 */
export function tokenPoster(
  url: string,
  authorization: string,
  concurrency: number,
): { post(assertion: string): Promise<number>; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const post = (assertion: string): Promise<number> => {
    const body = `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=${assertion}`;
    return new Promise((resolve) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(body),
            authorization,
          },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        },
      );
      req.on('error', () => resolve(0));
      req.end(body);
    });
  };
  return { post, close: () => agent.destroy() };
}
