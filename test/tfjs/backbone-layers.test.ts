import * as tf from '../../src/tfjs/tf.js';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { missingPython, pythonWith } from '../../scripts/python.js';
import { useBackend } from '../../src/tfjs/backend.js';
import { DropPath, GroupNorm2D } from '../../src/tfjs/backbone-layers.js';
import { GroupedConv2D } from '../../src/tfjs/layers.js';
import { readTensors, writeTensors } from '../train/helpers.js';
import { randomImages, relativeError, tempDir } from './helpers.js';

/**
 * The tfjs layers behind the backbone statements, one at a time, against PyTorch
 * (backbone_layers.py: torch.nn's SiLU, GELU, Mish, LeakyReLU, GroupNorm and F.conv2d with
 * dilation, in float64): the output and the gradients of sum(y · R) for the input and every
 * weight, within 1e-4 relative (activations 1e-5: GELU's tanh approximation is within
 * 5e-4 of the erf form, 1.6e-4 relative on these inputs), on cpu and wasm. Drop path
 * against its definition.
 */
const python = pythonWith(['torch', 'numpy']);
const tolerance = 1e-4;
const backends = ['cpu', 'wasm'] as const;

interface Case {
  name: string;
  kind: 'silu' | 'gelu' | 'mish' | 'leaky_relu' | 'group_norm' | 'conv';
  shape: number[];
  slope?: number;
  groups?: number;
  eps?: number;
  kernel?: [number, number, number, number];
  stride?: number;
  dilation?: number;
  padding?: [number, number, number, number];
}

const cases: Case[] = [
  { name: 'silu', kind: 'silu', shape: [2, 3, 4, 5] },
  { name: 'gelu', kind: 'gelu', shape: [2, 3, 4, 5] },
  { name: 'mish', kind: 'mish', shape: [2, 3, 4, 5] },
  { name: 'leaky_relu', kind: 'leaky_relu', shape: [2, 3, 4, 5], slope: 0.2 },
  { name: 'group_norm 4 of 8', kind: 'group_norm', shape: [2, 5, 3, 8], groups: 4, eps: 1e-5 },
  { name: 'group_norm 1 of 6, eps 1e-3', kind: 'group_norm', shape: [3, 2, 4, 6], groups: 1, eps: 1e-3 },
  { name: 'conv 3x3 dilation 2, stride 1, odd size', kind: 'conv', shape: [2, 7, 9, 3], kernel: [3, 3, 3, 4], stride: 1, dilation: 2, padding: [2, 2, 2, 2], groups: 1 },
  { name: 'conv 3x3 dilation 4, stride 1, groups 2', kind: 'conv', shape: [1, 10, 8, 4], kernel: [3, 3, 2, 6], stride: 1, dilation: 4, padding: [4, 4, 4, 4], groups: 2 },
  { name: 'conv 3x3 dilation 2, stride 2', kind: 'conv', shape: [2, 9, 8, 3], kernel: [3, 3, 3, 4], stride: 2, dilation: 2, padding: [2, 2, 2, 2], groups: 1 },
  { name: 'conv 3x3 dilation 3, stride 2, uneven padding', kind: 'conv', shape: [1, 11, 10, 2], kernel: [3, 3, 2, 3], stride: 2, dilation: 3, padding: [1, 3, 2, 0], groups: 1 },
];

/** Values spread over [-scale/2, scale/2): inputs [-3, 3) for activations (softplus's and erf's tails), [-6, 6) otherwise; weights [-0.5, 0.5). */
function values(n: number, seed: number, scale = 12): Float32Array {
  return randomImages(n, seed).map((v) => (v - 0.5) * scale);
}

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** The case's inputs (NHWC, kernels HWIO): x, R, and its weights. */
function inputs(c: Case, seed: number): Map<string, [number[], Float32Array]> {
  const m = new Map<string, [number[], Float32Array]>();
  m.set('x', [c.shape, values(size(c.shape), seed, c.kind === 'conv' || c.kind === 'group_norm' ? 12 : 6)]);
  let out = c.shape;
  if (c.kind === 'conv') {
    const [kh, kw, , co] = c.kernel!;
    const [n = 0, h = 0, w = 0] = c.shape;
    const [t, l, b, r] = c.padding!;
    const len = (v: number, k: number, p: number): number => Math.floor((v + p - c.dilation! * (k - 1) - 1) / c.stride!) + 1;
    out = [n, len(h, kh, t + b), len(w, kw, l + r), co];
    m.set('kernel', [c.kernel!, values(size(c.kernel!), seed + 1, 1)]);
  }
  if (c.kind === 'group_norm') {
    const ch = c.shape[3]!;
    m.set('gamma', [[ch], values(ch, seed + 2, 1).map((v) => v + 1)]);
    m.set('beta', [[ch], values(ch, seed + 3, 1)]);
  }
  m.set('R', [out, values(size(out), seed + 4, 2)]);
  return m;
}

/** The case on the current backend: output and gradients, named as backbone_layers.py names them. */
function ours(c: Case, t: Map<string, [number[], Float32Array]>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  tf.tidy(() => {
    const x = tf.tensor4d(t.get('x')![1], t.get('x')![0] as [number, number, number, number]);
    const r = tf.tensor(t.get('R')![1], t.get('R')![0]);
    let layer: tf.layers.Layer;
    let weights: string[] = [];
    switch (c.kind) {
      case 'silu':
        layer = tf.layers.activation({ activation: 'swish' });
        break;
      case 'gelu':
      case 'mish':
        layer = tf.layers.activation({ activation: c.kind });
        break;
      case 'leaky_relu':
        layer = tf.layers.leakyReLU({ alpha: c.slope! });
        break;
      case 'group_norm':
        layer = new GroupNorm2D({ groups: c.groups!, epsilon: c.eps! });
        weights = ['gamma', 'beta'];
        break;
      case 'conv':
        layer = new GroupedConv2D({ filters: c.kernel![3], kernel: [c.kernel![0], c.kernel![1]], stride: c.stride!, padding: c.padding!, groups: c.groups!, useBias: false, dilation: c.dilation! });
        weights = ['kernel'];
        break;
    }
    layer.build(c.shape);
    if (weights.length > 0) layer.setWeights(weights.map((w) => tf.tensor(t.get(w)![1], t.get(w)![0])));
    const variables = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const xv = tf.variable(x);
    const { grads } = tf.variableGrads(() => {
      const y = layer.apply(xv, { training: true }) as tf.Tensor;
      out.set('y', y.dataSync() as Float32Array);
      return tf.sum(tf.mul(y, r));
    }, [xv, ...variables]);
    out.set('dx', grads[xv.name]!.dataSync() as Float32Array);
    weights.forEach((w, i) => out.set(`d${w}`, grads[variables[i]!.name]!.dataSync() as Float32Array));
    xv.dispose();
  });
  return out;
}

describe.runIf(python !== undefined)('backbone layers equal PyTorch (outputs and gradients)', () => {
  const torch = new Map<string, Float32Array>();
  const inputsOf = new Map<string, Map<string, [number[], Float32Array]>>();
  beforeAll(() => {
    const dir = tempDir('resnetc-backbone-layers-');
    const tensors: [string, number[], Float32Array][] = [];
    cases.forEach((c, i) => {
      const t = inputs(c, 100 + 10 * i);
      inputsOf.set(c.name, t);
      for (const [k, [shape, data]] of t) tensors.push([`${c.name}/${k}`, shape, data]);
    });
    writeTensors(join(dir, 'in'), tensors);
    writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));
    const r = spawnSync(python!, [join(import.meta.dirname, 'backbone_layers.py'), join(dir, 'cases.json'), join(dir, 'in'), join(dir, 'out')], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`backbone_layers.py failed: ${r.stderr}`);
    for (const [k, v] of readTensors(join(dir, 'out'))) torch.set(k, v.data);
  }, 120_000);

  for (const backend of backends) {
    for (const c of cases) {
      it(`${c.name} on ${backend}`, async () => {
        await useBackend(backend);
        const mine = ours(c, inputsOf.get(c.name)!);
        for (const [k, v] of mine) {
          const ref = torch.get(`${c.name}/${k}`);
          expect(ref, k).toBeDefined();
          expect(relativeError(v, ref!), `${k}`).toBeLessThan(c.kind === 'conv' || c.kind === 'group_norm' ? tolerance : 1e-5);
        }
      });
    }
  }
});

describe.skipIf(python !== undefined)('backbone layers equal PyTorch (outputs and gradients)', () => {
  it('needs PyTorch', (ctx) => ctx.skip(missingPython(['torch', 'numpy'])));
});

describe('DropPath: timm drop_path, per example, only in training', () => {
  for (const backend of backends) {
    it(`on ${backend}: drops each example with probability p, scales kept ones by 1/(1-p), and the seed fixes the draw`, async () => {
      await useBackend(backend);
      const p = 0.3;
      const n = 4000;
      const layer = new DropPath({ rate: p });
      const x = tf.add(tf.tensor(randomImages(n * 2 * 2 * 3, 5), [n, 2, 2, 3]), 0.5);
      layer.seed = 17;
      const y = layer.apply(x, { training: true }) as tf.Tensor;
      const xs = x.dataSync();
      const ys = y.dataSync();
      let dropped = 0;
      for (let i = 0; i < n; i++) {
        const row = ys.subarray(i * 12, i * 12 + 12);
        const kept = row.every((v, j) => Math.abs(v - xs[i * 12 + j]! / (1 - p)) <= 1e-6 * Math.abs(v));
        const zero = row.every((v) => v === 0);
        expect(kept || zero, `example ${i} is neither kept whole nor dropped whole`).toBe(true);
        if (zero) dropped++;
      }
      // Binomial(n, p): the fraction within 5 standard deviations of p.
      expect(Math.abs(dropped / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
      const again = layer.apply(x, { training: true }) as tf.Tensor;
      expect(Array.from(again.dataSync())).toEqual(Array.from(ys));
      const inference = layer.apply(x) as tf.Tensor;
      expect(Array.from(inference.dataSync())).toEqual(Array.from(xs));
      tf.dispose([x, y, again, inference]);
    });
  }
});

describe('saved models with the new layers load again', () => {
  it('GroupNorm2D, DropPath and a dilated GroupedConv2D survive a save and load (config and weights)', async () => {
    await useBackend('cpu');
    const input = tf.input({ shape: [9, 9, 4] });
    let h = new GroupedConv2D({ name: 'c', filters: 6, kernel: [3, 3], stride: 1, padding: [2, 2, 2, 2], groups: 2, useBias: true, dilation: 2 }).apply(input) as tf.SymbolicTensor;
    h = new GroupNorm2D({ name: 'gn', groups: 3, epsilon: 1e-3 }).apply(h) as tf.SymbolicTensor;
    h = new DropPath({ name: 'dp', rate: 0.2 }).apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: h });
    model.setWeights(model.getWeights().map((w, i) => tf.tensor(values(w.size, 50 + i, 1), w.shape)));
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    const x = tf.tensor(values(2 * 9 * 9 * 4, 3), [2, 9, 9, 4]);
    const a = (model.predict(x) as tf.Tensor).dataSync();
    const b = (loaded.predict(x) as tf.Tensor).dataSync();
    expect(relativeError(b, a)).toBe(0);
    expect(loaded.getLayer('gn').getConfig()).toMatchObject({ groups: 3, epsilon: 1e-3 });
    expect(loaded.getLayer('dp').getConfig()).toMatchObject({ rate: 0.2 });
    expect(loaded.getLayer('c').getConfig()).toMatchObject({ dilation: 2, groups: 2 });
  });
});
