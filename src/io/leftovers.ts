import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * The temporary names resnetc writes under, and the clean-up of those its earlier runs
 * left behind (a process killed in the middle of a write: SIGKILL, a power cut).
 *
 * A write to `DIR/NAME` goes to `DIR/.NAME.resnetc-PID-RANDOM.tmp` and is renamed into
 * place; a folder it replaces is first renamed to `….old`. A leftover is removed only when
 * the process that made it (PID) is gone, so two resnetc processes never remove each other's
 * work in progress. The names earlier versions of resnetc used are recognised too.
 */

export type LeftoverKind = 'tmp' | 'old';

export interface Leftover {
  path: string;
  pid: number;
  /** `tmp`: a new version being written; `old`: a replaced folder not yet removed. */
  kind: LeftoverKind;
}

/** A fresh temporary name beside `target` for this process. */
export function temporaryPath(target: string, kind: LeftoverKind): string {
  return join(dirname(target), `.${basename(target)}.resnetc-${process.pid}-${randomBytes(4).toString('hex')}.${kind}`);
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The name patterns of writes to a file or folder named `name`: the group `pid`, and `old` when it is a replaced folder. */
function patterns(name: string): RegExp[] {
  const b = escape(name);
  return [
    new RegExp(`^\\.${b}\\.resnetc-(?<pid>\\d+)-[0-9a-f]+\\.(?:tmp|(?<old>old))$`),
    // Earlier versions: the ONNX writer, the tfjs folder writer, the training's metrics.
    new RegExp(`^\\.${b}\\.(?<pid>\\d+)\\.[0-9a-z]+\\.tmp$`),
    new RegExp(`^\\.${b}\\.tmp-(?<pid>\\d+)-\\d+(?<old>\\.old)?$`),
    new RegExp(`^${b}\\.tmp-(?<pid>\\d+)$`),
  ];
}

/** True while a process of that id exists (one of another user counts). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The leftovers of writes to `target` whose process is gone (none when its folder cannot be listed). */
export function leftoversOf(target: string): Leftover[] {
  let names: string[];
  try {
    names = readdirSync(dirname(target));
  } catch {
    return [];
  }
  const found: Leftover[] = [];
  const tests = patterns(basename(target));
  for (const name of names) {
    for (const re of tests) {
      const m = re.exec(name);
      if (!m) continue;
      const pid = Number(m.groups!['pid']);
      if (!processAlive(pid)) found.push({ path: join(dirname(target), name), pid, kind: m.groups!['old'] ? 'old' : 'tmp' });
      break;
    }
  }
  return found;
}

/** Removes leftovers; one that cannot be removed is left for a later run. */
export function removeLeftovers(leftovers: readonly Leftover[]): void {
  for (const l of leftovers) {
    try {
      rmSync(l.path, { recursive: true, force: true });
    } catch {
      // Not ours to insist on: the write itself succeeded.
    }
  }
}
