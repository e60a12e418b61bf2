import { CodedError } from '../diagnostics/coded-error.js';
import type { Code } from '../diagnostics/codes.js';

/**
 * A file resnetc refuses to read or write, or failed to: the path, the reason, and a stable
 * code (R08xx, R0101 not found, R0902 cannot read, R0903 cannot write). docs/files.md lists
 * every rule and limit behind these.
 */
export class FileError extends CodedError {
  override readonly name = 'FileError';

  constructor(
    code: Code,
    /** The file or folder concerned, as the caller named it. */
    readonly path: string,
    message: string,
    help?: string,
  ) {
    super(code, message, help);
  }
}

/** The errno code of a failed system call (`ENOENT`, …), or undefined for any other error. */
export function errnoCode(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}
