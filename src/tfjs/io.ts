import * as tf from './tf.js';
import { writeOutputDir, type FileContent } from '../io/write.js';
import './layers.js';
import { readModelDir } from './model-dir.js';
import { modelFile, weightsFile } from './model-path.js';

/**
 * The standard tfjs Layers format on disk, without tfjs-node: `model.json` (topology and
 * weights manifest) and `weights.bin`. Folders are written whole by src/io's writer (a
 * reader never sees half a model; an existing folder is replaced only when resnetc wrote
 * it) and read by model-dir.ts (shards confined to the folder, sizes checked first).
 */

export { isTfjsModelPath, modelFile, weightsFile } from './model-path.js';

/** The artifacts of a model as the files of its directory. */
export function artifactsToFiles<T extends FileContent = string | Uint8Array>(artifacts: tf.io.ModelArtifacts, extra: Record<string, T> = {}): Record<string, string | Uint8Array | T> {
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

/** The files of a model's tfjs Layers directory (model.json, weights.bin), plus any extra files (e.g. training state). */
export async function modelDirFiles<T extends FileContent = string | Uint8Array>(model: tf.LayersModel, extra: Record<string, T> = {}): Promise<Record<string, string | Uint8Array | T>> {
  let files: Record<string, string | Uint8Array | T> = {};
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      files = artifactsToFiles(artifacts, extra);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return files;
}

/**
 * Saves a model as a tfjs Layers directory (plus any extra files), written whole by
 * writeOutputDir; throws its FileError (R0801–R0805, R0903) with nothing changed.
 */
export async function saveModelDir(model: tf.LayersModel, dir: string, extra: Record<string, FileContent> = {}): Promise<void> {
  writeOutputDir(dir, await modelDirFiles(model, extra), { kind: 'tfjs-model' });
}

/** The IOHandler that reads a tfjs Layers directory (or its model.json) from disk; loading throws model-dir.ts's FileErrors. */
export function fileLoadHandler(path: string): tf.io.IOHandler {
  return {
    load: async () => {
      const { modelTopology, weightSpecs, weightData } = readModelDir(path);
      return { modelTopology, weightSpecs: weightSpecs as tf.io.WeightsManifestEntry[], weightData };
    },
  };
}

/** Loads a tfjs Layers model saved by saveModelDir (or any tfjs Layers directory). */
export async function loadModelDir(path: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileLoadHandler(path));
}
