import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';

/** Debian's Chromium: the browser tests drive it through playwright-core, which never downloads a browser of its own. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Headless, without the sandbox (CI runs as root), and without the background traffic (component updates, sync,
 * safe browsing lists) that Chromium would otherwise send to a network these machines do not have.
 */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface HeadlessChromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

function requireChromium(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `the browser tests need Chromium at ${CHROMIUM_PATH}: install the Debian package \`chromium\` ` +
        '(apt-get install -y --no-install-recommends chromium; .ci/run does this)',
    );
  }
}

/**
 * Starts Chromium for tests that need more than one browser: each `newContext()` is a fresh, separate one (its own
 * cookies and storage, nothing on disk), as a second person's or a second machine's browser would be. Fails, never
 * skips, when Chromium is not installed.
 */
export async function launchChromiumBrowser(): Promise<Browser> {
  requireChromium();
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: FLAGS });
}

/** Starts Chromium with a fresh profile; fails, never skips, when it is not installed. */
export async function launchChromium(): Promise<HeadlessChromium> {
  requireChromium();
  const profile = mkdtempSync(join(tmpdir(), 'pages-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: FLAGS,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
