import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

/**
 * The resource-server entry is imported by MCP servers that have nothing to do with AWS: it may import jose and
 * node built-ins only, never the AWS SDK, the CDK, constructs or anything else of this package.
 */
describe('the resource-server entry', () => {
  const dir = join(__dirname, '../../lib/resource-server');
  const files = readdirSync(dir).filter((name) => name.endsWith('.ts'));

  it('has source files to check', () => {
    expect(files).toEqual(expect.arrayContaining(['index.ts', 'verifier.ts', 'errors.ts']));
  });

  it.each(files)('%s imports only jose, node built-ins and its own files', (file) => {
    const source = readFileSync(join(dir, file), 'utf8');
    const imports = [...source.matchAll(/(?:from|import|require\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
    for (const specifier of imports) {
      expect(specifier).toMatch(/^(jose|node:[a-z_/]+|\.\/[a-z-]+)$/);
      expect(specifier).not.toMatch(/aws-sdk|aws-cdk-lib|constructs|@smithy/);
    }
  });

  it('bundles from jose and its own files only (the whole module graph, as esbuild resolves it)', () => {
    const { metafile } = buildSync({
      entryPoints: [join(dir, 'index.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: join(__dirname, '../..'),
    });
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.some((input) => input.startsWith('node_modules/jose/'))).toBe(true);
    expect(inputs.filter((input) => !/^(lib\/resource-server\/|node_modules\/jose\/)/.test(input))).toEqual([]);
  });
});
