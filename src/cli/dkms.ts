import { main } from './main.js';

// No top-level await: the packaged bundle is CommonJS (scripts/bundle.sh).
void main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: process.stdout.isTTY,
}).then((code) => {
  process.exitCode = code;
});
