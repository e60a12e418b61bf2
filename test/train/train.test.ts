import * as tf from '../../src/tfjs/tf.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/tfjs/backend.js';
import { buildTfjsModel } from '../../src/tfjs/build.js';
import { fileLoadHandler, loadModelDir } from '../../src/tfjs/io.js';
import { setWeights } from '../../src/tfjs/weights.js';
import { loadData } from '../../src/train/data.js';
import { Sgd } from '../../src/train/optimizer.js';
import type { CheckpointState } from '../../src/train/checkpoint.js';
import { train, trainStep, type TrainOptions } from '../../src/train/train.js';
import { initialWeights } from '../../src/weights/init.js';
import { checkText, randomImages, relativeError, tempDir } from '../tfjs/helpers.js';

/** A tiny network with every kind of block part: strided shortcut A, projection B, a pool in the stem. */
const tiny = (): ReturnType<typeof checkText> =>
  checkText(`model tiny {
    input 3x8x8
    classes 4
    stem { conv 3x3 8  maxpool 3x3 stride 1 }
    block basic
    shortcut A
    stage a { blocks 1  width 8 }
    stage b { blocks 1  width 16  stride 2  shortcut B }
  }`);

const options = (out: string, epochs: number): TrainOptions => ({
  epochs,
  batchSize: 16,
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 1e-4,
  schedule: 'constant',
  augment: undefined,
  seed: 1,
  out,
});

/** Where a checkpoint stands: completed epochs and steps of the next. */
function progressOf(dir: string): { epoch: number; step: number } {
  const { progress } = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as CheckpointState;
  return { epoch: progress.epoch, step: progress.step };
}

beforeAll(async () => {
  await useBackend('wasm');
});

describe('training', () => {
  it('lowers the loss on synthetic data', async () => {
    const model = tiny();
    const data = loadData('synthetic:64', { input: model.input, classes: 4, seed: 2 });
    const result = await train(model, data, { ...options(tempDir(), 6) });
    const first = result.metrics[0]!.trainLoss;
    const last = result.metrics[result.metrics.length - 1]!.trainLoss;
    expect(last).toBeLessThan(first * 0.7);
    result.model.dispose();
  });

  it('leaks no tensors across steps', async () => {
    const model = tiny();
    const tfModel = buildTfjsModel(model);
    setWeights(tfModel, model, initialWeights(model, { seed: 1 }));
    const variables = tfModel.trainableWeights.map((w) => w.read() as tf.Variable);
    const optimizer = new Sgd(0.9, 1e-4);
    const data = loadData('synthetic:16', { input: model.input, classes: 4 });
    const batch = { x: randomImages(16 * 3 * 8 * 8), y: Int32Array.from({ length: 16 }, (_, i) => i % 4) };
    // The first step creates the momentum buffers; every later step must leave the count as it was.
    trainStep(tfModel, variables, optimizer, batch, data.train, 4, 0.1);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) trainStep(tfModel, variables, optimizer, batch, data.train, 4, 0.1);
    expect(tf.memory().numTensors).toBe(before);
    optimizer.dispose();
    tfModel.dispose();
  });

  it('writes a model that tf.loadLayersModel loads and that gives the same outputs', async () => {
    const model = tiny();
    const out = tempDir();
    const data = loadData('synthetic:32', { input: model.input, classes: 4 });
    const result = await train(model, data, options(out, 1));
    const loaded = await tf.loadLayersModel(fileLoadHandler(join(out, 'model')));
    const x = tf.tensor4d(randomImages(2 * 8 * 8 * 3), [2, 8, 8, 3]);
    const a = result.model.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    expect(relativeError(b.dataSync(), a.dataSync())).toBeLessThan(1e-6);
    tf.dispose([x, a, b]);
    loaded.dispose();
    result.model.dispose();
    for (const f of ['metrics.csv', 'metrics.jsonl', 'plot.svg', 'checkpoint/model.json', 'checkpoint/state.json']) expect(existsSync(join(out, f))).toBe(true);
    expect(readFileSync(join(out, 'metrics.csv'), 'utf8').split('\n')[0]).toBe('epoch,lr,train_loss,train_accuracy,test_loss,test_accuracy,seconds,images_per_second');
    expect(readFileSync(join(out, 'plot.svg'), 'utf8')).toMatch(/^<svg/);
  });

  it('resumes from the epoch the checkpoint recorded and ends where an uninterrupted run ends', async () => {
    const model = tiny();
    const data = loadData('synthetic:32', { input: model.input, classes: 4, seed: 3 });

    const straight = tempDir();
    const full = await train(model, data, options(straight, 3));

    const split = tempDir();
    const firstPart = await train(model, data, options(split, 1));
    firstPart.model.dispose();
    expect(progressOf(join(split, 'checkpoint'))).toEqual({ epoch: 1, step: 0 });
    const epochsSeen: number[] = [];
    const rest = await train(model, data, { ...options(split, 3), resume: join(split, 'checkpoint') }, { onEpoch: (m) => epochsSeen.push(m.epoch) });
    expect(epochsSeen).toEqual([2, 3]);
    expect(rest.metrics.map((m) => m.epoch)).toEqual([1, 2, 3]);
    expect(progressOf(join(split, 'checkpoint'))).toEqual({ epoch: 3, step: 0 });

    // Same data order, same momentum buffers: the resumed run reaches the same weights.
    const a = full.model.getWeights();
    const b = rest.model.getWeights();
    for (let i = 0; i < a.length; i++) expect(relativeError(b[i]!.dataSync(), a[i]!.dataSync())).toBeLessThan(1e-4);
    full.model.dispose();
    rest.model.dispose();
  });

  it('stops on request with a checkpoint of where it stopped', async () => {
    const model = tiny();
    const out = tempDir();
    const data = loadData('synthetic:32', { input: model.input, classes: 4 });
    let steps = 0;
    const result = await train(model, data, options(out, 3), { shouldStop: () => ++steps === 3 });
    expect(result.stopped).toBe(true);
    expect(result.epochsDone).toBe(1);
    expect(result.stepsDone).toBe(1);
    expect(progressOf(join(out, 'checkpoint'))).toEqual({ epoch: 1, step: 1 });
    expect(existsSync(join(out, 'model'))).toBe(false);
    const saved = await loadModelDir(join(out, 'checkpoint'));
    expect(saved.name).toBe('tiny');
    saved.dispose();
    result.model.dispose();
  });
});

describe('a batch that would leave a norm one value per channel', () => {
  /** The last stage runs at 1x1: one image gives its norms one value per channel. */
  const at1x1 = (): ReturnType<typeof checkText> =>
    checkText(`model small {
    input 3x4x4
    classes 4
    stem { conv 3x3 4 stride 2 }
    block basic
    stage a { blocks 1  width 4  stride 2 }
  }`);

  it('is dropped, with one warning (R0612), when the data leave a last batch of 1 image: 17 images in batches of 16', async () => {
    const model = at1x1();
    const data = loadData('synthetic:17', { input: model.input, classes: 4 });
    const warnings: string[] = [];
    const steps: number[] = [];
    const result = await train(model, data, options(tempDir(), 2), { onWarning: (code, message) => warnings.push(`${code} ${message}`), onStep: (p) => steps.push(p.steps) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^R0612 .*norm 'a\.block0\.norm1' one value per channel .* 16 of 17 images train per epoch/);
    expect(steps).toEqual([1, 1]);
    result.model.dispose();
  });

  it('is refused (R0611) when the batch size itself is 1', async () => {
    const model = at1x1();
    const data = loadData('synthetic:17', { input: model.input, classes: 4 });
    await expect(train(model, data, { ...options(tempDir(), 1), batchSize: 1 })).rejects.toMatchObject({ code: 'R0611', message: expect.stringMatching(/--batch-size 1 leaves norm 'a\.block0\.norm1' one value per channel/) });
  });

  it('is not a concern without a norm at 1x1: 17 images train in 2 steps, the last of 1 image', async () => {
    const model = tiny();
    const data = loadData('synthetic:17', { input: model.input, classes: 4 });
    const warnings: string[] = [];
    const steps: number[] = [];
    const result = await train(model, data, options(tempDir(), 1), { onWarning: (code) => warnings.push(code), onStep: (p) => steps.push(p.step) });
    expect(warnings).toEqual([]);
    expect(steps).toEqual([1, 2]);
    result.model.dispose();
  });
});
