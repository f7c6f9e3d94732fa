import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { ServerConfig } from '../core/config';
import { ServerError } from '../core/errors';
import { errorResponse, type HttpRequest, type HttpResponse } from '../core/http';
import { jwksResponse, metadataResponse } from '../core/metadata';
import type { Signer } from '../core/ports';
import { createRegistrationEndpoint, type RegistrationEndpointDeps } from '../core/registration';
import { createRevocationEndpoint } from '../core/revocation';
import { createTokenEndpoint, type TokenEndpointDeps } from '../core/token-endpoint';
import type { Logger } from './logger';
import { decisionMetrics, type MetricsTarget, registrationMetrics, revocationMetrics } from './metrics';

/** An API Gateway HTTP API (payload format 2.0) handler. */
export type HttpApiHandler = (
  event: APIGatewayProxyEventV2,
  context?: Pick<Context, 'awsRequestId'>,
) => Promise<APIGatewayProxyStructuredResultV2>;

export function toHttpRequest(event: APIGatewayProxyEventV2): HttpRequest {
  return {
    method: event.requestContext.http.method,
    headers: withCookieHeader(event.headers ?? {}, event.cookies),
    body: event.body,
    isBase64Encoded: event.isBase64Encoded,
    query: event.rawQueryString ?? '',
  };
}

/**
 * Payload 2.0 moves the request's cookies out of the headers into `event.cookies`; the core reads one `cookie` header,
 * as a browser sends it, so they go back into one. Any `cookie` header already there is replaced, never merged.
 */
function withCookieHeader(
  headers: Readonly<Record<string, string | undefined>>,
  cookies: readonly string[] | undefined,
): Readonly<Record<string, string | undefined>> {
  if (cookies === undefined || cookies.length === 0) return headers;
  const rest = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'cookie'));
  return { ...rest, cookie: cookies.join('; ') };
}

export function toResult(response: HttpResponse): APIGatewayProxyStructuredResultV2 {
  const result: APIGatewayProxyStructuredResultV2 = {
    statusCode: response.status,
    headers: { ...response.headers },
    body: response.body,
    isBase64Encoded: false,
  };
  // API Gateway turns each entry of `cookies` into its own Set-Cookie header.
  if (response.cookies?.length) result.cookies = [...response.cookies];
  return result;
}

export function requestIds(event: APIGatewayProxyEventV2, context?: Pick<Context, 'awsRequestId'>) {
  return { requestId: event.requestContext.requestId, lambdaRequestId: context?.awsRequestId };
}

/**
 * Wiring is created once per execution environment, on first use, so that a configuration error is logged clearly and
 * answered with an OAuth `server_error` rather than a bare API Gateway 500.
 */
export function once<T>(create: () => Promise<T> | T): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= Promise.resolve().then(create);
    return value;
  };
}

export function failed(logger: Logger, error: unknown, ids: Record<string, unknown>) {
  logger.error('handler failed', { ...ids, error: error instanceof Error ? error.message : String(error) });
  return toResult(errorResponse(new ServerError()));
}

export function createMetadataHandler(config: () => Promise<ServerConfig>, logger: Logger): HttpApiHandler {
  return async (event, context) => {
    try {
      return toResult(metadataResponse(await config()));
    } catch (error) {
      return failed(logger, error, requestIds(event, context));
    }
  };
}

export function createJwksHandler(
  wiring: () => Promise<{ config: ServerConfig; signer: Signer }>,
  logger: Logger,
): HttpApiHandler {
  return async (event, context) => {
    try {
      const { config, signer } = await wiring();
      return toResult(await jwksResponse(config, signer));
    } catch (error) {
      return failed(logger, error, requestIds(event, context));
    }
  };
}

/** The token endpoint: one audit line per decision (with its metrics, when a target is given), then the response. */
export function createTokenHandler(
  wiring: () => Promise<TokenEndpointDeps>,
  logger: Logger,
  metrics?: MetricsTarget,
): HttpApiHandler {
  const endpoint = once(async () => createTokenEndpoint(await wiring()));
  return decisionHandler(
    endpoint,
    logger,
    'token decision',
    metrics && ((audit) => decisionMetrics(audit, metrics, Date.now())),
  );
}

/**
 * The revocation endpoint (RFC 7009): one audit line per decision (with its metrics, when a target is given), never
 * the token, then the response. It needs the grant store: a wiring without one fails as a configuration error.
 */
export function createRevocationHandler(
  wiring: () => Promise<TokenEndpointDeps>,
  logger: Logger,
  metrics?: MetricsTarget,
): HttpApiHandler {
  const endpoint = once(async () => {
    const deps = await wiring();
    if (!deps.grants) throw new Error('the revocation endpoint needs a grant store');
    return createRevocationEndpoint({ ...deps, grants: deps.grants });
  });
  return decisionHandler(
    endpoint,
    logger,
    'revocation decision',
    metrics && ((audit) => revocationMetrics(audit, metrics, Date.now())),
  );
}

/**
 * The registration endpoint (RFC 7591): one audit line per request (the client id, never its secret; with its
 * metrics, when a target is given), then the response.
 */
export function createRegistrationHandler(
  wiring: () => Promise<RegistrationEndpointDeps>,
  logger: Logger,
  metrics?: MetricsTarget,
): HttpApiHandler {
  const endpoint = once(async () => createRegistrationEndpoint(await wiring()));
  return decisionHandler(
    endpoint,
    logger,
    'registration decision',
    metrics && ((audit) => registrationMetrics(audit, metrics, Date.now())),
  );
}

/** Runs an endpoint and logs its one audit record (error level for a failure) with its metrics, then answers. */
function decisionHandler<Audit extends { readonly outcome: string }>(
  endpoint: () => Promise<
    (request: HttpRequest) => Promise<{ readonly response: HttpResponse; readonly audit: Audit }>
  >,
  logger: Logger,
  message: string,
  metricsOf?: (audit: Audit) => Record<string, unknown>,
): HttpApiHandler {
  return async (event, context) => {
    const ids = requestIds(event, context);
    try {
      const { response, audit } = await (await endpoint())(toHttpRequest(event));
      const level = audit.outcome === 'failed' ? 'error' : 'info';
      logger[level](message, { ...ids, ...audit, ...(metricsOf?.(audit) ?? {}) });
      return toResult(response);
    } catch (error) {
      return failed(logger, error, ids);
    }
  };
}

/**
 * The token function's entry: it serves the token endpoint and, with the interactive flow, the revocation endpoint.
 * API Gateway names the route it matched in `event.routeKey`, exactly as registered (`ANY /revoke`); that route goes
 * to the revocation endpoint, every other to the token endpoint. Both share one wiring.
 */
export function createTokenFunctionHandler(
  wiring: () => Promise<TokenEndpointDeps>,
  logger: Logger,
  options: {
    /** The revocation route's key as registered, such as `ANY /revoke`. */
    readonly revokeRouteKey: string;
    readonly metrics?: MetricsTarget;
  },
): HttpApiHandler {
  const token = createTokenHandler(wiring, logger, options.metrics);
  const revocation = createRevocationHandler(wiring, logger, options.metrics);
  return (event, context) => (event.routeKey === options.revokeRouteKey ? revocation : token)(event, context);
}
