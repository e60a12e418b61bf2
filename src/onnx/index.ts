/**
 * The ONNX backend: checked model → ONNX file, and ONNX file → weights.
 *
 * Stable API (the tfjs backend and the tests rely on these signatures):
 *
 *   emitOnnx(model, weights, { opset?, inference?, dynamicSize? }): Uint8Array
 *     The whole ModelProto in one buffer (allocated once, at its final size). `weights` is a
 *     WeightSet (Map from PyTorch names to float32 arrays in PyTorch layouts) or any
 *     WeightLookup, e.g. initialWeightSource(model, { seed }) which computes tensors on demand.
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
 *   compileOnnx(model, options): OnnxCompileResult
 *     What `resnetc compile --target onnx` does: initialise (or import) the weights, write.
 *   prepareOnnxCompile(model, options): { weightsFrom, write(): OnnxCompileResult }
 *     The same in two steps: every check now, the write when asked.
 *
 * Every failure a user can cause is a CodedError with a code from src/diagnostics/codes.ts:
 * an OnnxError, a FileError for a file src/io refuses to read or write (docs/files.md), or a
 * WeightValueError (R0816) for `--weights` holding NaN, an infinity or a negative variance.
 */
import { createRequire } from 'node:module';
import type { CheckedModel } from '../model/types.js';
import { basename } from 'node:path';
import { checkOutputFile, writeOutputFiles, type OutputFile } from '../io/write.js';
import { initialWeightSource, type WeightLookup } from '../weights/init.js';
import { checkedWeights } from '../weights/validate.js';
import { emitGraph, type EmitOptions } from './emit.js';
import { externalDataPath, namesExternalData } from './external-data.js';
import { readOnnxWeightSource } from './import.js';
import { checkOpset, defaultOpset } from './opset.js';
import { planModel, serializeModel, writeExternalData, writeModel, type ModelMeta } from './writer.js';

export { OnnxError } from './errors.js';
export { importOnnxWeights, importOnnxWeightSource, readOnnxWeights, readOnnxWeightSource } from './import.js';
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
export function emitOnnx(model: CheckedModel, weights: WeightLookup, options: EmitOnnxOptions = {}): Uint8Array {
  const m = meta(model, options);
  return serializeModel(emitGraph(model, weights, emitOptions(options, m)), m);
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
export function writeOnnxFile(path: string, model: CheckedModel, weights: WeightLookup, options: WriteOnnxOptions = {}): number {
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
export function writeOnnxFiles(path: string, model: CheckedModel, weights: WeightLookup, options: WriteOnnxOptions = {}): OnnxFiles {
  const m = meta(model, options);
  const graph = emitGraph(model, weights, emitOptions(options, m));
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
  /** Seed of the torchvision-style initialisation (0 unless set). */
  seed?: number;
  zeroInitResidual?: boolean;
  /** An ONNX file of the same architecture to take the weights from instead. */
  weightsFile?: string;
  /** Weights read elsewhere (e.g. a safetensors state_dict), and where they came from, for the report. */
  weights?: { lookup: WeightLookup; from: string };
}

export interface OnnxCompileResult extends OnnxFiles {
  /** Where the weights came from: `seed 0` or the weights file. */
  weightsFrom: string;
}

/** `resnetc compile --target onnx`: weights initialised or imported, then the file written. */
export function compileOnnx(model: CheckedModel, options: OnnxCompileOptions): OnnxCompileResult {
  return prepareOnnxCompile(model, options).write();
}

/** A compile whose every check is done (weights matched), with only the write left. */
export interface PreparedOnnxCompile {
  weightsFrom: string;
  /** Writes the file (atomically) and says what was written. */
  write(): OnnxCompileResult;
}

/**
 * `compileOnnx` in two steps: everything that may fail or take long (matching a weights
 * file) now, the write when asked. The command line holds Ctrl-C back during the write
 * only, so a long match stays interruptible.
 */
export function prepareOnnxCompile(model: CheckedModel, options: OnnxCompileOptions): PreparedOnnxCompile {
  checkOpset(options.opset ?? defaultOpset);
  let weights: WeightLookup;
  let weightsFrom: string;
  if (options.weights !== undefined) {
    weights = options.weights.lookup;
    weightsFrom = options.weights.from;
  } else if (options.weightsFile !== undefined) {
    // Matched now, decoded tensor by tensor as the writer reaches them.
    weights = checkedWeights(readOnnxWeightSource(options.weightsFile, model), options.weightsFile);
    weightsFrom = options.weightsFile;
  } else {
    // Computed tensor by tensor as the writer reaches them: the model is never whole in memory.
    weights = initialWeightSource(model, { seed: options.seed ?? 0, zeroInitResidual: options.zeroInitResidual ?? false });
    weightsFrom = `seed ${options.seed ?? 0}${options.zeroInitResidual ? ', zero-init residual' : ''}`;
  }
  return { weightsFrom, write: () => ({ ...writeOnnxFiles(options.output, model, weights, options), weightsFrom }) };
}
