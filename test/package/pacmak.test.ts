import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/**
 * `npm run package:jsii`: jsii-pacmak generates the Python, Java, .NET and Go sources from the assembly (`--code-only`,
 * offline, about 10 s). Building and publishing them needs PyPI, Maven Central, NuGet and the Go proxy, and the
 * dotnet and go toolchains, none of which the tests use; see README.md, "Other languages".
 */
describe('the jsii-pacmak bindings (code only)', () => {
  let out: string;
  const read = (path: string) => readFileSync(join(out, path), 'utf8');

  beforeAll(() => {
    if (!existsSync(join(root, '.jsii'))) throw new Error('run `npm run build` first (npm test does)');
    out = mkdtempSync(join(tmpdir(), 'id-jag-pacmak-'));
    execFileSync(
      process.execPath,
      [
        join(root, 'node_modules', 'jsii-pacmak', 'bin', 'jsii-pacmak'),
        '--code-only',
        '--no-npmignore',
        '--no-fingerprint',
        '--outdir',
        out,
      ],
      {
        cwd: root,
        env: { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  }, 120_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('generates the Python package cdk-id-jag-authorization-server, module cdk_id_jag_authorization_server', () => {
    const module = read('python/src/cdk_id_jag_authorization_server/__init__.py');
    expect(module).toMatch(/^class IdJagAuthorizationServer\(\n {4}_constructs_\w+\.Construct,/m);
    expect(module).toMatch(/^ {4}def metric_token_errors\(/m);
    expect(module).toMatch(/^class TokenSigningAlgorithm\(enum\.Enum\):/m);
    expect(read('python/setup.py')).toContain('"name": "cdk-id-jag-authorization-server"');
  });

  it("has every name the README's Python example uses", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const example = readme.match(/```python\n([\s\S]*?)```/)?.[1] ?? '';
    const module = read('python/src/cdk_id_jag_authorization_server/__init__.py');
    const imported = example.match(/from cdk_id_jag_authorization_server import \(([^)]*)\)/)?.[1] ?? '';
    const classes = imported
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean);
    expect(classes).toContain('IdJagAuthorizationServer');
    for (const name of classes) expect([name, new RegExp(`\\nclass ${name}[(:]`).test(module)]).toEqual([name, true]);
    const keywords = [...example.matchAll(/\b([a-z_]+)=/g)].map((match) => match[1]!);
    expect(keywords).toEqual(expect.arrayContaining(['resources', 'access_token_lifetime', 'product_name']));
    for (const keyword of keywords) expect([keyword, module.includes(`        ${keyword}: `)]).toEqual([keyword, true]);
    const methods = [...example.matchAll(/server\.([a-z_]+)\(/g)].map((match) => match[1]!);
    for (const method of methods) expect([method, module.includes(`    def ${method}(`)]).toEqual([method, true]);
  });

  it('generates the Java package io.github.cdkidjag.authorizationserver', () => {
    const java = 'java/src/main/java/io/github/cdkidjag/authorizationserver';
    expect(read(`${java}/IdJagAuthorizationServer.java`)).toContain('public static final class Builder');
    // ConnectionRegistration.default, a reserved word in Java
    expect(read(`${java}/ConnectionRegistration.java`)).toContain('getDefaultValue()');
    expect(read('java/pom.xml')).toMatch(
      /<groupId>io\.github\.cdk-id-jag<\/groupId>\s*<artifactId>cdk-id-jag-authorization-server<\/artifactId>/,
    );
  });

  it('generates the .NET package CdkIdJag.AuthorizationServer', () => {
    const dotnet = 'dotnet/CdkIdJag.AuthorizationServer';
    expect(read(`${dotnet}/CdkIdJag/AuthorizationServer/IdJagAuthorizationServer.cs`)).toContain(
      'public class IdJagAuthorizationServer : Constructs.Construct',
    );
    expect(read(`${dotnet}/CdkIdJag.AuthorizationServer.csproj`)).toContain(
      '<PackageId>CdkIdJag.AuthorizationServer</PackageId>',
    );
  });

  it('generates the Go module github.com/cdk-id-jag/cdk-id-jag-authorization-server-go/idjag', () => {
    expect(read('go/idjag/go.mod')).toMatch(
      /^module github\.com\/cdk-id-jag\/cdk-id-jag-authorization-server-go\/idjag$/m,
    );
    expect(read('go/idjag/IdJagAuthorizationServer.go')).toMatch(/^func NewIdJagAuthorizationServer\(/m);
  });
});
