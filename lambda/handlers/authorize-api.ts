import { type AuthorizeEndpointDeps, createAuthorizeEndpoint } from '../core/authorize/endpoint';
import type { Interaction } from '../core/authorize/interaction';
import { endpointsOf } from '../core/config';
import { renderInteraction } from '../pages';
import { failed, type HttpApiHandler, once, requestIds, toHttpRequest, toResult } from './api';
import type { Logger } from './logger';
import { type MetricsTarget, signInMetrics } from './metrics';

/**
 * The browser-facing endpoints of the interactive flow (`GET`/`POST /authorize`, `GET /callback`): the core decides,
 * the page layer renders; one audit line per decision (with its metrics, when a target is given), never a code, a
 * cookie or an email address.
 */
export function createAuthorizeHandler(
  wiring: () => Promise<AuthorizeEndpointDeps>,
  logger: Logger,
  metrics?: MetricsTarget,
): HttpApiHandler {
  const setup = once(async () => {
    const deps = await wiring();
    const { routes, authorizationEndpoint } = endpointsOf(deps.config.issuer);
    const pages = { productName: deps.config.interactive.productName, formAction: authorizationEndpoint };
    return { endpoint: createAuthorizeEndpoint(deps), routes, pages };
  });
  return async (event, context) => {
    const ids = requestIds(event, context);
    try {
      const { endpoint, routes, pages } = await setup();
      const method = event.requestContext.http.method.toUpperCase();
      const step =
        event.rawPath === routes.callback
          ? method === 'GET' && endpoint.callback
          : method === 'GET'
            ? endpoint.authorize
            : method === 'POST' && endpoint.interact;
      if (!step) return toResult(renderInteraction(METHOD_NOT_ALLOWED, pages));
      const outcome = await step(toHttpRequest(event));
      const level = outcome.audit.outcome === 'failed' ? 'error' : 'info';
      const emf = metrics ? signInMetrics(outcome.audit, metrics, Date.now()) : {};
      logger[level]('authorization decision', { ...ids, ...outcome.audit, ...emf });
      return toResult(renderInteraction(outcome.interaction, pages));
    } catch (error) {
      return failed(logger, error, ids);
    }
  };
}

const METHOD_NOT_ALLOWED: Interaction = {
  kind: 'page',
  status: 405,
  page: { name: 'error', error: 'invalid_request', description: 'This address does not accept that kind of request.' },
};
