import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The prebuilt handler bundles (`npm run build`), shipped in the npm package beside `dist/`. */
export type HandlerName = 'metadata' | 'jwks' | 'token' | 'authorize' | 'register' | 'seed';

/**
 * Finds a handler bundle whether this file runs from `lib/` (tests, ts-jest) or from `dist/lib/` (the npm package).
 * Consumers therefore need neither esbuild nor Docker at synth time.
 */
export function handlerAssetPath(name: HandlerName): string {
  const candidates = [join(__dirname, '..', 'assets', name), join(__dirname, '..', '..', 'assets', name)];
  const found = candidates.find((dir) => existsSync(join(dir, 'index.mjs')));
  if (!found) {
    throw new Error(`handler bundle '${name}' not found (looked in ${candidates.join(', ')}): run \`npm run build\``);
  }
  return found;
}
