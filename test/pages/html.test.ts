import fc from 'fast-check';
import { escapeHtml, Html, html, text } from '../../lambda/pages/html';

/** What a browser makes of the escaper's output: the five entities it writes, decoded. */
function decode(markup: string): string {
  return markup.replace(/&(amp|lt|gt|quot|#39);/g, (_, entity: string) =>
    entity === '#39' ? "'" : ({ amp: '&', lt: '<', gt: '>', quot: '"' } as Record<string, string>)[entity]!,
  );
}

describe('escapeHtml', () => {
  it.each([
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['<img src=//evil onerror=alert(1)>', '&lt;img src=//evil onerror=alert(1)&gt;'],
    ['" autofocus onfocus="alert(1)', '&quot; autofocus onfocus=&quot;alert(1)'],
    ["' onmouseover='alert(1)", '&#39; onmouseover=&#39;alert(1)'],
    ['Tom & Jerry &amp; &lt;', 'Tom &amp; Jerry &amp;amp; &amp;lt;'],
    ['</style><script>x</script>', '&lt;/style&gt;&lt;script&gt;x&lt;/script&gt;'],
    ['Zürich · 日本語 · 🙂 · עברית', 'Zürich · 日本語 · 🙂 · עברית'],
  ])('escapes %j', (input, expected) => {
    expect(escapeHtml(input)).toBe(expected);
  });

  it('leaves no markup character and decodes back to the input, for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'<>"\'&;#ax1 ü🙂\u202E\u0000'), maxLength: 40 }), (input) => {
        const escaped = escapeHtml(input);
        return !/[<>"']/.test(escaped) && decode(escaped) === input;
      }),
      { seed: 20_251_202, numRuns: 500 },
    );
  });
});

describe('text', () => {
  it('drops bidi overrides and isolates, so a name cannot read as something else', () => {
    expect(text('\u202Emoc.evil')).toBe('moc.evil');
    expect(text('a\u2066b\u2069c\u200Fd')).toBe('abcd');
  });

  it('drops control characters, line breaks included', () => {
    expect(text('a\u0000b\nc\r\u0085d\u007F')).toBe('abcd');
  });

  it('keeps letters of every script, and escapes', () => {
    expect(text('שלום <b>&')).toBe('שלום &lt;b&gt;&amp;');
  });
});

describe('the html template tag', () => {
  it('escapes interpolated strings', () => {
    expect(html`<p title="${'"x"'}">${'<b>'}</p>`.markup).toBe('<p title="&quot;x&quot;">&lt;b&gt;</p>');
  });

  it('passes markup built with html through, and joins lists', () => {
    const items = ['a<', 'b'].map((item) => html`<li>${item}</li>`);
    expect(html`<ul>${items}</ul>`.markup).toBe('<ul><li>a&lt;</li><li>b</li></ul>');
  });

  it('renders undefined and false as nothing', () => {
    expect(html`[${undefined}${false}]`.markup).toBe('[]');
  });

  it('passes an Html made by hand through unchanged (only ever our own constants)', () => {
    expect(html`${new Html('<hr>')}`.markup).toBe('<hr>');
  });
});
