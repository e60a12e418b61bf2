import * as tf from './tf.js';
import { dilatedConv2d } from './backbone-layers.js';
import { type Kwargs, one, shape4 } from './layer-io.js';

/**
 * The custom tfjs layers a checked model needs beyond tfjs's own: each is registered for
 * serialization, so a saved model loads again with `tf.loadLayersModel` once this module
 * is imported (in Node or in a browser build: it imports nothing but tfjs).
 *
 * - `SubsamplePad`: shortcut A, every s-th pixel then zero channels appended.
 * - `Pool2D`: PyTorch's max and average pools: explicit padding, ceil mode, and whether
 *   padded zeros count in an average (tfjs's pools only know 'same' and 'valid').
 * - `GroupedConv2D`: a convolution with groups (ResNeXt), which tfjs's Conv2D lacks, or
 *   with dilation, which tfjs's Conv2D computes but cannot train (backbone-layers.ts).
 * - `BatchNorm2D`: batch normalization as PyTorch's BatchNorm2d trains it (running
 *   variance from the unbiased batch variance), where tfjs's BatchNormalization uses the
 *   biased one.
 * - `GroupNorm2D`, `DropPath` (backbone-layers.ts, registered by importing this module).
 */

type Padding4 = [number, number, number, number];
export interface SubsamplePadArgs extends tf.serialization.ConfigDict {
  stride: number;
  channels: number;
}

/** Shortcut A: rows and columns 0, s, 2s, … of the input, then zero channels up to `channels`. */
export class SubsamplePad extends tf.layers.Layer {
  static className = 'SubsamplePad';
  readonly stride: number;
  readonly channels: number;

  constructor(args: SubsamplePadArgs & { name?: string }) {
    super({ name: args.name });
    this.stride = args.stride;
    this.channels = args.channels;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w] = shape4(inputShape);
    const s = this.stride;
    return [n ?? null, h == null ? null : Math.ceil(h / s), w == null ? null : Math.ceil(w / s), this.channels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      const c = x.shape[3];
      const s = this.stride;
      // Rows and columns 0, s, 2s, … and the zero channels in one step: a 1x1 convolution
      // of stride s whose kernel is the identity on the input's channels and zero on the
      // new ones. It is exact (products with 1 and with 0), has a gradient on every backend
      // (tfjs's StridedSlice has none) and runs on the backends' fastest kernels.
      const eye = new Float32Array(c * this.channels);
      for (let k = 0; k < c; k++) eye[k * this.channels + k] = 1;
      return tf.conv2d(x, tf.tensor4d(eye, [1, 1, c, this.channels]), s, 'valid');
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), stride: this.stride, channels: this.channels };
  }
}

export interface Pool2DArgs extends tf.serialization.ConfigDict {
  mode: 'max' | 'avg';
  kernel: [number, number];
  stride: number;
  /** [top, left, bottom, right] */
  padding: Padding4;
  ceilMode: boolean;
  countIncludePad: boolean;
}

/** Output length along one axis, as PyTorch computes it (src/model/arithmetic.ts, restated: a saved model must not need the compiler). */
function pooledLength(n: number, k: number, s: number, before: number, after: number, ceil: boolean): number {
  const span = n + before + after - k;
  if (!ceil) return Math.floor(span / s) + 1;
  let out = Math.ceil(span / s) + 1;
  if ((out - 1) * s >= n + before) out--;
  return out;
}

/** A max or average pool with PyTorch's semantics. */
export class Pool2D extends tf.layers.Layer {
  static className = 'Pool2D';
  readonly mode: 'max' | 'avg';
  readonly kernel: [number, number];
  readonly stride: number;
  readonly padding: Padding4;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;

  constructor(args: Pool2DArgs & { name?: string }) {
    super({ name: args.name });
    this.mode = args.mode;
    this.kernel = args.kernel;
    this.stride = args.stride;
    this.padding = args.padding;
    this.ceilMode = args.ceilMode;
    this.countIncludePad = args.countIncludePad;
  }

  private outSize(h: number, w: number): [number, number] {
    const [t, l, b, r] = this.padding;
    return [pooledLength(h, this.kernel[0], this.stride, t, b, this.ceilMode), pooledLength(w, this.kernel[1], this.stride, l, r, this.ceilMode)];
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w, c] = shape4(inputShape);
    if (h == null || w == null) return [n ?? null, null, null, c ?? null];
    const [oh, ow] = this.outSize(h, w);
    return [n ?? null, oh, ow, c ?? null];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      const [, h, w] = x.shape;
      const [kh, kw] = this.kernel;
      const s = this.stride;
      const [t, l, b, r] = this.padding;
      const [oh, ow] = this.outSize(h, w);
      // Extra zeros after the input so that a 'valid' pool yields PyTorch's output size (ceil mode).
      const bottom = Math.max(b, (oh - 1) * s + kh - h - t);
      const right = Math.max(r, (ow - 1) * s + kw - w - l);
      const pads: [number, number][] = [
        [0, 0],
        [t, bottom],
        [l, right],
        [0, 0],
      ];
      const noPad = t === 0 && l === 0 && bottom === 0 && right === 0;
      if (this.mode === 'max') {
        const padded = noPad ? x : tf.pad(x, pads, -Infinity);
        return tf.maxPool(padded, [kh, kw], s, 'valid');
      }
      const padded = noPad ? x : tf.pad(x, pads);
      const mean = tf.avgPool(padded, [kh, kw], s, 'valid');
      if (noPad) return mean;
      // The divisor of each window: the counted positions under it (all of the explicit
      // padding when countIncludePad, none of it otherwise; never the ceil-mode overhang).
      const counted = this.countIncludePad ? tf.pad(tf.ones([1, h + t + b, w + l + r, 1]), [[0, 0], [0, bottom - b], [0, right - r], [0, 0]]) : tf.pad(tf.ones([1, h, w, 1]), pads);
      const fraction = tf.avgPool(counted as tf.Tensor4D, [kh, kw], s, 'valid');
      return tf.div(mean, fraction);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      mode: this.mode,
      kernel: this.kernel,
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
    };
  }
}

export interface GroupedConv2DArgs extends tf.serialization.ConfigDict {
  filters: number;
  kernel: [number, number];
  stride: number;
  padding: Padding4;
  groups: number;
  useBias: boolean;
  /** PyTorch's `dilation` on both axes (a saved model's config without it, written before it existed, means 1). */
  dilation: number;
}

/**
 * A convolution in `groups` groups, with `dilation`: kernel [kh, kw, in/groups, filters]
 * (HWIO, as Keras's grouped Conv2D stores it), explicit padding [top, left, bottom, right].
 */
export class GroupedConv2D extends tf.layers.Layer {
  static className = 'GroupedConv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly stride: number;
  readonly padding: Padding4;
  readonly groups: number;
  readonly useBias: boolean;
  readonly dilation: number;
  private kernel: tf.LayerVariable | undefined;
  private bias: tf.LayerVariable | undefined;

  constructor(args: GroupedConv2DArgs & { name?: string }) {
    super({ name: args.name });
    this.filters = args.filters;
    this.kernelSize = args.kernel;
    this.stride = args.stride;
    this.padding = args.padding;
    this.groups = args.groups;
    this.useBias = args.useBias;
    this.dilation = (args.dilation as number | undefined) ?? 1;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = shape4(inputShape)[3]!;
    this.kernel = this.addWeight('kernel', [this.kernelSize[0], this.kernelSize[1], c / this.groups, this.filters], 'float32', tf.initializers.glorotUniform({}));
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w] = shape4(inputShape);
    const [t, l, b, r] = this.padding;
    const s = this.stride;
    const d = this.dilation;
    const len = (v: number | null | undefined, k: number, p: number): number | null => (v == null ? null : Math.floor((v + p - d * (k - 1) - 1) / s) + 1);
    return [n ?? null, len(h, this.kernelSize[0], t + b), len(w, this.kernelSize[1], l + r), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      const [t, l, b, r] = this.padding;
      const pad: [[number, number], [number, number]] = [
        [t, b],
        [l, r],
      ];
      const kernel = this.kernel!.read() as tf.Tensor4D;
      const g = this.groups;
      const conv = (xg: tf.Tensor4D, kg: tf.Tensor4D): tf.Tensor4D => dilatedConv2d(xg, kg, this.stride, pad, this.dilation);
      let y: tf.Tensor4D;
      if (g === 1) {
        y = conv(x, kernel);
      } else {
        const xs = tf.split(x, g, 3) as tf.Tensor4D[];
        const ks = tf.split(kernel, g, 3) as tf.Tensor4D[];
        y = tf.concat(xs.map((xg, i) => conv(xg, ks[i]!)), 3);
      }
      return this.bias ? tf.add(y, this.bias.read()) : y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernel: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      groups: this.groups,
      useBias: this.useBias,
      dilation: this.dilation,
    };
  }
}

export interface BatchNorm2DArgs extends tf.serialization.ConfigDict {
  /** PyTorch's convention: the weight of the new batch in the running statistics. */
  momentum: number;
  epsilon: number;
}

/**
 * The name of a kernel that normalises x (NHWC) with its batch statistics: inputs x, scale
 * (γ), offset (β), attribute varianceEpsilon; outputs [y, mean, biased variance] over
 * N, H and W. It exists on backends that register it (src/tfjs/batch-norm-kernels.ts: wasm).
 */
export const BATCH_NORM_TRAINING = 'ResnetcBatchNormTraining';

/** The same as the BATCH_NORM_TRAINING kernel, in tfjs ops (any backend). */
function composedBatchNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return [tf.batchNorm(x, mean, variance, beta, gamma, epsilon), mean, variance];
}

/**
 * Batch normalization over the channels of an NHWC tensor, as torch.nn.BatchNorm2d
 * computes it. Training: y = (x − mean) / sqrt(var + eps) · gamma + beta with the batch's
 * mean and biased variance (n = N·H·W values per channel), and the running statistics
 * move by `momentum` towards the batch's mean and its UNBIASED variance (var · n/(n−1));
 * inference: the running statistics. Weights in tfjs's order and names: gamma, beta
 * (trainable), moving_mean, moving_variance.
 *
 * Throws when training on a batch with one value per channel (n = 1), as PyTorch does
 * ("Expected more than 1 value per channel when training"): its unbiased variance is 0/0.
 *
 * `inference` (train --freeze-norms; not saved with the model) keeps the norm in inference
 * mode while the model trains, as PyTorch's `norm.eval()` in a model in `train()` mode
 * (mmpretrain's `norm_eval`): the running statistics normalise and do not move; gamma and
 * beta still get gradients.
 */
export class BatchNorm2D extends tf.layers.Layer {
  static className = 'BatchNorm2D';
  readonly momentum: number;
  readonly epsilon: number;
  inference = false;
  private gamma: tf.LayerVariable | undefined;
  private beta: tf.LayerVariable | undefined;
  private movingMean: tf.LayerVariable | undefined;
  private movingVariance: tf.LayerVariable | undefined;

  constructor(args: BatchNorm2DArgs & { name?: string }) {
    super({ name: args.name });
    this.momentum = args.momentum;
    this.epsilon = args.epsilon;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = [shape4(inputShape)[3]!];
    this.gamma = this.addWeight('gamma', c, 'float32', tf.initializers.ones());
    this.beta = this.addWeight('beta', c, 'float32', tf.initializers.zeros());
    this.movingMean = this.addWeight('moving_mean', c, 'float32', tf.initializers.zeros(), undefined, false);
    this.movingVariance = this.addWeight('moving_variance', c, 'float32', tf.initializers.ones(), undefined, false);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      const gamma = this.gamma!.read();
      const beta = this.beta!.read();
      if (kwargs['training'] !== true || this.inference) return tf.batchNorm(x, this.movingMean!.read(), this.movingVariance!.read(), beta, gamma, this.epsilon);
      const [n, h, w] = x.shape;
      const count = n * h * w;
      if (count <= 1) throw new Error(`${this.name}: expected more than 1 value per channel when training, got input shape [${x.shape.join(', ')}]`);
      // One kernel where the backend has it (resnetc registers one for wasm: batch-norm-kernels.ts),
      // else tfjs's ops. Also tfjs's ops for two values per channel: the output is then ±1
      // whatever x is, so x's gradient is ε-sized, a difference of near-equal terms whose
      // rounding only these same ops reproduce (as other backends compute it).
      const fused = count > 2 && tf.getKernel(BATCH_NORM_TRAINING, tf.getBackend()) !== undefined;
      const [y, mean, variance] = fused
        ? (tf.engine().runKernel(BATCH_NORM_TRAINING, { x, scale: gamma, offset: beta }, { varianceEpsilon: this.epsilon }) as [tf.Tensor, tf.Tensor, tf.Tensor])
        : composedBatchNorm(x, gamma, beta, this.epsilon);
      const m = this.momentum;
      // The running statistics take no part in the gradient (PyTorch updates them in no_grad).
      tf.tidy(() => {
        const unbiased = tf.mul(variance, count / (count - 1));
        this.movingMean!.write(tf.add(tf.mul(this.movingMean!.read(), 1 - m), tf.mul(mean, m)));
        this.movingVariance!.write(tf.add(tf.mul(this.movingVariance!.read(), 1 - m), tf.mul(unbiased, m)));
      });
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon };
  }
}

for (const cls of [SubsamplePad, Pool2D, GroupedConv2D, BatchNorm2D]) tf.serialization.registerClass(cls);

export { GroupNorm2D, DropPath } from './backbone-layers.js';
