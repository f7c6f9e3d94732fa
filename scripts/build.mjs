#!/usr/bin/env node
// Bundles the Lambda handlers (shipped in the npm package under assets/, so consumers of the construct need neither
// esbuild nor Docker) and the command-line tools, then prints each bundle's size.
// Usage: node scripts/build.mjs [--only lambda|tools]
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

/** Lambda handlers: one folder each, as `lambda.Code.fromAsset` wants them. */
export const HANDLERS = ['metadata', 'jwks', 'token', 'seed'];

// Bundled CommonJS dependencies may call require(); ESM output needs one.
const requireShim =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/** Credential providers a Lambda function never reaches (see lambda-stubs/credential-providers.mjs). */
const STUBBED = [
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-http',
  '@smithy/credential-provider-imds',
];
const lambdaCredentials = {
  name: 'lambda-credentials',
  setup(build) {
    const filter = new RegExp(`^(${STUBBED.map((name) => name.replace(/[/.-]/g, '\\$&')).join('|')})$`);
    build.onResolve({ filter }, () => ({ path: join(root, 'scripts', 'lambda-stubs', 'credential-providers.mjs') }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  mainFields: ['module', 'main'],
  treeShaking: true,
  legalComments: 'none',
  banner: { js: requireShim },
  metafile: true,
  logLevel: 'warning',
};

async function bundleHandlers() {
  rmSync(join(root, 'assets'), { recursive: true, force: true });
  const results = [];
  for (const name of HANDLERS) {
    const outfile = join(root, 'assets', name, 'index.mjs');
    await build({
      ...common,
      entryPoints: [join(root, 'lambda', 'handlers', `${name}.ts`)],
      outfile,
      target: 'node22',
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      plugins: [lambdaCredentials],
    });
    results.push(outfile);
  }
  return results;
}

async function bundleTools() {
  const tools = [
    { entry: 'bin/admin.ts', outfile: 'dist/bin/admin.mjs', external: [] },
    { entry: 'bin/local-server.ts', outfile: 'dist/bin/local-server.mjs', external: ['dynalite'] },
    { entry: 'bin/demo.ts', outfile: 'dist/bin/demo.mjs', external: [] },
  ];
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

const built = [];
if (only !== 'tools') built.push(...(await bundleHandlers()));
if (only !== 'lambda') built.push(...(await bundleTools()));

const sizes = Object.fromEntries(built.map((file) => [relative(root, file), statSync(file).size]));
for (const [file, bytes] of Object.entries(sizes))
  console.log(`${file.padEnd(32)} ${(bytes / 1024).toFixed(1).padStart(8)} KiB`);
if (only !== 'tools') {
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'assets', 'sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`);
}
