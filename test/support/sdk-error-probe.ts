// Bundled by test/handlers/bundled-sdk-errors.test.ts exactly as the handlers are (scripts/bundling.mjs), then run in
// a fresh process: how DynamoDB and KMS errors reach the adapters once the bundle keeps only some SDK error classes.
import { DynamoDBClient, DynamoDBServiceException, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { KMSClient, KMSServiceException, SignCommand } from '@aws-sdk/client-kms';
import { isTransientStoreError } from '../../lambda/adapters/dynamodb/errors';
import { DynamoReplayStore } from '../../lambda/adapters/dynamodb/replay-store';
import { KmsSigner } from '../../lambda/adapters/kms-signer';
import { TemporarilyUnavailableError } from '../../lambda/core/errors';

/** What the adapters (and the SDK's retry logic) may read from an error. */
function shape(error: unknown) {
  const { name, $fault, $metadata, message } = error as {
    name?: string;
    $fault?: string;
    $metadata?: { httpStatusCode?: number };
    message?: string;
  };
  return {
    name,
    fault: $fault,
    status: $metadata?.httpStatusCode,
    message,
    serviceException: error instanceof DynamoDBServiceException || error instanceof KMSServiceException,
    temporarilyUnavailable: error instanceof TemporarilyUnavailableError,
  };
}

async function failure(call: () => Promise<unknown>) {
  try {
    await call();
    return { thrown: false };
  } catch (error) {
    return { thrown: true, ...shape(error) };
  }
}

/** Single use through the replay store: the same jti recorded twice. */
export async function singleUse(tableName: string) {
  const replay = new DynamoReplayStore({ client: new DynamoDBClient({}), tableName });
  const now = Math.floor(Date.now() / 1000);
  const use = { namespace: 'probe', id: 'jti-1', keepUntil: now + 300 };
  return [(await replay.recordOnce(use, now)) !== undefined, (await replay.recordOnce(use, now)) !== undefined];
}

/** A DynamoDB error whose class the bundle leaves out, and whether the adapters take it for an outage. */
export async function missingTable() {
  const client = new DynamoDBClient({});
  let transient: boolean | undefined;
  const error = await failure(async () => {
    try {
      await client.send(new GetItemCommand({ TableName: 'no-such-table', Key: { pk: { S: 'a' }, sk: { S: 'b' } } }));
    } catch (thrown) {
      transient = isTransientStoreError(thrown);
      throw thrown;
    }
  });
  return { error, transient };
}

/** The next KMS answer is an error: as the SDK hands it over, then as the signer turns it (two Sign calls). */
export async function kmsError(keyId: string) {
  const client = new KMSClient({ maxAttempts: 1 });
  const sdk = await failure(() =>
    client.send(
      new SignCommand({
        KeyId: keyId,
        Message: new Uint8Array(32),
        MessageType: 'DIGEST',
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    ),
  );
  const signer = new KmsSigner({ keyId, previousKeyIds: [], nextKeyIds: [], algorithm: 'ES256', client });
  return { sdk, signer: await failure(() => signer.sign(new Uint8Array(8))) };
}
