/**
 * The resource-server side of the ID-JAG authorization server: verify its access tokens and publish RFC 9728
 * protected resource metadata. Import it as `cdk-id-jag-authorization-server/resource-server`; it depends on jose
 * and node built-ins only (no AWS SDK, no CDK).
 */
export * from './errors';
export * from './node-http';
export * from './protected-resource';
export { authorizationServerMetadataUrl } from './urls';
export * from './verifier';
