// How a Lambda handler is bundled: shared by scripts/build.mjs (the shipped assets) and bench/run.mjs (benchmark
// variants), so that what the benchmarks measure is built exactly like what ships.
import { readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// Bundled CommonJS dependencies may call require(); ESM output needs one.
export const requireShim =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/**
 * SDK modules a Lambda function never reaches, replaced by stubs that fail clearly: the credential providers other
 * than the environment's (see lambda-stubs/credential-providers.mjs) and event streams (lambda-stubs/event-streams.mjs).
 */
const STUBS = {
  '@aws-sdk/credential-provider-sso': 'credential-providers.mjs',
  '@aws-sdk/credential-provider-ini': 'credential-providers.mjs',
  '@aws-sdk/credential-provider-process': 'credential-providers.mjs',
  '@aws-sdk/credential-provider-web-identity': 'credential-providers.mjs',
  '@aws-sdk/credential-provider-http': 'credential-providers.mjs',
  '@smithy/credential-provider-imds': 'credential-providers.mjs',
  '@smithy/core/event-streams': 'event-streams.mjs',
};
const lambdaStubs = {
  name: 'lambda-stubs',
  setup(build) {
    const filter = new RegExp(
      `^(${Object.keys(STUBS)
        .map((name) => name.replace(/[/.-]/g, '\\$&'))
        .join('|')})$`,
    );
    build.onResolve({ filter }, (args) => ({ path: join(root, 'scripts', 'lambda-stubs', STUBS[args.path]) }));
  },
};

/** The SDK clients import their package.json for one field, the version in the user agent; the rest stays out. */
const sdkPackageVersions = {
  name: 'sdk-package-versions',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]@aws-sdk[\\/][^\\/]+[\\/]package\.json$/ }, (args) => ({
      contents: JSON.stringify({ version: JSON.parse(readFileSync(args.path, 'utf8')).version }),
      loader: 'json',
    }));
  },
};

/**
 * The SDK clients register a class for every error their service models, most of them for operations no handler
 * calls: about 25 KB of the token bundle, and some 3 ms of its cold start. An error without a registered class still
 * arrives with its name, fault, HTTP status and message, as the service's base exception (the SDK's own fallback), and
 * the handlers and the SDK's retry logic look at nothing else. Kept: each service's base exception, and the classes
 * that carry more than that: `ConditionalCheckFailedException` (single use rests on it) and
 * `ReplicatedWriteConflictException` (its retryable trait is read from the class).
 */
const KEPT_ERROR_CLASSES = new Set(['ConditionalCheckFailedException', 'ReplicatedWriteConflictException']);
const REGISTERED_ERROR = /^(\w+)\.registerError\((\w+)\$, \2\);$/gm;
const sdkErrorClasses = {
  name: 'sdk-error-classes',
  setup(build) {
    build.onLoad(
      { filter: /[\\/]node_modules[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/ },
      (args) => {
        const source = readFileSync(args.path, 'utf8');
        let baseExceptions = 0;
        let dropped = 0;
        const contents = source.replace(REGISTERED_ERROR, (line, registry, name) => {
          if (registry === '_s_registry') baseExceptions++;
          else if (!KEPT_ERROR_CLASSES.has(name)) {
            dropped++;
            return '';
          }
          return line;
        });
        // Fail the build, not the function, if a new SDK registers its errors some other way.
        if (baseExceptions !== 1 || dropped === 0 || /registerError\(/.test(contents.replace(REGISTERED_ERROR, ''))) {
          throw new Error(`${args.path}: the SDK registers its errors in a new way; review sdkErrorClasses`);
        }
        return { contents, loader: 'js' };
      },
    );
  },
};

/**
 * Node built-ins by require() instead of ESM import. An ESM import of a built-in makes Node build a module facade that
 * copies every export, and reading them runs lazy getters (importing `node:fs` loads its stream classes). Here a
 * require() call stays a require() call, and an ESM import goes through one small ESM module per built-in that reads
 * only the exports the bundle uses: each export is a pure expression, so esbuild drops the unused ones. (Importing a
 * CommonJS wrapper instead would make esbuild copy every export once per importing module.)
 */
const NODE_BUILTINS = new Set(builtinModules);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(build) {
    build.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      if (!NODE_BUILTINS.has(name)) return undefined;
      if (args.kind === 'require-call' || args.namespace === 'node-builtin') {
        return { path: `node:${name}`, external: true };
      }
      return { path: name, namespace: 'node-builtin' };
    });
    build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, async (args) => {
      const specifier = JSON.stringify(`node:${args.path}`);
      // The names are listed here, at build time; the bundle reads only those it uses (an unused pure read is dropped),
      // so the built-in's lazy getters for the others never run.
      const names = Object.keys(await import(`node:${args.path}`)).filter(
        (name) => name !== 'default' && IDENTIFIER.test(name),
      );
      const contents = [
        `const builtin = require(${specifier});`,
        'export default builtin;',
        ...names.map((name) => `export const ${name} = /* @__PURE__ */ (() => builtin.${name})();`),
      ].join('\n');
      return { contents, loader: 'js' };
    });
  },
};

/** Bundles one handler entry into `outdir/index.mjs`; returns its size in bytes. */
export async function bundleLambda({ entry, outdir }) {
  const outfile = join(outdir, 'index.mjs');
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    treeShaking: true,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: 'none',
    banner: { js: requireShim },
    logLevel: 'warning',
    plugins: [builtinsByRequire, lambdaStubs, sdkPackageVersions, sdkErrorClasses],
  });
  return statSync(outfile).size;
}
