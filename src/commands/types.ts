import type { DkmsArgs } from './args.js';
import type { DkmsContext } from '../core/context.js';

/** What a command hands back to the CLI: lines for stdout and the exit status. */
export interface CommandResult {
  exitCode: number;
  /** Lines for stdout (status lines, JSON). Progress goes through the context's reporter. */
  output?: string[];
}

export type Command = (ctx: DkmsContext, args: DkmsArgs) => Promise<CommandResult>;
