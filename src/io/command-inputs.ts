import { AsyncLocalStorage } from 'node:async_hooks';
import { realpathSync, statSync, type Stats } from 'node:fs';
import { resolve, sep } from 'node:path';

/**
 * The files a command has read, so that none of its outputs is written over one of them
 * (`compile a.resnet -o a.resnet`, `-o` onto the `--weights` file, a tfjs output folder that
 * holds the model it reads). Every read through readInputFile notes its file here; the
 * writer compares its target with each by real path and by device and inode, so a
 * symbolic or a hard link to an input is caught too.
 *
 * The record lives for one command: `run` (src/cli/program.ts) runs each command inside
 * `trackInputs`. Outside it (a library call) nothing is recorded, and a caller protects its
 * inputs by naming them to the writer (`WriteOptions.inputs`).
 */

/** One input: where it really is, and its identity on disk. */
export interface InputFile {
  realPath: string;
  dev: number;
  ino: number;
}

const scope = new AsyncLocalStorage<Map<string, InputFile>>();

/** Runs `work` with a fresh record of the files it reads. */
export function trackInputs<T>(work: () => T): T {
  return scope.run(new Map(), work);
}

/** Notes a file just opened for reading (its stats from fstat). Does nothing outside trackInputs. */
export function noteInput(path: string, stats: Stats): void {
  const record = scope.getStore();
  if (!record) return;
  let realPath: string;
  try {
    realPath = realpathSync(path);
  } catch {
    realPath = resolve(path);
  }
  record.set(`${stats.dev}:${stats.ino}`, { realPath, dev: stats.dev, ino: stats.ino });
}

/** The inputs of the running command, and the extra paths named, each as an InputFile (those that exist). */
export function commandInputs(extra: readonly string[] = []): InputFile[] {
  const all = [...(scope.getStore()?.values() ?? [])];
  for (const path of extra) {
    try {
      const stats = statSync(path);
      all.push({ realPath: realpathSync(path), dev: stats.dev, ino: stats.ino });
    } catch {
      // A path that does not exist cannot be written over.
    }
  }
  return all;
}

/** The input that `target` (an existing file, with its stats) is, if any. */
export function sameFileAs(inputs: readonly InputFile[], realPath: string, stats: Stats): InputFile | undefined {
  return inputs.find((i) => i.realPath === realPath || (i.dev === stats.dev && i.ino === stats.ino && stillThere(i)));
}

/** An input not deleted since it was read: a deleted file's inode number may be given to a new one. */
function stillThere(input: InputFile): boolean {
  try {
    const now = statSync(input.realPath);
    return now.dev === input.dev && now.ino === input.ino;
  } catch {
    return false;
  }
}

/** The first input at or under the folder `realDir`, if any. */
export function inputInside(inputs: readonly InputFile[], realDir: string): InputFile | undefined {
  const prefix = realDir.endsWith(sep) ? realDir : realDir + sep;
  return inputs.find((i) => i.realPath === realDir || i.realPath.startsWith(prefix));
}
