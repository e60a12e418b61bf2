import * as tf from '../../src/tfjs/tf.js';
import * as ort from 'onnxruntime-node';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { emitOnnx } from '../../src/onnx/index.js';
import { useBackend } from '../../src/tfjs/backend.js';
import { loadModelDir } from '../../src/tfjs/io.js';
import { initialWeights } from '../../src/weights/init.js';
import { nchwToNhwc } from '../../src/weights/layout.js';
import { cli } from '../helpers/cli.js';
import { constructSpecs } from '../train/helpers.js';
import { checkText, perturbNorms, randomImages, relativeError, tempDir } from './helpers.js';

const specText = `model tiny {
  input 3x8x8
  classes 4
  stem { conv 3x3 8 }
  block basic
  shortcut A
  stage a { blocks 1  width 8 }
  stage b { blocks 1  width 16  stride 2 }
}
`;

function specFile(): string {
  const path = join(tempDir(), 'tiny.resnet');
  writeFileSync(path, specText);
  return path;
}

async function tfjsOutput(dir: string, nchw: Float32Array): Promise<Float32Array> {
  await useBackend('wasm');
  const model = await loadModelDir(dir);
  const y = model.predict(tf.tensor4d(nchwToNhwc(nchw, 2, 3, 8, 8), [2, 8, 8, 3])) as tf.Tensor;
  const out = y.dataSync() as Float32Array;
  y.dispose();
  model.dispose();
  return out;
}

async function ortOutput(bytes: Uint8Array, nchw: Float32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const r = await session.run({ input: new ort.Tensor('float32', nchw, [2, 3, 8, 8]) });
  await session.release();
  return r['output']!.data as Float32Array;
}

beforeAll(async () => {
  await useBackend('wasm');
});

describe('resnetc compile --target tfjs', () => {
  it('writes model.json and weights.bin that load with tf.loadLayersModel and match the ONNX export', async () => {
    const spec = specFile();
    const out = join(tempDir(), 'tiny-tfjs');
    const r = await cli('compile', spec, '--target', 'tfjs', '-o', out, '--seed', '4');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(join(out, 'model.json'))).toBe(true);
    expect(existsSync(join(out, 'weights.bin'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')).format).toBe('layers-model');
    const model = checkText(specText);
    const x = randomImages(2 * 3 * 8 * 8);
    const reference = await ortOutput(emitOnnx(model, initialWeights(model, { seed: 4 })), x);
    expect(relativeError(await tfjsOutput(out, x), reference)).toBeLessThan(1e-4);

    // As a browser loads it: the JSON and the weight bytes, with only the custom layers (src/tfjs/layers.ts) imported.
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
    const bin = readFileSync(join(out, 'weights.bin'));
    const inBrowser = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]!.weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) }),
    );
    const y = inBrowser.predict(tf.tensor4d(nchwToNhwc(x, 2, 3, 8, 8), [2, 8, 8, 3])) as tf.Tensor;
    expect(relativeError(y.dataSync(), reference)).toBeLessThan(1e-4);
    y.dispose();
    inBrowser.dispose();
  });

  it('writes every layer so that --weights reads it back: each construct compiled to tfjs, then to ONNX from that directory, gives the ONNX of the same seed', async () => {
    for (const [name, text] of Object.entries(constructSpecs)) {
      const model = checkText(text);
      const dir = tempDir();
      const spec = join(dir, `${name}.resnet`);
      writeFileSync(spec, text);
      const tfjsDir = join(dir, 'tfjs');
      expect((await cli('compile', spec, '--target', 'tfjs', '-o', tfjsDir, '--seed', '3')).code).toBe(0);
      const back = await cli('compile', spec, '--target', 'onnx', '-o', join(dir, 'back.onnx'), '--weights', tfjsDir);
      expect(back.stderr, name).toBe('');
      expect((await cli('compile', spec, '--target', 'onnx', '-o', join(dir, 'direct.onnx'), '--seed', '3')).code).toBe(0);
      const { c, h, w } = model.input;
      const x = randomImages(2 * c * h * w, 8);
      const run = async (file: string): Promise<Float32Array[]> => {
        const session = await ort.InferenceSession.create(readFileSync(join(dir, file)));
        const r = await session.run({ input: new ort.Tensor('float32', x, [2, c, h, w]) });
        await session.release();
        expect(session.outputNames, name).toEqual(model.outputs.map((o) => o.name));
        return session.outputNames.map((n) => r[n]!.data as Float32Array);
      };
      const [fromTfjs, direct] = [await run('back.onnx'), await run('direct.onnx')];
      fromTfjs.forEach((b, i) => expect(relativeError(b, direct[i]!), `${name}: ${model.outputs[i]!.name}`).toBeLessThan(1e-6));
    }
  });

  it('takes pretrained weights from an ONNX file', async () => {
    const spec = specFile();
    const model = checkText(specText);
    const weights = perturbNorms(initialWeights(model, { seed: 9 }));
    const onnxPath = join(tempDir(), 'pretrained.onnx');
    const bytes = emitOnnx(model, weights);
    writeFileSync(onnxPath, bytes);
    const out = join(tempDir(), 'from-onnx');
    const r = await cli('compile', spec, '--target', 'tfjs', '-o', out, '--weights', onnxPath);
    expect(r.code).toBe(0);
    const x = randomImages(2 * 3 * 8 * 8, 5);
    expect(relativeError(await tfjsOutput(out, x), await ortOutput(bytes, x))).toBeLessThan(1e-4);
  });
});

describe('resnetc train', () => {
  it('trains, says which backend it uses, and the trained model exports to ONNX with its weights and running statistics', async () => {
    const spec = specFile();
    const out = join(tempDir(), 'run');
    const r = await cli('train', spec, '--data', 'synthetic:32', '--out', out, '--epochs', '1', '--batch-size', '16', '--backend', 'wasm');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('with backend wasm');
    expect(r.stdout).toMatch(/epoch 1: train loss/);
    const onnxPath = join(tempDir(), 'trained.onnx');
    const c = await cli('compile', spec, '--target', 'onnx', '-o', onnxPath, '--weights', join(out, 'model'));
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    const x = randomImages(2 * 3 * 8 * 8, 6);
    expect(relativeError(await tfjsOutput(join(out, 'model'), x), await ortOutput(readFileSync(onnxPath), x))).toBeLessThan(1e-4);
  });

  it('reports a missing data source with R0601 before training, and writes nothing', async () => {
    const out = join(tempDir(), 'never');
    const r = await cli('train', specFile(), '--data', join(tempDir(), 'missing'), '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[R0601\]: cannot find the data source/);
    expect(existsSync(out)).toBe(false);
  });

  it('reports data that does not fit the spec input with R0602', async () => {
    const model = checkText(specText);
    expect(model.input.c).toBe(3);
    const spec = join(tempDir(), 'grey.resnet');
    writeFileSync(spec, specText.replace('3x8x8', '1x8x8'));
    const dir = tempDir();
    // A CIFAR-10 directory: 3x32x32 images.
    writeFileSync(join(dir, 'data_batch_1.bin'), new Uint8Array(3073));
    writeFileSync(join(dir, 'test_batch.bin'), new Uint8Array(3073));
    const r = await cli('train', spec, '--data', dir, '--out', join(tempDir(), 'o'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[R0602]');
    expect(r.stderr).toContain("has 3x32x32 images but model 'tiny' takes input 1x8x8");
    expect(r.stderr).toContain('help: write `input 3x32x32`');
  });

  it('reports an unknown backend with R0605 and an unavailable one too', async () => {
    const unknown = await cli('train', specFile(), '--data', 'synthetic', '--out', join(tempDir(), 'o'), '--backend', 'gpu');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error[R0605]: unknown backend 'gpu'");
    const missing = await cli('train', specFile(), '--data', 'synthetic', '--out', join(tempDir(), 'o'), '--backend', 'tfjs-node-gpu');
    if (missing.code !== 0) {
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("error[R0605]: backend 'tfjs-node-gpu' is not available");
      expect(missing.stderr).toContain('npm install @tensorflow/tfjs-node-gpu');
    }
  });

  it("reports webgpu without a GPU adapter with R0605, and auto moves on to the next backend", async (ctx) => {
    let available = true;
    try {
      await useBackend('webgpu');
    } catch {
      available = false;
    }
    await useBackend('wasm');
    if (available) ctx.skip('this machine has a WebGPU adapter');
    const r = await cli('train', specFile(), '--data', 'synthetic:16', '--out', join(tempDir(), 'o'), '--epochs', '1', '--batch-size', '16', '--backend', 'webgpu');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[R0605\]: backend 'webgpu' is not available: (no GPU device on this machine|Dawn found no WebGPU adapter|the webgpu package is not installed)/);
    const auto = await cli('train', specFile(), '--data', 'synthetic:16', '--out', join(tempDir(), 'o'), '--epochs', '1', '--batch-size', '16', '--backend', 'auto');
    expect(auto.code).toBe(0);
    expect(auto.stderr).toMatch(/with backend (tfjs-node|wasm)/);
  });

  it('refuses --batch-size 1 for a model with a norm at 1x1 (R0611), and warns once when only the last batch would be 1 image (R0612)', async () => {
    const spec = join(tempDir(), 'small.resnet');
    writeFileSync(spec, 'model small {\n  input 3x4x4\n  classes 4\n  stem { conv 3x3 4 stride 2 }\n  block basic\n  stage a { blocks 1  width 4  stride 2 }\n}\n');
    const one = await cli('train', spec, '--data', 'synthetic:17', '--out', join(tempDir(), 'o'), '--batch-size', '1');
    expect(one.code).toBe(1);
    expect(one.stderr).toMatch(/^error\[R0611\]: --batch-size 1 leaves norm 'a\.block0\.norm1' one value per channel/m);
    const last = await cli('train', spec, '--data', 'synthetic:17', '--out', join(tempDir(), 'o'), '--batch-size', '16', '--epochs', '2', '--backend', 'wasm');
    expect(last.code).toBe(0);
    expect(last.stderr.match(/warning\[R0612\]/g)).toHaveLength(1);
  });

  it('reports bad options with R0607', async () => {
    const r = await cli('train', specFile(), '--data', 'synthetic', '--out', join(tempDir(), 'o'), '--epochs', '0');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error[R0607]: --epochs must be a positive whole number, not '0'");
  });

  it.each([
    ['an unknown optimizer', ['--optimizer', 'adam'], 'R0607', "unknown optimizer 'adam'"],
    ['betas that are not two numbers in [0, 1)', ['--optimizer', 'adamw', '--betas', '0.9'], 'R0607', "--betas must be two numbers in [0, 1) separated by a comma (e.g. 0.9,0.999), not '0.9'"],
    ['label smoothing above 1', ['--label-smoothing', '1.5'], 'R0607', "--label-smoothing must be in [0, 1], not '1.5'"],
    ['a part the model lacks', ['--freeze', 'stem,conv2'], 'R0613', "--freeze names 'conv2', which is not a part of tiny with parameters"],
    ['a part by a near name', ['--freeze', 'stm'], 'R0613', "--freeze names 'stm', which is not a part of tiny with parameters; did you mean 'stem'?"],
    ['every part frozen', ['--freeze', 'stem,a,b,fc'], 'R0614', '--freeze stem,a,b,head freezes every parameter of tiny: there is nothing left to train'],
    ['momentum with AdamW', ['--optimizer', 'adamw', '--momentum', '0.9'], 'R0615', '--momentum does not apply to --optimizer adamw'],
    ['Nesterov with AdamW', ['--optimizer', 'adamw', '--nesterov'], 'R0615', '--nesterov does not apply to --optimizer adamw'],
    ["AdamW's betas with SGD", ['--betas', '0.9,0.99'], 'R0615', '--betas does not apply to --optimizer sgd'],
    ["AdamW's eps with SGD", ['--eps', '1e-6'], 'R0615', '--eps does not apply to --optimizer sgd'],
    ['Nesterov without momentum', ['--nesterov', '--momentum', '0'], 'R0615', '--nesterov needs momentum: --momentum is 0'],
    ['a warmup as long as the run', ['--epochs', '2', '--warmup', '2'], 'R0616', '--warmup 2 is as long as the run or longer (--epochs 2)'],
  ])('refuses %s before anything trains, with its code (exit 2)', async (_what, args, code, message) => {
    const out = join(tempDir(), 'o');
    const r = await cli('train', specFile(), '--data', 'synthetic', '--out', out, ...args);
    expect(r.stderr).toContain(`error[${code}]: ${message}`);
    expect(r.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it('reports a resume without a checkpoint with R0604', async () => {
    const r = await cli('train', specFile(), '--data', 'synthetic', '--out', join(tempDir(), 'o'), '--resume');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[R0604]: there is no checkpoint to resume');
  });

  it("reports weights of another network with the format's own code, as compile does (R0504 for an ONNX file)", async () => {
    const spec = specFile();
    const other = checkText(specText.replace('width 16', 'width 24'));
    const onnxPath = join(tempDir(), 'other.onnx');
    writeFileSync(onnxPath, emitOnnx(other, initialWeights(other)));
    const r = await cli('train', spec, '--data', 'synthetic', '--out', join(tempDir(), 'o'), '--weights', onnxPath);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[R0504\]: b.block0.conv1: expected a convolution weight of 16x8x3x3; the file's Conv 'b.block0.conv1' has 24x8x3x3/);
  });

  it('reports a tfjs model of another network with R0606, naming the weight and both shapes', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'other.resnet'), specText.replace('width 16', 'width 24'));
    expect((await cli('compile', join(dir, 'other.resnet'), '-t', 'tfjs', '-o', join(dir, 'other'))).code).toBe(0);
    const r = await cli('train', specFile(), '--data', 'synthetic', '--out', join(dir, 'o'), '--weights', join(dir, 'other'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[R0606\]: in the tfjs model in '.*other', 'b\.block0\.conv1\/kernel' is \[3, 3, 8, 24\]; tiny needs \[3, 3, 8, 16\] \(b\.block0\.conv1\.weight\)/);
    expect(existsSync(join(dir, 'o'))).toBe(false);
  });
});
