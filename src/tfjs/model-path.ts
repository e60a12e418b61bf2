import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/** The file a tfjs Layers model directory is recognised by. */
export const modelFile = 'model.json';
/** The file of its weights, as resnetc writes them (one shard). */
export const weightsFile = 'weights.bin';

/**
 * True when `path` is a tfjs model directory (or its model.json). Apart from io.ts so that
 * a command can ask without loading TensorFlow.js.
 */
export function isTfjsModelPath(path: string): boolean {
  if (!existsSync(path)) return false;
  if (statSync(path).isDirectory()) return existsSync(join(path, modelFile));
  return basename(path) === modelFile;
}
