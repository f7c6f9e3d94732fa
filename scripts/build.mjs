#!/usr/bin/env node
// Bundles the Lambda handlers (shipped in the npm package under assets/, so consumers of the construct need neither
// esbuild nor Docker) and the command-line tools, then prints each bundle's size (assets/sizes.json keeps the handlers').
// Usage: node scripts/build.mjs [--only lambda|tools|examples]  (examples: not shipped, run by `npm run example:mcp`)
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleLambda, requireShim } from './bundling.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
if (only !== undefined && !['lambda', 'tools', 'examples'].includes(only)) {
  throw new Error(`--only takes lambda, tools or examples, not ${only}`);
}

/** Lambda handlers: one folder each, as `lambda.Code.fromAsset` wants them. */
export const HANDLERS = ['metadata', 'jwks', 'token', 'authorize', 'register', 'seed'];

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  mainFields: ['module', 'main'],
  treeShaking: true,
  legalComments: 'none',
  logLevel: 'warning',
};

async function bundleHandlers() {
  rmSync(join(root, 'assets'), { recursive: true, force: true });
  const sizes = {};
  for (const name of HANDLERS) {
    const outdir = join(root, 'assets', name);
    sizes[`assets/${name}/index.mjs`] = await bundleLambda({
      entry: join(root, 'lambda', 'handlers', `${name}.ts`),
      outdir,
    });
  }
  return sizes;
}

const TOOLS = [
  { entry: 'bin/admin.ts', outfile: 'dist/bin/admin.mjs', external: [] },
  { entry: 'bin/local-server.ts', outfile: 'dist/bin/local-server.mjs', external: ['dynalite'] },
  { entry: 'bin/demo.ts', outfile: 'dist/bin/demo.mjs', external: [] },
  { entry: 'bin/demo-interactive.ts', outfile: 'dist/bin/demo-interactive.mjs', external: [] },
];

const EXAMPLES = [{ entry: 'examples/mcp-server.ts', outfile: 'dist/examples/mcp-server.mjs', external: [] }];

async function bundleTools(tools) {
  const results = [];
  for (const tool of tools) {
    const outfile = join(root, tool.outfile);
    await build({
      ...common,
      entryPoints: [join(root, tool.entry)],
      outfile,
      target: 'node20',
      sourcemap: true,
      external: tool.external,
      banner: { js: `#!/usr/bin/env node\n${requireShim}` },
    });
    results.push(outfile);
  }
  return results;
}

const sizes = {};
if (only === undefined || only === 'lambda') {
  const handlers = await bundleHandlers();
  Object.assign(sizes, handlers);
  writeFileSync(join(root, 'assets', 'sizes.json'), `${JSON.stringify(handlers, null, 2)}\n`);
}
if (only === undefined || only === 'tools') {
  for (const file of await bundleTools(TOOLS)) sizes[relative(root, file)] = statSync(file).size;
}
if (only === undefined || only === 'examples') {
  for (const file of await bundleTools(EXAMPLES)) sizes[relative(root, file)] = statSync(file).size;
}
// On stderr: stdout belongs to whatever runs the build (`npx cdk synth > template.yaml` runs it through cdk.json).
for (const [file, bytes] of Object.entries(sizes)) {
  console.error(`${file.padEnd(32)} ${(bytes / 1024).toFixed(1).padStart(8)} KiB`);
}
