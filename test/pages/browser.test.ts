import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { createHttpApiServer } from '../../bin/local/http-adapter';
import { readCookie } from '../../lambda/core/authorize/cookies';
import { header } from '../../lambda/core/http';
import { toHttpRequest, toResult } from '../../lambda/handlers/api';
import { renderInteraction } from '../../lambda/pages';
import { type HeadlessChromium, launchChromium } from '../support/browser';
import { CSRF, pageOf, TRANSACTION, VIEWS, type ViewName } from './fixtures';

jest.setTimeout(120_000);

// Evaluated in the page, where the DOM exists; this program's types are Node's.
declare const document: {
  readonly documentElement: { readonly scrollWidth: number };
  readonly activeElement: unknown;
  readonly title: string;
  readonly body: { readonly textContent: string | null } | null;
};
declare function getComputedStyle(element: unknown): { readonly maxWidth: string; readonly outlineStyle: string };

const NAMES = Object.keys(VIEWS) as ViewName[];
const SCREENSHOTS = join(__dirname, '../../test-artifacts/screenshots');

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A form post as the authorization endpoint received it. */
interface Post {
  readonly fields: Record<string, string>;
  readonly cookie: string | undefined;
}

/**
 * The pages in headless Chromium. The authorization server's side is the local server's HTTP adapter (the same path
 * as API Gateway events through the Lambda handlers) on one loopback origin, serving each rendered page and taking
 * the forms' posts; "elsewhere" is a second loopback origin, standing for the upstream IdP, the client and a framer.
 */
describe('the pages in a browser', () => {
  let chromium: HeadlessChromium;
  let server: Server;
  let elsewhere: Server;
  let origin: string;
  let otherOrigin: string;
  let posts: Post[];

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    elsewhere = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://elsewhere');
      if (url.pathname === '/landed') {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<h1>Landed elsewhere</h1>');
        return;
      }
      if (url.pathname === '/framer') {
        // Frames each page named in ?page=, and the unprotected control page.
        const frames = url.searchParams
          .getAll('page')
          .map((page) => `<iframe title="${page}" src="${origin}/${page}" width="400" height="300"></iframe>`);
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(frames.join('\n'));
        return;
      }
      response.writeHead(404).end();
    });
    otherOrigin = await listen(elsewhere);
    server = createHttpApiServer([
      ...NAMES.map((name) => ({
        method: 'GET' as const,
        path: `/${name}`,
        handler: async () =>
          toResult(renderInteraction(pageOf(name), { productName: 'Example MCP', formAction: `${origin}/authorize` })),
      })),
      {
        method: 'GET',
        path: '/unprotected',
        handler: async () =>
          toResult({ status: 200, headers: { 'Content-Type': 'text/html' }, body: '<h1>Framed</h1>' }),
      },
      {
        method: 'POST',
        path: '/authorize',
        handler: async (event) => {
          const request = toHttpRequest(event);
          posts.push({
            fields: Object.fromEntries(new URLSearchParams(request.body ?? '')),
            cookie: header(request, 'cookie'),
          });
          // As the core will answer: off to another origin (the IdP, or the client's redirect URI).
          const location = `${otherOrigin}/landed`;
          return toResult(renderInteraction({ kind: 'redirect', location }, { productName: '', formAction: '' }));
        },
      },
    ]);
    origin = await listen(server);
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    await Promise.all([server && close(server), elsewhere && close(elsewhere)]);
  });

  let page: Page;
  let consoleLines: string[];
  let requests: string[];

  beforeEach(async () => {
    posts = [];
    consoleLines = [];
    requests = [];
    page = await chromium.context.newPage();
    page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    page.on('request', (request) => requests.push(request.url()));
  });

  afterEach(async () => {
    await page.close();
  });

  /** What the browser said about the Content-Security-Policy (violations are logged to the console). */
  const violations = () => consoleLines.filter((line) => /Content Security Policy|Refused to/i.test(line));

  const open = async (name: ViewName) => {
    const response = await page.goto(`${origin}/${name}`);
    const served = pageOf(name);
    expect(response?.status()).toBe(served.kind === 'page' ? served.status : undefined);
  };

  describe.each(NAMES)('%s', (name) => {
    it('renders under its Content-Security-Policy with no violation, its inline stylesheet applied', async () => {
      await open(name);
      const main = page.getByRole('main');
      await expect(main.count()).resolves.toBe(1);
      // 30rem: the stylesheet ran, so its hash in the policy is right.
      await expect(main.evaluate((element) => getComputedStyle(element).maxWidth)).resolves.toBe('480px');
      expect(violations()).toEqual([]);
      expect(requests).toEqual([`${origin}/${name}`]);
    });

    it('has one level-one heading and the product name', async () => {
      await open(name);
      await expect(page.getByRole('heading', { level: 1 }).count()).resolves.toBe(1);
      await expect(page.getByText('Example MCP', { exact: true }).isVisible()).resolves.toBe(true);
    });

    it.each([
      [375, 'light'],
      [1280, 'light'],
      [375, 'dark'],
    ] as const)(
      'fits %i px without sideways scrolling, %s (screenshot in test-artifacts/)',
      async (width, colorScheme) => {
        await page.emulateMedia({ colorScheme });
        await page.setViewportSize({ width, height: width < 400 ? 740 : 800 });
        await open(name);
        await expect(page.evaluate(() => document.documentElement.scrollWidth)).resolves.toBeLessThanOrEqual(width);
        const suffix = colorScheme === 'dark' ? '-dark' : '';
        await page.screenshot({ path: join(SCREENSHOTS, `${name}-${width}${suffix}.png`), fullPage: true });
      },
    );
  });

  it('shows a client name carrying <img src=//evil…> as text: no image element, no request', async () => {
    await open('consent-hostile');
    await expect(page.getByText('<img src=//evil.example/x.png>', { exact: false }).first().isVisible()).resolves.toBe(
      true,
    );
    await expect(page.locator('img, script').count()).resolves.toBe(0);
    expect(requests.filter((url) => url.includes('evil'))).toEqual([]);
    expect(violations()).toEqual([]);
  });

  it('cannot be framed by another origin, while a page without the headers can', async () => {
    const framed = ['error', 'home-realm', 'consent'];
    await page.goto(`${otherOrigin}/framer?${[...framed, 'unprotected'].map((name) => `page=${name}`).join('&')}`);
    await page.waitForLoadState('load');
    const textOf = async (title: string) => {
      const frame = await (await page.locator(`iframe[title="${title}"]`).elementHandle())?.contentFrame();
      return frame?.evaluate(() => document.body?.textContent ?? '');
    };
    await expect(textOf('unprotected')).resolves.toBe('Framed');
    // Chromium shows its own error page in the frame instead ("127.0.0.1 is blocked").
    for (const name of framed) await expect(textOf(name)).resolves.not.toContain('Example MCP');
    expect(consoleLines.filter((line) => line.includes("frame-ancestors 'none'"))).toHaveLength(framed.length);
  });

  describe('the consent form', () => {
    it.each(['Approve', 'Deny'])(
      '%s posts transaction, csrf and action with the transaction cookie, and follows the redirect to another origin',
      async (button) => {
        await open('consent');
        await Promise.all([
          page.waitForURL(`${otherOrigin}/landed`),
          page.getByRole('button', { name: button }).click(),
        ]);
        expect(posts).toHaveLength(1);
        expect(posts[0]!.fields).toEqual({ transaction: TRANSACTION, csrf: CSRF, action: button.toLowerCase() });
        // The __Host- cookie the page set over loopback http came back with the post (SameSite=Lax, same origin).
        expect(readCookie(posts[0]!.cookie, '__Host-tx')).toBe(TRANSACTION);
        expect(violations()).toEqual([]);
      },
    );

    it('shows where keyboard focus is', async () => {
      await open('consent');
      await page.keyboard.press('Tab');
      const approve = page.getByRole('button', { name: 'Approve' });
      await expect(approve.evaluate((element) => element === document.activeElement)).resolves.toBe(true);
      await expect(approve.evaluate((element) => getComputedStyle(element).outlineStyle)).resolves.toBe('solid');
    });
  });

  describe('the home realm form', () => {
    it('has a work email field found by its label, that the browser may fill in', async () => {
      await open('home-realm');
      const email = page.getByLabel('Work email');
      await expect(email.getAttribute('type')).resolves.toBe('email');
      await expect(email.getAttribute('autocomplete')).resolves.toBe('email');
    });

    it('posts the email with transaction, csrf and action=email when Enter is pressed', async () => {
      await open('home-realm');
      await page.getByLabel('Work email').fill('alice@acme.example');
      await Promise.all([page.waitForURL(`${otherOrigin}/landed`), page.getByLabel('Work email').press('Enter')]);
      expect(posts.map((post) => post.fields)).toEqual([
        { transaction: TRANSACTION, csrf: CSRF, action: 'email', email: 'alice@acme.example' },
      ]);
    });

    it('keeps the email it was given and describes the field with the problem', async () => {
      await open('home-realm-problem');
      const email = page.getByLabel('Work email');
      await expect(email.inputValue()).resolves.toBe('alice@unknown.example');
      const describedBy = await email.getAttribute('aria-describedby');
      await expect(page.locator(`#${describedBy}`).textContent()).resolves.toContain('No organisation signs in');
    });
  });
});
