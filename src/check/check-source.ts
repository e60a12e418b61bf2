import { resolve } from 'node:path';
import { diskHost } from './host.js';
import { type CheckedFile, Workspace } from './workspace.js';

/**
 * Checks text that is not (or not yet) on disk, as if it were the file at `path`:
 * its imports are read from the disk relative to that path.
 */
export function checkSource(text: string, path = 'untitled.resnet'): CheckedFile {
  const abs = resolve(path);
  const workspace = new Workspace({ readFile: (p) => (p === abs ? text : diskHost.readFile(p)) });
  return workspace.check(abs)!;
}
