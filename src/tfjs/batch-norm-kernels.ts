import * as tf from './tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BATCH_NORM_TRAINING } from './layers.js';
import { type SimdKernels, simdKernels } from './simd-kernels.js';

/**
 * Batch normalization in training for the wasm backend: the forward pass as one kernel
 * (BATCH_NORM_TRAINING), its gradient as two (BATCH_NORM_SUMS for γ and β, then
 * BATCH_NORM_INPUT_GRAD for x), each two passes over the input. `BatchNorm2D` (layers.ts)
 * runs the forward kernel where the current backend has it (and more than two values per
 * channel); elsewhere it composes tfjs ops (tf.moments, tf.batchNorm).
 *
 * Composed, a ResNet-20 step spent about a third of its time in the norms on wasm: tfjs's
 * Mean and Sum over N, H and W transpose the input first, and the gradient runs some twenty
 * kernels per norm. Here the per-channel sums accumulate in float64.
 *
 * Layout: x and y are NHWC (channels innermost), so a tensor is `count` = N·H·W rows of C.
 *
 * Forward (PyTorch's BatchNorm2d in training; Ioffe & Szegedy 2015, Algorithm 1):
 *   mean = Σx / count,  variance = Σ(x − mean)² / count (biased),
 *   y = (x − mean) · γ / √(variance + ε) + β.
 * Outputs y, mean and variance; the layer moves its running statistics with the last two.
 *
 * Backward, with s = 1/√(variance + ε), x̂ = (x − mean)·s and the upstream gradients dy (of y),
 * dmean and dvariance (zero where the layer does not use them, which is always):
 *   dβ = Σdy,  dγ = Σdy·x̂,
 *   dx = γs·dy + (x − mean)·(2·dvariance − γs·s·dγ)/count + (dmean − γs·dβ)/count.
 *
 * Each kernel is a pass of per-channel sums and a pass of a per-channel affine map over the
 * rows; both run as kernels.wat's SIMD loops when C is a multiple of 4, in JavaScript
 * otherwise. Sums are float64 (kernels.wat: float32 within blocks of 64 rows).
 */

export const BATCH_NORM_SUMS = 'ResnetcBatchNormSums';
export const BATCH_NORM_INPUT_GRAD = 'ResnetcBatchNormInputGrad';

interface NormAttrs {
  varianceEpsilon: number;
}

// ---- the arithmetic, per channel; the sums and maps over all rows also exist in kernels.wat ----

/** out[k] = Σ(x − shift[k]), out[c + k] = Σ(x − shift[k])² over the rows of x (float64). */
export function momentSums(x: Float32Array, c: number, shift: Float32Array, out: Float64Array): void {
  out.fill(0);
  for (let i = 0; i < x.length; i += c) {
    for (let k = 0; k < c; k++) {
      const d = x[i + k]! - shift[k]!;
      out[k] = out[k]! + d;
      out[c + k] = out[c + k]! + d * d;
    }
  }
}

/** out[k] = Σdy, out[c + k] = Σdy·(x − mean[k]) over the rows (float64). */
export function dotSums(dy: Float32Array, x: Float32Array, c: number, mean: Float32Array, out: Float64Array): void {
  out.fill(0);
  for (let i = 0; i < x.length; i += c) {
    for (let k = 0; k < c; k++) {
      const g = dy[i + k]!;
      out[k] = out[k]! + g;
      out[c + k] = out[c + k]! + g * (x[i + k]! - mean[k]!);
    }
  }
}

/** y = (x − s[k])·a[k] + b[k]. */
export function affine(x: Float32Array, c: number, s: Float32Array, a: Float32Array, b: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i += c) for (let k = 0; k < c; k++) y[i + k] = (x[i + k]! - s[k]!) * a[k]! + b[k]!;
}

/** dx = dy·p[k] + (x − mean[k])·q[k] + r[k]. */
export function affineGrad(dy: Float32Array, x: Float32Array, c: number, mean: Float32Array, p: Float32Array, q: Float32Array, r: Float32Array, dx: Float32Array): void {
  for (let i = 0; i < x.length; i += c) for (let k = 0; k < c; k++) dx[i + k] = dy[i + k]! * p[k]! + (x[i + k]! - mean[k]!) * q[k]! + r[k]!;
}

/**
 * Mean and biased variance from momentSums of `count` rows shifted by `shift`, and the
 * forward map y = (x − shift)·a + b: a = γ/√(variance + ε), b = β − (mean − shift)·a (about
 * β: unlike b = β − mean·a it loses no digits to a mean far from 0).
 */
export function forwardCoefficients(sums: Float64Array, shift: Float32Array, count: number, gamma: Float32Array, beta: Float32Array, eps: number, out: { mean: Float32Array; variance: Float32Array; a: Float32Array; b: Float32Array }): void {
  const c = shift.length;
  for (let k = 0; k < c; k++) {
    const m = sums[k]! / count;
    const mean = shift[k]! + m;
    const variance = Math.max(0, sums[c + k]! / count - m * m);
    const a = gamma[k]! / Math.sqrt(variance + eps);
    out.mean[k] = mean;
    out.variance[k] = variance;
    out.a[k] = a;
    out.b[k] = beta[k]! - m * a;
  }
}

/** dβ = Σdy, dγ = Σdy·(x − mean)·s from dotSums. */
export function parameterGrads(sums: Float64Array, variance: Float32Array, eps: number, dGamma: Float32Array, dBeta: Float32Array): void {
  const c = variance.length;
  for (let k = 0; k < c; k++) {
    dBeta[k] = sums[k]!;
    dGamma[k] = sums[c + k]! / Math.sqrt(variance[k]! + eps);
  }
}

/** dx's p = γs, q = (2·dvariance − γs·s·dγ)/count, r = (dmean − γs·dβ)/count (the formula above). */
export function inputGradCoefficients(
  count: number,
  t: { variance: Float32Array; gamma: Float32Array; dGamma: Float32Array; dBeta: Float32Array; dMean: Float32Array; dVariance: Float32Array },
  eps: number,
  out: { p: Float32Array; q: Float32Array; r: Float32Array },
): void {
  for (let k = 0; k < t.variance.length; k++) {
    const s = 1 / Math.sqrt(t.variance[k]! + eps);
    const gs = t.gamma[k]! * s;
    out.p[k] = gs;
    out.q[k] = (2 * t.dVariance[k]! - gs * s * t.dGamma[k]!) / count;
    out.r[k] = (t.dMean[k]! - gs * t.dBeta[k]!) / count;
  }
}

// ---- the wasm kernels ----

type Args = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };

/**
 * Float32 views of tensors in the backend's memory, taken after every allocation (allocating
 * may grow, and so move, the heap), with the kernels of kernels.wat where they apply (C a
 * multiple of 4) and a scratch tensor of `scratch` floats (disposed by `done`).
 */
class Heap {
  readonly simd: SimdKernels | undefined;
  private readonly temp: tf.TensorInfo;
  constructor(
    readonly backend: BackendWasm,
    c: number,
    scratch: number,
  ) {
    this.simd = c % 4 === 0 ? simdKernels(backend) : undefined;
    this.temp = backend.makeOutput([scratch], 'float32');
  }
  view(t: tf.TensorInfo): Float32Array {
    return this.backend.typedArrayFromHeap(t) as Float32Array;
  }
  /** Float32 (or with `f64` float64) views of consecutive parts of the scratch tensor, and their byte offsets. */
  scratch(floats: number[], f64 = 0): { f32: Float32Array[]; f64: Float64Array; at: number[]; f64At: number } {
    const base = this.view(this.temp);
    const f64At = base.byteOffset;
    const sums = new Float64Array(base.buffer, f64At, f64);
    let at = f64At + f64 * 8;
    const f32: Float32Array[] = [];
    const offsets: number[] = [];
    for (const n of floats) {
      f32.push(new Float32Array(base.buffer, at, n));
      offsets.push(at);
      at += n * 4;
    }
    return { f32, f64: sums, at: offsets, f64At };
  }
  done(): void {
    this.backend.disposeData(this.temp.dataId);
  }
}

const channels = (t: tf.TensorInfo): number => t.shape[t.shape.length - 1]!;

function checkFloat(name: string, ...tensors: tf.TensorInfo[]): void {
  if (tensors.some((t) => t.dtype !== 'float32')) throw new Error(`${name} supports float32 only`);
}

const epsilonOf = (attrs: tf.NamedAttrMap | undefined): number => (attrs as unknown as NormAttrs).varianceEpsilon;

/** Inputs x (NHWC), scale, offset; attrs varianceEpsilon. Outputs [y, mean, variance]. */
function batchNormTrainingWasm({ inputs, backend: b, attrs }: Args): tf.TensorInfo[] {
  const backend = b as unknown as BackendWasm;
  const { x, scale, offset } = inputs as Record<'x' | 'scale' | 'offset', tf.TensorInfo>;
  checkFloat(BATCH_NORM_TRAINING, x, scale, offset);
  const c = channels(x);
  const count = x.shape.reduce((a, d) => a * d, 1) / c;
  const y = backend.makeOutput(x.shape, 'float32');
  const mean = backend.makeOutput([c], 'float32');
  const variance = backend.makeOutput([c], 'float32');
  const heap = new Heap(backend, c, 6 * c);
  const { f32: [a, bb], f64: sums, at, f64At } = heap.scratch([c, c], 2 * c);
  const xv = heap.view(x);
  // Shifted by the first row against cancellation.
  const shift = xv.subarray(0, c);
  if (heap.simd) heap.simd.channel_moments(xv.byteOffset, count, c, xv.byteOffset, f64At);
  else momentSums(xv, c, shift, sums);
  forwardCoefficients(sums, shift, count, heap.view(scale), heap.view(offset), epsilonOf(attrs), { mean: heap.view(mean), variance: heap.view(variance), a: a!, b: bb! });
  if (heap.simd) heap.simd.affine(xv.byteOffset, heap.view(y).byteOffset, count, c, xv.byteOffset, at[0]!, at[1]!);
  else affine(xv, c, shift, a!, bb!, heap.view(y));
  heap.done();
  return [y, mean, variance];
}

/** Inputs dy, x, mean, variance; attrs varianceEpsilon. Outputs [dScale, dOffset]. */
function batchNormSumsWasm({ inputs, backend: b, attrs }: Args): tf.TensorInfo[] {
  const backend = b as unknown as BackendWasm;
  const { dy, x, mean, variance } = inputs as Record<'dy' | 'x' | 'mean' | 'variance', tf.TensorInfo>;
  const c = channels(x);
  const count = x.shape.reduce((a, d) => a * d, 1) / c;
  const dScale = backend.makeOutput([c], 'float32');
  const dOffset = backend.makeOutput([c], 'float32');
  const heap = new Heap(backend, c, 4 * c);
  const { f64: sums, f64At } = heap.scratch([], 2 * c);
  if (heap.simd) heap.simd.channel_dot(heap.view(dy).byteOffset, heap.view(x).byteOffset, count, c, heap.view(mean).byteOffset, f64At);
  else dotSums(heap.view(dy), heap.view(x), c, heap.view(mean), sums);
  parameterGrads(sums, heap.view(variance), epsilonOf(attrs), heap.view(dScale), heap.view(dOffset));
  heap.done();
  return [dScale, dOffset];
}

/** Inputs dy, x, mean, variance, scale, dScale, dOffset, dMean, dVariance; attrs varianceEpsilon. Output dx. */
function batchNormInputGradWasm({ inputs, backend: b, attrs }: Args): tf.TensorInfo {
  const backend = b as unknown as BackendWasm;
  const t = inputs as Record<'dy' | 'x' | 'mean' | 'variance' | 'scale' | 'dScale' | 'dOffset' | 'dMean' | 'dVariance', tf.TensorInfo>;
  const c = channels(t.x);
  const count = t.x.shape.reduce((a, d) => a * d, 1) / c;
  const dx = backend.makeOutput(t.x.shape, 'float32');
  const heap = new Heap(backend, c, 3 * c);
  const {
    f32: [p, q, r],
    at,
  } = heap.scratch([c, c, c]);
  const v = (u: tf.TensorInfo): Float32Array => heap.view(u);
  inputGradCoefficients(count, { variance: v(t.variance), gamma: v(t.scale), dGamma: v(t.dScale), dBeta: v(t.dOffset), dMean: v(t.dMean), dVariance: v(t.dVariance) }, epsilonOf(attrs), { p: p!, q: q!, r: r! });
  if (heap.simd) heap.simd.affine_grad(v(t.dy).byteOffset, v(t.x).byteOffset, v(dx).byteOffset, count, c, v(t.mean).byteOffset, at[0]!, at[1]!, at[2]!);
  else affineGrad(v(t.dy), v(t.x), c, v(t.mean), p!, q!, r!, v(dx));
  heap.done();
  return dx;
}

/** The gradient of BATCH_NORM_TRAINING for x, scale and offset (formula above). */
const batchNormTrainingGrad: tf.GradConfig = {
  kernelName: BATCH_NORM_TRAINING,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true, true],
  gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    // tfjs passes zeros for an output the loss does not depend on (the mean and variance, always).
    const [dy, dMean, dVariance] = dys as [tf.Tensor, tf.Tensor, tf.Tensor];
    const [x, scale, mean, variance] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const [dScale, dOffset] = tf.engine().runKernel(BATCH_NORM_SUMS, { dy, x, mean, variance }, attrs) as tf.Tensor[];
    return {
      x: () => tf.engine().runKernel(BATCH_NORM_INPUT_GRAD, { dy, x, mean, variance, scale, dScale: dScale!, dOffset: dOffset!, dMean, dVariance }, attrs) as tf.Tensor,
      scale: () => dScale!.clone(),
      offset: () => dOffset!.clone(),
    };
  },
};

let registered = false;

/** Registers the three kernels for the wasm backend and the training kernel's gradient (once). */
export function registerBatchNormKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: BATCH_NORM_TRAINING, backendName: 'wasm', kernelFunc: batchNormTrainingWasm as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: BATCH_NORM_SUMS, backendName: 'wasm', kernelFunc: batchNormSumsWasm as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: BATCH_NORM_INPUT_GRAD, backendName: 'wasm', kernelFunc: batchNormInputGradWasm as unknown as tf.KernelFunc });
  tf.registerGradient(batchNormTrainingGrad);
}
