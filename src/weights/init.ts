import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { layerTensors, tensorSize, type TensorSpec } from '../model/tensors.js';
import type { CheckedModel, Layer } from '../model/types.js';
import { walkLayers } from '../model/walk.js';

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

function initialTensor(t: TensorSpec, seed: number, zeroed: Set<string>): Float32Array {
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
      const rng = generator(seed, t.name);
      if (t.shape.length === 4) {
        // Conv OIHW: fan_out = out channels x kernel area.
        const fanOut = t.shape[0]! * t.shape[2]! * t.shape[3]!;
        fillNormal(data, rng, Math.sqrt(2 / fanOut));
      } else {
        fillUniform(data, rng, 1 / Math.sqrt(fanIn(t.shape)));
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

type Rng = ReturnType<typeof xoroshiro128plus>;

/** FNV-1a of the name, mixed with the seed. */
function generator(seed: number, name: string): Rng {
  let h = 0x811c9dc5 ^ (seed | 0);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return xoroshiro128plus(h ^ Math.imul(seed | 0, 0x9e3779b1));
}

const TWO_POW_32 = 4294967296;

function uniform01(rng: Rng): number {
  // (0, 1]: never 0, so the log below is finite.
  return ((rng.next() >>> 0) + 1) / TWO_POW_32;
}

function fillUniform(data: Float32Array, rng: Rng, bound: number): void {
  for (let i = 0; i < data.length; i++) data[i] = (uniform01(rng) * 2 - 1) * bound;
}

/** Box-Muller, two normals per pair of uniforms. */
function fillNormal(data: Float32Array, rng: Rng, std: number): void {
  for (let i = 0; i < data.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform01(rng))) * std;
    const theta = 2 * Math.PI * uniform01(rng);
    data[i] = r * Math.cos(theta);
    if (i + 1 < data.length) data[i + 1] = r * Math.sin(theta);
  }
}
