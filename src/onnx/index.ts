/**
 * The ONNX backend: checked model → ONNX file, and ONNX file → weights.
 *
 * Stable API (the tfjs backend and the tests rely on these signatures):
 *
 *   emitOnnx(model, weights, { opset?, inference? }): Uint8Array
 *     The whole ModelProto in one buffer (allocated once, at its final size). `weights` is a
 *     WeightSet (Map from PyTorch names to float32 arrays in PyTorch layouts) or any
 *     WeightLookup, e.g. initialWeightSource(model, { seed }) which computes tensors on demand.
 *   writeOnnxFile(path, model, weights, { opset?, inference? }): number
 *     The same bytes streamed to `path` by src/io's writer (a temporary file renamed into
 *     place: no partial file on failure; never onto an input or a non-regular file);
 *     returns the size written. Throws FileError (R0801–R0805, R0903).
 *   importOnnxWeights(bytes: Uint8Array, model: CheckedModel, { maxSteps? }): WeightSet
 *     The weights of another ONNX file of the same architecture, matched by each layer's
 *     place in the network (never by names or file order), in PyTorch's names and layouts.
 *     Throws OnnxError (stable `code`, `layer` where the mismatch happened; R0507 past
 *     `maxSteps` steps of matching, 100,000 and 100 per layer of the model unless set).
 *   importOnnxWeightSource(bytes, model, { maxSteps? }): WeightLookup
 *     The same, matched (and checked) at once but decoded tensor by tensor on demand.
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
import { readInputFile } from '../io/read.js';
import { writeOutputFile } from '../io/write.js';
import { initialWeightSource, type WeightLookup } from '../weights/init.js';
import { checkedWeights } from '../weights/validate.js';
import { emitGraph } from './emit.js';
import { importOnnxWeightSource } from './import.js';
import { checkOpset, defaultOpset } from './opset.js';
import { serializeModel, writeModel, type ModelMeta } from './writer.js';

export { OnnxError } from './errors.js';
export { importOnnxWeights, importOnnxWeightSource } from './import.js';
export { defaultOpset, maxOpset, minOpset } from './opset.js';
export { batchDim, inputName, outputName } from './emit.js';

export interface EmitOnnxOptions {
  /** 13 to 21; 17 unless set. */
  opset?: number;
  /** Fold the norms (the deployment form); otherwise BatchNormalization nodes keep the running statistics. */
  inference?: boolean;
}

const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

function meta(model: CheckedModel, options: EmitOnnxOptions): ModelMeta {
  const opset = checkOpset(options.opset ?? defaultOpset);
  const form = options.inference ? 'inference form: norms folded' : 'training form: norms kept with running statistics';
  return { opset, producerVersion: version, docString: `${model.name}, compiled by resnetc (${form})` };
}

/** The model as ONNX bytes. */
export function emitOnnx(model: CheckedModel, weights: WeightLookup, options: EmitOnnxOptions = {}): Uint8Array {
  const m = meta(model, options);
  return serializeModel(emitGraph(model, weights, { inference: options.inference ?? false }), m);
}

/** The model streamed to `path`, atomically; returns the bytes written. */
export function writeOnnxFile(path: string, model: CheckedModel, weights: WeightLookup, options: EmitOnnxOptions = {}): number {
  const m = meta(model, options);
  const graph = emitGraph(model, weights, { inference: options.inference ?? false });
  let size = 0;
  writeOutputFile(path, (sink) => {
    size = writeModel(graph, m, sink);
  });
  return size;
}

export interface OnnxCompileOptions extends EmitOnnxOptions {
  output: string;
  /** Seed of the torchvision-style initialisation (0 unless set). */
  seed?: number;
  zeroInitResidual?: boolean;
  /** An ONNX file of the same architecture to take the weights from instead. */
  weightsFile?: string;
  /** Weights read elsewhere (e.g. a safetensors state_dict), and where they came from, for the report. */
  weights?: { lookup: WeightLookup; from: string };
}

export interface OnnxCompileResult {
  path: string;
  bytes: number;
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
    weights = checkedWeights(importOnnxWeightSource(readInputFile(options.weightsFile, 'weights'), model), options.weightsFile);
    weightsFrom = options.weightsFile;
  } else {
    // Computed tensor by tensor as the writer reaches them: the model is never whole in memory.
    weights = initialWeightSource(model, { seed: options.seed ?? 0, zeroInitResidual: options.zeroInitResidual ?? false });
    weightsFrom = `seed ${options.seed ?? 0}${options.zeroInitResidual ? ', zero-init residual' : ''}`;
  }
  return { weightsFrom, write: () => ({ path: options.output, bytes: writeOnnxFile(options.output, model, weights, options), weightsFrom }) };
}
