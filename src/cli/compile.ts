import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { CheckedModel } from '../model/types.js';
import { defaultOpset } from '../onnx/opset.js';
import type { WeightSource } from '../weights/source.js';
import { CliError } from './errors.js';
import { keepPreprocessBeside } from './images.js';
import { withInterruptsDeferred } from './interrupt.js';
import { loadModel } from './load.js';
import { weightSource } from './weights.js';
import type { Output } from './output.js';

/** The options of `resnetc compile`, parsed; each target reads those that concern it. */
export interface CompileOptions {
  output: string;
  opset?: number;
  inference: boolean;
  /** The weights: seeded (--seed, --zero-init-residual), or the source --weights names, opened and matched to the model. */
  weights: WeightSource;
  /** ONNX: tensors in an external data file beside the model even when it would fit in one (they go there anyway past 2 GiB). */
  externalData?: boolean;
  /** ONNX: height and width symbolic, like the batch (the graph runs at any input size). */
  dynamicSize?: boolean;
  /**
   * Runs the final write: the command line holds Ctrl-C and SIGTERM back for it (and only
   * for it), so an interrupt never cuts a write short yet stops any earlier step at once.
   */
  writing: <T>(write: () => T | Promise<T>) => Promise<T>;
}

/** A compile target: writes the model where the options say and returns a one-line report. */
export type CompileTarget = (model: CheckedModel, options: CompileOptions) => Promise<string> | string;

const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

/** Every target `--target` accepts; each backend is loaded only when its target runs. */
export const targets: Record<string, CompileTarget> = {
  onnx: async (model, o) => {
    const { prepareOnnxCompile } = await import('../onnx/index.js');
    const compile = prepareOnnxCompile(model, { output: o.output, opset: o.opset ?? defaultOpset, inference: o.inference, externalData: o.externalData ?? false, dynamicSize: o.dynamicSize ?? false, weights: o.weights });
    const result = await o.writing(() => compile.write());
    const form = `${o.inference ? 'inference form' : 'training form'}${o.dynamicSize ? ', any input size' : ''}`;
    const data = result.data ? `, tensors in ${result.data.path} (external data, ${megabytes(result.data.bytes)})` : '';
    return `wrote ${result.path}: ${model.name}, ONNX opset ${o.opset ?? defaultOpset}, ${form}, weights from ${result.weightsFrom}, ${megabytes(result.bytes)}${data}`;
  },
  // TensorFlow.js takes some 300 ms to load: only the commands that use it load it.
  tfjs: async (model, o) => (await import('../tfjs/compile.js')).compileTfjs(model, o),
  // PyTorch's formats: the weights as a state_dict, and the model as a Python module (src/torch).
  safetensors: async (model, o) => (await import('../torch/compile.js')).compileSafetensors(model, o),
  pytorch: async (model, o) => (await import('../torch/compile.js')).compilePytorch(model, o),
};

/** Targets that write no weights: --weights is a misuse of them. */
const withoutWeights = new Set(['pytorch']);

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
    .option('--weights <path>', "take the weights from an ONNX file, a safetensors state_dict (torchvision's or timm's names) or a tfjs model directory of the same network (a head of other classes is initialised afresh, other input channels adapted as timm does)")
    .option('--strict-weights', 'refuse --weights whose head or input channels differ from the spec instead of adapting them')
    .action(async (file: string, opts: { target: string; output: string; model?: string; opset?: number; inference?: boolean; seed: number; zeroInitResidual?: boolean; externalData?: boolean; dynamicSize?: boolean; weights?: string; strictWeights?: boolean }) => {
      const target = targets[opts.target];
      if (!target) {
        throw new CliError('R0901', `unknown target '${opts.target}'`, 2, `the targets are ${Object.keys(targets).join(', ')}`);
      }
      if (opts.dynamicSize && opts.target !== 'onnx') {
        throw new CliError('R0901', `--dynamic-size applies to --target onnx, not ${opts.target}`, 2, 'leave --dynamic-size out, or compile to onnx');
      }
      if (opts.weights !== undefined && withoutWeights.has(opts.target)) {
        throw new CliError('R0901', `--weights does not apply to --target ${opts.target}: the module is code`, 2, 'write the weights with --target safetensors and load them with load_state_dict');
      }
      const { model } = loadModel(file, opts.model, out, 'compile', 'build');
      const options: CompileOptions = {
        output: resolve(opts.output),
        inference: opts.inference ?? false,
        weights: await weightSource(model, { seed: opts.seed, zeroInitResidual: opts.zeroInitResidual ?? false, strict: opts.strictWeights ?? false, ...(opts.weights !== undefined ? { path: opts.weights } : {}) }, out),
        externalData: opts.externalData ?? false,
        dynamicSize: opts.dynamicSize ?? false,
        ...(opts.opset !== undefined ? { opset: opts.opset } : {}),
        writing: withInterruptsDeferred,
      };
      out.out((await target(model, options)) + '\n');
      const kept = keepPreprocessBeside(opts.weights, options.output);
      if (kept !== undefined) out.out(`${kept}\n`);
    });
}
