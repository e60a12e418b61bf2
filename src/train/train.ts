import * as tf from '../tfjs/tf.js';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CodedError } from '../diagnostics/coded-error.js';
import type { CheckedModel } from '../model/types.js';
import { buildTfjsModel } from '../tfjs/build.js';
import { prepareOutputFolder, writeOutputFile } from '../io/write.js';
import { loadModelDir, modelDirFiles, saveModelDir } from '../tfjs/io.js';
import { setWeights } from '../tfjs/weights.js';
import { initialWeights, type WeightSet } from '../weights/init.js';
import { type Augment, epochOrder, makeBatch, random } from './batches.js';
import { writeCheckpointDir } from './checkpoint-store.js';
import type { DataSplits, Dataset } from './data.js';
import { type EpochMetrics, metricsCsv, metricsJsonl, plotSvg } from './metrics.js';
import { learningRate, type Schedule, Sgd } from './optimizer.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: Schedule;
  augment: Augment | undefined;
  seed: number;
  /** Where the checkpoint, final model, metrics and plot go. */
  out: string;
  /** Starting weights (PyTorch layout); the seeded initialisation when absent. */
  initial?: WeightSet;
  /** Zero-init the last norm of each residual branch (torchvision's zero_init_residual). */
  zeroInitResidual?: boolean;
  /** A checkpoint directory to continue from. */
  resume?: string;
}

export interface StepProgress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  etaSeconds: number;
}

export interface TrainHooks {
  onStep?(p: StepProgress): void;
  onEpoch?(m: EpochMetrics): void;
  /** Polled after each step: true stops training (Ctrl-C); a checkpoint is written first. */
  shouldStop?(): boolean;
}

export interface TrainResult {
  model: tf.LayersModel;
  metrics: EpochMetrics[];
  /** Completed epochs (including those before a resume). */
  epochsDone: number;
  stopped: boolean;
}

/** What a checkpoint directory holds besides the tfjs model. */
export interface CheckpointState {
  format: 'resnetc-checkpoint';
  version: 1;
  model: string;
  /** Epochs completed when it was written; training resumes at the next. */
  epoch: number;
  seed: number;
  metrics: EpochMetrics[];
  /** Momentum buffers: the trainable weights' names in order, each buffer's length. */
  momentum: { names: string[]; sizes: number[] };
}

export { checkpointDir } from './checkpoint-store.js';
export const finalModelDir = 'model';
const stateFile = 'state.json';
const momentumFile = 'momentum.bin';

/** A checkpoint that is missing, damaged or of another model. */
export class CheckpointError extends CodedError {
  constructor(message: string, help?: string) {
    super('R0604', message, help);
  }
}

export function readCheckpointState(dir: string): CheckpointState {
  const path = join(dir, stateFile);
  if (!existsSync(path)) throw new CheckpointError(`'${dir}' is not a resnetc checkpoint (no ${stateFile})`);
  const state = JSON.parse(readFileSync(path, 'utf8')) as CheckpointState;
  if (state.format !== 'resnetc-checkpoint') throw new CheckpointError(`'${path}' is not a resnetc checkpoint`);
  return state;
}

function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** Trains a checked model on a data source, as `resnetc train` does. */
export async function train(checked: CheckedModel, data: DataSplits, options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const model = buildTfjsModel(checked);
  const optimizer = new Sgd(options.momentum, options.weightDecay);
  const variables = trainableVariables(model);
  let metrics: EpochMetrics[] = [];
  let startEpoch = 0;

  if (options.resume) {
    const state = readCheckpointState(options.resume);
    if (state.model !== checked.name) throw new CheckpointError(`the checkpoint in '${options.resume}' is of model '${state.model}', not '${checked.name}'`);
    const saved = await loadModelDir(options.resume);
    const values = saved.getWeights();
    const mismatch = model.weights.length !== values.length || model.weights.some((w, i) => w.shape.join() !== values[i]!.shape.join());
    if (mismatch) {
      saved.dispose();
      throw new CheckpointError(`the checkpoint in '${options.resume}' does not fit model '${checked.name}' as the spec now stands`);
    }
    model.setWeights(values);
    saved.dispose();
    const bytes = readFileSync(join(options.resume, momentumFile));
    const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const buffers: Float32Array[] = [];
    let offset = 0;
    for (const size of state.momentum.sizes) {
      buffers.push(all.subarray(offset, offset + size));
      offset += size;
    }
    optimizer.load(variables, buffers);
    metrics = state.metrics;
    startEpoch = state.epoch;
  } else {
    setWeights(model, checked, options.initial ?? initialWeights(checked, { seed: options.seed, zeroInitResidual: options.zeroInitResidual ?? false }));
  }

  const saveCheckpoint = async (epochsDone: number): Promise<void> => {
    const state: CheckpointState = {
      format: 'resnetc-checkpoint',
      version: 1,
      model: checked.name,
      epoch: epochsDone,
      seed: options.seed,
      metrics,
      momentum: { names: variables.map((v) => v.name), sizes: variables.map((v) => v.size) },
    };
    const buffers = optimizer.state(variables);
    const total = new Float32Array(buffers.reduce((a, b) => a + b.length, 0));
    let offset = 0;
    for (const b of buffers) {
      total.set(b, offset);
      offset += b.length;
    }
    writeCheckpointDir(options.out, await modelDirFiles(model, { [stateFile]: JSON.stringify(state, null, 2), [momentumFile]: new Uint8Array(total.buffer) }));
  };
  const writeMetrics = (): void => {
    writeDirAtomicFiles(options.out, {
      'metrics.csv': metricsCsv(metrics),
      'metrics.jsonl': metricsJsonl(metrics),
      'plot.svg': plotSvg(metrics, `${checked.name}: loss and accuracy`),
    });
  };

  const classes = checked.classes ?? 1;
  const stepsPerEpoch = Math.ceil(data.train.count / options.batchSize);
  const totalSteps = stepsPerEpoch * options.epochs;
  let stopped = false;
  let epoch = startEpoch;
  const runStart = performance.now();
  let imagesThisRun = 0;

  for (; epoch < options.epochs && !stopped; epoch++) {
    const order = epochOrder(data.train.count, options.seed, epoch);
    const rand = random(options.seed * 7919 + epoch);
    const epochStart = performance.now();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let lr = options.lr;
    for (let step = 0; step < stepsPerEpoch; step++) {
      lr = learningRate(options.lr, options.schedule, (epoch * stepsPerEpoch + step) / totalSteps);
      const indices = order.subarray(step * options.batchSize, Math.min(data.train.count, (step + 1) * options.batchSize));
      const batch = makeBatch(data.train, indices, options.augment, rand);
      const [loss, hits] = trainStep(model, variables, optimizer, batch, data.train, classes, lr);
      lossSum += loss * indices.length;
      correct += hits;
      seen += indices.length;
      imagesThisRun += indices.length;
      const elapsed = (performance.now() - runStart) / 1000;
      const rate = imagesThisRun / Math.max(elapsed, 1e-9);
      const remaining = (totalSteps - (epoch * stepsPerEpoch + step + 1)) * options.batchSize;
      hooks.onStep?.({ epoch: epoch + 1, epochs: options.epochs, step: step + 1, steps: stepsPerEpoch, loss: lossSum / seen, accuracy: correct / seen, imagesPerSecond: rate, etaSeconds: remaining / rate });
      if (hooks.shouldStop?.()) {
        stopped = true;
        break;
      }
      // Let signals (Ctrl-C) and the progress bar's timer run.
      await new Promise((r) => setImmediate(r));
    }
    if (stopped) break;
    const seconds = (performance.now() - epochStart) / 1000;
    const test = evaluate(model, data.test, classes);
    const row: EpochMetrics = {
      epoch: epoch + 1,
      lr,
      trainLoss: lossSum / seen,
      trainAccuracy: correct / seen,
      testLoss: test.loss,
      testAccuracy: test.accuracy,
      seconds,
      imagesPerSecond: seen / seconds,
    };
    metrics.push(row);
    hooks.onEpoch?.(row);
    await saveCheckpoint(epoch + 1);
    writeMetrics();
  }
  if (stopped) {
    await saveCheckpoint(epoch);
  } else {
    await saveModelDir(model, join(options.out, finalModelDir));
  }
  writeMetrics();
  optimizer.dispose();
  return { model, metrics, epochsDone: stopped ? epoch : options.epochs, stopped };
}

function writeDirAtomicFiles(dir: string, files: Record<string, string>): void {
  // Each file is written to a temporary name and renamed over the old one.
  for (const [name, text] of Object.entries(files)) writeFileAtomic(join(dir, name), text);
}

/** Writes a file whole or not at all (src/io/write.ts), its folder made as needed. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  prepareOutputFolder(dirname(path));
  writeOutputFile(path, data);
}

/** One SGD step; returns the batch's mean loss and its number of correct predictions. */
export function trainStep(model: tf.LayersModel, variables: tf.Variable[], optimizer: Sgd, batch: { x: Float32Array; y: Int32Array }, data: Dataset, classes: number, lr: number): [number, number] {
  const { c, h, w } = data.shape;
  const n = batch.y.length;
  let hits: tf.Tensor | undefined;
  const lossValue = tf.tidy(() => {
    const x = tf.tensor4d(batch.x, [n, h, w, c]);
    const labels = tf.tensor1d(batch.y, 'int32');
    const onehot = tf.oneHot(labels, classes);
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.apply(x, { training: true }) as tf.Tensor2D;
      hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32')));
      return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
    }, variables);
    optimizer.step(variables, grads, lr);
    return value;
  });
  const loss = lossValue.dataSync()[0]!;
  const correct = hits!.dataSync()[0]!;
  lossValue.dispose();
  hits!.dispose();
  return [loss, correct];
}

/** Mean loss and accuracy on a dataset (inference mode: running statistics, no dropout). */
export function evaluate(model: tf.LayersModel, data: Dataset, classes: number, batchSize = 256): { loss: number; accuracy: number } {
  let lossSum = 0;
  let correct = 0;
  const { c, h, w } = data.shape;
  const rand = random(0);
  for (let start = 0; start < data.count; start += batchSize) {
    const end = Math.min(data.count, start + batchSize);
    const indices = Array.from({ length: end - start }, (_, k) => start + k);
    const batch = makeBatch(data, indices, undefined, rand);
    const [l, k] = tf.tidy(() => {
      const x = tf.tensor4d(batch.x, [indices.length, h, w, c]);
      const labels = tf.tensor1d(batch.y, 'int32');
      const logits = model.apply(x, { training: false }) as tf.Tensor2D;
      const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, classes), logits, undefined, undefined, tf.Reduction.SUM);
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32'));
      return [loss.dataSync()[0]!, hits.dataSync()[0]!];
    });
    lossSum += l;
    correct += k;
  }
  return { loss: lossSum / data.count, accuracy: correct / data.count };
}
