import { layerTensors, tensorSize, type TensorSpec } from '../model/tensors.js';
import type { CheckedModel, Layer } from '../model/types.js';
import { walkLayers } from '../model/walk.js';
import { fillNormal, normalState } from './normal.js';
import { Xoshiro128 } from './xoshiro.js';

/** Every tensor of a model by name (`conv3.block0.conv1.weight`), in PyTorch's layout. */
export type WeightSet = Map<string, Float32Array>;

export interface InitOptions {
  seed?: number;
  /** Start each residual branch at zero: its last norm's scale (or, in pre-activation blocks, its last convolution) is 0. */
  zeroInitResidual?: boolean;
}

/** Every tensor of the model with its spec, in execution order. */
export function modelTensors(model: CheckedModel): TensorSpec[] {
  const specs: TensorSpec[] = [];
  for (const { layer } of walkLayers(model)) specs.push(...layerTensors(layer));
  return specs;
}

/**
 * torchvision's initialisation, seeded: convolutions Kaiming normal (fan_out, relu),
 * convolution biases and the fully connected layer PyTorch's default uniform(±1/sqrt(fan_in)),
 * norms scale 1, shift 0, running mean 0, running variance 1.
 * Each tensor draws from its own generator, seeded by the seed and the tensor's name, so a
 * tensor's values do not change when other layers of the spec do.
 */
export function initialWeights(model: CheckedModel, options: InitOptions = {}): WeightSet {
  const seed = options.seed ?? 0;
  const zeroed = options.zeroInitResidual ? residualEnds(model) : new Set<string>();
  const weights: WeightSet = new Map();
  for (const t of modelTensors(model)) weights.set(t.name, initialTensor(t, seed, zeroed));
  return weights;
}

/** Read access to weights by name: a WeightSet, or a source that computes each tensor when asked. */
export interface WeightLookup {
  get(name: string): Float32Array | undefined;
  /** Every `get` returns a new array the caller may overwrite (nothing else holds it). */
  readonly fresh?: boolean;
  /**
   * The tensor with each slice of its first axis times `scale` (a convolution's weight with
   * its norm folded in), where the source makes that for less than a pass over the values;
   * undefined where it does not. A new array, as `fresh` says.
   */
  scaled?(name: string, scale: Float64Array): Float32Array | undefined;
}

/**
 * The same tensors as `initialWeights`, each computed when asked for and kept by no one:
 * a streaming writer holds one tensor at a time instead of the whole model.
 */
export function initialWeightSource(model: CheckedModel, options: InitOptions = {}): WeightLookup {
  const seed = options.seed ?? 0;
  const zeroed = options.zeroInitResidual ? residualEnds(model) : new Set<string>();
  const specs = new Map(modelTensors(model).map((t) => [t.name, t]));
  return {
    get: (name) => {
      const t = specs.get(name);
      return t ? initialTensor(t, seed, zeroed) : undefined;
    },
    fresh: true,
    // A fresh model's norms scale every channel alike: the sampler multiplies each chunk
    // while it is in cache, the same values as a pass over the whole tensor afterwards.
    scaled: (name, scale) => {
      const t = specs.get(name);
      const factor = scale[0];
      if (!t || t.role !== 'weight' || t.shape.length !== 4 || factor === undefined || !scale.every((v) => v === factor)) return undefined;
      return initialTensor(t, seed, zeroed, factor);
    },
  };
}

/** A tensor's initial values, times `factor` (a folded norm's scale). */
function initialTensor(t: TensorSpec, seed: number, zeroed: Set<string>, factor = 1): Float32Array {
  const data = new Float32Array(tensorSize(t.shape));
  switch (t.role) {
    case 'norm_scale':
    case 'running_var':
      if (!zeroed.has(t.name)) data.fill(1);
      return data;
    case 'norm_shift':
    case 'running_mean':
      return data;
    case 'weight': {
      if (zeroed.has(t.name)) return data;
      if (t.shape.length === 4) {
        // Conv OIHW: fan_out = out channels x kernel area.
        const fanOut = t.shape[0]! * t.shape[2]! * t.shape[3]!;
        fillNormal(data, normalState(tensorSeed(seed, t.name)), Math.sqrt(2 / fanOut), factor);
      } else {
        fillUniform(data, generator(seed, t.name), 1 / Math.sqrt(fanIn(t.shape)));
      }
      return data;
    }
    case 'bias': {
      const rng = generator(seed, t.name);
      fillUniform(data, rng, 1 / Math.sqrt(t.fanIn ?? 1));
      return data;
    }
  }
}

function fanIn(shape: number[]): number {
  return shape.slice(1).reduce((a, b) => a * b, 1);
}

/** Names of the tensors `zeroInitResidual` sets to zero: the last norm scale (or conv weight) of every residual branch. */
function residualEnds(model: CheckedModel): Set<string> {
  const names = new Set<string>();
  for (const stage of model.stages) {
    for (const block of stage.blocks) {
      const last = [...block.branch].reverse().find((l): l is Layer => l.op === 'norm' || l.op === 'conv');
      if (last) names.add(`${last.name}.weight`);
    }
  }
  return names;
}

/** A tensor's own seed: FNV-1a of its name, mixed with the model's seed. */
function tensorSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed | 0);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h ^ Math.imul(seed | 0, 0x9e3779b1);
}

function generator(seed: number, name: string): Xoshiro128 {
  return Xoshiro128.seeded(tensorSeed(seed, name));
}

function fillUniform(data: Float32Array, rng: Xoshiro128, bound: number): void {
  for (let i = 0; i < data.length; i++) data[i] = (rng.uniform() * 2 - 1) * bound;
}
