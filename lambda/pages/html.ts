/**
 * Markup by construction: a page is built with the `html` template tag, which escapes every interpolated string, so a
 * dynamic value can only ever become text. Only `Html` (markup this module's callers wrote themselves) passes through.
 */

/** Markup we wrote, never markup we were given. */
export class Html {
  constructor(readonly markup: string) {}

  toString(): string {
    return this.markup;
  }
}

/** What a template may interpolate: markup, text to escape, lists of either, or nothing (for conditionals). */
export type Fragment = Html | string | readonly Fragment[] | undefined | false;

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for an HTML text node or a quoted attribute value (either quote). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char]!);
}

/**
 * Controls and the Unicode bidi embeddings, overrides and isolates have no place in what a page shows, and can make
 * text read other than it is (a right-to-left override turns `moc.evil` into `live.com`); they are dropped.
 */
const INVISIBLE = /[\p{Cc}\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;

/** A dynamic value as the page shows it: without invisible controls, escaped. */
export function text(value: string): string {
  return escapeHtml(value.replace(INVISIBLE, ''));
}

function render(fragment: Fragment): string {
  if (fragment === undefined || fragment === false) return '';
  if (fragment instanceof Html) return fragment.markup;
  if (typeof fragment === 'string') return text(fragment);
  return fragment.map(render).join('');
}

/** The template tag: strings interpolated into it are text, never markup. */
export function html(strings: TemplateStringsArray, ...values: readonly Fragment[]): Html {
  let markup = strings[0] ?? '';
  values.forEach((value, index) => {
    markup += render(value) + (strings[index + 1] ?? '');
  });
  return new Html(markup);
}
