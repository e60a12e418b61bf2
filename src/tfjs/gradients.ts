import * as tf from './tf.js';
import { RELU_GRAD } from './wasm-kernels.js';

/**
 * The gradient of FusedBatchNorm (what every norm runs, BatchNorm2D and tfjs's own), the same
 * mathematics as tfjs-core's own but with the per-channel factor broadcast instead of
 * tiled to the input's full size first. tfjs's version materialises that tile on every
 * norm of every step; on the wasm backend the Tile kernel alone took 29% of a ResNet-20
 * training step (profiled: 745 ms of 2.6 s at batch 64). Broadcasting gives the same
 * values on every backend.
 */
const fusedBatchNormGrad: tf.GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const grad = dy as tf.Tensor;
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
    const scaleValue = scale ?? tf.scalar(1);
    const reductionAxes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const perChannel = mean.rank === 1;
    const reduce = (t: tf.Tensor): tf.Tensor => tf.reshape(perChannel ? tf.sum(t, reductionAxes) : t, mean.shape);
    const xMinusMean = tf.sub(x, mean);
    const dyTimesScale = tf.mul(grad, scaleValue);
    const invStd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const minusHalfInvStdCubed = tf.mul(tf.mul(tf.mul(invStd, invStd), invStd), tf.scalar(-0.5));
    return {
      x: () => tf.reshape(tf.mul(grad, tf.mul(invStd, scaleValue)), x.shape),
      mean: () => reduce(tf.mul(tf.mul(invStd, tf.scalar(-1)), dyTimesScale)),
      variance: () => reduce(tf.mul(tf.mul(minusHalfInvStdCubed, xMinusMean), dyTimesScale)),
      scale: () => reduce(tf.mul(grad, tf.mul(xMinusMean, invStd))),
      offset: () => reduce(grad),
    };
  },
};

/**
 * ReLU's gradient, dy where x > 0 else 0: one kernel (wasm-kernels.ts's RELU_GRAD) where the
 * backend has it, else tfjs's own formula, dy · cast(step(x)).
 */
const reluGrad: tf.GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [x] = saved as [tf.Tensor];
    const g = dy as tf.Tensor;
    if (tf.getKernel(RELU_GRAD, tf.getBackend())) return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: g, x }) as tf.Tensor };
    return { x: () => tf.mul(g, tf.cast(tf.step(x), 'float32')) };
  },
};

let registered = false;

/** Replaces tfjs's FusedBatchNorm and Relu gradients with this module's (once). */
export function registerFastGradients(): void {
  if (registered) return;
  registered = true;
  // tfjs warns when a gradient is overridden; the override is deliberate.
  const warn = console.warn;
  console.warn = () => {};
  try {
    tf.registerGradient(fusedBatchNormGrad);
    tf.registerGradient(reluGrad);
  } finally {
    console.warn = warn;
  }
}
