import { createHash } from 'node:crypto';
import type { Interaction, PageView } from '../../lambda/core/authorize/interaction';
import { renderInteraction } from '../../lambda/pages';
import { CSRF, HOSTILE, pageOf, TRANSACTION, VIEWS, type ViewName } from './fixtures';

const OPTIONS = { productName: 'Example MCP', formAction: 'https://auth.example.com/authorize' };
const NAMES = Object.keys(VIEWS) as ViewName[];

const render = (interaction: Interaction) => renderInteraction(interaction, OPTIONS);
/** The document's body, where the views write (the head holds the stylesheet, whose selectors would match too). */
const body = (page: PageView) => render({ kind: 'page', status: 200, page }).body.split('<body>')[1]!;
/** Every tag in a document; escaped text has no `<`, so these are the elements the browser will build. */
const tags = (markup: string) => markup.match(/<[^>]*>/g) ?? [];

describe('redirects', () => {
  const redirect = (cookies?: Interaction['cookies']) =>
    render({ kind: 'redirect', location: 'https://client.example.com/cb?code=abc&state=xyz', cookies });

  it('are 303 with the location, never cached, no referrer, and no body', () => {
    expect(redirect()).toEqual({
      status: 303,
      headers: {
        Location: 'https://client.example.com/cb?code=abc&state=xyz',
        'Cache-Control': 'no-store',
        Pragma: 'no-cache',
        'Referrer-Policy': 'no-referrer',
      },
      body: '',
    });
  });

  it('set each cookie with its own Set-Cookie value', () => {
    const response = redirect([
      { name: '__Host-tx', value: 'abc', maxAgeSeconds: 600 },
      { name: '__Host-old', value: '', maxAgeSeconds: 0 },
    ]);
    expect(response.cookies).toEqual([
      '__Host-tx=abc; Max-Age=600; Path=/; Secure; HttpOnly; SameSite=Lax',
      '__Host-old=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax',
    ]);
  });

  it('refuse a location with a line break (a header injection is a bug in the caller)', () => {
    expect(() => render({ kind: 'redirect', location: 'https://a.example/\r\nSet-Cookie: x=y' })).toThrow(
      /line breaks/,
    );
  });

  it('refuse a cookie without the __Host- prefix', () => {
    expect(() => redirect([{ name: 'tx', value: 'abc', maxAgeSeconds: 600 }])).toThrow(/__Host-/);
  });
});

describe('pages', () => {
  it.each(NAMES)('%s: HTML, never cached, a strict policy, no framing, no referrer, no sniffing', (name) => {
    const { headers } = render(pageOf(name));
    expect(headers).toEqual({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      Pragma: 'no-cache',
      'Content-Security-Policy': expect.stringMatching(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]{43}='/),
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
    });
    expect(headers['Content-Security-Policy']).toContain("frame-ancestors 'none'");
    expect(headers['Content-Security-Policy']).toContain("base-uri 'none'");
  });

  it.each(NAMES)("%s: the policy's style hash is the hash of the page's one inline stylesheet", (name) => {
    const { headers, body: markup } = render(pageOf(name));
    const styles = [...markup.matchAll(/<style>([^<]*)<\/style>/g)].map((match) => match[1]!);
    expect(styles).toHaveLength(1);
    const hash = createHash('sha256').update(styles[0]!, 'utf8').digest('base64');
    expect(headers['Content-Security-Policy']).toContain(`style-src 'sha256-${hash}'`);
  });

  it('the error page, which has no form, allows no form submission at all', () => {
    expect(render(pageOf('error')).headers['Content-Security-Policy']).toContain("form-action 'none'");
  });

  it.each(['home-realm', 'consent'] as const)(
    '%s: no form-action, which Chromium would apply to the redirect that follows the post',
    (name) => {
      expect(render(pageOf(name)).headers['Content-Security-Policy']).not.toContain('form-action');
    },
  );

  it('answer with the status the core chose, and its cookies', () => {
    const response = render(pageOf('home-realm', 401));
    expect(response.status).toBe(401);
    expect(response.cookies).toEqual([`__Host-tx=${TRANSACTION}; Max-Age=600; Path=/; Secure; HttpOnly; SameSite=Lax`]);
    expect(render(pageOf('error'))).not.toHaveProperty('cookies');
  });

  it.each(NAMES)(
    '%s: English, one main, the product name, no script, no external reference, no style attribute',
    (name) => {
      const markup = render(pageOf(name)).body;
      expect(markup.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
      expect(markup.match(/<main[ >]/g)).toHaveLength(1);
      expect(markup.match(/<h1>/g)).toHaveLength(1);
      expect(markup).toContain('<span>Example MCP</span>');
      for (const tag of tags(markup)) {
        expect(tag).not.toMatch(/^<\/?(script|link|img|iframe|object|embed|base|a)[\s>]|\s(style|src|href|on[a-z]+)=/i);
      }
      expect(markup).not.toMatch(/url\(|@import/);
    },
  );

  it.each(NAMES)('%s: every visible input has a label', (name) => {
    const markup = render(pageOf(name)).body;
    const inputs = [...markup.matchAll(/<input ([^>]*)>/g)].map((match) => match[1]!);
    for (const input of inputs.filter((attributes) => !attributes.includes('type="hidden"'))) {
      const id = /\bid="([^"]+)"/.exec(input)?.[1];
      expect(id).toBeDefined();
      expect(markup).toContain(`<label for="${id}">`);
    }
  });

  it('escapes the product name', () => {
    const markup = renderInteraction(pageOf('error'), { ...OPTIONS, productName: '<b>Acme</b>' }).body;
    expect(markup).toContain('<span>&lt;b&gt;Acme&lt;/b&gt;</span>');
    expect(markup).toContain('<title>Sign-in error · &lt;b&gt;Acme&lt;/b&gt;</title>');
  });
});

describe('the error page', () => {
  it('shows the description and the error code, and links nowhere', () => {
    const markup = body(VIEWS.error);
    expect(markup).toContain('<p>The redirect URI is not registered for this application.</p>');
    expect(markup).toContain('<code>invalid_request</code>');
    expect(markup).not.toMatch(/<a[\s>]|<form/);
  });

  it('escapes the description and the code', () => {
    const markup = body({ name: 'error', error: HOSTILE, description: HOSTILE });
    expect(markup).not.toContain('<img');
    expect(markup).not.toContain('<script>');
  });
});

describe('the home realm page', () => {
  it('asks for a work email, labelled, with autocomplete, posting to the form action with transaction and csrf', () => {
    const markup = body(VIEWS['home-realm']);
    expect(markup).toContain('<form method="post" action="https://auth.example.com/authorize">');
    expect(markup).toContain('<label for="email">Work email</label>');
    expect(markup).toMatch(/<input id="email" name="email" type="email" autocomplete="email" [^>]*required/);
    expect(markup).toContain(`<input type="hidden" name="transaction" value="${TRANSACTION}">`);
    expect(markup).toContain(`<input type="hidden" name="csrf" value="${CSRF}">`);
    expect(markup).toContain('<input type="hidden" name="action" value="email">');
  });

  it('names the client by the host of its URL id, and its own name only as unverified', () => {
    const markup = body(VIEWS['home-realm']);
    expect(markup).toContain('Sign in to continue to <strong><bdi>claude.ai</bdi></strong>');
    expect(markup).toContain('“<bdi>Claude</bdi>” <span class="unverified">unverified</span>');
  });

  it('keeps the email and shows the problem, tied to the field', () => {
    const markup = body(VIEWS['home-realm-problem']);
    expect(markup).toContain('value="alice@unknown.example" aria-invalid="true" aria-describedby="email-problem"');
    expect(markup).toContain('<p class="problem" id="email-problem">No organisation signs in');
    expect(markup).toContain('Sign in to continue to <strong><bdi>demo-client</bdi></strong>');
  });

  it('shows no problem and an empty field the first time', () => {
    const markup = body(VIEWS['home-realm']);
    expect(markup).toContain('value=""');
    expect(markup).not.toMatch(/aria-invalid|class="problem"/);
  });

  it('escapes the email it keeps, the problem and the client', () => {
    const markup = body({
      ...VIEWS['home-realm-problem'],
      email: HOSTILE,
      problem: HOSTILE,
      client: { clientId: HOSTILE, name: HOSTILE },
    });
    expect(markup).not.toContain('<img');
    expect(markup).not.toContain('<script>');
    expect(markup).toContain('value="&lt;img src=//evil.example/x.png&gt;&quot;&#39;&amp;');
  });
});

describe('the consent page', () => {
  it('says that a self-registered client (DCR) registered itself, rather than heading with its random id', () => {
    const clientId = `dcr_${'A'.repeat(43)}`;
    const markup = body({ ...VIEWS.consent, client: { clientId, name: 'Claude', selfRegistered: true } });
    expect(markup).toContain('<h1><strong>An application that registered itself</strong> wants to access');
    expect(markup).toContain(`<code><bdi>${clientId}</bdi></code>`);
    expect(markup).toContain('“<bdi>Claude</bdi>” <span class="unverified">unverified</span>');
  });

  it('names client, resource, scopes, tenant and where the browser returns', () => {
    const markup = body(VIEWS.consent);
    expect(markup).toContain(
      '<h1><strong><bdi>claude.ai</bdi></strong> wants to access <strong><bdi>https://mcp.example.com/<wbr>mcp</bdi></strong></h1>',
    );
    expect(markup).toContain('<dd><code><bdi>https://claude.ai/<wbr>oauth/<wbr>mcp-client.json</bdi></code></dd>');
    expect(markup).toContain(
      '<ul class="scopes"><li><code>mcp:tools</code></li><li><code>mcp:resources</code></li><li><code>mcp:prompts</code></li></ul>',
    );
    expect(markup).toContain('You will sign in with <strong><bdi>Acme Corp</bdi></strong>.');
    expect(markup).toContain('<dt>Returns you to</dt><dd><bdi>claude.ai</bdi></dd>');
  });

  it('shows the name the client chose beside its id, marked unverified', () => {
    expect(body(VIEWS.consent)).toMatch(
      /<dt>Application ID<\/dt><dd>.*<\/dd>\n<dt>Calls itself<\/dt><dd>“<bdi>Claude<\/bdi>” <span class="unverified">unverified<\/span><\/dd>/,
    );
  });

  it('names a client without a URL id by its id, and leaves out what is not given', () => {
    const markup = body({ ...VIEWS.consent, client: { clientId: 'demo-client' }, tenantName: undefined, scopes: [] });
    expect(markup).toContain('<h1><strong><bdi>demo-client</bdi></strong> wants to access');
    expect(markup).not.toContain('Calls itself');
    expect(markup).not.toContain('You will sign in with');
    expect(markup).toContain('No specific permissions');
  });

  it("names a native app's private-use scheme as where it returns", () => {
    expect(body({ ...VIEWS.consent, redirectUri: 'com.example.app:/oauth/callback' })).toContain(
      '<dt>Returns you to</dt><dd><bdi>com.example.app:</bdi></dd>',
    );
  });

  it('has Approve and Deny as the values of one action field, with transaction and csrf', () => {
    const markup = body(VIEWS.consent);
    expect(markup).toContain('<button type="submit" name="action" value="approve">Approve</button>');
    expect(markup).toContain('<button type="submit" name="action" value="deny" class="secondary">Deny</button>');
    expect(markup).toContain(`<input type="hidden" name="transaction" value="${TRANSACTION}">`);
    expect(markup).toContain(`<input type="hidden" name="csrf" value="${CSRF}">`);
  });

  it('escapes every value the client or the registry chose', () => {
    const markup = body({
      ...VIEWS['consent-hostile'],
      resource: HOSTILE,
      scopes: [HOSTILE],
      redirectUri: HOSTILE,
      client: { clientId: HOSTILE, host: HOSTILE, name: HOSTILE },
      transactionId: HOSTILE,
      csrfToken: HOSTILE,
    });
    expect(markup).not.toContain('<img');
    expect(markup).not.toContain('<script>');
    expect(markup).not.toContain('\u202E');
    // Shown in all nine places as text (URLs with line-break opportunities after slashes).
    const shown = markup.replaceAll('<wbr>', '').match(/&lt;img src=\/\/evil\.example\/x\.png&gt;/g);
    expect(shown).toHaveLength(9);
  });
});

describe('descriptions on the error page', () => {
  it('reads the core description as a sentence: capitalised, with a full stop, and only once', async () => {
    const { asSentence } = await import('../../lambda/pages/views');
    expect(asSentence('this sign-in has expired, or was started in another browser')).toBe(
      'This sign-in has expired, or was started in another browser.',
    );
    expect(asSentence('Already a sentence.')).toBe('Already a sentence.');
    expect(asSentence('why?')).toBe('Why?');
    expect(asSentence('')).toBe('');
  });
});
