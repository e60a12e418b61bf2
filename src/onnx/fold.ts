import type { ConvLayer, NormLayer } from '../model/types.js';
import type { WeightLookup } from '../weights/source.js';
import { OnnxError } from './errors.js';

/**
 * Inference folding: what a norm with running statistics computes, per channel c,
 *   y = (x - mean[c]) / sqrt(var[c] + eps) * scale[c] + shift[c]
 * is the affine map y = a[c] x + b[c] with a = scale / sqrt(var + eps), b = shift - mean a.
 * After a convolution it folds into the convolution (each output channel's weights times a,
 * bias a * bias + b); elsewhere it is emitted as a Mul by a and an Add of b.
 * Computed in double precision, stored as float32.
 */

export interface Affine {
  a: Float64Array;
  b: Float64Array;
}

export function tensor(weights: WeightLookup, name: string, length: number, layer: string): Float32Array {
  const t = weights.get(name);
  if (!t) throw new OnnxError('R0503', `the weights have no tensor '${name}'`, layer);
  if (t.length !== length) throw new OnnxError('R0504', `'${name}' has ${t.length} values, the layer needs ${length}`, layer);
  return t;
}

export function normAffine(norm: NormLayer, weights: WeightLookup): Affine {
  const c = norm.in.c;
  const scale = tensor(weights, `${norm.name}.weight`, c, norm.name);
  const shift = tensor(weights, `${norm.name}.bias`, c, norm.name);
  const mean = tensor(weights, `${norm.name}.running_mean`, c, norm.name);
  const variance = tensor(weights, `${norm.name}.running_var`, c, norm.name);
  const a = new Float64Array(c);
  const b = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    a[i] = scale[i]! / Math.sqrt(variance[i]! + norm.eps);
    b[i] = shift[i]! - mean[i]! * a[i]!;
  }
  return { a, b };
}

/**
 * The convolution's weight with the norm folded in (OIHW: each output channel's block
 * scaled); `inPlace` when the weight array is the caller's own to overwrite.
 */
export function foldedConvWeight(conv: ConvLayer, weight: Float32Array, affine: Affine, inPlace = false): Float32Array {
  const out = inPlace ? weight : new Float32Array(weight.length);
  const per = weight.length / conv.out.c;
  for (let o = 0; o < conv.out.c; o++) {
    const a = affine.a[o]!;
    for (let i = o * per, end = i + per; i < end; i++) out[i] = weight[i]! * a;
  }
  return out;
}

/** The bias of the folded convolution: a * (its own bias, if any) + b. */
export function foldedConvBias(conv: ConvLayer, bias: Float32Array | undefined, affine: Affine): Float32Array {
  const out = new Float32Array(conv.out.c);
  for (let o = 0; o < conv.out.c; o++) out[o] = (bias ? bias[o]! * affine.a[o]! : 0) + affine.b[o]!;
  return out;
}

/** The one value of `a` when every channel has it (and there is a channel), as a folding by one factor needs; undefined otherwise. */
export function uniformFactor(a: Float64Array): number | undefined {
  const first = a[0];
  return first !== undefined && a.every((v) => v === first) ? first : undefined;
}
