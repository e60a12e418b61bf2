import type { Command } from 'commander';
import { extname } from 'node:path';
import { findPreprocess, plainPreprocess, type Preprocess, preprocessFile, readPreprocess } from '../images/preprocess.js';
import { type Classifier, onnxClassifier, tfjsClassifier } from '../infer/classifier.js';
import type { CheckedModel } from '../model/types.js';
import { BackendUnavailable, backendChoices, type ConcreteBackend, isBackendChoice, selectBackend } from '../tfjs/backend.js';
import { CliError, printWarning } from './errors.js';
import { loadModel } from './load.js';
import type { Output } from './output.js';

/**
 * What eval and predict share: the spec's model, its preprocessing, and the classifier
 * that runs it (src/infer), chosen by `--weights`, `--preprocess`, `--runtime` and `--backend`.
 */

/** `--backend NAME` as train takes it: a usage error (R0605, exit 2) for a name that is no backend, R0605 when the one named cannot load. */
export async function chooseBackend(choice: string): Promise<ConcreteBackend> {
  if (!isBackendChoice(choice)) throw new CliError('R0605', `unknown backend '${choice}'`, 2, `the backends are ${backendChoices.join(', ')}`);
  try {
    return await selectBackend(choice);
  } catch (e) {
    if (e instanceof BackendUnavailable) throw new CliError('R0605', e.message, 1, choice === 'auto' ? undefined : 'use --backend auto to take the first that loads');
    throw e;
  }
}

/** The options eval and predict share. */
export interface InferenceFlags {
  weights: string;
  model?: string;
  preprocess?: string;
  runtime: string;
  backend: string;
  json?: boolean;
}

export const runtimes = ['auto', 'tfjs', 'onnx'] as const;

/** Adds the options of InferenceFlags but `--json` (whose wording differs) to `command`. */
export function inferenceOptions(command: Command): Command {
  return command
    .requiredOption('--weights <path>', 'the trained weights: a tfjs model folder (OUT/model), an ONNX file (run by ONNX Runtime) or a safetensors file')
    .option('-m, --model <name>', 'the model (needed when the file declares several)')
    .option('--preprocess <file>', 'the normalisation and class names (default: preprocess.json kept with the weights)')
    .option('--runtime <name>', `${runtimes.join(' | ')}: auto runs an .onnx file in ONNX Runtime, anything else in tfjs`, 'auto')
    .option('--backend <name>', 'the tfjs backend, as for train', 'auto');
}

/** What eval and predict run: the spec's model, its preprocessing, the classifier and the name of each class. */
export interface Inference {
  model: CheckedModel;
  classes: number;
  preprocess: Preprocess;
  classifier: Classifier;
  /** Where the classifier runs, for messages: `tfjs, backend wasm`, `ONNX Runtime`. */
  where: string;
  name(index: number): string;
}

/**
 * The spec's model and what runs it, as `--weights`, `--preprocess`, `--runtime` and
 * `--backend` say: the preprocessing from `--preprocess FILE`, else the one kept with the
 * weights (findPreprocess), else value/255 with numbered classes and a warning (R0660);
 * ONNX Runtime for an `.onnx` file unless `--runtime tfjs`, the spec's tfjs model otherwise.
 */
export async function openInference(file: string, flags: InferenceFlags, out: Output, command: string): Promise<Inference> {
  if (!(runtimes as readonly string[]).includes(flags.runtime)) throw new CliError('R0663', `unknown runtime '${flags.runtime}'`, 2, `the runtimes are ${runtimes.join(', ')}`);
  const onnx = flags.runtime === 'onnx' || (flags.runtime === 'auto' && extname(flags.weights).toLowerCase() === '.onnx');
  if (onnx && flags.runtime === 'onnx' && extname(flags.weights).toLowerCase() !== '.onnx') throw new CliError('R0663', `--runtime onnx runs an ONNX file; '${flags.weights}' is not one (*.onnx)`, 2);
  const { model } = loadModel(file, flags.model, out, command, 'build');
  if (model.classes === undefined || model.head === undefined) {
    throw new CliError('R0602', `model '${model.name}' has no head to classify with${model.classes !== undefined ? ': its `outputs` do not list `logits`' : ''}`, 1, model.classes !== undefined ? 'list `logits` last in `outputs`' : 'add `classes N` to the spec');
  }
  let preprocess: Preprocess;
  const kept = flags.preprocess ?? findPreprocess(flags.weights);
  if (kept !== undefined) preprocess = readPreprocess(kept, model.input, model.classes);
  else {
    preprocess = plainPreprocess(model.input);
    printWarning(out, 'R0660', `no ${preprocessFile} with '${flags.weights}': pixels reach the model as value/255, images are resized whole to ${model.input.h}x${model.input.w}, classes are numbered (what resnetc train did before it kept preprocess.json)`);
  }
  let classifier: Classifier;
  let where: string;
  if (onnx) {
    classifier = await onnxClassifier(model, flags.weights);
    where = 'ONNX Runtime';
  } else {
    const backend = await chooseBackend(flags.backend);
    classifier = await tfjsClassifier(model, flags.weights);
    where = `tfjs, backend ${backend}`;
  }
  const names = preprocess.classes;
  return { model, classes: model.classes, preprocess, classifier, where, name: (i) => names?.[i] ?? String(i) };
}

/** A whole number of at least 1 from an option; R0663 (usage) otherwise. */
export function positiveOption(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < 1) throw new CliError('R0663', `${flag} must be a positive whole number, not '${text}'`, 2);
  return n;
}

/** Seconds as `42s`, `3m05s`, `2h07m` (an ETA). */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
