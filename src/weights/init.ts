import { layerTensors, tensorSize, type TensorSpec } from '../model/tensors.js';
import type { CheckedModel, Layer } from '../model/types.js';
import { walkLayers } from '../model/walk.js';
import { fillNormal, normalState } from './normal.js';
import type { WeightLookup, WeightSource } from './source.js';
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

/** Every tensor of the model from a lookup (a source), held in a WeightSet; throws (internal) for a tensor it lacks. */
export function collectWeights(model: CheckedModel, weights: WeightLookup): WeightSet {
  const out: WeightSet = new Map();
  for (const t of modelTensors(model)) {
    const values = weights.get(t.name);
    if (!values) throw new Error(`internal: no weights for ${t.name}`);
    out.set(t.name, values);
  }
  return out;
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

/**
 * The same tensors as `initialWeights`, each computed when asked for and kept by no one:
 * a streaming writer holds one tensor at a time instead of the whole model. Its capability
 * (UniformScaling): a convolution's weight drawn already times a factor, while each chunk
 * is in cache (a fresh model's norms scale every channel alike, so folding them is one
 * factor), the same bits as multiplying afterwards.
 */
export function initialWeightSource(model: CheckedModel, options: InitOptions = {}): WeightSource {
  const seed = options.seed ?? 0;
  const zeroed = options.zeroInitResidual ? residualEnds(model) : new Set<string>();
  const specs = new Map(modelTensors(model).map((t) => [t.name, t]));
  const get = (name: string, factor = 1): Float32Array | undefined => {
    const t = specs.get(name);
    return t ? initialTensor(t, seed, zeroed, factor) : undefined;
  };
  return {
    get: (name) => get(name),
    format: 'seeded',
    from: seededFrom(options),
    fresh: true,
    scaling: { scaled: get },
    notes: [],
  };
}

/** How a command's report names seeded weights: `seed 0`, `seed 3, zero-init residual`. */
export function seededFrom(options: InitOptions): string {
  return `seed ${options.seed ?? 0}${options.zeroInitResidual ? ', zero-init residual' : ''}`;
}

/**
 * A tensor's initial values, times `factor` (a folded norm's scale): convolution weights are
 * drawn with it (the sampler multiplies each value as float32(float32(v) x factor)); other
 * tensors are drawn, then multiplied so.
 */
function initialTensor(t: TensorSpec, seed: number, zeroed: Set<string>, factor = 1): Float32Array {
  const data = new Float32Array(tensorSize(t.shape));
  switch (t.role) {
    case 'norm_scale':
    case 'running_var':
      if (!zeroed.has(t.name)) data.fill(1);
      break;
    case 'norm_shift':
    case 'running_mean':
      break;
    case 'weight':
      if (zeroed.has(t.name)) break;
      if (t.shape.length === 4) {
        // Conv OIHW: fan_out = out channels x kernel area.
        const fanOut = t.shape[0]! * t.shape[2]! * t.shape[3]!;
        fillNormal(data, normalState(tensorSeed(seed, t.name)), Math.sqrt(2 / fanOut), factor);
        return data;
      }
      fillUniform(data, generator(seed, t.name), 1 / Math.sqrt(fanIn(t.shape)));
      break;
    case 'bias':
      fillUniform(data, generator(seed, t.name), 1 / Math.sqrt(t.fanIn ?? 1));
      break;
  }
  if (factor !== 1) for (let i = 0; i < data.length; i++) data[i] = data[i]! * factor;
  return data;
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
