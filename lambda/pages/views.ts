import { type ClientView, FORM_FIELDS, type PageView } from '../core/authorize/interaction';
import { type Html, html } from './html';
import { TEXTS } from './texts';

/** What a view gives the layout: the tab title and the content of the card. */
export interface PageContent {
  readonly title: string;
  readonly body: Html;
}

type View<Name extends PageView['name']> = Extract<PageView, { name: Name }>;

/** The client as a heading names it: the host of a URL client id, else the id; never the name it chose itself. */
function clientLabel(client: ClientView): Html {
  // A self-registered client's id is random: the heading says what it is, the details below show the id.
  if (client.host === undefined && client.selfRegistered) return html`<strong>${TEXTS.client.selfRegistered}</strong>`;
  return html`<strong><bdi>${client.host ?? client.clientId}</bdi></strong>`;
}

/** A name the client chose, only ever beside its id, marked as unchecked. */
function claimedName(client: ClientView): Html | false {
  return client.name
    ? html`“<bdi>${client.name}</bdi>” <span class="unverified">${TEXTS.client.unverified}</span>`
    : false;
}

/** A URL that wraps after a slash of its path (`https://mcp.example.com/` `mcp`) rather than in the middle of a word. */
function url(value: string): Html {
  return html`${value.split(/(?<=[^/:]\/)/).map((part, index) => (index === 0 ? part : html`<wbr>${part}`))}`;
}

/** Where the browser returns: the host, or for a native app's private-use scheme (`com.example.app:/cb`) the scheme. */
function destination(redirectUri: string): string {
  try {
    const parsed = new URL(redirectUri);
    return parsed.host || parsed.protocol;
  } catch {
    return redirectUri;
  }
}

function hidden(name: string, value: string): Html {
  return html`<input type="hidden" name="${name}" value="${value}">`;
}

/**
 * The core's descriptions are written for `error_description` (lower case, no full stop, RFC 6749 style); on a page
 * they read as a sentence.
 */
export function asSentence(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return trimmed;
  const capitalised = trimmed[0]!.toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

function error(view: View<'error'>): PageContent {
  return {
    title: TEXTS.error.title,
    body: html`<h1>${TEXTS.error.heading}</h1>
<p>${asSentence(view.description)}</p>
<p class="muted">${TEXTS.error.next}</p>
<p class="muted small">${TEXTS.error.code(html`<code>${view.error}</code>`)}</p>`,
  };
}

function homeRealm(view: View<'home-realm'>, formAction: string): PageContent {
  const name = claimedName(view.client);
  const problem = view.problem
    ? {
        message: html`<p class="problem" id="email-problem">${view.problem}</p>`,
        attributes: html` aria-invalid="true" aria-describedby="email-problem"`,
      }
    : undefined;
  return {
    title: TEXTS.homeRealm.title,
    body: html`<h1>${TEXTS.homeRealm.heading(clientLabel(view.client))}</h1>
${name && html`<p class="muted small">${TEXTS.client.name} ${name}</p>`}
<p>${TEXTS.homeRealm.intro}</p>
<form method="post" action="${formAction}">
${hidden(FORM_FIELDS.transaction, view.transactionId)}
${hidden(FORM_FIELDS.csrf, view.csrfToken)}
${hidden(FORM_FIELDS.action, 'email')}
${problem?.message}
<label for="email">${TEXTS.homeRealm.email}</label>
<input id="email" name="${FORM_FIELDS.email}" type="email" autocomplete="email" autocapitalize="off" spellcheck="false" maxlength="254" required autofocus value="${view.email ?? ''}"${problem?.attributes}>
<div class="actions"><button type="submit">${TEXTS.homeRealm.submit}</button></div>
</form>`,
  };
}

function consent(view: View<'consent'>, formAction: string): PageContent {
  const resource = html`<strong><bdi>${url(view.resource)}</bdi></strong>`;
  const name = claimedName(view.client);
  const scopes = view.scopes.length
    ? html`<ul class="scopes">${view.scopes.map((scope) => html`<li><code>${scope}</code></li>`)}</ul>`
    : html`<p>${TEXTS.consent.noScopes}</p>`;
  return {
    title: TEXTS.consent.title,
    body: html`<h1>${TEXTS.consent.heading(clientLabel(view.client), resource)}</h1>
<dl>
<dt>${TEXTS.client.id}</dt><dd><code><bdi>${url(view.client.clientId)}</bdi></code></dd>
${name && html`<dt>${TEXTS.client.name}</dt><dd>${name}</dd>`}
<dt>${TEXTS.consent.returnsTo}</dt><dd><bdi>${destination(view.redirectUri)}</bdi></dd>
</dl>
<h2>${TEXTS.consent.scopes}</h2>
${scopes}
${view.tenantName && html`<p>${TEXTS.consent.signInWith(html`<strong><bdi>${view.tenantName}</bdi></strong>`)}</p>`}
<p class="muted small">${TEXTS.consent.warning}</p>
<form method="post" action="${formAction}">
${hidden(FORM_FIELDS.transaction, view.transactionId)}
${hidden(FORM_FIELDS.csrf, view.csrfToken)}
<div class="actions">
<button type="submit" name="${FORM_FIELDS.action}" value="approve">${TEXTS.consent.approve}</button>
<button type="submit" name="${FORM_FIELDS.action}" value="deny" class="secondary">${TEXTS.consent.deny}</button>
</div>
</form>`,
  };
}

/** The card's content for a page view. */
export function viewContent(page: PageView, formAction: string): PageContent {
  switch (page.name) {
    case 'error':
      return error(page);
    case 'home-realm':
      return homeRealm(page, formAction);
    case 'consent':
      return consent(page, formAction);
  }
}
