/**
 * The ONNX backend: checked model → ONNX file, and ONNX file → weights.
 *
 * Stable API (the tfjs backend and the tests rely on these signatures):
 *
 *   emitOnnx(model, weights, { opset?, inference? }): Uint8Array
 *     The whole ModelProto in one buffer (allocated once, at its final size). `weights` is a
 *     WeightSet (Map from PyTorch names to float32 arrays in PyTorch layouts) or a
 *     WeightSource (src/weights/source.ts): initialWeightSource(model, { seed }), which
 *     computes tensors on demand, or openWeightSource(path, model) for a weights file.
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
 *     The same, matched at once but decoded tensor by tensor on demand.
 *   parseOnnxWeights(bytes): OnnxWeightsFile
 *     The file decoded once, its input channels and classes, and match(model) as above:
 *     what src/weights/formats/onnx.ts wraps as a weight source.
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
import { writeOutputFile } from '../io/write.js';
import { initialWeightSource, type WeightSet } from '../weights/init.js';
import { asWeightSource, type WeightSource } from '../weights/source.js';
import { emitGraph } from './emit.js';
import { checkOpset, defaultOpset } from './opset.js';
import { serializeModel, writeModel, type ModelMeta } from './writer.js';

export { OnnxError } from './errors.js';
export { importOnnxWeights, importOnnxWeightSource, parseOnnxWeights, type OnnxWeightsFile } from './import.js';
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
export function emitOnnx(model: CheckedModel, weights: WeightSet | WeightSource, options: EmitOnnxOptions = {}): Uint8Array {
  const m = meta(model, options);
  return serializeModel(emitGraph(model, asWeightSource(weights), { inference: options.inference ?? false }), m);
}

/** The model streamed to `path`, atomically; returns the bytes written. */
export function writeOnnxFile(path: string, model: CheckedModel, weights: WeightSet | WeightSource, options: EmitOnnxOptions = {}): number {
  const m = meta(model, options);
  const graph = emitGraph(model, asWeightSource(weights), { inference: options.inference ?? false });
  let size = 0;
  writeOutputFile(path, (sink) => {
    size = writeModel(graph, m, sink);
  });
  return size;
}

export interface OnnxCompileOptions extends EmitOnnxOptions {
  output: string;
  /** Where the weights come from (src/weights: openWeightSource, initialWeightSource); the seeded initialisation below when absent. */
  weights?: WeightSource;
  /** Seed of the torchvision-style initialisation when `weights` is absent (0 unless set). */
  seed?: number;
  zeroInitResidual?: boolean;
}

export interface OnnxCompileResult {
  path: string;
  bytes: number;
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
  return { weightsFrom: weights.from, write: () => ({ path: options.output, bytes: writeOnnxFile(options.output, model, weights, options), weightsFrom: weights.from }) };
}
