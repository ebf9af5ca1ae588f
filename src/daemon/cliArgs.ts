import { parseArgs } from 'node:util';
import type { RequestInput } from '../protocol/messages.js';
import { isKernelRelease, isModuleWord } from '../util/names.js';

export type DaemonCommand =
  | { command: 'help'; topic: string | undefined }
  | { command: 'version' }
  | { command: 'run'; configFile: string | undefined }
  | {
      command: 'notify';
      request: RequestInput;
      socket: string | undefined;
      timeoutSeconds: number | undefined;
    }
  | { command: 'status'; json: boolean; socket: string | undefined };

export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly topic?: string,
  ) {
    super(message);
  }
}

const OPTIONS = {
  config: { type: 'string' },
  socket: { type: 'string' },
  timeout: { type: 'string' },
  wait: { type: 'boolean' },
  json: { type: 'boolean' },
  'retry-failed': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

type OptionName = keyof typeof OPTIONS;

/** Which options each command (or notify event) takes. */
const ALLOWED: Record<string, OptionName[]> = {
  run: ['config'],
  status: ['json', 'socket'],
  'kernel-added': ['wait', 'timeout', 'retry-failed', 'socket'],
  'kernel-removed': ['socket', 'timeout'],
  'module-added': ['wait', 'timeout', 'socket'],
  rescan: ['wait', 'timeout', 'retry-failed', 'socket'],
};

/** Validates argv into one command; every problem is a UsageError (exit 2). */
export function parseDaemonArgs(argv: readonly string[]): DaemonCommand {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.version && !command) return { command: 'version' };
  if (command === 'help') return { command: 'help', topic: rest.join(' ') || undefined };
  if (values.help || !command)
    return {
      command: 'help',
      topic: command ? [command, ...rest.slice(0, 1)].join(' ') : undefined,
    };
  const topic = command === 'notify' ? rest[0] : command;
  const allowed = ALLOWED[topic ?? ''];
  if (!allowed) {
    throw new UsageError(
      command === 'notify'
        ? `unknown event '${topic ?? ''}' (kernel-added, kernel-removed, module-added, rescan)`
        : `unknown command '${command}'`,
      command === 'notify' ? 'notify' : undefined,
    );
  }
  for (const name of Object.keys(values) as OptionName[]) {
    if (!allowed.includes(name))
      throw new UsageError(
        `--${name} does not apply to '${command === 'notify' ? `notify ${topic}` : command}'`,
        command,
      );
  }
  const timeoutSeconds = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeoutSeconds !== undefined && !(Number.isFinite(timeoutSeconds) && timeoutSeconds > 0))
    throw new UsageError(`--timeout wants a number of seconds, not '${values.timeout}'`, command);
  const wait = values.wait ?? false;
  const retryFailed = values['retry-failed'] ?? false;
  const args = command === 'notify' ? rest.slice(1) : rest;
  const arity = (n: number, what: string): void => {
    if (args.length !== n)
      throw new UsageError(
        `'${command === 'notify' ? `notify ${topic}` : command}' takes ${what}`,
        command,
      );
  };
  switch (topic) {
    case 'run':
      arity(0, 'no arguments');
      return { command: 'run', configFile: values.config };
    case 'status':
      arity(0, 'no arguments');
      return { command: 'status', json: values.json ?? false, socket: values.socket };
    case 'kernel-added':
    case 'kernel-removed': {
      arity(1, 'one kernel release');
      const kernel = args[0] ?? '';
      if (!isKernelRelease(kernel))
        throw new UsageError(`'${kernel}' is not a kernel release`, command);
      const request: RequestInput =
        topic === 'kernel-added'
          ? { type: topic, kernel, wait, retryFailed }
          : { type: topic, kernel };
      return { command: 'notify', request, socket: values.socket, timeoutSeconds };
    }
    case 'module-added': {
      const words = args.length === 1 ? (args[0] ?? '').split('/') : args;
      const [module = '', version = ''] = words;
      if (words.length !== 2)
        throw new UsageError(`'notify module-added' takes MODULE VERSION`, command);
      if (!isModuleWord(module) || !isModuleWord(version))
        throw new UsageError(
          `'${module}/${version}' is not a valid module name and version`,
          command,
        );
      return {
        command: 'notify',
        request: { type: topic, module, version, wait },
        socket: values.socket,
        timeoutSeconds,
      };
    }
    default:
      arity(0, 'no arguments');
      return {
        command: 'notify',
        request: { type: 'rescan', wait, retryFailed },
        socket: values.socket,
        timeoutSeconds,
      };
  }
}
