import { CodedError } from '../diagnostics/coded-error.js';
import type { WeightSet } from './init.js';

/**
 * The one check of weights read from a file (`--weights`: an ONNX file or a tfjs model):
 * every value finite, and every norm's running variance (`….running_var`, PyTorch's name)
 * at least 0. A NaN, an infinity or a negative variance would pass through the compiler
 * silently and make every output of the model NaN (a folded norm divides by
 * sqrt(var + eps)). Every file source checks each tensor it gives (adapt.ts: fitWeights).
 */

/** Weights that hold what no trained network does, with the tensor and the index of the first bad value. */
export class WeightValueError extends CodedError {
  constructor(
    readonly tensor: string,
    readonly index: number,
    message: string,
  ) {
    super('R0816', message, 'give weights of a model that trained without diverging');
  }
}

/** Throws WeightValueError (R0816) unless every value is finite and a running variance is not negative. */
export function checkWeightValues(name: string, values: Float32Array, source: string): void {
  const variance = name.endsWith('.running_var');
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // One comparison for the common case; NaN fails it too.
    if (v > -Infinity && v < Infinity && (!variance || v >= 0)) continue;
    const what = Number.isNaN(v) ? 'NaN' : !Number.isFinite(v) ? String(v) : `a negative running variance (${v})`;
    throw new WeightValueError(name, i, `'${source}': the tensor '${name}' holds ${what} at index ${i}`);
  }
}

/** Checks every tensor of a weight set (see checkWeightValues); returns it. */
export function checkWeightSet(weights: WeightSet, source: string): WeightSet {
  for (const [name, values] of weights) checkWeightValues(name, values, source);
  return weights;
}
