/**
 * The ONNX backend: checked model → ONNX file, and ONNX file → weights.
 *
 * Stable API (the tfjs backend and the tests rely on these signatures):
 *
 *   emitOnnx(model, weights, { opset?, inference?, dynamicSize? }): Uint8Array
 *     The whole ModelProto in one buffer (allocated once, at its final size). `weights` is a
 *     WeightSet (Map from PyTorch names to float32 arrays in PyTorch layouts) or a
 *     WeightSource (src/weights/source.ts): initialWeightSource(model, { seed }), which
 *     computes tensors on demand, or openWeightSource(path, model) for a weights file.
 *     OnnxError R0513 for a model over ONNX's 2 GiB.
 *   writeOnnxFile(path, model, weights, { opset?, inference?, dynamicSize?, externalData? }): number
 *     The same streamed to `path` by src/io's writer (a temporary file renamed into place:
 *     no partial file on failure; never onto an input or a non-regular file), its tensors
 *     in the external data file `PATH.data` when the model would pass 2 GiB or
 *     `externalData` is set; returns the bytes written. Throws FileError (R0801–R0805, R0903).
 *   writeOnnxFiles(path, model, weights, options): { path, bytes, data?: { path, bytes } }
 *     The same, saying what each file holds.
 *   readOnnxWeights(path, model, { maxSteps? }): WeightSet
 *     The weights of another ONNX file of the same architecture, matched by each layer's
 *     place in the network (never by names or file order), in PyTorch's names and layouts;
 *     external data read from beside the file (R0510–R0512, R0813). Throws OnnxError
 *     (stable `code`, `layer` where the mismatch happened; R0507 past `maxSteps` steps of
 *     matching, 100,000 and 100 per layer of the model unless set) and FileError.
 *   readOnnxWeightSource(path, model, { maxSteps? }): WeightLookup
 *     The same, matched (and checked) at once but decoded tensor by tensor on demand.
 *   importOnnxWeights(bytes, model, { maxSteps?, path? }), importOnnxWeightSource(…)
 *     The same from the file's bytes; `path` (the file's) locates external data.
 *   readOnnxWeightsFile(path): OnnxWeightsFile
 *     The file decoded once (external data located beside it), its input channels and
 *     classes, and match(model) as readOnnxWeightSource: what src/weights/formats/onnx.ts
 *     wraps as a weight source (a head or an input of another size adapted).
 *   compileOnnx(model, { output, weights?: WeightSource, seed?, … }): OnnxCompileResult
 *     What `resnetc compile --target onnx` does: the file written from the source.
 *   prepareOnnxCompile(model, options): { weightsFrom, write(): OnnxCompileResult }
 *     The same in two steps: every check now, the write when asked.
 *
 * Every failure a user can cause is a CodedError with a code from src/diagnostics/codes.ts:
 * an OnnxError, a FileError for a file src/io refuses to read or write (docs/files.md), or
 * what a weight source throws as the writer reads it (R0816 for a NaN, an infinity or a
 * negative variance).
 */
import { createRequire } from 'node:module';
import type { CheckedModel } from '../model/types.js';
import { basename } from 'node:path';
import { checkOutputFile, writeOutputFiles, type OutputFile } from '../io/write.js';
import { initialWeightSource, type WeightSet } from '../weights/init.js';
import { asWeightSource, type WeightSource } from '../weights/source.js';
import { emitGraph, type EmitOptions } from './emit.js';
import { externalDataPath, namesExternalData } from './external-data.js';
import { checkOpset, defaultOpset } from './opset.js';
import { planModel, serializeModel, writeExternalData, writeModel, type ModelMeta } from './writer.js';

export { OnnxError } from './errors.js';
export { importOnnxWeights, importOnnxWeightSource, readOnnxWeights, readOnnxWeightSource, readOnnxWeightsFile, type OnnxWeightsFile } from './import.js';
export { defaultOpset, maxOpset, minOpset } from './opset.js';
export { batchDim, heightDim, inputName, outputName, widthDim } from './emit.js';

export interface EmitOnnxOptions {
  /** 13 to 21; 17 unless set. */
  opset?: number;
  /** Fold the norms (the deployment form); otherwise BatchNormalization nodes keep the running statistics. */
  inference?: boolean;
  /** Height and width symbolic (`H`, `W`) like the batch, so the graph runs at any input size. */
  dynamicSize?: boolean;
}

const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

function meta(model: CheckedModel, options: EmitOnnxOptions): ModelMeta {
  const opset = checkOpset(options.opset ?? defaultOpset);
  const form = options.inference ? 'inference form: norms folded' : 'training form: norms kept with running statistics';
  return { opset, producerVersion: version, docString: `${model.name}, compiled by resnetc (${form})` };
}

function emitOptions(options: EmitOnnxOptions, m: ModelMeta): EmitOptions {
  return { inference: options.inference ?? false, opset: m.opset, dynamicSize: options.dynamicSize ?? false };
}

/** The model as ONNX bytes, every tensor inside: OnnxError R0513 for a model over ONNX's 2 GiB (write it to a file instead). */
export function emitOnnx(model: CheckedModel, weights: WeightSet | WeightSource, options: EmitOnnxOptions = {}): Uint8Array {
  const m = meta(model, options);
  return serializeModel(emitGraph(model, asWeightSource(weights), emitOptions(options, m)), m);
}

export interface WriteOnnxOptions extends EmitOnnxOptions {
  /**
   * Put the tensors of 1 KiB or more in an external data file beside the model even when
   * the model would fit in one file. Without it they go there only when the model would
   * pass ONNX's 2 GiB.
   */
  externalData?: boolean;
}

/** What writeOnnxFiles wrote: the model file, and its external data file when there is one. */
export interface OnnxFiles {
  path: string;
  /** The model file's size in bytes. */
  bytes: number;
  data?: { path: string; bytes: number };
}

/**
 * The model streamed to `path`, atomically; returns the bytes written (the model file and
 * its external data together). See writeOnnxFiles.
 */
export function writeOnnxFile(path: string, model: CheckedModel, weights: WeightSet | WeightSource, options: WriteOnnxOptions = {}): number {
  const files = writeOnnxFiles(path, model, weights, options);
  return files.bytes + (files.data?.bytes ?? 0);
}

/**
 * The model streamed to `path`, and, when it would pass ONNX's 2 GiB or `externalData` is
 * asked, its tensors of 1 KiB or more to `PATH.data` beside it (ONNX external data, named
 * by a relative location: docs/onnx.md). Both are written by src/io's writer as one output:
 * the data file first, the model that names it last, nothing left on a failure, an earlier
 * model's data file removed when the new model has none (docs/files.md). Sizes are known
 * before any weight is computed. Throws FileError (R0801–R0805, R0903), OnnxError R0513
 * (the graph alone over 2 GiB).
 */
export function writeOnnxFiles(path: string, model: CheckedModel, weights: WeightSet | WeightSource, options: WriteOnnxOptions = {}): OnnxFiles {
  const m = meta(model, options);
  const graph = emitGraph(model, asWeightSource(weights), emitOptions(options, m));
  const { target } = checkOutputFile(path);
  const dataPath = externalDataPath(target);
  const plan = planModel(graph, m, { externalData: options.externalData ? 'always' : 'auto', location: basename(dataPath) });
  const modelFile: OutputFile = { path, content: (sink) => void writeModel(plan, sink) };
  if (!plan.data) {
    writeOutputFiles([modelFile], { obsolete: namesExternalData(target, dataPath) ? [dataPath] : [] });
    return { path, bytes: plan.modelBytes };
  }
  // The data file first, the model that names it last: the model's rename commits the pair.
  writeOutputFiles([{ path: dataPath, content: (sink) => void writeExternalData(plan, sink), noLink: true }, modelFile]);
  return { path, bytes: plan.modelBytes, data: { path: dataPath, bytes: plan.data.bytes } };
}

export interface OnnxCompileOptions extends WriteOnnxOptions {
  output: string;
  /** Where the weights come from (src/weights: openWeightSource, initialWeightSource); the seeded initialisation below when absent. */
  weights?: WeightSource;
  /** Seed of the torchvision-style initialisation when `weights` is absent (0 unless set). */
  seed?: number;
  zeroInitResidual?: boolean;
}

export interface OnnxCompileResult extends OnnxFiles {
  /** Where the weights came from: `seed 0` or the weights file. */
  weightsFrom: string;
}

/** `resnetc compile --target onnx`: the file written from a weight source (seeded unless given). */
export function compileOnnx(model: CheckedModel, options: OnnxCompileOptions): OnnxCompileResult {
  return prepareOnnxCompile(model, options).write();
}

/** A compile whose every check is done, with only the write left. */
export interface PreparedOnnxCompile {
  weightsFrom: string;
  /** Writes the file (atomically) and says what was written. */
  write(): OnnxCompileResult;
}

/**
 * `compileOnnx` in two steps: the checks now (the opset; the source was matched to the model
 * when opened), the write when asked. The command line holds Ctrl-C back during the write
 * only, so opening a long weights file stays interruptible.
 */
export function prepareOnnxCompile(model: CheckedModel, options: OnnxCompileOptions): PreparedOnnxCompile {
  checkOpset(options.opset ?? defaultOpset);
  // Seeded tensors are computed one by one as the writer reaches them: the model is never whole in memory.
  const weights = options.weights ?? initialWeightSource(model, { seed: options.seed ?? 0, zeroInitResidual: options.zeroInitResidual ?? false });
  return { weightsFrom: weights.from, write: () => ({ ...writeOnnxFiles(options.output, model, weights, options), weightsFrom: weights.from }) };
}
