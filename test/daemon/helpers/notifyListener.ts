import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * A stand-in for systemd's notification socket (node has no unix datagram sockets, python
 * does): every datagram received is appended to `out`, one per line.
 */
export class NotifyListener {
  private readonly child: ChildProcess;
  readonly ready: Promise<void>;

  constructor(
    readonly socketPath: string,
    private readonly out: string,
  ) {
    const script = [
      'import socket, sys',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
      `s.bind(${JSON.stringify(socketPath)})`,
      'print("ready", flush=True)',
      `f = open(${JSON.stringify(out)}, "a")`,
      'while True:',
      '    d = s.recv(65536)',
      '    f.write(d.decode().replace("\\n", " ") + "\\n"); f.flush()',
    ].join('\n');
    this.child = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.ready = new Promise((resolve) => this.child.stdout?.once('data', () => resolve()));
  }

  messages(): string[] {
    try {
      return readFileSync(this.out, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  close(): void {
    this.child.kill();
  }
}
