import { main } from './main.js';

// A reader that went away (`dkms status | head -1`) ends dkms quietly with the status a shell
// reports for a command killed by SIGPIPE, as bash's dkms ends; not with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(141);
});

void main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: process.stdout.isTTY,
}).then((code) => {
  process.exitCode = code;
});
