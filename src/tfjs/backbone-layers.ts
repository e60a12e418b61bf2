import * as tf from './tf.js';
import { type Kwargs, one, shape4 } from './layer-io.js';

/**
 * The custom tfjs layers the backbone statements need where tfjs has none that computes
 * PyTorch's function (registered for serialization, like layers.ts's; it imports nothing
 * but tfjs). tfjs's own layers cover the rest: `swish` (SiLU), `gelu` (the exact erf form,
 * x·Φ(x): tfjs-layers' `Gelu`; its `gelu_new` is the tanh approximation), `mish`,
 * `LeakyReLU`, GlobalMaxPooling2D, Average and Concatenate.
 *
 * - `GroupNorm2D`: torch.nn.GroupNorm on an NHWC tensor.
 * - `DropPath`: stochastic depth (timm's `drop_path`), active only in training.
 * - `dilatedConv2d`: a convolution with dilation whose gradients tfjs can take (its Conv2D
 *   gradient refuses dilation > 1, and its conv2d refuses stride and dilation both > 1).
 */

export interface GroupNorm2DArgs extends tf.serialization.ConfigDict {
  groups: number;
  epsilon: number;
}

/**
 * Group normalization of an NHWC tensor as torch.nn.GroupNorm(groups, C, eps) computes it
 * (Wu & He, 2018): the C channels split into `groups` consecutive groups; each group of
 * each image is normalised by its own mean and biased variance over H, W and its C/groups
 * channels, y = (x − mean) / sqrt(var + eps) · gamma + beta with gamma and beta per channel.
 * The same in training and inference (no running statistics). Weights: gamma, beta ([C]).
 * Gradients are tfjs's own of the ops used (reshape, moments, arithmetic).
 */
export class GroupNorm2D extends tf.layers.Layer {
  static className = 'GroupNorm2D';
  readonly groups: number;
  readonly epsilon: number;
  private gamma: tf.LayerVariable | undefined;
  private beta: tf.LayerVariable | undefined;

  constructor(args: GroupNorm2DArgs & { name?: string }) {
    super({ name: args.name });
    this.groups = args.groups;
    this.epsilon = args.epsilon;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = shape4(inputShape)[3]!;
    if (c % this.groups !== 0) throw new Error(`${this.name}: ${this.groups} groups do not divide ${c} channels`);
    this.gamma = this.addWeight('gamma', [c], 'float32', tf.initializers.ones());
    this.beta = this.addWeight('beta', [c], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      const [n, h, w, c] = x.shape;
      const g = this.groups;
      const grouped = tf.reshape(x, [n, h, w, g, c / g]);
      const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
      const normed = tf.reshape(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, this.epsilon))), [n, h, w, c]);
      return tf.add(tf.mul(normed, this.gamma!.read()), this.beta!.read());
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), groups: this.groups, epsilon: this.epsilon };
  }
}

export interface DropPathArgs extends tf.serialization.ConfigDict {
  /** The probability that an example's input is dropped (timm's `drop_prob`), in [0, 1). */
  rate: number;
}

/**
 * Stochastic depth on a residual branch, as timm's `drop_path` computes it: in training,
 * each example (the first axis) is kept with probability 1 − rate and then scaled by
 * 1 / (1 − rate), or zeroed; at inference the identity. `seed`, like tfjs Dropout's, is
 * what its draw starts from: training sets it before each step (src/train/train.ts
 * `seedDropout`), so a run's masks depend only on its seed, epoch and step; unset, the
 * draw is tfjs's unseeded random.
 */
export class DropPath extends tf.layers.Layer {
  static className = 'DropPath';
  readonly rate: number;
  seed: number | undefined;

  constructor(args: DropPathArgs & { name?: string }) {
    super({ name: args.name });
    if (!(args.rate >= 0 && args.rate < 1)) throw new Error(`DropPath rate must be in [0, 1), not ${args.rate}`);
    this.rate = args.rate;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const x = one(inputs);
    if (kwargs['training'] !== true || this.rate === 0) return x;
    return tf.tidy(() => {
      const keep = 1 - this.rate;
      // floor(u + keep) is 1 with probability keep (u uniform in [0, 1)), as timm draws it.
      const mask = tf.floor(tf.add(tf.randomUniform([x.shape[0], 1, 1, 1], 0, 1, 'float32', this.seed), keep));
      return tf.mul(x, tf.div(mask, keep));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}

/**
 * A convolution of NHWC `x` with HWIO `kernel`, explicit padding [[t, b], [l, r]] and
 * dilation `d` on both axes, PyTorch's Conv2d(…, dilation=d): out[y, x] = Σ in[s·y + d·ky,
 * s·x + d·kx] · K[ky, kx]. Built only from ops whose gradients tfjs has:
 * - stride 1: space to batch (the d×d phases of the padded input become separate images,
 *   on which the dilated convolution is an ordinary one), convolve, batch to space (as
 *   TensorFlow computes atrous convolutions): no extra multiplications;
 * - stride > 1: the kernel spread with d − 1 zeros between taps (d·(K − 1) + 1 wide),
 *   then an ordinary strided convolution (more multiplications, the rare case: a stage's
 *   first 3x3 after a dilated stage).
 */
export function dilatedConv2d(x: tf.Tensor4D, kernel: tf.Tensor4D, stride: number, pad: [[number, number], [number, number]], d: number): tf.Tensor4D {
  const [kh, kw, ci, co] = kernel.shape;
  if (d === 1) return tf.conv2d(x, kernel, stride, [[0, 0], pad[0], pad[1], [0, 0]]);
  if (stride > 1) {
    // [kh, kw, …] → [kh, 1, kw, 1, …] → zeros after each tap → [kh·d, kw·d, …] → drop the trailing zeros.
    const spread = tf.reshape(tf.pad(tf.reshape(kernel, [kh, 1, kw, 1, ci, co]), [[0, 0], [0, d - 1], [0, 0], [0, d - 1], [0, 0], [0, 0]]), [kh * d, kw * d, ci, co]);
    const dilated = tf.slice(spread, [0, 0, 0, 0], [d * (kh - 1) + 1, d * (kw - 1) + 1, ci, co]);
    return tf.conv2d(x, dilated as tf.Tensor4D, stride, [[0, 0], pad[0], pad[1], [0, 0]]);
  }
  const [, h, w] = x.shape;
  const [[t, b], [l, r]] = pad;
  const ph = h + t + b;
  const pw = w + l + r;
  const extraH = (d - (ph % d)) % d;
  const extraW = (d - (pw % d)) % d;
  const phases = tf.spaceToBatchND(x, [d, d], [
    [t, b + extraH],
    [l, r + extraW],
  ]);
  const y = tf.conv2d(phases as tf.Tensor4D, kernel, 1, 'valid');
  return tf.batchToSpaceND(y, [d, d], [
    [0, extraH],
    [0, extraW],
  ]) as tf.Tensor4D;
}

for (const cls of [GroupNorm2D, DropPath]) tf.serialization.registerClass(cls);
