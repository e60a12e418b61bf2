import * as tf from '../../src/tfjs/tf.js';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedKernelsModule, kernelsGeneratedPath } from '../../scripts/wasm-module.js';
import { useBackend } from '../../src/tfjs/backend.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BatchNorm2D } from '../../src/tfjs/layers.js';
import { simdKernels } from '../../src/tfjs/simd-kernels.js';
import { im2colTransposed } from '../../src/tfjs/wasm-kernels.js';
import { randomImages, relativeError } from './helpers.js';

/**
 * The shapes that take kernels.wat's SIMD loops on wasm (channel counts that are multiples
 * of 4; planes whose pixel count is a multiple of 4; more rows than a 64-row block), which
 * the random shapes of gradients.property.test.ts reach rarely, against the cpu backend,
 * whose batch norm is tfjs's ops and whose convolution gradients are tfjs's own.
 */

interface NormResult {
  x: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  y: Float32Array;
  grads: Float32Array[];
  running: Float32Array[];
}

/** PyTorch's BatchNorm2d training output in float64 (the docs' formula, biased variance), from the float32 inputs. */
function referenceNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number): Float64Array {
  const c = gamma.length;
  const rows = x.length / c;
  const y = new Float64Array(x.length);
  for (let k = 0; k < c; k++) {
    let mean = 0;
    for (let i = k; i < x.length; i += c) mean += x[i]!;
    mean /= rows;
    let variance = 0;
    for (let i = k; i < x.length; i += c) variance += (x[i]! - mean) ** 2;
    variance /= rows;
    for (let i = k; i < x.length; i += c) y[i] = ((x[i]! - mean) / Math.sqrt(variance + eps)) * gamma[k]! + beta[k]!;
  }
  return y;
}

/** A BatchNorm2D training step on `backend`: output, gradients of sum(y · W) for x, γ, β, and the updated running statistics. */
async function normStep(backend: 'cpu' | 'wasm', shape: number[], offset: number): Promise<NormResult> {
  await useBackend(backend);
  const size = shape.reduce((a, b) => a * b, 1);
  const c = shape[3]!;
  return tf.tidy(() => {
    const layer = new BatchNorm2D({ momentum: 0.1, epsilon: 1e-5 });
    layer.build(shape);
    const [gamma, beta] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    gamma!.assign(tf.add(tf.tensor(randomImages(c, 5)), 0.5));
    beta!.assign(tf.sub(tf.tensor(randomImages(c, 6)), 0.5));
    // Values far from 0 in some channels (a shifted mean), a constant channel (variance 0).
    const x = tf.variable(tf.add(tf.mul(tf.tensor(randomImages(size, 7), shape), tf.tensor(Float32Array.from({ length: c }, (_, k) => (k === 1 ? 0 : 1 + k)))), offset));
    const weights = tf.sub(tf.tensor(randomImages(size, 8), shape), 0.5);
    let y: tf.Tensor | undefined;
    const { grads } = tf.variableGrads(() => {
      y = tf.keep(layer.apply(x, { training: true }) as tf.Tensor);
      return tf.sum(tf.mul(y, weights));
    }, [x, gamma!, beta!]);
    const out = {
      x: x.dataSync() as Float32Array,
      gamma: gamma!.dataSync() as Float32Array,
      beta: beta!.dataSync() as Float32Array,
      y: y!.dataSync() as Float32Array,
      grads: [x, gamma!, beta!].map((v) => grads[v.name]!.dataSync() as Float32Array),
      running: layer.nonTrainableWeights.map((w) => w.read().dataSync() as Float32Array),
    };
    y!.dispose();
    return out;
  });
}

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

const explicit = (t: number, b: number, l: number, r: number): Pad => [
  [0, 0],
  [t, b],
  [l, r],
  [0, 0],
];

async function convGrads(backend: 'cpu' | 'wasm', xShape: number[], fShape: number[], stride: number, pad: Pad): Promise<Float32Array[]> {
  await useBackend(backend);
  return tf.tidy(() => {
    const x = tf.sub(tf.tensor(randomImages(xShape.reduce((a, b) => a * b), 1), xShape), 0.5) as tf.Tensor4D;
    const f = tf.sub(tf.tensor(randomImages(fShape.reduce((a, b) => a * b), 2), fShape), 0.5) as tf.Tensor4D;
    const g = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => {
      const y = tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, stride, pad);
      return tf.sum(tf.mul(y, tf.sub(tf.tensor(randomImages(y.size, 3), y.shape), 0.5)));
    })([x, f]);
    return g.map((t) => t.dataSync() as Float32Array);
  });
}

describe('kernels.wat on wasm equals the cpu backend', () => {
  const norms: [string, number[], number][] = [
    ['4 channels, 126 rows (a block and a part)', [2, 7, 9, 4], 0],
    ['16 channels, 192 rows, mean 50', [3, 8, 8, 16], 50],
    ['12 channels, a 1x1 map of 5 images', [5, 1, 1, 12], -3],
    ['64 channels, 1024 rows', [16, 8, 8, 64], 1],
    ['6 channels (JavaScript path)', [2, 5, 5, 6], 2],
  ];
  for (const [name, shape, offset] of norms) {
    it(`batch norm in training, ${name}: output, gradients and running statistics`, async () => {
      const cpu = await normStep('cpu', shape, offset);
      const wasm = await normStep('wasm', shape, offset);
      // The output against float64 arithmetic: tfjs's float32 ops (the cpu backend) miss the
      // mean of a constant channel by an ulp, which 1/√ε magnifies to 1e-5 of the output.
      expect(relativeError(wasm.y, referenceNorm(wasm.x, wasm.gamma, wasm.beta, 1e-5))).toBeLessThan(1e-6);
      cpu.grads.forEach((g, i) => expect(relativeError(wasm.grads[i]!, g), `gradient ${i}`).toBeLessThan(1e-4));
      cpu.running.forEach((r, i) => expect(relativeError(wasm.running[i]!, r), `running statistic ${i}`).toBeLessThan(1e-5));
    });
  }

  const convs: [string, number[], number[], number, Pad][] = [
    ['im2col: 4x4 planes of 8 channels, stride 1', [3, 4, 4, 8], [3, 3, 8, 4], 1, 'same'],
    ['im2col: 6x10 planes of 12 channels, stride 3, valid', [2, 6, 10, 12], [3, 3, 12, 5], 3, 'valid'],
    ['im2col: 5x5 planes of 8 channels (scalar regroup)', [2, 5, 5, 8], [2, 2, 8, 3], 1, 'same'],
    ['direct: 8x8, 4 to 8 channels, stride 2', [2, 8, 8, 4], [3, 3, 4, 8], 2, 'same'],
    ['direct: 7x9, 8 to 16 channels, stride 1', [2, 7, 9, 8], [3, 3, 8, 16], 1, 'same'],
    ['direct: 1x1 of stride 2 (a projection shortcut)', [2, 9, 9, 4], [1, 1, 4, 16], 2, 'valid'],
    ['direct: 4x4 of stride 3, asymmetric padding', [1, 10, 11, 12], [4, 4, 12, 8], 3, explicit(2, 0, 1, 2)],
    ['direct: 5x5 larger than the padded image is wide', [2, 6, 3, 8], [5, 5, 8, 8], 1, explicit(2, 2, 1, 1)],
  ];
  for (const [name, xShape, fShape, stride, pad] of convs) {
    it(`convolution gradients, ${name}`, async () => {
      const cpu = await convGrads('cpu', xShape, fShape, stride, pad);
      const wasm = await convGrads('wasm', xShape, fShape, stride, pad);
      expect(relativeError(wasm[0]!, cpu[0]!), 'input gradient').toBeLessThan(1e-5);
      expect(relativeError(wasm[1]!, cpu[1]!), 'filter gradient').toBeLessThan(1e-5);
    });
  }

  it('convolution gradients, direct (channels in a multiple of 4, out of 8): any size, kernel, stride and padding', async () => {
    const shape = fc.record({
      n: fc.integer({ min: 1, max: 2 }),
      h: fc.integer({ min: 1, max: 9 }),
      w: fc.integer({ min: 1, max: 9 }),
      ci: fc.constantFrom(4, 8),
      co: fc.constantFrom(8, 16),
      kh: fc.integer({ min: 1, max: 4 }),
      kw: fc.integer({ min: 1, max: 4 }),
      s: fc.integer({ min: 1, max: 3 }),
      pad: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
    });
    await fc.assert(
      fc.asyncProperty(
        shape.filter(({ h, w, kh, kw, pad }) => h + pad[0] + pad[1] >= kh && w + pad[2] + pad[3] >= kw),
        async ({ n, h, w, ci, co, kh, kw, s, pad }) => {
          const cpu = await convGrads('cpu', [n, h, w, ci], [kh, kw, ci, co], s, explicit(...pad));
          const wasm = await convGrads('wasm', [n, h, w, ci], [kh, kw, ci, co], s, explicit(...pad));
          expect(relativeError(wasm[1]!, cpu[1]!), 'filter gradient').toBeLessThan(1e-5);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('ReLU gradient: dy where x > 0, also past the last group of 4 and at 0', async () => {
    const x = Float32Array.from({ length: 4 * 3 * 3 * 3 }, (_, i) => ((i * 7) % 11) - 5);
    const grad = async (backend: 'cpu' | 'wasm'): Promise<Float32Array> => {
      await useBackend(backend);
      return tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), tf.reshape(tf.range(1, x.length + 1), v.shape))))(tf.tensor(x, [4, 3, 3, 3])).dataSync() as Float32Array);
    };
    const wasm = await grad('wasm');
    expect(Array.from(wasm)).toEqual(Array.from(await grad('cpu')));
    expect(Array.from(wasm)).toEqual(Array.from(x, (v, i) => (v > 0 ? i + 1 : 0)));
  });

  it('im2col: kernels.wat and the JavaScript fallback write the same patch matrix', async () => {
    await useBackend('wasm');
    const backend = tf.backend() as unknown as BackendWasm;
    const simd = simdKernels(backend)!;
    for (const g of [
      { n: 2, h: 8, w: 8, ci: 4, oh: 8, ow: 8, co: 1, kh: 3, kw: 3, sh: 1, sw: 1, top: 1, left: 1 },
      { n: 2, h: 7, w: 9, ci: 3, oh: 3, ow: 4, co: 1, kh: 4, kw: 2, sh: 2, sw: 2, top: 1, left: 0 },
      { n: 1, h: 10, w: 6, ci: 8, oh: 4, ow: 3, co: 1, kh: 3, kw: 3, sh: 3, sw: 2, top: 0, left: 1 },
    ]) {
      const size = g.kh * g.kw * g.ci * g.n * g.oh * g.ow;
      const x = tf.tensor(randomImages(g.n * g.h * g.w * g.ci, 9));
      const planes = backend.makeOutput([g.n * g.h * g.w * g.ci], 'float32');
      const dst = backend.makeOutput([size], 'float32');
      simd.im2col_t(simd.offset(x), simd.offset(planes), simd.offset(dst), g.n, g.h, g.w, g.ci, g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.top, g.left);
      const js = new Float32Array(size);
      im2colTransposed(backend.typedArrayFromHeap(x) as Float32Array, js, g);
      expect(Array.from(backend.typedArrayFromHeap(dst) as Float32Array)).toEqual(Array.from(js));
      backend.disposeData(planes.dataId);
      backend.disposeData(dst.dataId);
      x.dispose();
    }
  });

  it('kernels-wasm.ts is assembled from kernels.wat as committed (`npm run wasm` after editing it)', async () => {
    expect(readFileSync(kernelsGeneratedPath, 'utf8')).toBe(await generatedKernelsModule());
  });
});
