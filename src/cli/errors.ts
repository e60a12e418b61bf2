import type { Code } from '../diagnostics/codes.js';

/** A failure the command line reports as `error[CODE]: message` and exits with (never a stack trace). */
export class CliError extends Error {
  constructor(
    readonly code: Code,
    message: string,
    /** 1: the input is wrong; 2: the command was used wrongly. */
    readonly exitCode: 1 | 2 = 1,
    readonly help?: string,
  ) {
    super(message);
  }
}

export const exitCodes = { ok: 0, failed: 1, usage: 2 } as const;
