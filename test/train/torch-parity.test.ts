import * as tf from '../../src/tfjs/tf.js';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { beforeAll, describe, expect, it } from 'vitest';
import { missingPython, pythonWith } from '../../scripts/python.js';
import type { CheckedModel } from '../../src/model/types.js';
import { type ConcreteBackend, preference, useBackend } from '../../src/tfjs/backend.js';
import { buildTfjsModel } from '../../src/tfjs/build.js';
import { fromTfjs, getWeights, setWeights, weightTensors } from '../../src/tfjs/weights.js';
import { frozenTensors } from '../../src/train/freeze.js';
import { type Schedule, stepLearningRate } from '../../src/train/optimizer.js';
import { classificationLoss, lossAndGradients, makeOptimizer, trainedVariables } from '../../src/train/train.js';
import { collectWeights, initialWeights, modelTensors, type WeightSet } from '../../src/weights/init.js';
import { openWeightSource } from '../../src/weights/open.js';
import { nchwToNhwc } from '../../src/weights/layout.js';
import { cli } from '../helpers/cli.js';
import { checkText, perturbNorms, relativeError, tempDir } from '../tfjs/helpers.js';
import { constructSpecs, readTensors, writeIdxData, writeTensors } from './helpers.js';

/**
 * Training against PyTorch. For specs that together use every construct (helpers.ts), from
 * the same weights (running statistics made non-trivial) on the same 20 batches, each
 * backend that loads trains with resnetc's own pieces — the model buildTfjsModel makes,
 * lossAndGradients, classificationLoss, Sgd, learningRate — and torch_train.py trains the
 * same spec built independently from torch.nn modules with torch.optim.SGD and torch's
 * schedulers, in float64. After step 1 and step 20 (momentum, weight decay and the schedule
 * at work) the loss, every parameter's gradient, and every parameter and running
 * statistic must equal PyTorch's within 1e-4 relative (max |ours − torch| / max |torch|,
 * tensor by tensor).
 *
 * A model without a head is trained on a fixed linear loss of its feature map,
 * sum(output · R) / N, with R the same random tensor on both sides.
 *
 * Dropout: tfjs and torch draw different masks, so the test reads back the mask tfjs's
 * own Dropout layer drew at each step (the positions its output is not zero; its scaling
 * by 1/(1−p) is checked too) and torch applies that mask, with the same scaling, in place
 * of drawing one. A zero input (a channel ReLU zeroed throughout) reads as dropped, which
 * changes nothing: that position carries no gradient back through the ReLU.
 *
 * The specs keep out of chaotic trajectories, where float32 rounding alone decides step 20:
 * bb_silu_gn with `pool catavgmax` is one (a 2^-24 relative change of its starting weights
 * moves float64 PyTorch by 2e-4 to 2e-3 at step 5 and up to 0.3 at step 10, measured with
 * torch_train.py's float32/float64 switch, while each step's gradient from the same state
 * equals PyTorch's within 1.3e-5); catavgmax is trained in bb_mish instead.
 *
 * One Python process runs every job of the file (its import of torch is most of its time).
 */
const python = pythonWith(['torch', 'numpy']);
const steps = 20;
const batchSize = 4;
const tolerance = 1e-4;
const hyper = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
const schedules: Record<string, Schedule> = {
  pre_pool: 'cosine',
  pre_a: 'constant',
  post_basic: 'step',
  post_bottleneck: 'cosine',
  pre_bottleneck: 'cosine',
  bb_silu_gn: 'step',
  bb_leaky_dil: 'step',
  bb_gelu: 'constant',
  bb_mish: 'cosine',
};

/** What one side records after a step: the loss, gradients and values (PyTorch names and layouts). */
interface StepRecord {
  loss: number;
  grads: WeightSet;
  values: WeightSet;
}

interface Case {
  name: string;
  model: CheckedModel;
  weights: WeightSet;
  batches: string;
  /** The fine-tuning options (the spec's default case: SGD as `hyper`, the spec's schedule). */
  tuning: Tuning;
}

/** What a case trains with, beyond the spec: resnetc's TrainOptions, and steps of warmup. */
interface Tuning {
  optimizer: 'sgd' | 'adamw';
  lr: number;
  momentum: number;
  weightDecay: number;
  nesterov?: boolean;
  betas?: [number, number];
  eps?: number;
  schedule: Schedule;
  /** Steps of linear warmup (train's --warmup is in epochs: epochs x steps per epoch). */
  warmup?: number;
  labelSmoothing?: number;
  freeze?: string[];
  freezeNorms?: boolean;
}

/**
 * Fine-tuning cases, each on a spec of constructSpecs: every option of issue 12's item 2 at
 * least once (AdamW with its decoupled weight decay, Nesterov, warmup under each schedule,
 * label smoothing, frozen parts, a frozen head by its alias, frozen norms in both families).
 */
const tuningCases: { name: string; spec: string; tuning: Tuning }[] = [
  { name: 'adamw_warmup_smoothing', spec: 'post_basic', tuning: { optimizer: 'adamw', lr: 0.01, momentum: 0, weightDecay: 0.05, schedule: 'cosine', warmup: 5, labelSmoothing: 0.1 } },
  { name: 'nesterov_freeze', spec: 'post_basic', tuning: { optimizer: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true, schedule: 'step', warmup: 4, freeze: ['stem', 'a'], freezeNorms: true } },
  { name: 'adamw_frozen_head', spec: 'pre_pool', tuning: { optimizer: 'adamw', lr: 0.02, momentum: 0, weightDecay: 0.01, betas: [0.8, 0.99], eps: 1e-6, schedule: 'constant', warmup: 3, labelSmoothing: 0.2, freeze: ['fc'], freezeNorms: true } },
];

function uniform(seed: number): () => number {
  const rng = xoroshiro128plus(seed);
  return () => (rng.next() >>> 0) / 4294967296;
}

/** A weight set as tensors in PyTorch's shapes (OIHW, [out, in]), to write for torch_train.py. */
function withShapes(model: CheckedModel, weights: WeightSet): [string, number[], Float32Array][] {
  return modelTensors(model).map((t) => [t.name, t.shape, weights.get(t.name)!]);
}

/** Backends to compare: cpu and wasm always; native and GPU backends where they load here. */
async function backendsHere(): Promise<ConcreteBackend[]> {
  const out: ConcreteBackend[] = [];
  for (const b of preference) {
    try {
      await useBackend(b);
      out.push(b);
    } catch {
      if (b === 'cpu' || b === 'wasm') throw new Error(`${b} must load`);
    }
  }
  return out;
}

/** The batches of a case, NCHW for PyTorch: images in [0, 1], labels, and R for a headless model. */
function makeBatches(dir: string, name: string, model: CheckedModel, seed: number): string {
  const u = uniform(seed);
  const { c, h, w } = model.input;
  const tensors: [string, number[], ArrayLike<number>][] = [];
  for (let s = 0; s < steps; s++) {
    tensors.push([`x${s}`, [batchSize, c, h, w], Float32Array.from({ length: batchSize * c * h * w }, u)]);
    tensors.push([`y${s}`, [batchSize], Float32Array.from({ length: batchSize }, () => Math.floor(u() * (model.classes ?? 1)))]);
  }
  if (!model.classes) {
    const o = model.output;
    tensors.push(['R', [batchSize, o.c, o.h, o.w], Float32Array.from({ length: batchSize * o.c * o.h * o.w }, () => u() * 2 - 1)]);
  }
  const stem = join(dir, `${name}-batches`);
  writeTensors(stem, tensors);
  return stem;
}

/** Trains a case on the current backend as resnetc does, recording its first and last steps and the dropout masks drawn. */
function trainHere(c: Case): { records: Map<number, StepRecord>; masks: Float32Array[] } {
  const { model: checked, tuning } = c;
  const data = readTensors(c.batches);
  const model = buildTfjsModel(checked);
  setWeights(model, checked, c.weights);
  const variables = trainedVariables(model, checked, frozenTensors(checked, tuning.freeze ?? []), tuning.freezeNorms ?? false);
  const tensorOf = weightTensors(model, checked);
  const optimizer = makeOptimizer(tuning);
  const masks: Float32Array[] = [];
  const dropout = model.layers.find((l) => l.getClassName() === 'Dropout') as (tf.layers.Layer & { rate: number }) | undefined;
  if (dropout) {
    // Read back the mask tfjs's own Dropout draws (see the file's comment).
    const call = dropout.call.bind(dropout);
    dropout.call = (inputs, kwargs) => {
      const out = call(inputs, kwargs) as tf.Tensor;
      if (kwargs['training']) {
        const x = (Array.isArray(inputs) ? inputs[0]! : inputs).dataSync();
        const y = out.dataSync();
        const mask = Float32Array.from(y, (v) => (v !== 0 ? 1 : 0));
        for (let i = 0; i < y.length; i++) if (mask[i]) expect(Math.abs(y[i]! - x[i]! / (1 - dropout.rate))).toBeLessThan(1e-6 * Math.max(1, Math.abs(y[i]!)));
        masks.push(mask);
      }
      return out;
    };
  }
  const { c: ch, h, w } = checked.input;
  const records = new Map<number, StepRecord>();
  const record = [1, steps];
  for (let s = 0; s < steps; s++) {
    tf.tidy(() => {
      const x = tf.tensor4d(nchwToNhwc(data.get(`x${s}`)!.data, batchSize, ch, h, w), [batchSize, h, w, ch]);
      const loss = checked.classes
        ? (out: tf.Tensor) => classificationLoss(out, tf.tensor1d(Int32Array.from(data.get(`y${s}`)!.data), 'int32'), checked.classes!, tuning.labelSmoothing ?? 0)
        : (out: tf.Tensor) => {
            const o = checked.output;
            const r = tf.tensor4d(nchwToNhwc(data.get('R')!.data, batchSize, o.c, o.h, o.w), [batchSize, o.h, o.w, o.c]);
            return tf.div(tf.sum(tf.mul(out, r)), batchSize) as tf.Scalar;
          };
      const { value, grads } = lossAndGradients(model, variables, x, loss);
      const done = s + 1;
      const at: StepRecord | undefined = record.includes(done) ? { loss: value.dataSync()[0]!, grads: new Map(), values: new Map() } : undefined;
      if (at) for (const [variable, spec] of tensorOf) if (grads[variable]) at.grads.set(spec.name, fromTfjs(spec, grads[variable].dataSync() as Float32Array));
      optimizer.step(variables, grads, stepLearningRate(tuning.lr, tuning.schedule, s, steps, tuning.warmup ?? 0));
      if (at) {
        at.values = getWeights(model, checked);
        records.set(done, at);
      }
    });
  }
  optimizer.dispose();
  model.dispose();
  return { records, masks };
}

interface Job {
  id: string;
  spec: string;
  weights: string;
  batches: string;
  loss: 'ce' | 'feature';
  steps: number;
  total_steps: number;
  record: number[];
  optimizer: 'sgd' | 'adamw';
  lr: number;
  momentum: number;
  nesterov: boolean;
  betas: [number, number];
  eps: number;
  weight_decay: number;
  schedule: Schedule;
  warmup: number;
  label_smoothing: number;
  freeze: string[];
  freeze_norms: boolean;
  out: string;
}

function runTorch(dir: string, jobs: Job[]): void {
  const path = join(dir, 'jobs.json');
  writeFileSync(path, JSON.stringify(jobs));
  const r = spawnSync(python!, [join(import.meta.dirname, 'torch_train.py'), path], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`torch_train.py failed (${r.status}): ${r.stderr}`);
}

function torchRecord(out: string, n: number): StepRecord {
  const t = readTensors(out);
  const rec: StepRecord = { loss: t.get(`${n}/loss`)!.data[0]!, grads: new Map(), values: new Map() };
  for (const [name, { data }] of t) {
    if (name.startsWith(`${n}/grad/`)) rec.grads.set(name.slice(`${n}/grad/`.length), data);
    if (name.startsWith(`${n}/value/`)) rec.values.set(name.slice(`${n}/value/`.length), data);
  }
  return rec;
}

/** The worst tensor of a record against PyTorch's: name and relative error. */
function worst(ours: WeightSet, torch: WeightSet): [string, number] {
  expect([...ours.keys()].sort()).toEqual([...torch.keys()].sort());
  let bad: [string, number] = ['', 0];
  for (const [name, data] of torch) {
    const e = relativeError(ours.get(name)!, data);
    if (!(e <= bad[1])) bad = [name, e];
  }
  return bad;
}

const cases: Case[] = [];
const results = new Map<string, { records: Map<number, StepRecord>; job: string }>();
let backends: ConcreteBackend[] = [];
const auto = { backend: '', out: '', job: '' };

describe.runIf(python !== undefined)('training equals PyTorch step by step', () => {
  beforeAll(async () => {
    const dir = tempDir('resnetc-torch-parity-');
    backends = await backendsHere();
    const jobs: Job[] = [];
    const job = (id: string, spec: string, weights: string, batches: string, loss: Job['loss'], t: Tuning, n = steps): string => {
      const out = join(dir, `${id}-torch`);
      // The torch side freezes its modules by the spec's part names (`fc` is the head's alias).
      const freeze = (t.freeze ?? []).map((p) => (p === 'fc' ? 'head' : p));
      jobs.push({
        id, spec, weights, batches, loss, steps: n, total_steps: n, record: n === 1 ? [1] : [1, n],
        optimizer: t.optimizer, lr: t.lr, momentum: t.momentum, nesterov: t.nesterov ?? false, betas: t.betas ?? [0.9, 0.999], eps: t.eps ?? 1e-8, weight_decay: t.weightDecay,
        schedule: t.schedule, warmup: t.warmup ?? 0, label_smoothing: t.labelSmoothing ?? 0, freeze, freeze_norms: t.freezeNorms ?? false, out,
      });
      return out;
    };
    const sgd = (schedule: Schedule): Tuning => ({ optimizer: 'sgd', ...hyper, schedule });
    let seed = 40;
    const all = [
      ...Object.keys(constructSpecs).map((name) => ({ name, spec: name, tuning: sgd(schedules[name]!) })),
      ...tuningCases,
    ];
    for (const { name, spec: specName, tuning } of all) {
      const spec = constructSpecs[specName]!;
      const model = checkText(spec);
      const weights = perturbNorms(initialWeights(model, { seed: seed }), seed);
      const weightsStem = join(dir, `${name}-weights`);
      writeTensors(weightsStem, withShapes(model, weights));
      const c: Case = { name, model, weights, batches: makeBatches(dir, name, model, seed++), tuning };
      cases.push(c);
      let shared: string | undefined;
      for (const backend of backends) {
        await useBackend(backend);
        const { records, masks } = trainHere(c);
        let batches = c.batches;
        if (masks.length > 0) {
          // This backend's dropout masks go to PyTorch with a copy of the batches.
          const data = readTensors(c.batches);
          batches = join(dir, `${name}-${backend}-batches`);
          const tensors: [string, number[], Float32Array][] = [...data].map(([k, v]) => [k, v.shape, v.data]);
          writeTensors(batches, [...tensors, ...masks.map((m, s): [string, number[], Float32Array] => [`mask${s}`, [batchSize, m.length / batchSize], m])]);
        }
        const loss = model.classes ? 'ce' : 'feature';
        const out = masks.length > 0 ? job(`${name}-${backend}`, spec, weightsStem, batches, loss, tuning) : (shared ??= job(name, spec, weightsStem, batches, loss, tuning));
        results.set(`${name} ${backend}`, { records, job: out });
      }
    }

    // `resnetc train --backend auto` on issue 10's spec: one step on 16 images.
    const data = join(dir, 'auto-data');
    const u = uniform(9);
    const n = 16;
    const images = Uint8Array.from({ length: n * 3 * 8 * 8 }, () => Math.floor(u() * 256));
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 4);
    (await import('node:fs')).mkdirSync(data);
    writeIdxData(data, [3, 8, 8], { images, labels });
    const specPath = join(dir, 'pre_pool.resnet');
    writeFileSync(specPath, constructSpecs['pre_pool']!);
    auto.out = join(dir, 'auto-out');
    const r = await cli('train', specPath, '--data', data, '--out', auto.out, '--epochs', '1', '--batch-size', String(n), '--lr', '0.1', '--seed', '5', '--backend', 'auto');
    expect(r.code, r.stderr).toBe(0);
    auto.backend = /with backend (\S+)/.exec(r.stderr)?.[1] ?? '';
    const model = checkText(constructSpecs['pre_pool']!);
    const start = initialWeights(model, { seed: 5 });
    const autoWeights = join(dir, 'auto-weights');
    writeTensors(autoWeights, withShapes(model, start));
    const nchw = new Float32Array(n * 3 * 64);
    for (let i = 0; i < n; i++) for (let p = 0; p < 64; p++) for (let k = 0; k < 3; k++) nchw[(i * 3 + k) * 64 + p] = images[(i * 64 + p) * 3 + k]! / 255;
    const autoBatches = join(dir, 'auto-batches');
    writeTensors(autoBatches, [
      ['x0', [n, 3, 8, 8], nchw],
      ['y0', [n], labels],
    ]);
    auto.job = job('auto', constructSpecs['pre_pool']!, autoWeights, autoBatches, 'ce', sgd('cosine'), 1);

    runTorch(dir, jobs);
  }, 600_000);

  for (const name of [...Object.keys(constructSpecs), ...tuningCases.map((c) => c.name)]) {
    for (const backend of ['cpu', 'wasm', 'tfjs-node', 'tfjs-node-gpu', 'webgpu'] as const) {
      it(`${name} on ${backend}: loss, gradients, parameters and running statistics after steps 1 and ${steps}`, (ctx) => {
        const ours = results.get(`${name} ${backend}`);
        if (!ours) {
          if (backend === 'cpu' || backend === 'wasm') throw new Error(`no result for ${backend}`);
          ctx.skip(`${backend} does not load here`);
          return;
        }
        for (const n of [1, steps]) {
          const torch = torchRecord(ours.job, n);
          const mine = ours.records.get(n)!;
          expect(Math.abs(mine.loss - torch.loss) / Math.abs(torch.loss), `loss after step ${n}`).toBeLessThan(tolerance);
          const [g, ge] = worst(mine.grads, torch.grads);
          expect(ge, `gradient of ${g} at step ${n}`).toBeLessThan(tolerance);
          const [v, ve] = worst(mine.values, torch.values);
          expect(ve, `${v} after step ${n}`).toBeLessThan(tolerance);
        }
      });
    }
  }

  it("`resnetc train --backend auto` of issue 10's pre_pool spec gives PyTorch's weights and running statistics after one step", async () => {
    expect(auto.backend).not.toBe('');
    const model = checkText(constructSpecs['pre_pool']!);
    await useBackend('cpu');
    const trained = collectWeights(model, await openWeightSource(join(auto.out, 'model'), model));
    const torch = torchRecord(auto.job, 1);
    const [v, ve] = worst(trained, torch.values);
    expect(ve, `${v} (backend ${auto.backend})`).toBeLessThan(tolerance);
  });
});

describe.skipIf(python !== undefined)('training equals PyTorch step by step', () => {
  it('needs PyTorch', (ctx) => ctx.skip(missingPython(['torch', 'numpy'])));
});
