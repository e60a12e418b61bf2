import { readFileSync } from 'node:fs';

/** Where the checker reads files from: the disk, or an editor's open documents. */
export interface FileHost {
  /** The file's text, or undefined when it cannot be read. Paths are absolute. */
  readFile(path: string): string | undefined;
}

export const diskHost: FileHost = {
  readFile(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
};

/** Open documents first, the disk for the rest. */
export function overlayHost(documents: Map<string, string>, fallback: FileHost = diskHost): FileHost {
  return { readFile: (path) => documents.get(path) ?? fallback.readFile(path) };
}
