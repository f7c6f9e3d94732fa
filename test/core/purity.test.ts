import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The core is pure OAuth logic: AWS lives in lambda/adapters (also enforced by the linter). */
describe('the OAuth core', () => {
  const coreDir = join(__dirname, '../../lambda/core');
  const files = readdirSync(coreDir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts'));

  it('has source files to check', () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it.each(files)('%s imports nothing from AWS, CDK, adapters, handlers or pages', (file) => {
    const source = readFileSync(join(coreDir, file), 'utf8');
    const imports = [...source.matchAll(/(?:from|import|require\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
    for (const specifier of imports) {
      expect(specifier).not.toMatch(/^@aws-sdk\/|^@smithy\/|^aws-cdk-lib|^constructs$|adapters|handlers|pages/);
    }
  });
});
