import { CodedError } from '../diagnostics/coded-error.js';
import type { Code } from '../diagnostics/codes.js';
import type { Output } from './output.js';

/** A failure the command line itself finds (see CodedError). */
export class CliError extends CodedError {
  constructor(code: Code, message: string, exitCode: 1 | 2 = 1, help?: string) {
    super(code, message, help, exitCode);
  }
}

/** `error[CODE]: message` and its help line, for an error that has no place in a file. */
export function printError(out: Output, e: CodedError): void {
  out.err(`${out.paint(['bold', 'red'], `error[${e.code}]`)}${out.paint('bold', `: ${e.message}`)}\n`);
  if (e.help) out.err(`  ${out.paint('blue', '=')} ${out.paint('bold', 'help')}: ${e.help}\n`);
}

/** `warning[CODE]: message`, for a warning that has no place in a file. */
export function printWarning(out: Output, code: Code, message: string): void {
  out.err(`${out.paint(['bold', 'yellow'], `warning[${code}]`)}${out.paint('bold', `: ${message}`)}\n`);
}

/** 0 clean, 1 failed (bad input), 2 bad usage, 70 an internal error (a bug in resnetc: R0000). */
export const exitCodes = { ok: 0, failed: 1, usage: 2, internal: 70 } as const;

/**
 * A command stopped by the diagnostics it has just printed: its message is the line that
 * counts them (no code of its own: each diagnostic above carries one); exit code 1.
 */
export class RefusedError extends CliError {}
