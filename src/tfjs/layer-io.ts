import type * as tf from './tf.js';

/** The keyword arguments tfjs passes to a layer's `call` (e.g. `training`). */
export type Kwargs = Record<string, unknown>;

/** A single-input layer's input: the tensor itself, or the first of a list (NHWC, rank 4). */
export function one(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor4D {
  return (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
}

/** A single-input layer's input shape, given alone or as the first of a list. */
export function shape4(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
  return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
}
