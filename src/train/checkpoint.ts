import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CodedError } from '../diagnostics/coded-error.js';
import { readInputFile, readInputText } from '../io/read.js';
import type { Code } from '../diagnostics/codes.js';
import { describeModel, differences, fingerprint, type ModelDescription } from '../model/describe.js';
import type { CheckedModel } from '../model/types.js';
import { modelFile, weightsFile } from '../tfjs/model-path.js';
import type { Augment } from './batches.js';
import type { DataSplits } from './data.js';
import type { EpochMetrics } from './metrics.js';
import { freezeParts } from './freeze.js';
import { adamwDefaults, type OptimizerName, type Schedule, type Slot } from './optimizer.js';
import type { TrainOptions } from './train.js';

/**
 * What a training checkpoint holds, and how `--resume` reads it back.
 *
 * A checkpoint directory has four files: `model.json` and `weights.bin` (the tfjs model:
 * weights and running statistics), `momentum.bin` (the optimizer's buffers: SGD's momentum,
 * AdamW's exp_avg and exp_avg_sq; float32, little-endian, in the order `state.json` lists
 * them, each in tfjs's layout) and `state.json`:
 *
 * - `run`: what the checkpoint belongs to — the checked model's full description (every
 *   layer's attributes: see describeModel) with its SHA-256 and a readable summary; the
 *   data (description, counts, SHA-256 of images and labels); the seed, batch size, peak
 *   learning rate, momentum, weight decay, schedule, augmentation and epochs; the optimizer
 *   (nesterov, betas, eps), warmup, label smoothing, frozen parts and frozen norms;
 * - `progress`: where training stands — completed epochs, the steps done of the next one,
 *   the augmentation generator's state after them, and that epoch's running sums (loss,
 *   correct, images, seconds), so its metrics row comes out as an uninterrupted run's;
 * - `metrics`: the rows of the completed epochs;
 * - `momentum`: the buffers' tensor names (PyTorch's: `s1.block0.conv1.weight`), slots and
 *   shapes, and the optimizer's steps (AdamW's `step`);
 * - `files`: the SHA-256 of each other file.
 *
 * Resuming validates every field (types, ranges, checksums, finite values) and compares
 * `run` with the run being started field by field: anything changed or corrupt is a coded
 * refusal naming what differs (R0608 changed, R0609 damaged, R0610 another format; R0604
 * when there is nothing to resume). docs/tfjs.md describes the format for users.
 */

export { checkpointDir } from './checkpoint-store.js';
export const stateFile = 'state.json';
export const momentumFile = 'momentum.bin';
export const checkpointFormat = 'resnetc-checkpoint';
export const checkpointVersion = 2;

/** The data a run trains on, as a checkpoint records it. */
export interface DataRecord {
  description: string;
  train: number;
  test: number;
  /** SHA-256 of the training and test images and labels, hex. */
  sha256: string;
}

/** The training options that decide a run's trajectory. */
export type RunOptions = Pick<
  TrainOptions,
  'seed' | 'batchSize' | 'lr' | 'momentum' | 'weightDecay' | 'schedule' | 'augment' | 'epochs' | 'optimizer' | 'nesterov' | 'betas' | 'eps' | 'warmup' | 'labelSmoothing' | 'freeze' | 'freezeNorms'
>;

/** The fine-tuning options, as a checkpoint records them (defaults filled in: a checkpoint without them trained with these). */
export interface TuningRecord {
  optimizer: OptimizerName;
  nesterov: boolean;
  betas: [number, number];
  eps: number;
  warmup: number;
  labelSmoothing: number;
  /** The frozen parts as the model names them, in its order. */
  freeze: string[];
  freezeNorms: boolean;
}

const tuningDefaults: TuningRecord = { optimizer: 'sgd', nesterov: false, betas: [...adamwDefaults.betas], eps: adamwDefaults.eps, warmup: 0, labelSmoothing: 0, freeze: [], freezeNorms: false };

/** Everything that decides a run's trajectory: a checkpoint is resumed only into an equal one. */
export interface RunRecord extends Omit<RunOptions, 'augment' | keyof TuningRecord>, TuningRecord {
  model: { name: string; summary: string; sha256: string; description: ModelDescription };
  data: DataRecord;
  augment: Augment | null;
}

/** Where training stands when the checkpoint is written. */
export interface Progress {
  /** Completed epochs. */
  epoch: number;
  /** Steps done of epoch `epoch` (0-based): 0 at an epoch boundary, up to the steps per epoch. */
  step: number;
  /** The augmentation generator's state after those steps (null when step is 0: it starts from the seed). */
  rng: number[] | null;
  /** That epoch's running sums: mean loss times images, correct predictions, images, seconds trained. */
  lossSum: number;
  correct: number;
  seen: number;
  seconds: number;
}

export interface CheckpointState {
  format: typeof checkpointFormat;
  version: typeof checkpointVersion;
  run: RunRecord;
  progress: Progress;
  metrics: EpochMetrics[];
  /** The optimizer's state in momentum.bin: each buffer's tensor, slot (SGD's momentum_buffer, AdamW's exp_avg and exp_avg_sq) and shape, in order; and the steps it has taken. */
  momentum: { tensors: { name: string; slot: Slot; shape: number[] }[]; step: number };
  files: Record<string, string>;
}

/** A checkpoint that cannot be resumed: missing (R0604), of another run (R0608), damaged (R0609), of another format (R0610). */
export class CheckpointError extends CodedError {
  constructor(code: Extract<Code, 'R0604' | 'R0608' | 'R0609' | 'R0610'>, message: string, help?: string) {
    super(code, message, help ?? helps[code]);
  }
}

const helps: Record<string, string> = {
  R0608: 'resume with the spec, data and options the checkpoint was written with, or train afresh into another --out',
  R0609: 'the checkpoint cannot be trusted: train afresh (without --resume), or restore the checkpoint directory from a copy',
  R0610: 'train afresh with this resnetc (without --resume)',
};

const hashes = new WeakMap<DataSplits, string>();

/** SHA-256 of a data source's images and labels (both splits), hex; computed once per DataSplits. */
export function dataFingerprint(data: DataSplits): string {
  let h = hashes.get(data);
  if (h === undefined) {
    const hash = createHash('sha256');
    for (const split of [data.train, data.test]) {
      hash.update(`${split.count} ${split.shape.c}x${split.shape.h}x${split.shape.w}\n`);
      hash.update(split.images);
      hash.update(split.labels);
    }
    h = hash.digest('hex');
    hashes.set(data, h);
  }
  return h;
}

/** The record of a run: what its checkpoints hold under `run`, and what `--resume` compares them with. */
export function runRecord(model: CheckedModel, data: DataSplits, o: RunOptions): RunRecord {
  const description = describeModel(model);
  const { c, h, w } = model.input;
  const summary = `${model.name}: input ${c}x${h}x${w}, ${model.head ? `${model.head.classes} classes` : 'no head'}, ${Object.keys(description.layers).length} layers, ${model.totals.params} parameters`;
  return {
    model: { name: model.name, summary, sha256: fingerprint(description), description },
    data: { description: data.description, train: data.train.count, test: data.test.count, sha256: dataFingerprint(data) },
    seed: o.seed,
    batchSize: o.batchSize,
    lr: o.lr,
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    schedule: o.schedule,
    augment: o.augment ? { ...o.augment } : null,
    epochs: o.epochs,
    optimizer: o.optimizer ?? tuningDefaults.optimizer,
    nesterov: o.nesterov ?? tuningDefaults.nesterov,
    betas: o.betas ? [o.betas[0], o.betas[1]] : tuningDefaults.betas,
    eps: o.eps ?? tuningDefaults.eps,
    warmup: o.warmup ?? tuningDefaults.warmup,
    labelSmoothing: o.labelSmoothing ?? tuningDefaults.labelSmoothing,
    freeze: freezeParts(model, o.freeze ?? []),
    freezeNorms: o.freezeNorms ?? tuningDefaults.freezeNorms,
  };
}

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/**
 * A checkpoint's files, name → contents: the model's (`model.json`, `weights.bin`, as
 * artifactsToFiles makes them), `momentum.bin`, and `state.json` with their checksums.
 * Writing them (atomically, as one directory) is the caller's part.
 */
export function checkpointFiles(
  run: RunRecord,
  progress: Progress,
  metrics: EpochMetrics[],
  model: Record<string, string | Uint8Array>,
  momentum: { name: string; slot: Slot; shape: number[]; data: Float32Array }[],
  step: number,
): Record<string, string | Uint8Array> {
  const total = momentum.reduce((a, m) => a + m.data.length, 0);
  const buffers = new Float32Array(total);
  let offset = 0;
  for (const m of momentum) {
    buffers.set(m.data, offset);
    offset += m.data.length;
  }
  const files: Record<string, string | Uint8Array> = { ...model, [momentumFile]: new Uint8Array(buffers.buffer) };
  const state: CheckpointState = {
    format: checkpointFormat,
    version: checkpointVersion,
    run,
    progress,
    metrics,
    momentum: { tensors: momentum.map((m) => ({ name: m.name, slot: m.slot, shape: m.shape })), step },
    files: Object.fromEntries(Object.entries(files).map(([name, data]) => [name, sha256(data)])),
  };
  return { ...files, [stateFile]: JSON.stringify(state, null, 1) };
}

/** A checkpoint read back and validated. */
export interface Checkpoint {
  state: CheckpointState;
  /** The tfjs model's model.json, parsed. */
  modelJson: { modelTopology: object; weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[] };
  /** weights.bin. */
  weightData: ArrayBuffer;
  /** The optimizer's buffers: tensor name, slot and values (tfjs layout), as state.json lists them. */
  momentum: { name: string; slot: Slot; data: Float32Array }[];
}

/**
 * Reads the checkpoint in `dir` and checks it can continue the run `expected`, whose
 * epochs have `stepsPerEpoch` steps. Nothing is trusted: every field of state.json is
 * type- and range-checked, every file's checksum compared, every weight and momentum
 * value must be finite, and the recorded run must equal `expected` field by field.
 *
 * @throws CheckpointError — R0604 (no checkpoint, or nothing left to train), R0608 (another
 *   spec, data or option; the message lists the differences), R0609 (damaged: the message
 *   names the file and field), R0610 (another format version).
 */
export function readCheckpoint(dir: string, expected: RunRecord, stepsPerEpoch: number): Checkpoint {
  const statePath = join(dir, stateFile);
  if (!existsSync(dir) || !statSync(dir).isDirectory() || !existsSync(statePath)) {
    throw new CheckpointError('R0604', `there is no checkpoint to resume in '${dir}' (no ${stateFile})`, 'train without --resume first, or name the checkpoint directory');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readInputText(statePath, 'json'));
  } catch (e) {
    if (e instanceof CodedError) throw e;
    throw damaged(dir, `${stateFile} is not JSON (${(e as Error).message})`);
  }
  const top = new Fields(raw, dir, stateFile);
  if (top.value['format'] !== checkpointFormat) throw damaged(dir, `${stateFile} is not a resnetc checkpoint's (its "format" is ${JSON.stringify(top.value['format'])})`);
  const version = top.value['version'];
  if (version !== checkpointVersion) {
    const old = version === 1 ? 'an older resnetc (format 1), which did not record the run it belongs to nor where in an epoch it stopped' : `format ${JSON.stringify(version)}`;
    throw new CheckpointError('R0610', `the checkpoint in '${dir}' was written by ${old}; this resnetc reads format ${checkpointVersion}`);
  }
  const state = readState(top, stepsPerEpoch);

  if (fingerprint(state.run.model.description) !== state.run.model.sha256) throw damaged(dir, `${stateFile}: the model's description does not match its recorded SHA-256`);
  const changed = differences(runForComparison(state.run), runForComparison(expected), 6);
  if (changed.length > 0) throw new CheckpointError('R0608', `the checkpoint in '${dir}' belongs to another run: ${changed.join('; ')}`);
  const trained = state.progress.epoch * stepsPerEpoch + state.progress.step;
  if (state.momentum.step !== trained) throw damaged(dir, `${stateFile}: momentum: "step" says the optimizer took ${state.momentum.step} steps, but the progress says ${trained} were trained`);

  const files = new Map<string, Uint8Array>();
  for (const name of [modelFile, weightsFile, momentumFile]) {
    const path = join(dir, name);
    if (!existsSync(path)) throw damaged(dir, `${name} is missing`);
    const data = new Uint8Array(readInputFile(path, 'weights'));
    const recorded = state.files[name];
    if (recorded === undefined) throw damaged(dir, `${stateFile} records no checksum for ${name}`);
    if (sha256(data) !== recorded) throw damaged(dir, `${name} does not match the SHA-256 ${stateFile} records for it (changed or cut short: ${data.length} bytes)`);
    files.set(name, data);
  }

  let modelJson: Checkpoint['modelJson'];
  try {
    modelJson = JSON.parse(new TextDecoder().decode(files.get(modelFile))) as Checkpoint['modelJson'];
  } catch (e) {
    throw damaged(dir, `${modelFile} is not JSON (${(e as Error).message})`);
  }
  const manifest = Array.isArray(modelJson?.weightsManifest) ? modelJson.weightsManifest.flatMap((g) => (Array.isArray(g?.weights) ? g.weights : [])) : [];
  const weightCount = manifest.reduce((a, w) => a + (Array.isArray(w.shape) ? w.shape.reduce((p, d) => p * d, 1) : NaN), 0);
  const weightBytes = files.get(weightsFile)!;
  if (!modelJson?.modelTopology || manifest.length === 0 || manifest.some((w) => w.dtype !== 'float32') || weightCount * 4 !== weightBytes.length) {
    throw damaged(dir, `${modelFile} and ${weightsFile} do not agree (${manifest.length} tensors, ${weightCount} values listed; ${weightBytes.length} bytes)`);
  }
  const weights = floats(weightBytes);
  const bad = weights.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw damaged(dir, `${weightsFile} holds a value that is not finite (${weights[bad]} at value ${bad}): training had diverged`);

  const momentumBytes = files.get(momentumFile)!;
  const all = floats(momentumBytes);
  const sizes = state.momentum.tensors.map((t) => t.shape.reduce((p, d) => p * d, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total * 4 !== momentumBytes.length) throw damaged(dir, `${momentumFile} has ${momentumBytes.length} bytes; ${stateFile} lists ${total} values (${total * 4} bytes)`);
  if (all.some((v) => !Number.isFinite(v))) throw damaged(dir, `${momentumFile} holds a value that is not finite`);
  const momentum: Checkpoint['momentum'] = [];
  let offset = 0;
  state.momentum.tensors.forEach((t, i) => {
    momentum.push({ name: t.name, slot: t.slot, data: all.subarray(offset, offset + sizes[i]!) });
    offset += sizes[i]!;
  });
  const weightData = weightBytes.buffer.slice(weightBytes.byteOffset, weightBytes.byteOffset + weightBytes.byteLength) as ArrayBuffer;
  return { state, modelJson, weightData, momentum };
}

/** The run record without what a resume may change: the schedule `constant` lets --epochs grow (its learning rate does not depend on it). */
function runForComparison(run: RunRecord): Record<string, unknown> {
  const { model, ...rest } = run;
  const out: Record<string, unknown> = { model: model.description, ...rest };
  if (run.schedule === 'constant') delete out['epochs'];
  return out;
}

function damaged(dir: string, what: string): CheckpointError {
  return new CheckpointError('R0609', `the checkpoint in '${dir}' is damaged: ${what}`);
}

function floats(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** Typed access to one JSON object of state.json; every failure is R0609 naming the field. */
class Fields {
  readonly value: Record<string, unknown>;
  constructor(
    raw: unknown,
    readonly dir: string,
    readonly path: string,
  ) {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw damaged(dir, `${path} is not an object`);
    this.value = raw as Record<string, unknown>;
  }

  private fail(key: string, what: string): never {
    throw damaged(this.dir, `${this.path}: "${key}" must be ${what}, not ${JSON.stringify(this.value[key]) ?? 'absent'}`);
  }

  int(key: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.value[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) this.fail(key, max < Number.MAX_SAFE_INTEGER ? `a whole number from ${min} to ${max}` : `a whole number, at least ${min}`);
    return v;
  }

  num(key: string, check: (n: number) => boolean = Number.isFinite, what = 'a finite number'): number {
    const v = this.value[key];
    if (typeof v !== 'number' || !check(v)) this.fail(key, what);
    return v;
  }

  /** A metric: a number, or null (JSON's NaN: a diverged loss). */
  metric(key: string): number {
    const v = this.value[key];
    if (v === null) return NaN;
    return this.num(key, () => typeof v === 'number', 'a number or null');
  }

  str(key: string): string {
    const v = this.value[key];
    if (typeof v !== 'string') this.fail(key, 'a string');
    return v;
  }

  bool(key: string): boolean {
    const v = this.value[key];
    if (typeof v !== 'boolean') this.fail(key, 'true or false');
    return v;
  }

  obj(key: string): Fields {
    const v = this.value[key];
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(key, 'an object');
    return new Fields(v, this.dir, `${this.path}: ${key}`);
  }

  list(key: string): unknown[] {
    const v = this.value[key];
    if (!Array.isArray(v)) this.fail(key, 'a list');
    return v;
  }

  item(key: string, i: number, v: unknown): Fields {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw damaged(this.dir, `${this.path}: ${key}[${i}] is not an object`);
    return new Fields(v, this.dir, `${this.path}: ${key}[${i}]`);
  }
}

/** state.json's contents, every field checked (the run's values are compared later, not range-checked here). */
function readState(top: Fields, stepsPerEpoch: number): CheckpointState {
  const r = top.obj('run');
  const m = r.obj('model');
  const d = r.obj('data');
  const description = m.obj('description').value as unknown as ModelDescription;
  const augment = r.value['augment'] === null ? null : ((a) => ({ cropPadding: a.int('cropPadding', 0), flip: a.bool('flip') }))(r.obj('augment'));
  const schedule = r.str('schedule');
  if (!['cosine', 'step', 'constant'].includes(schedule)) throw damaged(top.dir, `${stateFile}: run: "schedule" must be cosine, step or constant, not ${JSON.stringify(schedule)}`);
  const run: RunRecord = {
    model: { name: m.str('name'), summary: m.str('summary'), sha256: m.str('sha256'), description },
    data: { description: d.str('description'), train: d.int('train', 0), test: d.int('test', 0), sha256: d.str('sha256') },
    seed: r.int('seed', 0),
    batchSize: r.int('batchSize', 1),
    lr: r.num('lr'),
    momentum: r.num('momentum'),
    weightDecay: r.num('weightDecay'),
    schedule: schedule as Schedule,
    augment,
    epochs: r.int('epochs', 1),
    ...readTuning(r),
  };

  const p = top.obj('progress');
  const epoch = p.int('epoch', 0, run.epochs);
  const step = p.int('step', 0, epoch === run.epochs ? 0 : stepsPerEpoch);
  const rngRaw = p.value['rng'];
  let rng: number[] | null = null;
  if (step > 0 || rngRaw !== null) {
    if (!Array.isArray(rngRaw) || rngRaw.length !== 4 || rngRaw.some((v) => !Number.isSafeInteger(v) || Math.abs(v as number) > 2 ** 32)) {
      throw damaged(top.dir, `${stateFile}: progress: "rng" must be the generator's state (4 whole numbers)${step > 0 ? ' after a stop within an epoch' : ' or null'}, not ${JSON.stringify(rngRaw)}`);
    }
    rng = rngRaw as number[];
  }
  const progress: Progress = {
    epoch,
    step,
    rng,
    lossSum: p.metric('lossSum'),
    correct: p.int('correct', 0),
    seen: p.int('seen', 0),
    seconds: p.num('seconds', (n) => n >= 0, 'zero or more'),
  };

  const rows = top.list('metrics');
  if (rows.length !== epoch) throw damaged(top.dir, `${stateFile}: "metrics" has ${rows.length} rows for ${epoch} completed epochs`);
  const metrics = rows.map((row, i) => {
    const f = top.item('metrics', i, row);
    const metric: EpochMetrics = {
      epoch: f.int('epoch', i + 1, i + 1),
      lr: f.num('lr'),
      trainLoss: f.metric('trainLoss'),
      trainAccuracy: f.metric('trainAccuracy'),
      testLoss: f.metric('testLoss'),
      testAccuracy: f.metric('testAccuracy'),
      seconds: f.metric('seconds'),
      imagesPerSecond: f.metric('imagesPerSecond'),
    };
    return metric;
  });

  const held = top.obj('momentum');
  const slots: readonly Slot[] = run.optimizer === 'adamw' ? ['exp_avg', 'exp_avg_sq'] : ['momentum_buffer'];
  const tensors = held.list('tensors').map((t, i) => {
    const f = top.item('momentum.tensors', i, t);
    const shape = f.list('shape');
    if (shape.some((s) => !Number.isSafeInteger(s) || (s as number) < 1)) throw damaged(top.dir, `${stateFile}: momentum.tensors[${i}]: "shape" must be a list of positive whole numbers`);
    // Checkpoints of SGD before AdamW name no slot.
    const slot = f.value['slot'] === undefined && run.optimizer === 'sgd' ? 'momentum_buffer' : f.str('slot');
    if (!slots.includes(slot as Slot)) throw damaged(top.dir, `${stateFile}: momentum.tensors[${i}]: "slot" must be ${slots.join(' or ')} for ${run.optimizer}, not ${JSON.stringify(slot)}`);
    return { name: f.str('name'), slot: slot as Slot, shape: shape as number[] };
  });
  // The optimizer's steps are the steps trained (recorded since AdamW, whose bias correction reads them); checked once the run is known to be this one.
  const optimizerSteps = held.value['step'] === undefined && run.optimizer === 'sgd' ? epoch * stepsPerEpoch + step : held.int('step', 0);
  const filesRaw = top.obj('files').value;
  const files: Record<string, string> = {};
  for (const [name, v] of Object.entries(filesRaw)) {
    if (typeof v !== 'string') throw damaged(top.dir, `${stateFile}: files: "${name}" must be a SHA-256 (a string)`);
    files[name] = v;
  }
  return { format: checkpointFormat, version: checkpointVersion, run, progress, metrics, momentum: { tensors, step: optimizerSteps }, files };
}

/** The fine-tuning options of a run record; absent from checkpoints written before them, which trained with the defaults. */
function readTuning(r: Fields): TuningRecord {
  const has = (key: string): boolean => r.value[key] !== undefined;
  const optimizer = has('optimizer') ? r.str('optimizer') : tuningDefaults.optimizer;
  if (optimizer !== 'sgd' && optimizer !== 'adamw') throw damaged(r.dir, `${r.path}: "optimizer" must be sgd or adamw, not ${JSON.stringify(optimizer)}`);
  const betas = has('betas') ? r.list('betas') : tuningDefaults.betas;
  if (betas.length !== 2 || betas.some((b) => typeof b !== 'number' || !(b >= 0 && b < 1))) throw damaged(r.dir, `${r.path}: "betas" must be two numbers in [0, 1), not ${JSON.stringify(betas)}`);
  const freeze = has('freeze') ? r.list('freeze') : tuningDefaults.freeze;
  if (freeze.some((p) => typeof p !== 'string')) throw damaged(r.dir, `${r.path}: "freeze" must be a list of part names`);
  return {
    optimizer,
    nesterov: has('nesterov') ? r.bool('nesterov') : tuningDefaults.nesterov,
    betas: betas as [number, number],
    eps: has('eps') ? r.num('eps') : tuningDefaults.eps,
    warmup: has('warmup') ? r.int('warmup', 0) : tuningDefaults.warmup,
    labelSmoothing: has('labelSmoothing') ? r.num('labelSmoothing') : tuningDefaults.labelSmoothing,
    freeze: freeze as string[],
    freezeNorms: has('freezeNorms') ? r.bool('freezeNorms') : tuningDefaults.freezeNorms,
  };
}
