// Replaces the AWS SDK's non-environment credential providers in the Lambda bundles. In Lambda the credentials are
// always in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), which the default chain
// reads first; the SSO, INI, process, web-identity, container and instance-metadata providers (and the STS/SSO clients
// they pull in, ~80 KB) could never be reached, so they are left out. Should the environment lack credentials, the
// chain ends with this error instead of a network lookup.
const unavailable = (name) => () => async () => {
  const error = new Error(`${name} is not bundled: the function expects credentials in its environment`);
  error.name = 'CredentialsProviderError';
  error.tryNextLink = true;
  throw error;
};

export const fromSSO = unavailable('fromSSO');
export const fromIni = unavailable('fromIni');
export const fromProcess = unavailable('fromProcess');
export const fromTokenFile = unavailable('fromTokenFile');
export const fromHttp = unavailable('fromHttp');
export const fromContainerMetadata = unavailable('fromContainerMetadata');
export const fromInstanceMetadata = unavailable('fromInstanceMetadata');
export const ENV_CMDS_FULL_URI = 'AWS_CONTAINER_CREDENTIALS_FULL_URI';
export const ENV_CMDS_RELATIVE_URI = 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI';
