import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { CheckedModel } from '../model/types.js';
import { defaultOpset } from '../onnx/opset.js';
import { isTfjsModelPath } from '../tfjs/model-path.js';
import { CliError } from './errors.js';
import { withInterruptsDeferred } from './interrupt.js';
import { loadModel } from './load.js';
import type { Output } from './output.js';

/** The options of `resnetc compile`, parsed; each target reads those that concern it. */
export interface CompileOptions {
  output: string;
  opset?: number;
  inference: boolean;
  seed: number;
  zeroInitResidual: boolean;
  /** ONNX: height and width symbolic, like the batch (the graph runs at any input size). */
  dynamicSize?: boolean;
  /** ONNX: tensors in an external data file beside the model even when it would fit in one (they go there anyway past 2 GiB). */
  externalData?: boolean;
  /** An ONNX file, safetensors file or tfjs model directory of the same architecture to take the weights from. */
  weights?: string;
  /**
   * Runs the final write: the command line holds Ctrl-C and SIGTERM back for it (and only
   * for it), so an interrupt never cuts a write short yet stops any earlier step at once.
   */
  writing: <T>(write: () => T | Promise<T>) => Promise<T>;
}

/** A compile target: writes the model where the options say and returns a one-line report. */
export type CompileTarget = (model: CheckedModel, options: CompileOptions) => Promise<string> | string;

const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

/** ONNX: src/onnx does the work (loaded only when asked for); its failures become command-line errors with their codes. */
const compileOnnxTarget: CompileTarget = async (model, o) => {
  const { prepareOnnxCompile } = await import('../onnx/index.js');
  const { isPytorchWeightsFile, readSafetensorsWeights } = await import('../weights/state-dict.js');
  const weights = o.weights === undefined ? {} : isPytorchWeightsFile(o.weights) ? { weights: { lookup: readSafetensorsWeights(o.weights, model), from: o.weights } } : { weightsFile: o.weights };
  const compile = prepareOnnxCompile(model, {
    output: o.output,
    opset: o.opset ?? defaultOpset,
    inference: o.inference,
    seed: o.seed,
    zeroInitResidual: o.zeroInitResidual,
    externalData: o.externalData ?? false,
    dynamicSize: o.dynamicSize ?? false,
    ...weights,
  });
  const result = await o.writing(() => compile.write());
  const form = `${o.inference ? 'inference form' : 'training form'}${o.dynamicSize ? ', any input size' : ''}`;
  const data = result.data ? `, tensors in ${result.data.path} (external data, ${megabytes(result.data.bytes)})` : '';
  return `wrote ${result.path}: ${model.name}, ONNX opset ${o.opset ?? defaultOpset}, ${form}, weights from ${result.weightsFrom}, ${megabytes(result.bytes)}${data}`;
};

/** Every target `--target` accepts. Another backend adds its entry here (e.g. `tfjs: compileTfjsTarget`). */
export const targets: Record<string, CompileTarget> = {
  onnx: async (model, o) => {
    if (o.weights === undefined || !isTfjsModelPath(o.weights)) return compileOnnxTarget(model, o);
    const { compileOnnxFromTfjs } = await import('../tfjs/compile.js');
    return compileOnnxFromTfjs(model, {
      output: o.output,
      weights: o.weights,
      inference: o.inference,
      externalData: o.externalData ?? false,
      dynamicSize: o.dynamicSize ?? false,
      writing: o.writing,
      ...(o.opset !== undefined ? { opset: o.opset } : {}),
    });
  },
  // TensorFlow.js takes some 300 ms to load: only the commands that use it load it.
  tfjs: async (model, o) => {
    const { compileTfjs } = await import('../tfjs/compile.js');
    return compileTfjs(model, { output: o.output, seed: o.seed, zeroInitResidual: o.zeroInitResidual, writing: o.writing, ...(o.weights !== undefined ? { weights: o.weights } : {}) });
  },
  // PyTorch's formats: the weights as a state_dict, and the model as a Python module (src/torch).
  safetensors: async (model, o) => (await import('../torch/compile.js')).compileSafetensors(model, o),
  pytorch: async (model, o) => (await import('../torch/compile.js')).compilePytorch(model, o),
};

function integer(what: string): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) throw new CliError('R0901', `${what} must be a whole number, not '${text}'`, 2);
    return n;
  };
}

export function registerCompile(program: Command, out: Output): void {
  program
    .command('compile')
    .argument('<file>', 'a .resnet file')
    .requiredOption('-t, --target <target>', `what to compile to: ${Object.keys(targets).join(', ')}`)
    .requiredOption('-o, --output <path>', 'the file to write')
    .option('-m, --model <name>', 'the model to compile (needed when the file declares several)')
    .option('--opset <n>', `ONNX opset, 13 to 21 (default ${defaultOpset})`, integer('--opset'))
    .option('--inference', 'fold the norms into the convolutions: the graph a deployment wants')
    .option('--seed <n>', 'seed of the weight initialisation', integer('--seed'), 0)
    .option('--zero-init-residual', "start each residual branch's last norm scale at 0")
    .option('--dynamic-size', 'ONNX: height and width symbolic, like the batch, so the graph runs at any input size')
    .option('--external-data', 'ONNX: write the tensors to OUTPUT.data beside the model (ONNX external data), as is done anyway for a model over 2 GiB')
    .option('--weights <path>', 'take the weights from an ONNX file, a safetensors state_dict (torchvision\'s or timm\'s names) or a tfjs model directory of the same architecture')
    .action(async (file: string, opts: { target: string; output: string; model?: string; opset?: number; inference?: boolean; seed: number; zeroInitResidual?: boolean; externalData?: boolean; dynamicSize?: boolean; weights?: string }) => {
      const target = targets[opts.target];
      if (!target) {
        throw new CliError('R0901', `unknown target '${opts.target}'`, 2, `the targets are ${Object.keys(targets).join(', ')}`);
      }
      if (opts.dynamicSize && opts.target !== 'onnx') {
        throw new CliError('R0901', `--dynamic-size applies to --target onnx, not ${opts.target}`, 2, 'leave --dynamic-size out, or compile to onnx');
      }
      const { model } = loadModel(file, opts.model, out, 'compile', 'build');
      const options: CompileOptions = {
        output: resolve(opts.output),
        inference: opts.inference ?? false,
        seed: opts.seed,
        zeroInitResidual: opts.zeroInitResidual ?? false,
        externalData: opts.externalData ?? false,
        dynamicSize: opts.dynamicSize ?? false,
        ...(opts.opset !== undefined ? { opset: opts.opset } : {}),
        ...(opts.weights !== undefined ? { weights: opts.weights } : {}),
        writing: withInterruptsDeferred,
      };
      out.out((await target(model, options)) + '\n');
    });
}
