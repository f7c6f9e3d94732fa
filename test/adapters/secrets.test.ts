import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { FileSecretSource, SecretsManagerSource } from '../../lambda/adapters/secrets';
import { parseSecretRef } from '../../lambda/core/model';
import { HttpStub } from '../support/http-stub';

describe('secret references', () => {
  it.each([
    ['secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-oidc-AbCdEf', 'secretsmanager'],
    ['secretsmanager:acme/oidc', 'secretsmanager'],
    ['file:acme-oidc', 'file'],
  ])('reads %s', (ref, kind) => {
    expect(parseSecretRef(ref)?.kind).toBe(kind);
  });

  it.each(['file:../etc/passwd', 'file:a/b', 'file:.hidden', 'file:', 'secretsmanager:', 'plain-secret', 'vault:x'])(
    'refuses %s',
    (ref) => {
      expect(parseSecretRef(ref)).toBeUndefined();
    },
  );
});

describe('FileSecretSource (local mode)', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'id-jag-secrets-'));
    mkdirSync(join(dataDir, 'secrets'));
    writeFileSync(join(dataDir, 'secrets', 'acme-oidc'), 'the-secret\n', { mode: 0o600 });
    writeFileSync(join(dataDir, 'outside'), 'not for you');
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('reads the secret from <dataDir>/secrets/<name>, without its final newline', async () => {
    expect(await new FileSecretSource(dataDir).secret('file:acme-oidc')).toBe('the-secret');
  });

  it('refuses a missing file, a path outside the secrets folder and a Secrets Manager reference', async () => {
    const source = new FileSecretSource(dataDir);
    await expect(source.secret('file:missing')).rejects.toMatchObject({ error: 'server_error' });
    await expect(source.secret('file:../outside')).rejects.toMatchObject({ error: 'server_error' });
    await expect(source.secret('secretsmanager:acme')).rejects.toMatchObject({ error: 'server_error' });
  });
});

/** The real Secrets Manager SDK client against a loopback stand-in that speaks its JSON protocol. */
describe('SecretsManagerSource', () => {
  let stub: HttpStub;
  let client: SecretsManagerClient;
  let calls: { target?: string; body: Record<string, unknown> }[];
  let reply: (body: Record<string, unknown>) => { status: number; json: unknown };

  beforeAll(async () => {
    stub = await HttpStub.start();
    stub.routes.set('/', (request: IncomingMessage, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      request.on('end', () => {
        const body = JSON.parse(text) as Record<string, unknown>;
        calls.push({ target: request.headers['x-amz-target'] as string, body });
        const { status, json } = reply(body);
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(json));
      });
    });
    client = new SecretsManagerClient({
      endpoint: stub.origin,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client.destroy();
    await stub.close();
  });
  beforeEach(() => {
    calls = [];
    reply = (body) => ({ status: 200, json: { Name: body.SecretId, SecretString: 'from-secrets-manager' } });
  });

  it('reads the secret once and caches it for a while', async () => {
    let nowMs = 0;
    const source = new SecretsManagerSource({ client, nowMs: () => nowMs });
    expect(await source.secret('secretsmanager:acme/oidc')).toBe('from-secrets-manager');
    expect(await source.secret('secretsmanager:acme/oidc')).toBe('from-secrets-manager');
    expect(calls).toEqual([{ target: 'secretsmanager.GetSecretValue', body: { SecretId: 'acme/oidc' } }]);
    nowMs = 300_001;
    await source.secret('secretsmanager:acme/oidc');
    expect(calls).toHaveLength(2);
  });

  it('makes a missing secret a server error and throttling an outage, never caching either', async () => {
    const source = new SecretsManagerSource({ client });
    reply = () => ({ status: 400, json: { __type: 'ResourceNotFoundException', message: 'no such secret' } });
    await expect(source.secret('secretsmanager:missing')).rejects.toMatchObject({
      error: 'server_error',
      reason: 'secrets manager ResourceNotFoundException',
    });
    reply = () => ({ status: 400, json: { __type: 'ThrottlingException', message: 'slow down' } });
    await expect(source.secret('secretsmanager:missing')).rejects.toMatchObject({ error: 'temporarily_unavailable' });
    expect(calls).toHaveLength(2);
  });

  it('refuses a file reference', async () => {
    await expect(new SecretsManagerSource({ client }).secret('file:acme')).rejects.toMatchObject({
      error: 'server_error',
    });
    expect(calls).toEqual([]);
  });
});
