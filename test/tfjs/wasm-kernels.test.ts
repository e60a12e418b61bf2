import * as tf from '../../src/tfjs/tf.js';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { useBackend } from '../../src/tfjs/backend.js';
import { randomImages, relativeError } from './helpers.js';

/**
 * The wasm backend's convolution gradients (this project's Conv2DBackpropFilter, and its
 * faster Conv2DBackpropInput) against the pure-JS cpu backend's, on the same inputs.
 */
type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

async function convGrads(backend: 'cpu' | 'wasm', xShape: number[], fShape: number[], stride: number, pad: Pad): Promise<[Float32Array, Float32Array]> {
  await useBackend(backend);
  const result = tf.tidy(() => {
    const x = tf.tensor(randomImages(xShape.reduce((a, b) => a * b), 1), xShape);
    const f = tf.sub(tf.tensor(randomImages(fShape.reduce((a, b) => a * b), 2), fShape), 0.5);
    const weights = tf.sub(tf.tensor(randomImages(1000, 3)), 0.5);
    const [dx, df] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => {
      const y = tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, stride, pad);
      // A loss whose gradient dy varies over positions and channels.
      return tf.sum(tf.mul(y, tf.reshape(tf.slice(weights, 0, y.size), y.shape)));
    })([x, f]);
    return [dx!.dataSync() as Float32Array, df!.dataSync() as Float32Array];
  });
  return [result[0]!, result[1]!];
}

const explicit = (t: number, b: number, l: number, r: number): Pad => [
  [0, 0],
  [t, b],
  [l, r],
  [0, 0],
];

describe('wasm convolution gradients equal the cpu backend', () => {
  const cases: [string, number[], number[], number, Pad][] = [
    ['3x3 stride 1 same', [2, 7, 7, 3], [3, 3, 3, 4], 1, 'same'],
    ['3x3 stride 2, explicit symmetric padding, even input', [2, 8, 8, 3], [3, 3, 3, 5], 2, explicit(1, 1, 1, 1)],
    ['3x3 stride 2, odd and non-square input', [2, 7, 9, 3], [3, 3, 3, 4], 2, explicit(1, 1, 1, 1)],
    ['1x1 stride 1 valid', [1, 9, 8, 5], [1, 1, 5, 6], 1, 'valid'],
    ['1x1 stride 2 valid', [1, 9, 8, 5], [1, 1, 5, 6], 2, 'valid'],
    ['7x7 stride 2 pad 3 (an ImageNet stem)', [2, 10, 10, 2], [7, 7, 2, 3], 2, explicit(3, 3, 3, 3)],
    ['even kernel 4x4 stride 2 pad 2', [2, 11, 11, 2], [4, 4, 2, 3], 2, explicit(2, 2, 2, 2)],
    ['asymmetric padding', [1, 6, 7, 3], [3, 3, 3, 2], 1, explicit(0, 2, 1, 0)],
    ['stride 3 valid', [1, 10, 11, 2], [3, 3, 2, 4], 3, 'valid'],
  ];
  for (const [name, xShape, fShape, stride, pad] of cases) {
    it(name, async () => {
      const [cpuDx, cpuDf] = await convGrads('cpu', xShape, fShape, stride, pad);
      const [wasmDx, wasmDf] = await convGrads('wasm', xShape, fShape, stride, pad);
      expect(relativeError(wasmDf, cpuDf)).toBeLessThan(1e-5);
      expect(relativeError(wasmDx, cpuDx)).toBeLessThan(1e-5);
    });
  }
});

describe('the norm gradient (broadcast instead of tile) equals one computed from plain ops', () => {
  it('for x, scale and shift, on wasm and cpu', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await useBackend(backend);
      const [fused, plain] = tf.tidy(() => {
        const x = tf.tensor(randomImages(2 * 4 * 5 * 3, 4), [2, 4, 5, 3]);
        const gamma = tf.tensor1d([0.5, 1.5, -1]);
        const beta = tf.tensor1d([0.1, 0, -0.2]);
        const dyWeights = tf.tensor(randomImages(2 * 4 * 5 * 3, 5), [2, 4, 5, 3]);
        const loss = (useFused: boolean) => (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
          const { mean, variance } = tf.moments(xx, [0, 1, 2]);
          const y = useFused ? tf.batchNorm(xx, mean, variance, b, g, 1e-5) : tf.add(tf.mul(tf.div(tf.sub(xx, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
          return tf.sum(tf.mul(y, dyWeights));
        };
        const a = tf.grads(loss(true))([x, gamma, beta]).map((t) => t.dataSync() as Float32Array);
        const b = tf.grads(loss(false))([x, gamma, beta]).map((t) => t.dataSync() as Float32Array);
        return [a, b];
      });
      for (let i = 0; i < 3; i++) expect(relativeError(fused[i]!, plain[i]!)).toBeLessThan(1e-4);
    }
  });
});

describe("wasm Slice (this project's, by contiguous runs) equals the cpu backend's", () => {
  // Every combination of dimensions taken whole or in part, ranks 1 to 5, int32 and float32.
  it('on random shapes, begins and sizes', async () => {
    const cases = fc.sample(
      fc
        .array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 })
        .chain((shape) => fc.tuple(fc.constant(shape), fc.tuple(...shape.map((d) => fc.integer({ min: 0, max: d }).chain((b) => fc.tuple(fc.constant(b), fc.integer({ min: 0, max: d - b }))))), fc.boolean())),
      { numRuns: 200, seed: 7 },
    );
    const slices = async (backend: 'cpu' | 'wasm'): Promise<number[][]> => {
      await useBackend(backend);
      return cases.map(([shape, bs, int]) =>
        tf.tidy(() => {
          const n = shape.reduce((a, d) => a * d, 1);
          const x = tf.tensor(Array.from({ length: n }, (_, i) => i * 1.5 - 7), shape, int ? 'int32' : 'float32');
          return [...tf.slice(x, bs.map(([b]) => b), bs.map(([, s]) => s)).dataSync()];
        }),
      );
    };
    const cpu = await slices('cpu');
    const wasm = await slices('wasm');
    expect(wasm).toEqual(cpu);
    // A whole-channel slice of NHWC (zero padding's gradient), by hand.
    await useBackend('wasm');
    const x = tf.reshape(tf.range(0, 2 * 4 * 4 * 3), [2, 4, 4, 3]);
    expect([...tf.slice(x, [0, 1, 1, 0], [2, 2, 2, 3]).dataSync()]).toEqual([15, 16, 17, 18, 19, 20, 27, 28, 29, 30, 31, 32, 63, 64, 65, 66, 67, 68, 75, 76, 77, 78, 79, 80]);
  });
});
