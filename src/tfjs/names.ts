import { layerTensors, type TensorSpec } from '../model/tensors.js';
import type { CheckedModel, Layer } from '../model/types.js';
import { walkLayers } from '../model/walk.js';
import { hwioToOihw, oihwToHwio, transpose2d } from '../weights/layout.js';

/**
 * How resnetc's tfjs models name and lay out their weights, without TensorFlow.js (so that a
 * model directory is read without loading it: src/weights/formats/tfjs.ts). Every layer that
 * owns tensors is one tfjs layer of the same name (buildTfjsModel), whose weights come in the
 * order of the layer's PyTorch tensors (layerTensors) under tfjs's names: a convolution's
 * `kernel` (HWIO) and `bias`, a norm's `gamma`, `beta`, `moving_mean`, `moving_variance`,
 * the dense layer's `kernel` ([in, out]) and `bias`. A saved model's manifest names each
 * weight `<layer>/<weight>`: `conv3.block0.conv1/kernel`.
 */

/**
 * The checked layers that own tensors, SE blocks opened up into their convolutions: one
 * tfjs layer of the same name each (what buildTfjsModel makes, what setWeights fills and
 * getWeights and the tfjs weight source read back).
 */
export function* weightedLayers(model: CheckedModel): Generator<Layer> {
  for (const { layer } of walkLayers(model)) {
    if (layer.op === 'se') {
      yield layer.reduce;
      yield layer.expand;
    } else if (layerTensors(layer).length > 0) yield layer;
  }
}

const weightNames: Partial<Record<Layer['op'], readonly string[]>> = {
  conv: ['kernel', 'bias'],
  norm: ['gamma', 'beta', 'moving_mean', 'moving_variance'],
  dense: ['kernel', 'bias'],
};

/** A weighted layer's tensors, each with the name its tfjs weight has in a saved manifest (`<layer>/<weight>`). */
export function tfjsWeights(layer: Layer): { spec: TensorSpec; name: string }[] {
  const names = weightNames[layer.op];
  if (!names) throw new Error(`internal: a ${layer.op} layer has no tfjs weights`);
  return layerTensors(layer).map((spec, i) => ({ spec, name: `${layer.name}/${names[i]!}` }));
}

/** A tensor's values from PyTorch's layout (OIHW, [out, in]) to tfjs's (HWIO, [in, out]). */
export function toTfjs(spec: TensorSpec, data: Float32Array): Float32Array {
  if (spec.role === 'weight' && spec.shape.length === 4) return oihwToHwio(data, spec.shape);
  if (spec.role === 'weight' && spec.shape.length === 2) return transpose2d(data, spec.shape[0]!, spec.shape[1]!);
  return data;
}

/** A tensor's values from tfjs's layout to PyTorch's (the inverse of toTfjs). */
export function fromTfjs(spec: TensorSpec, data: Float32Array): Float32Array {
  if (spec.role === 'weight' && spec.shape.length === 4) return hwioToOihw(data, spec.shape);
  if (spec.role === 'weight' && spec.shape.length === 2) return transpose2d(data, spec.shape[1]!, spec.shape[0]!);
  return data;
}

/** A tensor's shape in tfjs: HWIO for a convolution's weight, [in, out] for the dense layer's, as PyTorch's otherwise. */
export function tfjsShape(spec: TensorSpec): number[] {
  const s = spec.shape;
  if (spec.role === 'weight' && s.length === 4) return [s[2]!, s[3]!, s[1]!, s[0]!];
  if (spec.role === 'weight' && s.length === 2) return [s[1]!, s[0]!];
  return s;
}
