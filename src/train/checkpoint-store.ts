import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { leftoversOf } from '../io/leftovers.js';
import { type FileContent, readOutputMarker, writeOutputDir } from '../io/write.js';

/**
 * Where training keeps its checkpoint, written so that a kill at any instant leaves one
 * that `--resume` finds whole.
 *
 *   writeCheckpointDir(outDir, files): string
 *     Writes `files` (name → content) as the folder `OUT/checkpoint`, replacing the one
 *     there, through src/io's folder writer: the new folder is written and flushed under a
 *     temporary name, its marker (`.resnetc-output.json`, with a `sequence` one above the
 *     last checkpoint's) last; the old one is renamed aside, the new one into place, the
 *     old one removed. Returns the checkpoint's path. Throws FileError (src/io/write.ts).
 *   findCheckpointDir(outDir): string | undefined
 *     `OUT/checkpoint` when it exists; otherwise (a kill between the two renames) the whole
 *     checkpoint of highest sequence that a killed write left under a temporary name
 *     (`OUT/.checkpoint.resnetc-PID-N.tmp` or `.old`); undefined when there is none. The
 *     next writeCheckpointDir puts a new checkpoint in place and removes those.
 *
 * What a checkpoint holds, and how it is read and validated, is src/train/train.ts's.
 */

export const checkpointDir = 'checkpoint';

/** A checkpoint folder's position in the sequence of those written to an OUT (0: none, or unmarked). */
function sequenceOf(dir: string): number {
  const marker = readOutputMarker(dir);
  const sequence = marker?.kind === 'checkpoint' ? marker['sequence'] : undefined;
  return typeof sequence === 'number' && Number.isSafeInteger(sequence) ? sequence : 0;
}

/** Whole checkpoints left under temporary names by killed writes, newest first. */
function leftoverCheckpoints(target: string): string[] {
  return leftoversOf(target)
    .map((l) => ({ path: l.path, sequence: sequenceOf(l.path) }))
    .filter((c) => c.sequence > 0)
    .sort((a, b) => b.sequence - a.sequence)
    .map((c) => c.path);
}

export function writeCheckpointDir(outDir: string, files: Record<string, FileContent>): string {
  const target = join(outDir, checkpointDir);
  const sequence = 1 + Math.max(sequenceOf(target), ...leftoverCheckpoints(target).map(sequenceOf));
  // Resuming read the checkpoint this one replaces: replacing it is the point.
  writeOutputDir(target, files, { kind: 'checkpoint', note: { sequence }, replacesInput: true });
  return target;
}

export function findCheckpointDir(outDir: string): string | undefined {
  const target = join(outDir, checkpointDir);
  try {
    lstatSync(target);
    return target;
  } catch {
    return leftoverCheckpoints(target)[0];
  }
}
