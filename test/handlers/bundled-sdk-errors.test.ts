import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { lambdaLikeEnv } from '../support/bundle-env';
import { LocalDynamo } from '../support/dynalite';
import { KmsStandIn } from '../support/kms-transport';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');

/**
 * The bundles keep only some of the SDK's error classes (scripts/bundling.mjs, sdkErrorClasses). This bundles a probe
 * exactly as the handlers are bundled and runs it in a fresh process against dynalite and the KMS stand-in: every
 * error must still arrive with the name, fault and status the adapters decide on, and single use must still hold.
 */
describe('SDK errors in a bundle', () => {
  let dynamo: LocalDynamo;
  let standIn: KmsStandIn;
  let kms: { endpoint: string; close: () => Promise<void> };
  let tableName: string;
  let outdir: string;

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'sdk-error-probe-'));
    const build = `import { bundleLambda } from ${JSON.stringify(join(root, 'scripts', 'bundling.mjs'))};
      await bundleLambda({ entry: ${JSON.stringify(join(root, 'test', 'support', 'sdk-error-probe.ts'))}, outdir: ${JSON.stringify(outdir)} });`;
    await run(process.execPath, ['--input-type=module', '-e', build]);
    dynamo = await LocalDynamo.start();
    tableName = await dynamo.createTable();
    standIn = new KmsStandIn();
    standIn.addKey('signing-key');
    kms = await standIn.listen();
  });
  afterAll(async () => {
    await Promise.all([dynamo?.stop(), kms?.close()]);
    rmSync(outdir, { recursive: true, force: true });
  });

  async function probe(call: string) {
    const script = `const probe = await import(${JSON.stringify(join(outdir, 'index.mjs'))});
      process.stdout.write(JSON.stringify(await probe.${call}));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: lambdaLikeEnv({ dynamodb: dynamo.endpoint, kms: kms.endpoint }),
    });
    return JSON.parse(stdout);
  }

  it('leaves the error classes of operations no handler calls out of the bundle', () => {
    const bundle = readFileSync(join(outdir, 'index.mjs'), 'utf8');
    const errorClass = (id: string) => `static shapeId="${id}"`;
    expect(bundle).toContain(errorClass('com.amazonaws.dynamodb#ConditionalCheckFailedException'));
    expect(bundle).toContain(errorClass('com.amazonaws.dynamodb#ReplicatedWriteConflictException'));
    expect(bundle).not.toContain(errorClass('com.amazonaws.dynamodb#BackupInUseException'));
    expect(bundle).not.toContain(errorClass('com.amazonaws.kms#CloudHsmClusterInUseException'));
    expect(bundle).toContain(errorClass('smithy.ts.sdk.synthetic.com.amazonaws.kms#KMSServiceException'));
  });

  it('keeps single use: the second record of the same jti is refused', async () => {
    expect(await probe(`singleUse(${JSON.stringify(tableName)})`)).toEqual([true, false]);
  });

  it('hands over a DynamoDB error without its class as the service exception, with name, fault and status', async () => {
    const { error, transient } = await probe('missingTable()');
    expect(error).toMatchObject({
      thrown: true,
      name: 'ResourceNotFoundException',
      fault: 'client',
      status: 400,
      serviceException: true,
    });
    expect(error.message).toMatch(/not found/i);
    expect(transient).toBe(false);
  });

  it.each([
    ['DisabledException', 400, 'client', false],
    ['NotFoundException', 400, 'client', false],
    ['ThrottlingException', 400, 'client', true],
    ['KMSInternalException', 500, 'server', true],
  ])('hands over KMS %s (%i) with its name, and the signer decides on it', async (name, status, fault, transient) => {
    standIn.failure = { name, status, times: 2, operation: 'Sign' };
    const { sdk, signer } = await probe(`kmsError('signing-key')`);
    expect(sdk).toMatchObject({ thrown: true, name, fault, status, serviceException: true });
    expect(signer).toMatchObject({ thrown: true, temporarilyUnavailable: transient });
    if (!transient) expect(signer.message).toBe(`kms Sign failed: ${name}`);
    expect(standIn.failure?.times).toBe(0);
  });
});
