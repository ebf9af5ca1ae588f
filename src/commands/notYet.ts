import { DkmsError } from '../core/errors.js';
import type { Command } from './types.js';

export const notYet: Command = (_ctx, args) =>
  Promise.reject(
    new DkmsError(
      'USAGE',
      `The action ${args.action ?? ''} is not implemented yet in this build.`,
      { exitCode: 1 },
    ),
  );
