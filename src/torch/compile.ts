import { createRequire } from 'node:module';
import { CodedError } from '../diagnostics/coded-error.js';
import type { CheckedModel } from '../model/types.js';
import { writeOutputFile, type ByteSink } from '../io/write.js';
import { isTfjsModelPath } from '../tfjs/model-path.js';
import { initialWeightSource, type WeightLookup } from '../weights/init.js';
import { isPytorchWeightsFile, readSafetensorsWeights, stateDictMetadata, writeStateDict } from '../weights/state-dict.js';
import { torchLayout } from '../weights/torch-names.js';
import { emitPython } from './python.js';

/**
 * The compile targets of PyTorch's formats: `--target safetensors` (the weights as a
 * PyTorch state_dict) and `--target pytorch` (the model as a Python module). Loaded only when
 * one of them runs.
 */

export const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

export interface TorchCompileOptions {
  output: string;
  seed: number;
  zeroInitResidual: boolean;
  /** An ONNX file, a tfjs model directory or a safetensors file of the same network. */
  weights?: string;
  /** Runs the final write (the command line holds Ctrl-C back for it alone); the write runs as it is when absent. */
  writing?: <T>(write: () => T | Promise<T>) => Promise<T>;
}

/** The one place the PyTorch targets write a file: through src/io's writer (atomic, never over an input or a device; docs/files.md). */
function writeOutput(path: string, write: (sink: ByteSink) => void): void {
  writeOutputFile(path, write);
}

/**
 * The weights `--weights` names, matched to the model: a safetensors state_dict (by the
 * naming table), an ONNX file (by place), or a tfjs model directory written by resnetc (by
 * layer name). A pickled PyTorch file is refused (R1000) with the way to convert it.
 */
export async function readWeights(path: string, model: CheckedModel): Promise<WeightLookup> {
  if (isTfjsModelPath(path)) return (await import('../tfjs/compile.js')).readWeights(path, model);
  if (isPytorchWeightsFile(path)) return readSafetensorsWeights(path, model);
  const { readOnnxWeightSource } = await import('../onnx/index.js');
  return readOnnxWeightSource(path, model);
}

const run = async <T>(write: () => T | Promise<T>): Promise<T> => write();

async function weightsFor(model: CheckedModel, o: TorchCompileOptions): Promise<{ weights: WeightLookup; from: string }> {
  if (o.weights !== undefined) return { weights: await readWeights(o.weights, model), from: o.weights };
  return {
    weights: initialWeightSource(model, { seed: o.seed, zeroInitResidual: o.zeroInitResidual }),
    from: `seed ${o.seed}${o.zeroInitResidual ? ', zero-init residual' : ''}`,
  };
}

function namesOf(model: CheckedModel): string {
  return torchLayout(model) === 'torchvision' ? "torchvision's names" : "timm ResNetV2's names";
}

/** `resnetc compile --target safetensors`: the model's weights (initialised or from `--weights`) as a PyTorch state_dict. */
export async function compileSafetensors(model: CheckedModel, o: TorchCompileOptions): Promise<string> {
  const { weights, from } = await weightsFor(model, o);
  const metadata = stateDictMetadata(model, `resnetc ${version}`);
  let bytes = 0;
  await (o.writing ?? run)(() =>
    writeOutput(o.output, (sink) => {
      bytes = writeStateDict(model, weights, metadata, sink);
    }),
  );
  return `wrote ${o.output}: ${model.name}, safetensors under ${namesOf(model)}, running statistics included, weights from ${from}, ${(bytes / 1e6).toFixed(1)} MB`;
}

/** `resnetc compile --target pytorch`: the model as a Python module (weights go in with --target safetensors). */
export async function compilePytorch(model: CheckedModel, o: TorchCompileOptions): Promise<string> {
  if (o.weights !== undefined) {
    throw new CodedError('R0901', '--weights does not apply to --target pytorch: the module is code', 'write the weights with --target safetensors and load them with load_state_dict', 2);
  }
  const text = new TextEncoder().encode(emitPython(model, { version }));
  await (o.writing ?? run)(() => writeOutput(o.output, (sink) => sink.write(text)));
  return `wrote ${o.output}: ${model.name}, a PyTorch module under ${namesOf(model)} (build() returns it)`;
}
