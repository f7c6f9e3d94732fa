#!/usr/bin/env node
// Compiles the construct library with jsii and writes API.md from the assembly (`npm run build` runs it after the
// bundles).
//
// jsii replaces the former `tsc -p tsconfig.lib.json`: it compiles with that same tsconfig (package.json `jsii.tsconfig`,
// checked by the `minimal` rule set only), so dist/ gets the same JavaScript and declarations as before (plus jsii's
// runtime type information on the construct class), and it also writes the `.jsii` assembly at the package root: the
// public API reachable from `types` (dist/lib/index.d.ts, that is lib/index.ts), which jsii-pacmak turns into Python,
// Java, .NET and Go packages and Construct Hub reads. The resource-server entry (lib/resource-server/, exported as
// `./resource-server`) is compiled too but is not part of the assembly: it is for Node.js MCP servers only. The Lambda
// handlers and the CLIs stay esbuild bundles (scripts/build.mjs).
//
// Usage: node scripts/jsii.mjs [--docs-only]   (--docs-only: API.md from the existing assembly, without compiling)
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import apiReference from './api-reference.cjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

if (!process.argv.includes('--docs-only')) {
  const started = Date.now();
  // `default` (ConnectionRegistration.default) is a reserved word in C#, Java and Go: jsii-pacmak's bindings name it
  // `getDefaultValue()`/`.defaultValue(...)` in Java, `Default` in C# and Go and `default` in Python, so the warning
  // is silenced rather than the prop renamed for TypeScript users; any other warning fails the build. Everything on
  // stdout goes to stderr: cdk.json's app runs the build.
  const result = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'jsii', 'bin', 'jsii'), '--silence-warnings', 'reserved-word', '--fail-on-warnings'],
    {
      cwd: root,
      stdio: ['ignore', process.stderr, process.stderr],
      // jsii's own notice that it no longer supports Node.js 20 (it still compiles on it; engines: >= 20.16).
      env: { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' },
    },
  );
  if (result.status !== 0) {
    process.stderr.write(`jsii failed (exit code ${result.status})\n`);
    process.exit(1);
  }
  process.stderr.write(`jsii: dist/lib and .jsii in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

writeFileSync(join(root, 'API.md'), await apiReference.renderApiReference(root));
process.stderr.write('API.md written from .jsii\n');
