import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The `.resnet` files under a folder, recursively, in a stable order (each folder's entries
 * sorted by name, a sub-folder's files where its name falls), skipping dot folders and
 * `node_modules`, and folders that cannot be read. Symbolic links are not followed. The
 * one directory walk of resnetc: `check` and `fmt` on folders, the language server's
 * workspace and its import completion.
 * @param limit stop after this many files (the language server bounds what it indexes)
 */
export function resnetFilesIn(dir: string, limit = Infinity): string[] {
  const found: string[] = [];
  const walk = (folder: string): void => {
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (found.length >= limit) return;
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && entry.name.endsWith('.resnet')) found.push(full);
    }
  };
  walk(dir);
  return found;
}
