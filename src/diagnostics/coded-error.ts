import type { Code } from './codes.js';

/**
 * A failure a user caused (bad input, a missing file, a wrong option), with its stable code.
 * Every backend throws its own subclass; the command line prints any of them as
 * `error[CODE]: message` with its help and exits with `exitCode`, never with a stack trace.
 */
export class CodedError extends Error {
  constructor(
    readonly code: Code,
    message: string,
    readonly help?: string,
    /** 1: the input is wrong; 2: the command was used wrongly. */
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}
