import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CodedError } from '../../src/diagnostics/coded-error.js';
import { useBackend } from '../../src/tfjs/backend.js';
import { imageAugment } from '../../src/train/batches.js';
import { openData } from '../../src/train/data.js';
import { train, type TrainOptions, type TrainResult } from '../../src/train/train.js';
import { cli } from '../helpers/cli.js';
import { checkText, tempDir } from '../tfjs/helpers.js';
import { imageFolder } from './helpers.js';

const specText = `model tiny {
  input 3x8x8
  classes 3
  stem { conv 3x3 8 }
  block basic
  stage a { blocks 1  width 8 }
  stage b { blocks 1  width 8  stride 2 }
}
`;
const model = (): ReturnType<typeof checkText> => checkText(specText);

/** Three classes of images of sizes 9-23 (PNG and JPEG): 7 training images each, 2 for validation. */
async function folder(): Promise<string> {
  const files = (n: number, k: number): [string, number, number][] => Array.from({ length: n }, (_, i) => [`${i}.${(i + k) % 2 ? 'png' : 'jpg'}`, 9 + ((i * 5 + k) % 15), 10 + ((i * 3 + k) % 13)]);
  const classes = (n: number): Record<string, [string, number, number][]> => ({ cat: files(n, 0), dog: files(n, 1), emu: files(n, 2) });
  return imageFolder(tempDir(), { train: classes(7), val: classes(2) });
}

let root: string;

beforeAll(async () => {
  await useBackend('wasm');
  root = await folder();
});

const options = (out: string): TrainOptions => ({ epochs: 2, batchSize: 8, lr: 0.05, momentum: 0.9, weightDecay: 5e-4, schedule: 'cosine', augment: imageAugment, seed: 5, out });
const data = (): ReturnType<typeof openData> => openData(root, { input: { c: 3, h: 8, w: 8 }, classes: 3 });

function weightsOf(result: TrainResult): Float32Array[] {
  const values = result.model.getWeights().map((t) => t.dataSync() as Float32Array);
  result.model.dispose();
  return values;
}

describe('training on an image folder', () => {
  it('stopped in the middle of an epoch and resumed, ends with the uninterrupted run\'s weights, bit for bit', async () => {
    // 21 images in batches of 8: 3 steps an epoch, the last of 5; RandomResizedCrop and flips.
    const straight = weightsOf(await train(model(), data(), options(tempDir())));
    const out = tempDir();
    let step = 0;
    const stopped = await train(model(), data(), options(out), { shouldStop: () => ++step === 4 });
    expect([stopped.stopped, stopped.epochsDone, stopped.stepsDone]).toEqual([true, 1, 1]);
    stopped.model.dispose();
    const resumed = weightsOf(await train(model(), data(), { ...options(out), resume: join(out, 'checkpoint') }));
    resumed.forEach((w, i) => expect(w, `weight ${i}`).toEqual(straight[i]));
  });

  it('writes preprocess.json (ImageNet normalisation, the evaluation resize, the class names) beside the model and in the checkpoint', async () => {
    const out = join(tempDir(), 'run');
    const spec = join(tempDir(), 'tiny.resnet');
    writeFileSync(spec, specText);
    const r = await cli('train', spec, '--data', root, '--out', out, '--epochs', '1', '--batch-size', '8', '--augment', '--backend', 'wasm');
    expect(r.stderr).toContain("training tiny on the image folder");
    expect(r.code).toBe(0);
    for (const dir of ['model', 'checkpoint']) {
      expect(JSON.parse(readFileSync(join(out, dir, 'preprocess.json'), 'utf8'))).toEqual({
        format: 'resnetc-preprocess',
        version: 1,
        input: [3, 8, 8],
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
        resize: 9,
        classes: ['cat', 'dog', 'emu'],
      });
    }
    // A resume with another normalisation or augmentation is another run (R0608).
    const again = await cli('train', spec, '--data', root, '--out', out, '--epochs', '2', '--batch-size', '8', '--backend', 'wasm', '--resume', '--mean', '0.5,0.5,0.5');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/error\[R0608\].*data\.preprocess\.mean/s);
  });
});

describe('train on an image folder refuses, each with its code', () => {
  let spec: string;
  beforeAll(() => {
    spec = join(tempDir(), 'tiny.resnet');
    writeFileSync(spec, specText);
  });
  const run = (...args: string[]): ReturnType<typeof cli> => cli('train', spec, '--data', root, '--epochs', '1', '--backend', 'wasm', ...args);

  it('R0658: an output folder inside the data', async () => {
    const r = await run('--out', join(root, 'train', 'run'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[R0658]');
  });

  it('R0607: a --mean of another number of values than channels, or --mean for data that is not an image folder', async () => {
    expect((await run('--out', tempDir(), '--mean', '0.5,0.5')).stderr).toContain('error[R0607]: --mean must be 3 numbers');
    expect((await cli('train', spec, '--data', 'synthetic:16', '--out', tempDir(), '--std', '1,1,1')).stderr).toContain('error[R0607]: --mean, --std and --skip-bad-images apply to image folders');
  });

  it('R0602: a model whose input has neither 1 nor 3 channels', async () => {
    const four = join(tempDir(), 'four.resnet');
    writeFileSync(four, specText.replace('input 3x8x8', 'input 4x8x8'));
    const r = await cli('train', four, '--data', root, '--out', tempDir());
    expect(r.stderr).toContain('error[R0602]');
  });

  it('R0653 names an unreadable image and stops; --skip-bad-images trains on with a warning (R0656) for it', async () => {
    const bad = await folder();
    writeFileSync(join(bad, 'train', 'dog', 'truncated.png'), readFileSync(join(bad, 'train', 'dog', '0.png')).subarray(0, 60));
    const args = ['train', spec, '--data', bad, '--epochs', '1', '--batch-size', '8', '--backend', 'wasm'];
    const stop = await cli(...args, '--out', tempDir());
    expect(stop.code).toBe(1);
    expect(stop.stderr).toMatch(/error\[R0653\]: '.*truncated\.png' cannot be decoded/);
    const skip = await cli(...args, '--out', tempDir(), '--skip-bad-images');
    expect(skip.code).toBe(0);
    expect(skip.stderr).toMatch(/warning\[R0656\]: '.*truncated\.png' cannot be decoded.*left out/);
  });

  it('R0651: warns of a class without validation images', async () => {
    const partial = await imageFolder(tempDir(), { train: { a: [['1.png', 9, 9], ['2.png', 9, 9]], b: [['1.png', 9, 9], ['2.png', 9, 9]] }, val: { a: [['1.png', 9, 9]] } });
    const r = await cli('train', spec, '--data', partial, '--out', tempDir(), '--epochs', '1', '--batch-size', '2', '--backend', 'wasm');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning\[R0651\]: the class 'b' of '.*train' has no images/);
  });

  it('refuses a data folder of no known layout with R0601', async () => {
    try {
      openData(tempDir(), { input: { c: 3, h: 8, w: 8 }, classes: 3 });
      expect.unreachable();
    } catch (e) {
      expect((e as CodedError).code).toBe('R0601');
    }
  });
});
