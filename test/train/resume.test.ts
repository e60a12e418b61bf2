import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/tfjs/backend.js';
import { standardAugment } from '../../src/train/batches.js';
import { loadData } from '../../src/train/data.js';
import type { EpochMetrics } from '../../src/train/metrics.js';
import { train, type TrainOptions, type TrainResult } from '../../src/train/train.js';
import { checkText, tempDir } from '../tfjs/helpers.js';

/**
 * A stop anywhere, then --resume, ends with the uninterrupted run's weights BIT FOR BIT
 * (the wasm backend runs single-threaded and is deterministic: the same operations on the
 * same values give the same bits), with the same metrics rows, none lost or repeated.
 * The run uses everything that carries state across steps: augmentation (its generator's
 * state), momentum, weight decay, a cosine schedule, a last batch smaller than the others
 * (40 images in batches of 16: 3 steps an epoch), and norms' running statistics.
 */
const model = (): ReturnType<typeof checkText> =>
  checkText(`model tiny {
    input 3x8x8
    classes 4
    dropout 0.1
    stem { conv 3x3 8  maxpool 3x3 stride 1 }
    block basic
    shortcut A
    stage a { blocks 1  width 8 }
    stage b { blocks 1  width 16  stride 2  shortcut B }
  }`);

const options = (out: string): TrainOptions => ({
  epochs: 3,
  batchSize: 16,
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 5e-4,
  schedule: 'cosine',
  augment: standardAugment,
  seed: 7,
  out,
});

const data = (): ReturnType<typeof loadData> => loadData('synthetic:40', { input: { c: 3, h: 8, w: 8 }, classes: 4, seed: 2 });

/** What must not change with where a run was stopped: every epoch's figures but the time. */
const figures = (rows: EpochMetrics[]): Omit<EpochMetrics, 'seconds' | 'imagesPerSecond'>[] => rows.map(({ seconds: _s, imagesPerSecond: _i, ...rest }) => rest);

function weightsOf(result: TrainResult): Float32Array[] {
  const values = result.model.getWeights().map((t) => t.dataSync() as Float32Array);
  result.model.dispose();
  return values;
}

let straight: { weights: Float32Array[]; metrics: EpochMetrics[] };

beforeAll(async () => {
  await useBackend('wasm');
  const result = await train(model(), data(), options(tempDir()));
  straight = { metrics: result.metrics, weights: weightsOf(result) };
});

describe('a stopped run resumed', () => {
  // Global step numbers (1-based) after which a stop comes; a list stops the run several times.
  const cases: [string, number[]][] = [
    ['in the middle of the first epoch', [1]],
    ["after an epoch's last step, before its evaluation", [3]],
    ['just after an epoch boundary', [4]],
    ['twice: in the first epoch, then in the last', [2, 8]],
  ];
  for (const [name, stops] of cases) {
    it(`${name}: ends with the uninterrupted run's weights, bit for bit, and its metrics rows`, async () => {
      const out = tempDir();
      let step = 0;
      const stoppedAt: number[] = [];
      const rows: number[] = [];
      for (const [i, at] of stops.entries()) {
        const r = await train(model(), data(), { ...options(out), ...(i > 0 ? { resume: join(out, 'checkpoint') } : {}) }, { shouldStop: () => ++step === at });
        expect(r.stopped).toBe(true);
        stoppedAt.push(r.epochsDone * 3 + r.stepsDone);
        rows.push(readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n').length - 1 - r.epochsDone);
        r.model.dispose();
      }
      const result = await train(model(), data(), { ...options(out), resume: join(out, 'checkpoint') }, { onStep: () => void step++ });
      expect(step).toBe(9);
      expect(result.stopped).toBe(false);
      expect(figures(result.metrics)).toEqual(figures(straight.metrics));
      const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
      expect(csv.map((l) => l.split(',')[0])).toEqual(['epoch', '1', '2', '3']);
      const weights = weightsOf(result);
      expect(weights.length).toBe(straight.weights.length);
      weights.forEach((w, i) => expect(w, `weight ${i}`).toEqual(straight.weights[i]));
      // Each stop recorded where it was, and the metrics files held the completed epochs only.
      expect(stoppedAt).toEqual(stops);
      expect(rows).toEqual(stops.map(() => 0));
    });
  }
});

describe('a fine-tuning run stopped and resumed', () => {
  // AdamW (its exp_avg, exp_avg_sq and step), a warmup, label smoothing, a frozen stem and frozen norms.
  const tuned = (out: string): TrainOptions => ({ ...options(out), optimizer: 'adamw', lr: 0.01, weightDecay: 0.01, warmup: 1, labelSmoothing: 0.1, freeze: ['stem'], freezeNorms: true });

  it("ends with the uninterrupted run's weights, bit for bit, and its metrics rows; the checkpoint holds AdamW's state", async () => {
    const whole = await train(model(), data(), tuned(tempDir()));
    const expected = { metrics: whole.metrics, weights: weightsOf(whole) };
    const out = tempDir();
    let step = 0;
    const stopped = await train(model(), data(), tuned(out), { shouldStop: () => ++step === 5 });
    expect([stopped.stopped, stopped.epochsDone, stopped.stepsDone]).toEqual([true, 1, 2]);
    stopped.model.dispose();
    const state = JSON.parse(readFileSync(join(out, 'checkpoint', 'state.json'), 'utf8')) as {
      run: Record<string, unknown>;
      momentum: { tensors: { name: string; slot: string }[]; step: number };
    };
    expect(state.run).toMatchObject({ optimizer: 'adamw', warmup: 1, labelSmoothing: 0.1, freeze: ['stem'], freezeNorms: true, betas: [0.9, 0.999], eps: 1e-8 });
    expect(state.momentum.step).toBe(5);
    // Both moments of every trained tensor, none of the frozen stem's.
    expect(new Set(state.momentum.tensors.map((t) => t.slot))).toEqual(new Set(['exp_avg', 'exp_avg_sq']));
    expect(state.momentum.tensors.some((t) => t.name.startsWith('stem.'))).toBe(false);
    const resumed = await train(model(), data(), { ...tuned(out), resume: join(out, 'checkpoint') });
    expect(figures(resumed.metrics)).toEqual(figures(expected.metrics));
    weightsOf(resumed).forEach((w, i) => expect(w, `weight ${i}`).toEqual(expected.weights[i]));
  });
});
