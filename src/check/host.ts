import { realpathSync } from 'node:fs';
import { FileError } from '../io/file-error.js';
import { readInputText } from '../io/read.js';

/** Where the checker reads files from: the disk, or an editor's open documents. */
export interface FileHost {
  /**
   * The file's text, or undefined when there is no such file. Paths are absolute. May throw
   * a CodedError to refuse a file that exists (not a regular file, too large, no permission):
   * the checker reports its code where the file is imported (Workspace.readError).
   */
  readFile(path: string): string | undefined;
}

/**
 * A spec's text from disk, read by src/io/read.ts (a regular file, without blocking, at most
 * 16 MiB). A path named `*.resnet` must also lead to a `*.resnet` file: a symbolic link named
 * like a spec never makes resnetc read (and quote in its diagnostics) another kind of file.
 * Throws FileError: R0101, R0811, R0812, R0814, R0902.
 */
export function readSpec(path: string): string {
  if (path.endsWith('.resnet')) {
    let real: string | undefined;
    try {
      real = realpathSync(path);
    } catch {
      // Reading says why.
    }
    if (real !== undefined && !real.endsWith('.resnet')) {
      throw new FileError('R0814', path, `'${path}' leads to '${real}', which is not a .resnet file`, 'a spec, and what it links to, is named *.resnet');
    }
  }
  return readInputText(path, 'spec');
}

export const diskHost: FileHost = {
  readFile(path) {
    try {
      return readSpec(path);
    } catch (e) {
      if (e instanceof FileError && e.code === 'R0101') return undefined;
      throw e;
    }
  },
};

/** Open documents first, the disk for the rest. */
export function overlayHost(documents: Map<string, string>, fallback: FileHost = diskHost): FileHost {
  return { readFile: (path) => documents.get(path) ?? fallback.readFile(path) };
}
