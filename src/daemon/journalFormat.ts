/**
 * dkmsd's log records as journald lines: one human line per event, led by a syslog priority
 * (`<3>`), which journald strips and keeps as the entry's PRIORITY. Pure: a parsed pino record
 * in, one line out.
 */

type Fields = Record<string, unknown>;

/** pino levels (10 trace … 60 fatal) to syslog priorities (7 debug … 2 crit). */
export function syslogPriority(level: number): number {
  if (level >= 60) return 2;
  if (level >= 50) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return 6;
  return 7;
}

// pino's own keys, and those journald records by itself.
const RECORD_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v']);

const str = (value: unknown): string =>
  typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);

const seconds = (ms: unknown): string =>
  typeof ms === 'number' ? `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s` : '';

const list = (value: unknown): string =>
  Array.isArray(value) && value.length > 0 ? value.map(str).join(', ') : 'none';

const moduleRef = (fields: Fields): string => `${str(fields['module'])}/${str(fields['version'])}`;

const errorText = (err: unknown): string => {
  if (typeof err !== 'object' || err === null) return str(err);
  const { message, code } = err as { message?: unknown; code?: unknown };
  const text = typeof message === 'string' && message !== '' ? message : JSON.stringify(err);
  return typeof code === 'string' ? `${code}: ${text}` : text;
};

// A finish step result ({status, command?, message?}) reads as its status.
const isStep = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && 'status' in value && !Array.isArray(value);

/** `key=value` for what a known event does not spell out; strings with spaces are quoted. */
function genericFields(fields: Fields, skip: readonly string[] = []): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (RECORD_KEYS.has(key) || skip.includes(key) || key === 'err' || value === undefined)
      continue;
    if (key === 'output') continue; // make output tails live in the build's make.log
    const text = Array.isArray(value)
      ? value.map(str).join(',')
      : isStep(value)
        ? stepStatus(value)
        : str(value);
    parts.push(`${key}=${/[\s"]/.test(text) ? JSON.stringify(text) : text}`);
  }
  return parts.join(' ');
}

interface FailedEntry {
  module?: unknown;
  code?: unknown;
  logPath?: unknown;
  remembered?: unknown;
}

const failedList = (value: unknown): string =>
  Array.isArray(value) && value.length > 0
    ? (value as FailedEntry[])
        .map(
          (f) =>
            `${str(f.module)} (${str(f.code)}${f.remembered === true ? ', remembered' : ''}` +
            `${f.logPath ? `, log ${str(f.logPath)}` : ''})`,
        )
        .join(', ')
    : 'none';

function stepStatus(value: unknown): string {
  return typeof value === 'object' && value !== null
    ? str((value as { status?: unknown }).status)
    : str(value);
}

/** The events worth a sentence; any other record falls back to `msg: key=value ...`. */
const EVENTS: Record<string, (f: Fields) => string> = {
  'dkmsd started': (f) =>
    `dkmsd ${str(f['version'])} started: kernels ${list(f['kernels'])}; running kernel ` +
    `${str(f['runningKernel'])}; ${str(f['concurrency'])} builds at once, make -j` +
    `${str(f['makeJobs'])}; initramfs: ${str(f['initramfs'] ?? 'none')}; udev: ` +
    `${str(f['udev'] ?? 'none')}`,
  'build started': (f) =>
    `build started: ${moduleRef(f)} for ${str(f['kernel'])} (${str(f['arch'])}, make -j${str(f['makeJobs'])})`,
  'build finished': (f) => {
    const head = `build finished: ${moduleRef(f)} for ${str(f['kernel'])}: ${str(f['status'])} in ${seconds(f['durationMs'])}`;
    if (f['status'] !== 'failed') return head;
    const log = f['logPath'] ? `; log: ${str(f['logPath'])}` : '';
    return `${head}: ${str(f['code'])}: ${str(f['message'])}${log}`;
  },
  'kernel finished': (f) =>
    `kernel finished: ${str(f['kernel'])}: ${str(f['result'])}; installed ${list(f['installed'])}; ` +
    `failed ${failedList(f['failed'])}; depmod ${stepStatus(f['depmod'])}, initramfs ` +
    `${stepStatus(f['initramfs'])}, udev ${stepStatus(f['udev'])}` +
    (f['error'] ? `; ${str(f['error'])}` : ''),
  'catch-up finished': (f) =>
    `catch-up finished: kernels ${list(f['kernels'])}; ${str(f['installed'])} installed, ` +
    `${str(f['failed'])} failed in ${seconds(f['durationMs'])} (${seconds(f['sinceProcessStartMs'])} after start)`,
};

/** One record (as pino wrote it) to one journald line, without the trailing newline. */
export function journalLine(record: Fields): string {
  const level = typeof record['level'] === 'number' ? record['level'] : 30;
  const msg = str(record['msg']);
  const event = EVENTS[msg];
  let text: string;
  if (event) {
    text = event(record);
  } else {
    const rest = genericFields(record);
    text = rest ? `${msg}: ${rest}` : msg;
    if (record['err'] !== undefined) text += `: ${errorText(record['err'])}`;
  }
  // journald takes each line as its own entry: keep an event on one.
  return `<${syslogPriority(level)}>${text.replace(/\s*\n\s*/g, ' | ')}`;
}
