import { Html, html } from './html';
import { STYLESHEET } from './style';
import { TEXTS } from './texts';

/** A shield, drawn inline: a logo without an external asset. Its colours come from the stylesheet. */
const LOGO = html`<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 2 4 5v6c0 5.1 3.4 9.7 8 11 4.6-1.3 8-5.9 8-11V5l-8-3Z"/><path class="mark" d="m8.5 12 2.5 2.5 4.5-5"/></svg>`;

/** Our own constant, verbatim: the CSP hash is of these exact characters (and a <style> does not decode entities). */
const STYLE = new Html(STYLESHEET);

/** The document every page shares: the product's name at the top of one centered card, the page inside. */
export function layout(page: { readonly title: string; readonly productName: string; readonly body: Html }): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="color-scheme" content="light dark">
<title>${TEXTS.documentTitle(page.title, page.productName)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="brand">${LOGO}<span>${page.productName}</span></p>
${page.body}
</main>
</body>
</html>
`.markup;
}
