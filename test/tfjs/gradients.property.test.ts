import * as tf from '../../src/tfjs/tf.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useBackend } from '../../src/tfjs/backend.js';
import { BatchNorm2D, GroupedConv2D, Pool2D, SubsamplePad } from '../../src/tfjs/layers.js';

/**
 * Every gradient kernel that training runs on the wasm backend, checked as a property on
 * random inputs: for each operation a model's layers and loss are made of (the custom
 * layers themselves where resnetc has one), random shapes, kernels, strides, paddings,
 * ceil modes and values, the gradients of L = sum(f(inputs) · W) for the input and every
 * weight must
 *
 * - equal the cpu backend's (tfjs's reference kernels, which take PyTorch's convention for
 *   ties: the first maximum of a window) within 1e-5 relative, on values drawn from a few
 *   levels so that windows hold ties, negative values and zeros;
 * - equal central finite differences of the wasm forward pass, on distinct values on a
 *   grid (0.05 apart, none at 0, so that a step of 0.01 crosses no kink of max or ReLU).
 *
 * It found tfjs's wasm MaxPoolGrad wrong (the max starts at 0 and ties go to the last), now
 * replaced by src/tfjs/wasm-kernels.ts's.
 */

type Values = 'ties' | 'grid';

interface Subject {
  /** Input shape (the tensor the gradient flows back to). */
  shape: number[];
  /** Makes the function on the current backend: its trainable weights are checked too. */
  make: () => { f: (x: tf.Tensor) => tf.Tensor; weights: tf.Variable[] };
}

function valuesFor(n: number, mode: Values, rand: () => number): Float32Array {
  if (mode === 'ties') {
    const levels = [-2, -1, -0.5, 0, 0.5, 1];
    return Float32Array.from({ length: n }, () => levels[Math.floor(rand() * levels.length)]!);
  }
  // Distinct values 0.05 apart, shuffled, none within 0.025 of 0.
  const v = Float32Array.from({ length: n }, (_, i) => (i - Math.floor(n / 2)) * 0.05 + 0.025);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [v[i], v[j]] = [v[j]!, v[i]!];
  }
  return v;
}

function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Run {
  loss: (values: Float32Array[]) => number;
  grads: Float32Array[];
  dispose: () => void;
}

/** Sets the subject up on `backend` with the given input and weight values; its gradients and a loss function of all of them. */
async function run(backend: 'cpu' | 'wasm', subject: Subject, mode: Values, seed: number): Promise<Run & { values: Float32Array[] }> {
  await useBackend(backend);
  const rand = mulberry(seed);
  const { f, weights } = subject.make();
  const x = tf.variable(tf.tensor(valuesFor(subject.shape.reduce((a, b) => a * b, 1), mode, rand), subject.shape));
  // Assigning inside a tidy releases the temporary tensor (the variable keeps the values).
  tf.tidy(() => weights.forEach((w) => w.assign(tf.tensor(valuesFor(w.size, mode, rand), w.shape))));
  const all = [x, ...weights];
  const values = all.map((v) => v.dataSync().slice() as Float32Array);
  const outShape = tf.tidy(() => f(x).shape);
  const dy = tf.tensor(Float32Array.from({ length: outShape.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1), outShape);
  const objective = (): tf.Scalar => tf.sum(tf.mul(f(x), dy));
  const grads = tf.tidy(() => {
    const { grads: g } = tf.variableGrads(objective, all);
    return all.map((v) => (g[v.name] ? (g[v.name]!.dataSync().slice() as Float32Array) : new Float32Array(v.size)));
  });
  const loss = (vals: Float32Array[]): number =>
    tf.tidy(() => {
      all.forEach((v, i) => v.assign(tf.tensor(vals[i]!, v.shape)));
      return objective().dataSync()[0]!;
    });
  // Every variable goes (the layers' too): the wasm backend's convolution operators, cached per filter, go with them.
  return { grads, loss, values, dispose: () => (tf.dispose(dy), tf.disposeVariables()) };
}

function relative(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  // A gradient that is 0 in exact arithmetic (batch norm's over 2 values, say) is compared absolutely.
  return d / Math.max(s, 1e-3);
}

/** `tolerance`: wasm against cpu, relative (1e-5 unless the operation is ill-conditioned on some inputs: see batch norm's). */
async function check(subject: Subject, seed: number, tolerance = 1e-5): Promise<void> {
  const cpu = await run('cpu', subject, 'ties', seed);
  const wasm = await run('wasm', subject, 'ties', seed);
  cpu.grads.forEach((g, i) => expect(relative(wasm.grads[i]!, g), `input ${i}: wasm vs cpu`).toBeLessThan(tolerance));
  cpu.dispose();
  wasm.dispose();

  const grid = await run('wasm', subject, 'grid', seed);
  const eps = 0.01;
  const pick = mulberry(seed + 1);
  grid.grads.forEach((g, i) => {
    const scale = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let k = 0; k < Math.min(8, g.length); k++) {
      const at = Math.floor(pick() * g.length);
      const plus = grid.values.map((v) => v.slice());
      const minus = grid.values.map((v) => v.slice());
      plus[i]![at] = plus[i]![at]! + eps;
      minus[i]![at] = minus[i]![at]! - eps;
      const fd = (grid.loss(plus) - grid.loss(minus)) / (2 * eps);
      expect(Math.abs(fd - g[at]!), `input ${i}[${at}]: finite difference ${fd}, gradient ${g[at]}`).toBeLessThan(3e-3 + 2e-2 * scale);
    }
  });
  grid.dispose();
}

const dims = fc.record({ n: fc.integer({ min: 1, max: 2 }), h: fc.integer({ min: 1, max: 7 }), w: fc.integer({ min: 1, max: 7 }), c: fc.integer({ min: 1, max: 4 }) });
const seed = fc.integer({ min: 1, max: 1 << 30 });
const runs = { numRuns: 12 };

/** PyTorch's pooled length (ceil mode's last window starts inside the input); 0 when no window fits. */
function pooled(n: number, k: number, s: number, p: number, ceil: boolean): number {
  const span = n + 2 * p - k;
  if (span < 0) return 0;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= n + p) out--;
  return out;
}

describe('wasm gradient kernels equal the cpu backend and finite differences', () => {
  it('max and average pools (Pool2D): any kernel, stride, padding, ceil mode, divisor', async () => {
    const pool = fc.record({ d: dims, kh: fc.integer({ min: 1, max: 4 }), kw: fc.integer({ min: 1, max: 4 }), s: fc.integer({ min: 1, max: 3 }), pad: fc.boolean(), ceil: fc.boolean(), count: fc.boolean(), max: fc.boolean(), seed });
    await fc.assert(
      fc.asyncProperty(
        pool.filter(({ d, kh, kw, s, pad, ceil }) => pooled(d.h, kh, s, pad ? kh >> 1 : 0, ceil) > 0 && pooled(d.w, kw, s, pad ? kw >> 1 : 0, ceil) > 0),
        async ({ d, kh, kw, s, pad, ceil, count, max, seed: sd }) => {
          const padding: [number, number, number, number] = pad ? [kh >> 1, kw >> 1, kh >> 1, kw >> 1] : [0, 0, 0, 0];
          await check(
            {
              shape: [d.n, d.h, d.w, d.c],
              make: () => {
                const layer = new Pool2D({ mode: max ? 'max' : 'avg', kernel: [kh, kw], stride: s, padding, ceilMode: ceil, countIncludePad: count });
                return { f: (x) => layer.apply(x) as tf.Tensor, weights: [] };
              },
            },
            sd,
          );
        },
      ),
      runs,
    );
  });

  it('convolutions, plain and grouped (GroupedConv2D), any kernel, stride and explicit padding', async () => {
    const conv = fc.record({ d: dims, k: fc.integer({ min: 1, max: 4 }), s: fc.integer({ min: 1, max: 3 }), p: fc.integer({ min: 0, max: 2 }), groups: fc.constantFrom(1, 2), out: fc.integer({ min: 1, max: 3 }), bias: fc.boolean(), seed });
    await fc.assert(
      fc.asyncProperty(
        conv.filter(({ d, k, p }) => d.h + 2 * p >= k && d.w + 2 * p >= k),
        async ({ d, k, s, p, groups, out, bias, seed: sd }) => {
          const c = d.c * groups;
          await check(
            {
              shape: [d.n, d.h, d.w, c],
              make: () => {
                const layer = new GroupedConv2D({ filters: out * groups, kernel: [k, k], stride: s, padding: [p, p, p, p], groups, useBias: bias, dilation: 1 });
                layer.build([d.n, d.h, d.w, c]);
                return { f: (x) => layer.apply(x) as tf.Tensor, weights: layer.trainableWeights.map((w) => w.read() as tf.Variable) };
              },
            },
            sd,
          );
        },
      ),
      runs,
    );
  });

  it('batch norm in training (BatchNorm2D): input, scale and shift', async () => {
    await fc.assert(
      fc.asyncProperty(
        dims.filter((d) => d.n * d.h * d.w > 1),
        seed,
        async (d, sd) => {
          await check(
            {
              shape: [d.n, d.h, d.w, d.c],
              make: () => {
                const layer = new BatchNorm2D({ momentum: 0.1, epsilon: 1e-5 });
                layer.build([d.n, d.h, d.w, d.c]);
                return { f: (x) => layer.apply(x, { training: true }) as tf.Tensor, weights: layer.trainableWeights.map((w) => w.read() as tf.Variable) };
              },
            },
            sd,
            // Over two values per channel the input gradient is (dy - mean dy - x̂·mean(dy·x̂)) / σ
            // with x̂ = ±1 exactly: cancellations of terms up to 1/sqrt(eps) = 316 times dy. Both
            // backends run tfjs's own ops there, and differ by up to 3e-5 relative (measured:
            // n 2, h 1, w 1, c 3, seed 312883715, on the code before the wasm norm kernel too).
            d.n * d.h * d.w === 2 ? 1e-4 : 1e-5,
          );
        },
      ),
      { numRuns: 8 },
    );
  });

  it('activations, shortcut A, global pool, squeeze-and-excitation scaling, padding, addition', async () => {
    const kinds = ['relu', 'sigmoid', 'subsample', 'gap', 'se', 'pad', 'add'] as const;
    await fc.assert(
      fc.asyncProperty(dims, fc.constantFrom(...kinds), fc.integer({ min: 1, max: 3 }), seed, async (d, kind, s, sd) => {
        await check(
          {
            shape: [d.n, d.h, d.w, d.c],
            make: () => {
              const f = (x: tf.Tensor): tf.Tensor => {
                switch (kind) {
                  case 'relu':
                    return tf.relu(x);
                  case 'sigmoid':
                    return tf.sigmoid(x);
                  case 'subsample':
                    return new SubsamplePad({ stride: s, channels: d.c + s - 1 }).apply(x) as tf.Tensor;
                  case 'gap':
                    return tf.layers.globalAveragePooling2d({}).apply(x) as tf.Tensor;
                  case 'se':
                    return tf.mul(x, tf.sigmoid(tf.mean(x, [1, 2], true)));
                  case 'pad':
                    return tf.pad(x, [
                      [0, 0],
                      [s, s - 1],
                      [s - 1, s],
                      [0, 0],
                    ]);
                  case 'add':
                    return tf.add(x, tf.relu(x));
                }
              };
              return { f, weights: [] };
            },
          },
          sd,
        );
      }),
      { numRuns: 16 },
    );
  });

  it('the head: dense layer and softmax cross-entropy', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 5 }), seed, async (n, features, classes, sd) => {
        await check(
          {
            shape: [n, features],
            make: () => {
              const dense = tf.layers.dense({ units: classes });
              dense.build([n, features]);
              const labels = tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => i % classes), 'int32'), classes);
              return { f: (x) => tf.reshape(tf.losses.softmaxCrossEntropy(labels, dense.apply(x) as tf.Tensor), [1]), weights: dense.trainableWeights.map((w) => w.read() as tf.Variable) };
            },
          },
          sd,
        );
      }),
      { numRuns: 8 },
    );
  });
});
