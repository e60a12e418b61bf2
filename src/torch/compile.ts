import { createRequire } from 'node:module';
import type { CheckedModel } from '../model/types.js';
import { writeOutputFile, type ByteSink } from '../io/write.js';
import type { WeightSource } from '../weights/source.js';
import { stateDictMetadata, writeStateDict } from '../weights/state-dict.js';
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
  /** Where the weights come from (src/weights: initialWeightSource, openWeightSource). */
  weights: WeightSource;
  /** Runs the final write (the command line holds Ctrl-C back for it alone); the write runs as it is when absent. */
  writing?: <T>(write: () => T | Promise<T>) => Promise<T>;
}

/** The one place the PyTorch targets write a file: through src/io's writer (atomic, never over an input or a device; docs/files.md). */
function writeOutput(path: string, write: (sink: ByteSink) => void): void {
  writeOutputFile(path, write);
}

const run = async <T>(write: () => T | Promise<T>): Promise<T> => write();

function namesOf(model: CheckedModel): string {
  return torchLayout(model) === 'torchvision' ? "torchvision's names" : "timm ResNetV2's names";
}

/** `resnetc compile --target safetensors`: the model's weights (from the source, one tensor at a time) as a PyTorch state_dict. */
export async function compileSafetensors(model: CheckedModel, o: TorchCompileOptions): Promise<string> {
  const metadata = stateDictMetadata(model, `resnetc ${version}`);
  let bytes = 0;
  await (o.writing ?? run)(() =>
    writeOutput(o.output, (sink) => {
      bytes = writeStateDict(model, o.weights, metadata, sink);
    }),
  );
  return `wrote ${o.output}: ${model.name}, safetensors under ${namesOf(model)}, running statistics included, weights from ${o.weights.from}, ${(bytes / 1e6).toFixed(1)} MB`;
}

/** `resnetc compile --target pytorch`: the model as a Python module (weights go in with --target safetensors). */
export async function compilePytorch(model: CheckedModel, o: Omit<TorchCompileOptions, 'weights'>): Promise<string> {
  const text = new TextEncoder().encode(emitPython(model, { version }));
  await (o.writing ?? run)(() => writeOutput(o.output, (sink) => sink.write(text)));
  return `wrote ${o.output}: ${model.name}, a PyTorch module under ${namesOf(model)} (build() returns it)`;
}
