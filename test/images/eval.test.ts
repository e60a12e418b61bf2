import * as ort from 'onnxruntime-node';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/tfjs/backend.js';
import { cli } from '../helpers/cli.js';
import { tempDir } from '../tfjs/helpers.js';
import { writeIdxData } from '../train/helpers.js';
import { imageFolder, python, reference } from './helpers.js';

/**
 * eval and predict give the figures computed independently of resnetc's pipeline: the
 * inputs by torchvision (ImageFolder, Resize, CenterCrop, ToTensor, Normalize on PIL's
 * decoding), the logits by ONNX Runtime on the model's ONNX export, the top-1 / top-5
 * accuracy, loss and per-class counts by the arithmetic below.
 *
 * The validation images have the size the evaluation's resize gives (the short side
 * ⌊14 · 256/224⌋ = 16), so PIL's and libvips's resampling do not enter: the comparison is
 * of the pipeline (crop, normalisation, labels, metrics), decoding is test/images/decode.test.ts's.
 */

const specText = `model six {
  input 3x14x14
  classes 6
  stem { conv 3x3 8 stride 2 }
  block basic
  stage a { blocks 1  width 8 }
}
`;
const names = ['ant', 'bee', 'cat', 'dog', 'eel', 'fox'];

interface EvalJson {
  images: number;
  top1: number;
  top5: number;
  loss: number;
  runtime: string;
  classes: { index: number; name: string; images: number; correct: number; predicted: number }[];
}

/** The figures of logits [n, classes] against labels, by plain arithmetic. */
function figures(logits: Float32Array, labels: number[], classes: number): { top1: number; top5: number; loss: number; correct: number[]; predicted: number[] } {
  let top1 = 0;
  let top5 = 0;
  let loss = 0;
  const correct = Array(classes).fill(0);
  const predicted = Array(classes).fill(0);
  labels.forEach((label, i) => {
    const row = Array.from(logits.subarray(i * classes, (i + 1) * classes));
    const rank = row.filter((v) => v > row[label]!).length;
    const best = row.indexOf(Math.max(...row));
    predicted[best]++;
    if (best === label) {
      top1++;
      correct[label]++;
    }
    if (rank < 5) top5++;
    loss += Math.log(row.reduce((a, v) => a + Math.exp(v), 0)) - row[label]!;
  });
  return { top1: top1 / labels.length, top5: top5 / labels.length, loss: loss / labels.length, correct, predicted };
}

async function ortLogits(onnx: string, nchw: Float32Array, n: number, c: number, h: number, w: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(onnx);
  const r = await session.run({ input: new ort.Tensor('float32', nchw, [n, c, h, w]) });
  await session.release();
  return r['output']!.data as Float32Array;
}

describe.skipIf(!python)('eval and predict on a trained model', () => {
  const dir = tempDir();
  const spec = join(dir, 'six.resnet');
  const out = join(dir, 'run');
  const onnx = join(dir, 'six.onnx');
  let root: string;
  let inputs: Float32Array;
  let labels: number[];
  let logits: Float32Array;

  beforeAll(async () => {
    await useBackend('wasm');
    writeFileSync(spec, specText);
    const sizes: [number, number][] = [
      [16, 16],
      [16, 21],
      [23, 16],
    ];
    const files = (k: number): [string, number, number][] => sizes.map(([h, w], i) => [`${i}.${(i + k) % 2 ? 'png' : 'jpg'}`, h, w]);
    const split = Object.fromEntries(names.map((n, k) => [n, files(k)]));
    root = await imageFolder(join(dir, 'data'), { train: split, val: split });
    const trained = await cli('train', spec, '--data', root, '--out', out, '--epochs', '1', '--batch-size', '6', '--backend', 'wasm');
    expect(trained.code, trained.stderr).toBe(0);
    const compiled = await cli('compile', spec, '--target', 'onnx', '--weights', join(out, 'model'), '-o', onnx);
    expect(compiled.stdout).toContain(`wrote ${join(dir, 'six.preprocess.json')}`);
    const [theirs] = reference<{ labels: number[]; classes: string[] }>([
      { op: 'eval_inputs', root: join(root, 'val'), resize: 16, crop: [14, 14], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], out: join(dir, 'inputs.bin') },
    ]);
    expect(theirs!.classes).toEqual(names);
    labels = theirs!.labels;
    const bytes = readFileSync(join(dir, 'inputs.bin'));
    inputs = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    logits = await ortLogits(onnx, inputs, labels.length, 3, 14, 14);
  });

  for (const [what, weights] of [
    ['the tfjs model', (): string => join(out, 'model')],
    ['the ONNX file, in ONNX Runtime', (): string => onnx],
  ] as const) {
    it(`eval of ${what} gives top-1, top-5, loss and per-class counts of torchvision's inputs through ONNX Runtime`, async () => {
      const r = await cli('eval', spec, '--weights', weights(), '--data', root, '--json', '--backend', 'wasm');
      expect(r.code, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout) as EvalJson;
      const want = figures(logits, labels, 6);
      expect(got.images).toBe(18);
      expect(got.top1).toBe(want.top1);
      expect(got.top5).toBe(want.top5);
      expect(Math.abs(got.loss - want.loss) / want.loss).toBeLessThan(1e-5);
      expect(got.classes.map((c) => [c.name, c.images, c.correct, c.predicted])).toEqual(names.map((n, k) => [n, 3, want.correct[k], want.predicted[k]]));
      expect(got.runtime).toBe(weights() === onnx ? 'ONNX Runtime' : 'tfjs');
    });
  }

  it("predict gives ONNX Runtime's softmax of torchvision's input, most probable first, named", async () => {
    const image = join(root, 'val', 'eel', '2.jpg');
    const index = names.indexOf('eel') * 3 + 2;
    const r = await cli('predict', spec, '--weights', join(out, 'model'), image, '--json', '--top', '3', '--backend', 'wasm');
    expect(r.code, r.stderr).toBe(0);
    const got = (JSON.parse(r.stdout) as { predictions: { file: string; top: { class: number; name: string; probability: number }[] }[] }).predictions;
    const row = Array.from(logits.subarray(index * 6, index * 6 + 6));
    const sum = row.reduce((a, v) => a + Math.exp(v), 0);
    const want = row.map((v, k) => ({ class: k, name: names[k], p: Math.exp(v) / sum })).sort((a, b) => b.p - a.p).slice(0, 3);
    expect(got[0]!.file).toBe(image);
    expect(got[0]!.top.map((t) => [t.class, t.name])).toEqual(want.map((t) => [t.class, t.name]));
    got[0]!.top.forEach((t, k) => expect(Math.abs(t.probability - want[k]!.p)).toBeLessThan(1e-5));
    // The text form: the file, then ranked names and percentages.
    const text = await cli('predict', spec, '--weights', onnx, image, '--top', '2');
    expect(text.stdout).toMatch(new RegExp(`^${image}\\n  1\\. ${want[0]!.name} +\\d+\\.\\d\\d%\\n  2\\. ${want[1]!.name} +\\d+\\.\\d\\d%\\n$`));
  });

  it('prints a table of each class with the text output', async () => {
    const r = await cli('eval', spec, '--weights', join(out, 'model'), '--data', join(root, 'val'), '--backend', 'wasm');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^top-1 \d+\.\d\d% \(\d+ of 18\) {2}top-5 \d+\.\d\d% \(\d+ of 18\) {2}loss \d+\.\d{4}\n\nclass +images +correct +recall +predicted +precision\n/);
    expect(r.stdout.trim().split('\n')).toHaveLength(3 + 6);
  });

  describe('refusals', () => {
    it('R0659: a preprocess.json for another input, and one that is not JSON', async () => {
      const other = join(dir, 'other.json');
      writeFileSync(other, readFileSync(join(out, 'model', 'preprocess.json'), 'utf8').replace('"input": [3,14,14]', '"input": [3,16,16]'));
      const r = await cli('eval', spec, '--weights', join(out, 'model'), '--data', root, '--preprocess', other);
      expect(r.stderr).toMatch(/error\[R0659\]: .*it is for input 3x16x16, the model takes 3x14x14/);
      writeFileSync(other, '{');
      expect((await cli('predict', spec, '--weights', onnx, '--preprocess', other, join(root, 'val', 'ant', '0.jpg'))).stderr).toContain('error[R0659]');
    });

    it('R0661: an evaluation folder with a class the model does not name', async () => {
      const zoo = await imageFolder(join(dir, 'zoo'), { val: { ant: [['0.png', 16, 16]], yak: [['0.png', 16, 16]] } });
      const r = await cli('eval', spec, '--weights', onnx, '--data', join(zoo, 'val'));
      expect(r.stderr).toMatch(/error\[R0661\]: .*'yak', which the model does not name/);
    });

    it('R0662: an ONNX file of another spec', async () => {
      const other = join(dir, 'other.resnet');
      writeFileSync(other, specText.replace('classes 6', 'classes 4').replace('model six', 'model four'));
      const four = join(dir, 'four.onnx');
      expect((await cli('compile', other, '--target', 'onnx', '-o', four)).code).toBe(0);
      const r = await cli('eval', spec, '--weights', four, '--data', root, '--preprocess', join(out, 'model', 'preprocess.json'));
      expect(r.stderr).toMatch(/error\[R0662\]: .*gives float32 \[\d+, 4\]/);
      // Read into the spec's tfjs model, the weights are taken as they are: a head of other classes is refused, never initialised afresh.
      const t = await cli('eval', spec, '--weights', four, '--data', root, '--runtime', 'tfjs', '--backend', 'wasm', '--preprocess', join(out, 'model', 'preprocess.json'));
      expect([t.code, t.stderr]).toEqual([1, expect.stringMatching(/error\[R1011\]: .*head of 4 classes; six has 6/)]);
      expect(t.stderr).not.toContain('--strict-weights');
    });

    it('R0663: an unknown runtime, --runtime onnx for weights that are not ONNX, a --top of 0', async () => {
      const r1 = await cli('eval', spec, '--weights', onnx, '--data', root, '--runtime', 'torch');
      expect([r1.code, r1.stderr]).toEqual([2, expect.stringContaining("error[R0663]: unknown runtime 'torch'")]);
      const r2 = await cli('eval', spec, '--weights', join(out, 'model'), '--data', root, '--runtime', 'onnx');
      expect(r2.stderr).toContain('error[R0663]: --runtime onnx runs an ONNX file');
      const r3 = await cli('predict', spec, '--weights', onnx, '--top', '0', join(root, 'val', 'ant', '0.jpg'));
      expect(r3.stderr).toContain("error[R0663]: --top must be a positive whole number, not '0'");
    });

    it('R0602: a model whose outputs drop the head has nothing to classify with', async () => {
      const features = join(dir, 'features.resnet');
      writeFileSync(features, specText.replace('stage a { blocks 1  width 8 }', 'stage a { blocks 1  width 8 }\n  outputs a'));
      const r = await cli('predict', features, '--weights', onnx, join(root, 'val', 'ant', '0.jpg'));
      expect([r.code, r.stderr]).toEqual([1, expect.stringContaining("error[R0602]: model 'six' has no head to classify with: its `outputs` do not list `logits`")]);
    });

    it('R0653: predict of a file that is not an image names it', async () => {
      const text = join(dir, 'notes.png');
      writeFileSync(text, 'hello');
      const r = await cli('predict', spec, '--weights', onnx, text);
      expect(r.stderr).toContain(`error[R0653]: '${text}' cannot be decoded as an image`);
    });
  });
});

describe('eval on IDX data, with weights that kept no preprocess.json', () => {
  it('warns (R0660), feeds value/255 as training on IDX did, and gives the figures of ONNX Runtime on the ONNX export', async () => {
    await useBackend('wasm');
    const dir = tempDir();
    const spec = join(dir, 'gray.resnet');
    writeFileSync(spec, `model gray {\n  input 1x6x6\n  classes 3\n  stem { conv 3x3 4 }\n  block basic\n  stage a { blocks 1  width 4 }\n}\n`);
    const n = 12;
    const images = Uint8Array.from({ length: n * 36 }, (_, i) => (i * 73 + (i >> 5) * 29) % 256);
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 3);
    writeIdxData(dir, [1, 6, 6], { images, labels });
    const onnx = join(dir, 'gray.onnx');
    expect((await cli('compile', spec, '--target', 'onnx', '--seed', '3', '-o', onnx)).code).toBe(0);
    expect((await cli('compile', spec, '--target', 'tfjs', '--seed', '3', '-o', join(dir, 'tfjs'))).code).toBe(0);
    expect(existsSync(join(dir, 'gray.preprocess.json'))).toBe(false);
    const r = await cli('eval', spec, '--weights', join(dir, 'tfjs'), '--data', dir, '--json', '--backend', 'wasm');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning[R0660]');
    const got = JSON.parse(r.stdout) as EvalJson;
    const want = figures(await ortLogits(onnx, Float32Array.from(images, (v) => v / 255), n, 1, 6, 6), [...labels], 3);
    expect([got.images, got.top1, got.top5]).toEqual([n, want.top1, 1]);
    expect(Math.abs(got.loss - want.loss) / want.loss).toBeLessThan(1e-5);
  });
});
