import { cookieHeader } from '../core/authorize/cookies';
import type { Cookie, Interaction, PageView } from '../core/authorize/interaction';
import type { HttpResponse } from '../core/http';
import { layout } from './layout';
import { STYLESHEET_HASH_SOURCE } from './style';
import { viewContent } from './views';

export interface PageOptions {
  /** Named at the top of every page (`ServerConfig.interactive.productName`). */
  readonly productName: string;
  /** Where the pages' forms post: the authorization endpoint. */
  readonly formAction: string;
}

/**
 * The page's policy: nothing loads, nothing runs, only our stylesheet (by hash) applies, no <base>, no framing.
 *
 * Pages with a form carry no `form-action`: Chromium and Safari check it against every redirect that follows the
 * submission (w3c/webappsec-csp#8), and these forms exist to end in a redirect to another origin (the upstream IdP and
 * its own login redirects, or the client's redirect URI and wherever that leads, e.g. a native app's scheme). A list
 * of those cannot be known when the page is rendered; `form-action 'self'` would break the flow in those browsers.
 * With no script and every value escaped, there is no injected form for it to stop.
 */
export function contentSecurityPolicy(page: PageView): string {
  const policy = [
    "default-src 'none'",
    `style-src ${STYLESHEET_HASH_SOURCE}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ];
  if (page.name === 'error') policy.push("form-action 'none'");
  return policy.join('; ');
}

/** Never cached: every page and redirect carries a one-time token, a cookie, or a code. */
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;

function pageHeaders(page: PageView): Record<string, string> {
  return {
    'Content-Type': 'text/html; charset=utf-8',
    ...NO_STORE,
    'Content-Security-Policy': contentSecurityPolicy(page),
    // For browsers without frame-ancestors.
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
  };
}

function withCookies(response: HttpResponse, cookies: readonly Cookie[] | undefined): HttpResponse {
  return cookies?.length ? { ...response, cookies: cookies.map(cookieHeader) } : response;
}

/**
 * The HTTP response for what the core decided: a redirect, or a page. It decides nothing itself.
 *
 * Redirects are 303 See Other whatever the request's method: after a form post the browser must follow with a GET
 * (RFC 9700 §4.12 rules out 307), and after a GET, 303 and 302 do the same.
 */
export function renderInteraction(interaction: Interaction, options: PageOptions): HttpResponse {
  if (interaction.kind === 'redirect') {
    // The core builds locations from URLs; a line break here would be a header injection, so it is a bug.
    if (/[\r\n]/.test(interaction.location)) throw new Error('a redirect location must not contain line breaks');
    return withCookies(
      {
        status: 303,
        // The next site learns nothing about this one from the Referer, not even the origin.
        headers: { Location: interaction.location, ...NO_STORE, 'Referrer-Policy': 'no-referrer' },
        body: '',
      },
      interaction.cookies,
    );
  }
  const content = viewContent(interaction.page, options.formAction);
  return withCookies(
    {
      status: interaction.status,
      headers: pageHeaders(interaction.page),
      body: layout({ title: content.title, productName: options.productName, body: content.body }),
    },
    interaction.cookies,
  );
}
