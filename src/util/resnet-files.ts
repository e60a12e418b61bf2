import { type Dirent, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../io/file-error.js';

/**
 * The `.resnet` files under a folder, recursively, in a stable order (each folder's entries
 * sorted by name, a sub-folder's files where its name falls), skipping dot folders and
 * `node_modules`. Symbolic links are not followed. The one directory walk of resnetc:
 * `check` and `fmt` on folders, the language server's workspace and its import completion.
 * A loop over a stack, not recursion, so a folder tree of any depth is walked.
 * @param limit stop after this many files (the language server bounds what it indexes)
 * @param unreadable told of each folder that cannot be listed (with the errno code), which is skipped
 */
export function resnetFilesIn(dir: string, limit = Infinity, unreadable?: (folder: string, code: string) => void): string[] {
  const found: string[] = [];
  // Entries still to visit, the next one last: a folder is replaced by its sorted entries.
  const stack: { path: string; folder: boolean }[] = [{ path: dir, folder: true }];
  while (stack.length > 0 && found.length < limit) {
    const next = stack.pop()!;
    if (!next.folder) {
      found.push(next.path);
      continue;
    }
    let entries: Dirent[];
    try {
      entries = readdirSync(next.path, { withFileTypes: true });
    } catch (e) {
      unreadable?.(next.path, errnoCode(e) ?? String(e));
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!;
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const path = join(next.path, entry.name);
      if (entry.isDirectory()) stack.push({ path, folder: true });
      else if (entry.isFile() && entry.name.endsWith('.resnet')) stack.push({ path, folder: false });
    }
  }
  return found;
}
