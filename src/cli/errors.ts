import { CodedError } from '../diagnostics/coded-error.js';
import type { Code } from '../diagnostics/codes.js';

/** A failure the command line itself finds (see CodedError). */
export class CliError extends CodedError {
  constructor(code: Code, message: string, exitCode: 1 | 2 = 1, help?: string) {
    super(code, message, help, exitCode);
  }
}

/** 0 clean, 1 failed (bad input), 2 bad usage, 70 an internal error (a bug in resnetc: R0000). */
export const exitCodes = { ok: 0, failed: 1, usage: 2, internal: 70 } as const;
