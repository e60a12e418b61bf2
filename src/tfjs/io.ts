import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import './layers.js';
import { modelFile, weightsFile } from './model-path.js';

/**
 * The standard tfjs Layers format on disk, without tfjs-node: `model.json` (topology and
 * weights manifest) and `weights.bin`. Directories are written to a temporary sibling and
 * renamed into place, so a reader never sees half a model.
 */

export { isTfjsModelPath, modelFile, weightsFile } from './model-path.js';

/** Writes `files` (name → bytes) as the directory `dir`, replacing it whole. */
export function writeDirAtomic(dir: string, files: Record<string, Uint8Array | string>): void {
  const target = resolve(dir);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  try {
    for (const [name, data] of Object.entries(files)) writeFileSync(join(tmp, name), data);
    const old = existsSync(target) ? `${tmp}.old` : undefined;
    if (old) renameSync(target, old);
    renameSync(tmp, target);
    if (old) rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The artifacts of a model as the files of its directory. */
export function artifactsToFiles(artifacts: tf.io.ModelArtifacts, extra: Record<string, Uint8Array | string> = {}): Record<string, Uint8Array | string> {
  const weightData = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.concatenateArrayBuffers(Array.isArray(artifacts.weightData) ? artifacts.weightData : [artifacts.weightData]);
  const json = {
    modelTopology: artifacts.modelTopology,
    format: 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: 'resnetc',
    weightsManifest: [{ paths: [`./${weightsFile}`], weights: artifacts.weightSpecs ?? [] }],
  };
  return { [modelFile]: JSON.stringify(json), [weightsFile]: new Uint8Array(weightData), ...extra };
}

/** A model's directory as files, name → contents (`model.json`, `weights.bin`, and `extra`), written nowhere. */
export async function modelDirFiles(model: tf.LayersModel, extra: Record<string, Uint8Array | string> = {}): Promise<Record<string, Uint8Array | string>> {
  let files: Record<string, Uint8Array | string> = {};
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      files = artifactsToFiles(artifacts, extra);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return files;
}

/** Saves a model as a tfjs Layers directory (plus any extra files). */
export async function saveModelDir(model: tf.LayersModel, dir: string, extra: Record<string, Uint8Array | string> = {}): Promise<void> {
  writeDirAtomic(dir, await modelDirFiles(model, extra));
}

/** The IOHandler that reads a tfjs Layers directory from disk. */
export function fileLoadHandler(path: string): tf.io.IOHandler {
  const json = statSync(path).isDirectory() ? join(path, modelFile) : path;
  const dir = dirname(json);
  return {
    load: async () => {
      const parsed = JSON.parse(readFileSync(json, 'utf8')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
      const weightSpecs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Uint8Array[] = [];
      for (const group of parsed.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const p of group.paths) buffers.push(new Uint8Array(readFileSync(join(dir, p))));
      }
      const total = buffers.reduce((a, b) => a + b.length, 0);
      const weightData = new Uint8Array(total);
      let offset = 0;
      for (const b of buffers) {
        weightData.set(b, offset);
        offset += b.length;
      }
      return { modelTopology: parsed.modelTopology, weightSpecs, weightData: weightData.buffer };
    },
  };
}

/** Loads a tfjs Layers model saved by saveModelDir (or any tfjs Layers directory). */
export async function loadModelDir(path: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileLoadHandler(path));
}
