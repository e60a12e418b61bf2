import * as tf from '../tfjs/tf.js';
import { dirname, join } from 'node:path';
import { CodedError } from '../diagnostics/coded-error.js';
import type { CheckedModel } from '../model/types.js';
import { buildTfjsModel } from '../tfjs/build.js';
import { prepareOutputFolder, writeOutputFile } from '../io/write.js';
import { modelDirFiles, saveModelDir } from '../tfjs/io.js';
import { getWeights, setWeights, weightTensors } from '../tfjs/weights.js';
import { initialWeights, type WeightSet } from '../weights/init.js';
import type { WeightLookup } from '../weights/source.js';
import { type Augment, epochOrder, epochPlan, type EpochPlan, makeBatch, random } from './batches.js';
import { type Checkpoint, checkpointFiles, CheckpointError, type Progress, readCheckpoint, type RunRecord, runRecord } from './checkpoint.js';
import { writeCheckpointDir } from './checkpoint-store.js';
import type { DataSplits, Dataset } from './data.js';
import { type EpochMetrics, metricsCsv, metricsJsonl, plotSvg } from './metrics.js';
import { frozenTensors } from './freeze.js';
import { adamwDefaults, AdamW, type Optimizer, type OptimizerName, type Schedule, Sgd, stepLearningRate } from './optimizer.js';
import { BatchNorm2D } from '../tfjs/layers.js';

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
  /** Starting weights (a WeightSet or a WeightSource: PyTorch's names and layouts); the seeded initialisation when absent. */
  initial?: WeightLookup;
  /** Zero-init the last norm of each residual branch (torchvision's zero_init_residual). */
  zeroInitResidual?: boolean;
  /** A checkpoint directory to continue from. */
  resume?: string;
  /** `sgd` (momentum, weight decay, `nesterov`) or `adamw` (decoupled weight decay, `betas`, `eps`); sgd unless set. */
  optimizer?: OptimizerName;
  nesterov?: boolean;
  /** AdamW's (β1, β2); PyTorch's (0.9, 0.999) unless set. */
  betas?: [number, number];
  /** AdamW's eps; PyTorch's 1e-8 unless set. */
  eps?: number;
  /** Epochs of linear warmup from 0 (whole, fewer than `epochs`; optimizer.ts: stepLearningRate); 0 unless set. */
  warmup?: number;
  /** The training loss's label smoothing, as PyTorch's CrossEntropyLoss(label_smoothing); 0 unless set. */
  labelSmoothing?: number;
  /** Parts whose parameters are not trained (freeze.ts): `stem`, stage names, `final`, `head`. */
  freeze?: string[];
  /** Every norm in inference mode: normalised by, and keeping, its running statistics (scale and shift still train unless frozen). */
  freezeNorms?: boolean;
}

/** The optimizer the options ask for. */
export function makeOptimizer(o: Pick<TrainOptions, 'optimizer' | 'momentum' | 'weightDecay' | 'nesterov' | 'betas' | 'eps'>): Optimizer {
  return o.optimizer === 'adamw' ? new AdamW(o.weightDecay, o.betas ?? adamwDefaults.betas, o.eps ?? adamwDefaults.eps) : new Sgd(o.momentum, o.weightDecay, o.nesterov ?? false);
}

/**
 * The variables a step trains: the model's trainable weights less those of frozen parts
 * (`frozen`: resnetc's tensor names). `--freeze-norms` puts every norm in inference mode.
 */
export function trainedVariables(model: tf.LayersModel, checked: CheckedModel, frozen: ReadonlySet<string>, freezeNorms = false): tf.Variable[] {
  const tensorOf = weightTensors(model, checked);
  if (freezeNorms) for (const layer of model.layers) if (layer instanceof BatchNorm2D) layer.inference = true;
  return trainableVariables(model).filter((v) => !frozen.has(tensorOf.get(v.name)!.name));
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
  /** Polled after each step: true stops training (Ctrl-C); a checkpoint of where it stopped is written first. */
  shouldStop?(): boolean;
  /** A warning the run gives once (R0612: the last batch of each epoch is dropped). */
  onWarning?(code: 'R0612', message: string): void;
}

export interface TrainResult {
  model: tf.LayersModel;
  metrics: EpochMetrics[];
  /** Completed epochs (including those before a resume). */
  epochsDone: number;
  /** Steps done of the next epoch when stopped (0 otherwise). */
  stepsDone: number;
  stopped: boolean;
}

export { checkpointDir } from './checkpoint-store.js';
export const finalModelDir = 'model';

/**
 * Refuses (R0730) a model whose last output is not the head's logits when it has outputs
 * besides or other than the plain one: training's loss is the cross-entropy of the model's
 * last output, the logits; the outputs listed before them are returned but take no part.
 * A model without `outputs` and without a head is left to checkFits (R0602, no head).
 */
export function checkTrainableOutputs(model: CheckedModel): void {
  const last = model.outputs[model.outputs.length - 1];
  if (!last || last.source === 'logits') return;
  if (model.outputs.length === 1 && model.head === undefined && last.name === 'output') return;
  throw new CodedError(
    'R0730',
    `model '${model.name}' returns ${model.outputs.map((o) => `'${o.name}'`).join(', ')}: training needs its last output to be the head's logits`,
    '`outputs` may list feature maps before `logits`, which must come last (the feature maps take no part in the loss); or train the model without `outputs`',
  );
}

/** The tensor training and evaluation read from a model's outputs: the last (the logits; checkTrainableOutputs). */
export function lastOutput(out: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(out) ? out[out.length - 1]! : out;
}

function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * Seeds every Dropout and DropPath layer (their `seed`, which the mask generator starts from) for one
 * step: a mask depends only on the run's seed, the epoch, the step and the layer, so a
 * resumed run draws exactly the masks the uninterrupted run drew.
 */
function seedDropout(layers: tf.layers.Layer[], seed: number, epoch: number, step: number): void {
  layers.forEach((layer, i) => {
    let h = Math.imul(seed + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(epoch + 1, 0xc2b2ae35) ^ Math.imul(step + 1, 0x27d4eb2f) ^ i;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    (layer as unknown as { seed: number }).seed = (h ^ (h >>> 12)) >>> 0;
  });
}

const freshEpoch = (epoch: number): Progress => ({ epoch, step: 0, rng: null, lossSum: 0, correct: 0, seen: 0, seconds: 0 });

/**
 * The checkpoint in `dir`, read and checked against the run about to start (see
 * readCheckpoint), and with epochs left to train.
 *
 * @throws CheckpointError (R0604, R0608, R0609, R0610)
 */
export function openCheckpoint(dir: string, run: RunRecord, plan: EpochPlan): Checkpoint {
  const checkpoint = readCheckpoint(dir, run, plan.steps);
  const done = checkpoint.state.progress.epoch;
  if (done >= run.epochs) {
    throw new CheckpointError(
      'R0604',
      `the checkpoint in '${dir}' has already trained ${done} of ${run.epochs} epochs: there is nothing to resume`,
      run.schedule === 'constant' ? `raise --epochs above ${done} to train on` : `its trained model is beside it; with --schedule ${run.schedule} the number of epochs cannot change on resume`,
    );
  }
  return checkpoint;
}

/** Puts a checkpoint's weights, running statistics and optimizer state into a freshly built model. */
async function restore(checkpoint: Checkpoint, dir: string, model: tf.LayersModel, checked: CheckedModel, optimizer: Optimizer, variables: tf.Variable[]): Promise<void> {
  const damaged = (what: string): CheckpointError => new CheckpointError('R0609', `the checkpoint in '${dir}' is damaged: ${what}`);
  const { modelJson, weightData } = checkpoint;
  let weights: WeightSet;
  try {
    const saved = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[], weightData }));
    try {
      weights = getWeights(saved, checked);
    } finally {
      saved.dispose();
    }
    setWeights(model, checked, weights);
  } catch (e) {
    // The checksums held, so the files are what a run wrote: of a spec the description did not tell apart, or a bug.
    throw damaged(`its model does not load as ${checked.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const tensorOf = weightTensors(model, checked);
  const names = variables.map((v) => tensorOf.get(v.name)!.name);
  const unknown = checkpoint.momentum.filter((t) => !names.includes(t.name)).map((t) => t.name);
  if (unknown.length > 0) throw damaged(`momentum.bin has buffers for tensors the model lacks (${unknown.slice(0, 3).join(', ')})`);
  const slots = optimizer.slotNames.map((slot) =>
    variables.map((v, i) => {
      const buffer = checkpoint.momentum.find((t) => t.name === names[i] && t.slot === slot)?.data;
      if (!buffer || buffer.length !== v.size) throw damaged(`momentum.bin has ${buffer ? `${buffer.length} values` : 'no buffer'} for '${names[i]}' ${slot} (${v.size} needed)`);
      return buffer;
    }),
  );
  optimizer.load(variables, { slots, step: checkpoint.state.momentum.step });
}

/**
 * Trains a checked model on a data source, as `resnetc train` does: SGD or AdamW
 * (optimizer.ts) on batches cut by epochPlan, in the order epochOrder gives, learning rate per
 * step by the warmup and the schedule, frozen parts and norms left as they are (freeze.ts);
 * after each epoch a test evaluation, a checkpoint and the metrics files. A stop
 * (hooks.shouldStop) writes a checkpoint of exactly where training is — epoch and step,
 * the augmentation generator's state, the optimizer's state, the epoch's running sums — so that
 * `resume` continues to the very weights of an uninterrupted run.
 *
 * @throws CodedError (R0730) when the model's last output is not its logits (checkTrainableOutputs);
 *   BatchError (R0611) when the batch size leaves a norm one value per channel;
 *   FreezeError (R0613, R0614) for a `freeze` naming no part, or freezing everything;
 *   CheckpointError (R0604, R0608–R0610) when `resume` names a checkpoint that cannot continue this run.
 */
export async function train(checked: CheckedModel, data: DataSplits, options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  checkTrainableOutputs(checked);
  const plan = epochPlan(checked, data.train.count, options.batchSize);
  const run = runRecord(checked, data, options);
  const checkpoint = options.resume !== undefined ? openCheckpoint(options.resume, run, plan) : undefined;

  const frozen = frozenTensors(checked, options.freeze ?? []);
  const model = buildTfjsModel(checked);
  const optimizer = makeOptimizer(options);
  const variables = trainedVariables(model, checked, frozen, options.freezeNorms ?? false);
  let metrics: EpochMetrics[] = [];
  let progress = freshEpoch(0);
  if (checkpoint) {
    await restore(checkpoint, options.resume!, model, checked, optimizer, variables);
    metrics = [...checkpoint.state.metrics];
    progress = checkpoint.state.progress;
  } else {
    setWeights(model, checked, options.initial ?? initialWeights(checked, { seed: options.seed, zeroInitResidual: options.zeroInitResidual ?? false }));
  }
  if (plan.dropped) {
    const kept = data.train.count - 1;
    hooks.onWarning?.(
      'R0612',
      `the last batch of each epoch would hold 1 image, which leaves norm '${plan.dropped.name}' one value per channel (its map is 1x1); it is dropped: ${kept} of ${data.train.count} images train per epoch`,
    );
  }

  const tensorOf = weightTensors(model, checked);
  const saveCheckpoint = async (at: Progress): Promise<void> => {
    const state = optimizer.state(variables);
    const momentum = optimizer.slotNames.flatMap((slot, s) => variables.map((v, i) => ({ name: tensorOf.get(v.name)!.name, slot, shape: v.shape, data: state.slots[s]![i]! })));
    writeCheckpointDir(options.out, checkpointFiles(run, at, metrics, await modelDirFiles(model), momentum, state.step));
  };
  const writeMetrics = (): void => {
    writeDirAtomicFiles(options.out, {
      'metrics.csv': metricsCsv(metrics),
      'metrics.jsonl': metricsJsonl(metrics),
      'plot.svg': plotSvg(metrics, `${checked.name}: loss and accuracy`),
    });
  };

  const classes = checked.classes ?? 1;
  // Dropout layers first, so that their seeds are what they were before DropPath existed.
  const dropouts = [...model.layers.filter((l) => l.getClassName() === 'Dropout'), ...model.layers.filter((l) => l.getClassName() === 'DropPath')];
  const totalSteps = plan.steps * options.epochs;
  const warmupSteps = (options.warmup ?? 0) * plan.steps;
  const lrAt = (epoch: number, step: number): number => stepLearningRate(options.lr, options.schedule, epoch * plan.steps + step, totalSteps, warmupSteps);
  let stopped = false;
  const runStart = performance.now();
  let imagesThisRun = 0;

  while (progress.epoch < options.epochs) {
    const epoch = progress.epoch;
    const order = epochOrder(data.train.count, options.seed, epoch);
    const rand = random(options.seed * 7919 + epoch, progress.rng ?? undefined);
    const epochStart = performance.now() - progress.seconds * 1000;
    let { step, lossSum, correct, seen } = progress;
    while (step < plan.steps) {
      const indices = order.subarray(step * options.batchSize, Math.min(data.train.count, (step + 1) * options.batchSize));
      const batch = makeBatch(data.train, indices, options.augment, rand);
      seedDropout(dropouts, options.seed, epoch, step);
      const [loss, hits] = trainStep(model, variables, optimizer, batch, data.train, classes, lrAt(epoch, step), options.labelSmoothing ?? 0);
      step++;
      lossSum += loss * indices.length;
      correct += hits;
      seen += indices.length;
      imagesThisRun += indices.length;
      const elapsed = (performance.now() - runStart) / 1000;
      const rate = imagesThisRun / Math.max(elapsed, 1e-9);
      const remaining = (totalSteps - (epoch * plan.steps + step)) * options.batchSize;
      hooks.onStep?.({ epoch: epoch + 1, epochs: options.epochs, step, steps: plan.steps, loss: lossSum / seen, accuracy: correct / seen, imagesPerSecond: rate, etaSeconds: remaining / rate });
      if (hooks.shouldStop?.()) {
        stopped = true;
        break;
      }
      // Let signals (Ctrl-C) and the progress bar's timer run.
      await new Promise((r) => setImmediate(r));
    }
    const seconds = (performance.now() - epochStart) / 1000;
    if (stopped) {
      progress = { epoch, step, rng: rand.state(), lossSum, correct, seen, seconds };
      break;
    }
    const test = evaluate(model, data.test, classes);
    const row: EpochMetrics = {
      epoch: epoch + 1,
      lr: lrAt(epoch, plan.steps - 1),
      trainLoss: lossSum / seen,
      trainAccuracy: correct / seen,
      testLoss: test.loss,
      testAccuracy: test.accuracy,
      seconds,
      imagesPerSecond: seen / seconds,
    };
    metrics.push(row);
    hooks.onEpoch?.(row);
    progress = freshEpoch(epoch + 1);
    await saveCheckpoint(progress);
    writeMetrics();
  }
  if (stopped) {
    await saveCheckpoint(progress);
  } else {
    await saveModelDir(model, join(options.out, finalModelDir));
  }
  writeMetrics();
  optimizer.dispose();
  return { model, metrics, epochsDone: progress.epoch, stepsDone: stopped ? progress.step : 0, stopped };
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

/**
 * One training-mode forward pass of `x` (NHWC), the scalar `loss` makes of the model's
 * (last) output, and the gradient of that loss for every variable in `variables`, keyed by the
 * variable's name. Running statistics move as the pass goes (BatchNorm2D). The caller
 * disposes both (or runs this in a tidy).
 */
export function lossAndGradients(model: tf.LayersModel, variables: tf.Variable[], x: tf.Tensor4D, loss: (output: tf.Tensor) => tf.Scalar): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  return tf.variableGrads(() => loss(lastOutput(model.apply(x, { training: true }) as tf.Tensor | tf.Tensor[])), variables);
}

/**
 * The training loss: softmax cross-entropy of `logits` [N, classes] against integer labels,
 * the mean over the batch (PyTorch's F.cross_entropy). With label smoothing ε, the target is
 * (1 − ε)·one-hot + ε/classes, as PyTorch's CrossEntropyLoss(label_smoothing=ε) and tfjs's
 * softmaxCrossEntropy(labelSmoothing) both define it.
 */
export function classificationLoss(logits: tf.Tensor, labels: tf.Tensor1D, classes: number, labelSmoothing = 0): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, classes), logits, undefined, labelSmoothing) as tf.Scalar;
}

/** One optimizer step; returns the batch's mean loss and its number of correct predictions. */
export function trainStep(model: tf.LayersModel, variables: tf.Variable[], optimizer: Optimizer, batch: { x: Float32Array; y: Int32Array }, data: Dataset, classes: number, lr: number, labelSmoothing = 0): [number, number] {
  const { c, h, w } = data.shape;
  const n = batch.y.length;
  let hits: tf.Tensor | undefined;
  const lossValue = tf.tidy(() => {
    const x = tf.tensor4d(batch.x, [n, h, w, c]);
    const labels = tf.tensor1d(batch.y, 'int32');
    const { value, grads } = lossAndGradients(model, variables, x, (logits) => {
      hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32')));
      return classificationLoss(logits, labels, classes, labelSmoothing);
    });
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
      const logits = lastOutput(model.apply(x, { training: false }) as tf.Tensor | tf.Tensor[]);
      const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, classes), logits, undefined, undefined, tf.Reduction.SUM);
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32'));
      return [loss.dataSync()[0]!, hits.dataSync()[0]!];
    });
    lossSum += l;
    correct += k;
  }
  return { loss: lossSum / data.count, accuracy: correct / data.count };
}
