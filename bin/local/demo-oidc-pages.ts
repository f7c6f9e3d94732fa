import { createHash } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/**
 * The demo IdP's two pages (local mode only): the login form and the error page. Plain semantic HTML, one inline
 * style allowed by its hash, no scripts, no external assets; every value from a request is escaped.
 */

export interface DemoUserView {
  readonly sub: string;
  readonly email: string;
  readonly name: string;
}

export interface LoginPageView {
  /** The pending authorization request, posted back in a hidden field: the form's only reference to it. */
  readonly interaction: string;
  /** The client asking for the sign-in, as registered here. */
  readonly clientId: string;
  readonly users: readonly DemoUserView[];
  /** The user selected when the page opens. */
  readonly selected: string;
  /** The demo password, printed on the page: this IdP authenticates nobody for real. */
  readonly password: string;
  /** Why the last attempt was refused. */
  readonly problem?: string;
}

const TEXTS = {
  product: 'Demo IdP',
  loginTitle: 'Sign in',
  loginIntro: 'asks you to sign in.',
  demoNote: 'This identity provider is a local demo: choose a user, every demo user’s password is',
  userLegend: 'Demo user',
  passwordLabel: 'Password',
  signIn: 'Sign in',
  cancel: 'Cancel',
  errorTitle: 'Sign-in not possible',
  errorCode: 'Error code',
} as const;

const STYLE = [
  'body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d1f23}',
  'main{max-width:28rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:8px;border:1px solid #d8dbe0}',
  'h1{font-size:1.4rem;margin-top:0}',
  'fieldset{border:0;padding:0;margin:0 0 1rem}',
  'legend{padding:0}',
  'legend,label[for=password]{font-weight:600}',
  '.user{display:flex;gap:.5rem;align-items:baseline;margin:.4rem 0}',
  '.email{color:#5a606b}',
  'input[type=password]{display:block;width:100%;box-sizing:border-box;padding:.5rem;margin:.25rem 0 1rem}',
  '.actions{display:flex;gap:.75rem}',
  'button{padding:.5rem 1.2rem;font:inherit;border-radius:4px;border:1px solid #1d4ed8;cursor:pointer}',
  'button[value=sign-in]{background:#1d4ed8;color:#fff}',
  'button[value=cancel]{background:#fff;color:#1d4ed8}',
  '.note{background:#fff8e1;padding:.5rem .75rem;border-radius:4px}',
  '.problem{background:#fdecea;padding:.5rem .75rem;border-radius:4px;color:#8a1c12}',
].join('');

const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/** HTML-escapes text and attribute values alike. */
export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!,
  );
}

function layout(title: string, content: string): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(title)} · ${TEXTS.product}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<main>',
    content,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

export function loginPage(view: LoginPageView): string {
  const users = view.users.map((user) => {
    const id = `user-${escapeHtml(user.sub)}`;
    const checked = user.sub === view.selected ? ' checked' : '';
    return (
      `<div class="user"><input type="radio" id="${id}" name="user" value="${escapeHtml(user.sub)}" required${checked}>` +
      `<label for="${id}">${escapeHtml(user.name)} <span class="email">${escapeHtml(user.email)}</span></label></div>`
    );
  });
  return layout(
    TEXTS.loginTitle,
    [
      `<h1>${TEXTS.loginTitle}</h1>`,
      `<p><code>${escapeHtml(view.clientId)}</code> ${TEXTS.loginIntro}</p>`,
      `<p class="note">${TEXTS.demoNote} <strong><code>${escapeHtml(view.password)}</code></strong>.</p>`,
      view.problem ? `<p class="problem" role="alert">${escapeHtml(view.problem)}</p>` : '',
      // Relative: the form posts to <issuer>/login whether it was rendered by /authorize or by a failed /login.
      '<form method="post" action="login">',
      `<input type="hidden" name="interaction" value="${escapeHtml(view.interaction)}">`,
      `<fieldset><legend>${TEXTS.userLegend}</legend>`,
      ...users,
      '</fieldset>',
      `<label for="password">${TEXTS.passwordLabel}</label>`,
      '<input type="password" id="password" name="password" required autocomplete="off">',
      '<div class="actions">',
      `<button type="submit" name="action" value="sign-in">${TEXTS.signIn}</button>`,
      `<button type="submit" name="action" value="cancel" formnovalidate>${TEXTS.cancel}</button>`,
      '</div>',
      '</form>',
    ]
      .filter(Boolean)
      .join('\n'),
  );
}

/** An error the user sees instead of a redirect: the request cannot be trusted to say where to go back to. */
export function errorPage(error: string, description: string): string {
  return layout(
    TEXTS.errorTitle,
    [
      `<h1>${TEXTS.errorTitle}</h1>`,
      `<p>${escapeHtml(description)}</p>`,
      `<p>${TEXTS.errorCode}: <code>${escapeHtml(error)}</code></p>`,
    ].join('\n'),
  );
}

/**
 * An HTML answer: never cached, never framed, nothing loaded but its own style. `form: true` for a page with a form:
 * it carries no `form-action`, because Chromium and Safari check that directive against every redirect that follows
 * the submission (w3c/webappsec-csp#8), not only the first: the login form's post is answered by a redirect to the
 * client (the authorization server's /callback), which redirects on to its own client's redirect URI, on any origin
 * (an MCP client's loopback port, a native app's scheme). `form-action 'self' <client origin>` stopped the browser
 * there, before the MCP client got its code. Without a form: `form-action 'none'`.
 */
export function htmlResponse(
  statusCode: number,
  html: string,
  options: { form?: boolean } = {},
): APIGatewayProxyStructuredResultV2 {
  const csp = [
    "default-src 'none'",
    `style-src ${STYLE_HASH}`,
    ...(options.form ? [] : ["form-action 'none'"]),
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
  return {
    statusCode,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Security-Policy': csp,
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    },
    body: html,
  };
}
