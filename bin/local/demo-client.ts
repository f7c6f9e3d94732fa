// What `npm run demo` and `npm run demo:interactive` share: the demo's credentials, and errors that say what to do.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoCredentials } from './server';

export const dataDir = process.env.ID_JAG_DATA_DIR ?? '.data';

export function readDemoCredentials(): DemoCredentials {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'demo.json'), 'utf8')) as DemoCredentials;
  } catch {
    throw new Error(`no ${dataDir}/demo.json: start the local server first (npm start) without --config`);
  }
}

/** fetch, with "the server is not running" said as such rather than as `fetch failed`. */
export async function demoFetch(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch {
    throw new Error(
      `cannot reach ${new URL(url).origin}: is the local server running? Start it with ` +
        `\`npm start${dataDir === '.data' ? '' : ` -- --data-dir ${dataDir}`}\` in another terminal.`,
    );
  }
}

/** A token endpoint's answer as printed: on success the tokens are elided (they are credentials); errors in full. */
export function shown(status: number, body: Record<string, unknown>): string {
  if (status !== 200) return JSON.stringify(body);
  const elided = Object.fromEntries(
    Object.entries(body).map(([name, value]) => [name, name.endsWith('_token') ? '…' : value]),
  );
  return JSON.stringify(elided);
}
