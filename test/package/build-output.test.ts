import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/**
 * `npx cdk synth > template.yaml` runs the build through cdk.json's app: whatever the build prints must go to stderr,
 * or it ends up in the template.
 */
describe('the build', () => {
  it('prints its size table on stderr and nothing on stdout', () => {
    // The examples only: no other test reads dist/examples, so this build cannot disturb one running alongside.
    const result = spawnSync(process.execPath, ['scripts/build.mjs', '--only', 'examples'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/dist\/examples\/mcp-server\.mjs +[\d.]+ KiB/);
  }, 60_000);

  it("runs the build in cdk.json's app with its output on stderr", () => {
    const { app } = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { app: string };
    expect(app).toMatch(/^npm run --silent build 1>&2 && node dist\/bin\/app\.js$/);
  });
});

describe("the example app's cdk.json", () => {
  it('sets every feature flag aws-cdk-lib recommends for a new project, as cdk init would', () => {
    const { context } = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as {
      context: Record<string, unknown>;
    };
    const recommended = JSON.parse(
      readFileSync(require.resolve('aws-cdk-lib/recommended-feature-flags.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(Object.keys(recommended).length).toBeGreaterThan(50);
    expect(context).toMatchObject(recommended);
  });
});
