/**
 * The environment of a handler bundle run in a fresh Node process as in a Lambda execution environment: credentials in
 * the environment (the bundles stub every other provider), DynamoDB and KMS reached through loopback endpoints.
 */
export function lambdaLikeEnv(endpoints: { readonly dynamodb: string; readonly kms: string }): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_KMS: endpoints.kms,
  };
}
