import { OnnxError } from './errors.js';

/**
 * Opsets the emitted graph is valid in. Every operator resnetc writes in all of them (Conv,
 * BatchNormalization, Relu, LeakyRelu, Sigmoid, Erf, Softplus, Tanh, Div, MaxPool,
 * AveragePool, GlobalAveragePool, GlobalMaxPool, Concat, Flatten, Gemm, Add, Mul, Slice, Pad,
 * Dropout, Reshape, Shape, InstanceNormalization) takes the same inputs and attributes from
 * 13 to 21: Slice and Pad read their settings from inputs since 10 and 11, Dropout its ratio
 * since 12. Three depend on the opset (emit.ts, activations.ts): Mish exists from 18, Gelu
 * from 20, and GroupNormalization from 18 with a per-group scale and shift, per channel
 * from 21.
 */
export const minOpset = 13;
export const maxOpset = 21;
export const defaultOpset = 17;

/** The IR version each opset was released with (onnx/docs/Versioning.md), the oldest a runtime must read. */
const irVersions: Record<number, number> = { 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 };

export function irVersionFor(opset: number): number {
  return irVersions[checkOpset(opset)]!;
}

/** The opset itself, or an OnnxError (R0501) when resnetc cannot emit it. */
export function checkOpset(opset: number): number {
  if (!Number.isInteger(opset) || opset < minOpset || opset > maxOpset) {
    throw new OnnxError('R0501', `opset ${opset} is not supported: resnetc emits opsets ${minOpset} to ${maxOpset}`, undefined, `use --opset ${defaultOpset} (the default) or another between ${minOpset} and ${maxOpset}`);
  }
  return opset;
}
