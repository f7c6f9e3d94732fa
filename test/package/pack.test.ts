import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/**
 * The npm package as a consumer gets it: `npm pack`, then the tarball unpacked into a fresh CDK app's node_modules
 * (its peer and runtime dependencies linked from ours, since tests never touch the registry), then a synth there.
 * The app has neither esbuild nor Docker: the handlers must come prebuilt in the package.
 */
describe('the packed npm package', () => {
  let work: string;
  let files: string[];

  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'lib', 'index.js')) || !existsSync(join(root, 'assets', 'token', 'index.mjs'))) {
      throw new Error('run `npm run build` first (npm test does)');
    }
    work = mkdtempSync(join(tmpdir(), 'id-jag-pack-'));
    const output = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [packed] = JSON.parse(output) as [{ filename: string; files: { path: string }[] }];
    files = packed.files.map((file) => file.path);

    const app = join(work, 'app');
    const installed = join(app, 'node_modules', 'cdk-id-jag-authorization-server');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', join(work, packed.filename), '-C', installed, '--strip-components=1']);
    for (const dependency of ['aws-cdk-lib', 'constructs', 'valibot', 'jose']) {
      symlinkSync(join(root, 'node_modules', dependency), join(app, 'node_modules', dependency), 'dir');
    }
    writeFileSync(
      join(app, 'app.js'),
      [
        "const { App, Stack } = require('aws-cdk-lib');",
        "const { IdJagAuthorizationServer } = require('cdk-id-jag-authorization-server');",
        'const app = new App({ builtinCloudFormationValidation: false });',
        "const stack = new Stack(app, 'Consumer');",
        "new IdJagAuthorizationServer(stack, 'Auth', { resources: [{ id: 'https://mcp.example.com/mcp', scopes: ['read'] }] });",
        'app.synth();',
      ].join('\n'),
    );
  }, 60_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('contains the compiled construct, its types, the handler bundles and the admin CLI', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/lib/index.js',
        'dist/lib/index.d.ts',
        'dist/lib/authorization-server.d.ts',
        'assets/metadata/index.mjs',
        'assets/jwks/index.mjs',
        'assets/token/index.mjs',
        'assets/authorize/index.mjs',
        'dist/bin/admin.mjs',
        // The jsii assembly (Construct Hub, jsii-pacmak) and the API reference rendered from it.
        '.jsii',
        'API.md',
        'README.md',
        'LICENSE',
      ]),
    );
  });

  it('ships no tests, no TypeScript sources of the handlers, no local-only code and no developer notes', () => {
    expect(
      files.filter((file) => /^(test|bin|lambda|docs\/dev)\//.test(file) || file.includes('local-server')),
    ).toEqual([]);
    // The one TypeScript source shipped is the example the README links, to read.
    expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual(['examples/mcp-server.ts']);
  });

  it('ships every file the README links to by a relative path', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const linked = [...readme.matchAll(/\]\(((?!https?:|#)[^)#\s]+)(?:#[^)]*)?\)/g)].map((match) => match[1]!);
    expect(linked).toEqual(expect.arrayContaining(['SECURITY.md', 'BENCHMARKS.md', 'examples/mcp-server.ts']));
    expect(
      linked.filter((path) => !files.includes(path) && !files.some((file) => file.startsWith(`${path}/`))),
    ).toEqual([]);
  });

  it('bundles its runtime dependencies that are not jsii libraries (jose, valibot), as jsii requires', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(manifest.bundleDependencies).toEqual(['jose', 'valibot']);
    expect(files).toEqual(
      expect.arrayContaining(['node_modules/jose/package.json', 'node_modules/valibot/package.json']),
    );
    // Nothing else under node_modules: aws-cdk-lib and constructs are the consumer's peers.
    expect(new Set(files.filter((file) => file.startsWith('node_modules/')).map((file) => file.split('/')[1]))).toEqual(
      new Set(['jose', 'valibot']),
    );
  });

  it('declares aws-cdk-lib and constructs as peer dependencies', () => {
    const manifest = JSON.parse(
      readFileSync(join(work, 'app', 'node_modules', 'cdk-id-jag-authorization-server', 'package.json'), 'utf8'),
    );
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(Object.keys(manifest.dependencies ?? {})).not.toContain('esbuild');
  });

  it.each(['node', 'node16'])(
    'type-checks a TypeScript consumer of both entries under moduleResolution %s',
    (moduleResolution) => {
      const app = join(work, 'app');
      writeFileSync(
        join(app, 'consumer.ts'),
        [
          "import { IdJagAuthorizationServer } from 'cdk-id-jag-authorization-server';",
          "import { createAccessTokenVerifier } from 'cdk-id-jag-authorization-server/resource-server';",
          'export const types: [typeof IdJagAuthorizationServer, typeof createAccessTokenVerifier] = [',
          '  IdJagAuthorizationServer,',
          '  createAccessTokenVerifier,',
          '];',
        ].join('\n'),
      );
      const module = moduleResolution === 'node16' ? 'node16' : 'commonjs';
      const result = spawnSync(
        process.execPath,
        [
          join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
          '--noEmit',
          '--strict',
          '--skipLibCheck',
          '--types',
          'node',
          '--typeRoots',
          join(root, 'node_modules', '@types'),
          '--target',
          'es2022',
          '--module',
          module,
          '--moduleResolution',
          moduleResolution,
          'consumer.ts',
        ],
        { cwd: app, encoding: 'utf8' },
      );
      expect(result.stdout).toBe('');
      expect(result.status).toBe(0);
    },
    60_000,
  );

  it('exposes the resource-server entry to CommonJS consumers (jose 6 through require(esm))', () => {
    const script =
      "const rs = require('cdk-id-jag-authorization-server/resource-server');" +
      "const v = rs.createAccessTokenVerifier({ issuer: 'https://auth.example.com', audience: 'https://mcp.example.com/mcp' });" +
      "v.verify('not-a-token').catch((e) => console.log(typeof rs.verifyAccessToken, e.error, e.status));";
    const output = execFileSync(process.execPath, ['-e', script], { cwd: join(work, 'app'), encoding: 'utf8' });
    expect(output.trim()).toBe('function invalid_token 401');
  });

  it('synthesizes in a fresh app without esbuild or Docker', () => {
    const outdir = join(work, 'cdk.out');
    execFileSync(process.execPath, ['app.js'], {
      cwd: join(work, 'app'),
      env: { ...process.env, CDK_OUTDIR: outdir, PATH: '/nonexistent' },
      stdio: 'pipe',
    });
    expect(existsSync(join(work, 'app', 'node_modules', 'esbuild'))).toBe(false);
    const template = JSON.parse(readFileSync(join(outdir, 'Consumer.template.json'), 'utf8'));
    const functions = Object.values(template.Resources as Record<string, { Type: string }>).filter(
      (resource) => resource.Type === 'AWS::Lambda::Function',
    );
    // metadata, JWKS, token and (the interactive flow being on by default) authorize
    expect(functions).toHaveLength(4);
    const assets = JSON.parse(readFileSync(join(outdir, 'Consumer.assets.json'), 'utf8'));
    expect(Object.keys(assets.files).length).toBeGreaterThanOrEqual(4);
  }, 60_000);
});
