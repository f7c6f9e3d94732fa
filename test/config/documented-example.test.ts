import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRegistryConfig } from '../../lambda/config/schema';

/** The example in docs/configuration-file.md is a valid file, so the documentation cannot drift from the schema. */
describe('the documented configuration example', () => {
  const markdown = readFileSync(join(__dirname, '../../docs/configuration-file.md'), 'utf8');
  const example = /```json\n([\s\S]*?)\n```/.exec(markdown)?.[1];

  it('parses and validates', () => {
    expect(example).toBeDefined();
    const config = parseRegistryConfig(JSON.parse(example!));
    expect(config.tenants.map((tenant) => tenant.id)).toEqual(['acme', 'globex', 'initech']);
    expect(config.clients.map((client) => client.clientId)).toEqual([
      'claude',
      'ci-bot',
      'keyed-agent',
      'internal-assistant',
    ]);
    expect(config.tenants.map((tenant) => tenant.connection?.clientId)).toEqual([
      '0oa1b2c3d4e5f6g7h8i9',
      'mcp-server',
      undefined,
    ]);
  });
});
