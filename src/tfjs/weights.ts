import * as tf from './tf.js';
import { layerTensors, type TensorSpec } from '../model/tensors.js';
import type { CheckedModel } from '../model/types.js';
import type { WeightSet } from '../weights/init.js';
import type { WeightLookup } from '../weights/source.js';
import { fromTfjs, toTfjs, weightedLayers } from './names.js';

export { fromTfjs, toTfjs, weightedLayers } from './names.js';

/**
 * Weights between the project's WeightSet (PyTorch names and layouts, what the ONNX
 * target reads and writes) and a tfjs model built by buildTfjsModel. The order of a tfjs
 * layer's weights and of the layer's PyTorch tensors is the same for every op (conv:
 * weight, bias; norm: scale, shift, mean, variance; dense: weight, bias), so the two are
 * zipped, converting layouts in src/weights/layout.ts (names.ts holds the naming, apart
 * from TensorFlow.js).
 */

export class WeightMismatch extends Error {}

/** Puts weights (a WeightSet or a WeightSource) into a tfjs model; every tensor of the checked model must be present with its size. */
export function setWeights(tfModel: tf.LayersModel, model: CheckedModel, weights: WeightLookup): void {
  for (const layer of weightedLayers(model)) {
    const target = tfModel.getLayer(layer.name);
    const specs = layerTensors(layer);
    const values = specs.map((spec, i) => {
      const data = weights.get(spec.name);
      if (!data) throw new WeightMismatch(`no tensor '${spec.name}'`);
      const shape = target.weights[i]!.shape as number[];
      const size = shape.reduce((a, b) => a * b, 1);
      if (data.length !== size) throw new WeightMismatch(`tensor '${spec.name}' has ${data.length} values; the model needs ${size} (${spec.shape.join('x')})`);
      return tf.tensor(toTfjs(spec, data), shape, 'float32');
    });
    target.setWeights(values);
    for (const v of values) v.dispose();
  }
}

/**
 * The PyTorch tensor (`s1.block0.conv1.weight`, its shape and role) behind each weight of a
 * model built by buildTfjsModel, keyed by the tfjs variable's name (which tfjs makes unique
 * in the process: `s1.block0.conv1/kernel_1` for a second model). What gradients and
 * momentum buffers, which tfjs keys by variable, are named and laid out by.
 */
export function weightTensors(tfModel: tf.LayersModel, model: CheckedModel): Map<string, TensorSpec> {
  const out = new Map<string, TensorSpec>();
  for (const layer of weightedLayers(model)) {
    const specs = layerTensors(layer);
    tfModel.getLayer(layer.name).weights.forEach((w, i) => out.set(w.name, specs[i]!));
  }
  return out;
}

/** Reads a tfjs model's weights (trained values and running statistics) as a WeightSet in PyTorch's layouts. */
export function getWeights(tfModel: tf.LayersModel, model: CheckedModel): WeightSet {
  const out: WeightSet = new Map();
  for (const layer of weightedLayers(model)) {
    const source = tfModel.getLayer(layer.name);
    const specs = layerTensors(layer);
    const values = source.getWeights();
    specs.forEach((spec, i) => out.set(spec.name, fromTfjs(spec, values[i]!.dataSync() as Float32Array)));
  }
  return out;
}

/** Trainable and non-trainable scalar counts of a tfjs model, to compare with the checker's params and buffers. */
export function countTfjsWeights(tfModel: tf.LayersModel): { trainable: number; nonTrainable: number } {
  const size = (ws: tf.LayerVariable[]): number => ws.reduce((a, w) => a + w.shape.reduce((p: number, d) => p * (d ?? 1), 1), 0);
  return { trainable: size(tfModel.trainableWeights), nonTrainable: size(tfModel.nonTrainableWeights) };
}
