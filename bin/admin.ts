import { main } from '../lambda/admin/main';

// The id-jag-admin command: see docs/admin-cli.md.
const io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
main(process.argv.slice(2), io).then((code) => {
  process.exitCode = code;
});
