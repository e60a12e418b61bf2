import { closeSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { errnoCode, FileError } from '../io/file-error.js';
import { confinedPath, describeBytes, inputLimits, openInput, readInputText, tooLarge } from '../io/read.js';
import { modelFile } from './model-path.js';

/**
 * Reads a tfjs Layers model from disk (`model.json` and the weight shards its manifest
 * names) without TensorFlow.js, checking everything before reading the weights: the
 * manifest's form, the number of shards, that each shard stays inside the model's folder
 * and is a regular file, and that the shards hold exactly the bytes the manifest's weights
 * declare. Docs: docs/files.md.
 */

/** The most shard files a manifest may name (a 2 GiB model in tfjs's 4 MB shards is 512). */
export const maxShards = 1024;

/** One weight of a tfjs manifest (tf.io.WeightsManifestEntry, the fields resnetc reads). */
export interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

/** What tf.io.ModelArtifacts needs of a model folder. */
export interface ModelDirContents {
  modelTopology: object;
  weightSpecs: ManifestWeight[];
  weightData: ArrayBuffer;
}

/** Bytes per value of each dtype a manifest may store a weight as (quantised ones by their quantisation's dtype). */
export const bytesPer: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

function malformed(path: string, message: string): FileError {
  return new FileError('R0815', path, `'${path}' ${message}`, 'give a tfjs Layers model as resnetc or tfjs saves it');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The bytes one manifest weight takes in the shards. */
function weightBytes(w: unknown, jsonPath: string): number {
  if (!isObject(w) || typeof w['name'] !== 'string' || !Array.isArray(w['shape']) || typeof w['dtype'] !== 'string') {
    throw malformed(jsonPath, 'has a weight without a name, shape or dtype in its weightsManifest');
  }
  const name = w['name'];
  let count = 1;
  for (const d of w['shape'] as unknown[]) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw malformed(jsonPath, `gives the weight '${name}' a shape that is not whole numbers`);
    count *= d;
    if (count > inputLimits.weights) throw tooLarge(jsonPath, 'weights', undefined);
  }
  const q = w['quantization'];
  const dtype = isObject(q) ? q['dtype'] : w['dtype'];
  const per = typeof dtype === 'string' ? bytesPer[dtype] : undefined;
  if (per === undefined) throw malformed(jsonPath, `stores the weight '${name}' as '${String(dtype)}', which resnetc cannot read`);
  return count * per;
}

/**
 * The topology, weight specs and weights of the tfjs model at `path` (its folder or its
 * model.json). Throws FileError: R0101 (missing), R0811 (not a regular file), R0812 (over a
 * limit: model.json 64 MiB, the weights 2 GiB), R0813 (a shard outside the folder),
 * R0815 (not JSON, not a manifest, over 1,024 shards, shards of other sizes than declared).
 */
export function readModelDir(path: string): ModelDirContents {
  let jsonPath = path;
  try {
    if (statSync(path).isDirectory()) jsonPath = join(path, modelFile);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new FileError('R0101', path, `cannot find '${path}'`);
  }
  const folder = dirname(jsonPath);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readInputText(jsonPath, 'json'));
  } catch (e) {
    if (e instanceof SyntaxError) throw malformed(jsonPath, `is not JSON: ${e.message}`);
    throw e;
  }
  if (!isObject(parsed) || !isObject(parsed['modelTopology']) || !Array.isArray(parsed['weightsManifest'])) {
    throw malformed(jsonPath, 'is not a tfjs Layers model (it needs modelTopology and weightsManifest)');
  }
  const groups = parsed['weightsManifest'] as unknown[];
  const weightSpecs: ManifestWeight[] = [];
  const shards: { path: string; group: number }[] = [];
  const declared: number[] = [];
  for (const [g, group] of groups.entries()) {
    if (!isObject(group) || !Array.isArray(group['paths']) || !Array.isArray(group['weights'])) throw malformed(jsonPath, 'has a weightsManifest group without paths and weights');
    const paths = group['paths'] as unknown[];
    if (shards.length + paths.length > maxShards) throw malformed(jsonPath, `names more than ${maxShards} weight shards`);
    for (const p of paths) {
      if (typeof p !== 'string') throw malformed(jsonPath, 'names a shard that is not a path');
      shards.push({ path: confinedPath(folder, p, jsonPath), group: g });
    }
    let bytes = 0;
    for (const w of group['weights'] as unknown[]) {
      bytes += weightBytes(w, jsonPath);
      weightSpecs.push(w as ManifestWeight);
    }
    declared.push(bytes);
  }
  const total = declared.reduce((a, b) => a + b, 0);
  if (total > inputLimits.weights) throw tooLarge(jsonPath, 'weights', total);

  // Sizes first, from the open files: nothing is read unless the shards hold what is declared.
  const sizes = shards.map((s) => {
    const { fd, stats } = openInput(s.path, 'weights');
    closeSync(fd);
    return stats.size;
  });
  for (const [g, bytes] of declared.entries()) {
    const held = shards.reduce((a, s, i) => a + (s.group === g ? sizes[i]! : 0), 0);
    if (held !== bytes) throw malformed(jsonPath, `declares ${describeBytes(bytes)} (${bytes} bytes) of weights in group ${g + 1}, but its shards hold ${held} bytes`);
  }
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const [i, s] of shards.entries()) {
    const { fd } = openInput(s.path, 'weights');
    try {
      const end = at + sizes[i]!;
      while (at < end) {
        const n = readSync(fd, weightData, at, end - at, null);
        if (n === 0) throw malformed(jsonPath, `names '${s.path}', which changed while it was read`);
        at += n;
      }
    } catch (e) {
      const code = errnoCode(e);
      if (code) throw new FileError('R0902', s.path, `cannot read '${s.path}': ${code}`);
      throw e;
    } finally {
      closeSync(fd);
    }
  }
  return { modelTopology: parsed['modelTopology'], weightSpecs, weightData: weightData.buffer };
}
