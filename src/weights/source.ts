import { CodedError } from '../diagnostics/coded-error.js';
import type { Code } from '../diagnostics/codes.js';

/**
 * What every backend takes its weights from. A source holds, or computes, or decodes when
 * asked, every tensor of one checked model under resnetc's names (`conv3.block0.conv1.weight`,
 * `….running_var`: PyTorch's tensor names after the layer's) in PyTorch's layouts:
 * convolutions OIHW, the dense layer [out, in], norms' vectors [C]. A backend consumes a
 * source and never knows which format it came from; src/weights/open.ts picks the source
 * from a path.
 */

/** Read access to weights by name: a WeightSet (a Map), or a WeightSource. */
export interface WeightLookup {
  get(name: string): Float32Array | undefined;
}

/** Where a source's weights come from. */
export type WeightFormat = 'seeded' | 'onnx' | 'safetensors' | 'tfjs' | 'memory';

/** A line a source asks its command to say (a warning with its code): what it changed to fit the spec. */
export interface WeightNote {
  code: Code;
  message: string;
  help?: string;
}

/**
 * The seeded source's capability: a tensor multiplied by one factor as it is drawn, so that
 * inference folding of a fresh model, whose norms scale every channel alike, costs no pass of
 * its own over the weights.
 */
export interface UniformScaling {
  /**
   * The tensor `name` with every value times `factor`: exactly `get(name)` followed by
   * `float32(value × factor)` value by value (the folding in src/onnx/fold.ts), computed in
   * one pass. A new array. Undefined for a name the model lacks.
   */
  scaled(name: string, factor: number): Float32Array | undefined;
}

/**
 * The weights of one checked model, from one place: what `openWeightSource` (open.ts) and
 * `initialWeightSource` (init.ts) return, and what every backend consumes.
 */
export interface WeightSource extends WeightLookup {
  /**
   * The tensor `name` (resnetc's name; PyTorch's layout), its values checked
   * (validate.ts: finite, running variances not negative) unless the source makes them
   * itself; undefined for a name the model lacks. Throws the format's coded errors
   * (R0816 for a value no trained network holds).
   */
  get(name: string): Float32Array | undefined;
  readonly format: WeightFormat;
  /** For a command's report: `seed 0`, `seed 0, zero-init residual`, or the path read. */
  readonly from: string;
  /** True when every `get` returns a new array that the caller may overwrite (nothing else holds it). */
  readonly fresh: boolean;
  /** The fast path of folding, where the source has it (the seeded source); null otherwise. */
  readonly scaling: UniformScaling | null;
  /** One line each for what was changed to fit the spec (a head initialised afresh, an input convolution adapted). */
  readonly notes: readonly WeightNote[];
}

/** A WeightSet (or any lookup held in memory) as a source: nothing fresh, no capability. */
export function memorySource(weights: WeightLookup, from = 'memory'): WeightSource {
  return { get: (name) => weights.get(name), format: 'memory', from, fresh: false, scaling: null, notes: [] };
}

/** `weights` as a source: a WeightSet (a Map) wrapped by memorySource, a source as it is. */
export function asWeightSource(weights: Map<string, Float32Array> | WeightSource): WeightSource {
  return weights instanceof Map ? memorySource(weights) : weights;
}

/** A refusal of weights that is no one format's: an unknown format (R1008), weights that do not fit the spec at its ends (R1011–R1013). */
export class WeightSourceError extends CodedError {
  override readonly name = 'WeightSourceError';
}
