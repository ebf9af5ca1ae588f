import { DEFAULT_SOCKET, statusSocketFor } from './config/daemonConfig.js';
import { EXIT, exitStatusFor } from './client/exitStatus.js';
import type { ClientResult } from './client/client.js';
import { parseDaemonArgs, UsageError, type DaemonCommand } from './cliArgs.js';
import { daemonHelp, DAEMON_USAGE } from './help.js';
import { PACKAGE_VERSION as VERSION } from '../core/version.js';

interface Output {
  out: string[];
  err: string[];
  code: number;
}

/** `notify` talks to the control socket (root only). */
const controlSocket = (option: string | undefined): string =>
  option ?? (process.env['DKMSD_SOCKET'] || DEFAULT_SOCKET);

/** `status` talks to the status socket, which anyone may use. */
const statusSocket = (option: string | undefined): string =>
  option ?? (process.env['DKMSD_STATUS_SOCKET'] || statusSocketFor(controlSocket(undefined)));

/** Turns a client result into what to print; the exit status comes from exitStatusFor. */
async function describe(result: ClientResult, json: boolean): Promise<Output> {
  const { formatOutcomes, formatRemoval, formatStatus } = await import('./client/format.js');
  const code = exitStatusFor(result);
  switch (result.kind) {
    case 'unreachable':
      return { out: [], err: [`dkmsd: no daemon reachable: ${result.reason}`], code };
    case 'closed':
      return {
        out: [],
        err: ['dkmsd: the daemon closed the connection without answering (it is stopping?)'],
        code,
      };
    case 'timeout':
      return {
        out: [],
        err: [
          `dkmsd: no answer within ${result.seconds} s; the daemon keeps working (see 'dkmsd status')`,
        ],
        code,
      };
    case 'bad-reply':
      return { out: [], err: [`dkmsd: unexpected reply from the daemon: ${result.reason}`], code };
  }
  const { response } = result;
  if (json)
    return {
      out: [JSON.stringify(response.type === 'status' ? response.status : response, null, 2)],
      err: [],
      code,
    };
  switch (response.type) {
    case 'accepted':
      return {
        out: [
          `dkmsd: queued ${response.kernels.length > 0 ? response.kernels.join(' ') : '(no kernel with headers)'}`,
        ],
        err: [],
        code,
      };
    case 'finished':
      if (response.kernels.length === 0)
        return { out: ['dkmsd: no kernel with headers; nothing to build'], err: [], code };
      return { ...formatOutcomes(response.kernels), code };
    case 'removed':
      return { ...formatRemoval(response.outcome), code };
    case 'status':
      return { out: formatStatus(response.status), err: [], code };
    case 'error':
      return { out: [], err: [`dkmsd: ${response.code}: ${response.message}`], code };
  }
}

async function execute(command: DaemonCommand): Promise<Output> {
  switch (command.command) {
    case 'help':
      return { out: [daemonHelp(command.topic)], err: [], code: EXIT.ok };
    case 'version':
      return { out: [`dkmsd ${VERSION}`], err: [], code: EXIT.ok };
    case 'run': {
      const { loadDaemonConfig } = await import('./config/loadConfig.js');
      const { runDaemon } = await import('./run.js');
      const config = await loadDaemonConfig(command.configFile);
      return { out: [], err: [], code: await runDaemon(config) };
    }
    case 'notify': {
      const { sendRequest } = await import('./client/client.js');
      const wait = 'wait' in command.request && command.request.wait === true;
      const seconds = command.timeoutSeconds ?? (wait ? 1800 : 60);
      return describe(
        await sendRequest(controlSocket(command.socket), command.request, {
          replyTimeoutMs: seconds * 1000,
        }),
        false,
      );
    }
    case 'status': {
      const { sendRequest } = await import('./client/client.js');
      return describe(
        await sendRequest(
          statusSocket(command.socket),
          { type: 'status' },
          { replyTimeoutMs: 30_000 },
        ),
        command.json,
      );
    }
  }
}

/** The dkmsd command line: the only place that prints and picks the exit status. */
async function main(argv: readonly string[]): Promise<number> {
  let output: Output;
  try {
    output = await execute(parseDaemonArgs(argv));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(
        `dkmsd: ${error.message}\n${error.topic ? daemonHelp(error.topic) : DAEMON_USAGE}\n`,
      );
      return EXIT.usage;
    }
    const { ConfigError } = await import('./config/daemonConfig.js');
    if (error instanceof ConfigError) {
      process.stderr.write(`dkmsd: bad configuration: ${error.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(
      `dkmsd: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT.failed;
  }
  if (output.out.length > 0) process.stdout.write(`${output.out.join('\n')}\n`);
  if (output.err.length > 0) process.stderr.write(`${output.err.join('\n')}\n`);
  return output.code;
}

// The daemon's handles (watchers, sockets) are closed by now; exit without waiting for stragglers.
// No top-level await: the packaged bundle is CommonJS (scripts/bundle.sh).
void main(process.argv.slice(2)).then((code) => process.exit(code));
