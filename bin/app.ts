// The example CDK app that cdk.json runs: `npx cdk synth` (offline, no credentials) or `npx cdk deploy`.
// Context (cdk.json or -c): resource, scopes, domainName + certificateArn.
import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import { IdJagAuthorizationServer } from '../lib';

const app = new App();
const context = (key: string): string | undefined => app.node.tryGetContext(key);
const stack = new Stack(app, context('stackName') ?? 'IdJagAuthorizationServer', {
  description: 'OAuth authorization server for Enterprise-Managed Authorization of MCP servers (ID-JAG)',
});

const domainName = context('domainName');
const certificateArn = context('certificateArn');
const server = new IdJagAuthorizationServer(stack, 'AuthorizationServer', {
  resources: [
    {
      id: context('resource') ?? 'https://mcp.example.com/mcp',
      scopes: (context('scopes') ?? 'mcp:tools mcp:resources').split(' '),
    },
  ],
  ...(domainName && certificateArn
    ? { domainName, certificate: acm.Certificate.fromCertificateArn(stack, 'Certificate', certificateArn) }
    : {}),
});

new CfnOutput(stack, 'Issuer', { value: server.issuer, description: 'the issuer URL: give it to IdPs and clients' });
new CfnOutput(stack, 'MetadataUrl', { value: server.metadataUrl });
new CfnOutput(stack, 'TableName', { value: server.table.tableName, description: 'for id-jag-admin --table' });
new CfnOutput(stack, 'SigningKeyArn', { value: server.signingKey.keyArn });
if (server.domainName) {
  new CfnOutput(stack, 'DomainTarget', {
    value: server.domainName.regionalDomainName,
    description: 'point a DNS alias (or CNAME) for the custom domain here',
  });
}
