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

/** Read access to weights by name: a WeightSet, or a source that computes each tensor when asked. */
export interface WeightLookup {
  get(name: string): Float32Array | undefined;
  /** Every `get` returns a new array the caller may overwrite (nothing else holds it). */
  readonly fresh?: boolean;
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
  };
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

/**
 * A small, fast generator of 32-bit words: xoshiro128** (Blackman and Vigna), its state
 * spread from a 32-bit seed by splitmix32. Inlined here rather than taken from pure-rand
 * because initialising ResNet-152 draws some 60 million numbers and the call overhead of a
 * generic generator dominated the export time.
 */
class Rng {
  a: number;
  b: number;
  c: number;
  d: number;

  constructor(seed: number) {
    let s = seed | 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** The next word as a signed 32-bit integer. */
  int32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9);
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result | 0;
  }

  /** Uniform in (0, 1]: never 0, so a logarithm of it is finite. */
  uniform01(): number {
    return ((this.int32() >>> 0) + 1) / TWO_POW_32;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** FNV-1a of the name, mixed with the seed. */
function generator(seed: number, name: string): Rng {
  let h = 0x811c9dc5 ^ (seed | 0);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return new Rng(h ^ Math.imul(seed | 0, 0x9e3779b1));
}

const TWO_POW_32 = 4294967296;

function fillUniform(data: Float32Array, rng: Rng, bound: number): void {
  for (let i = 0; i < data.length; i++) data[i] = (rng.uniform01() * 2 - 1) * bound;
}

/**
 * Normal samples by Marsaglia and Tsang's ziggurat with 256 layers: one 32-bit word per
 * sample almost always (its low 8 bits pick the layer, the other 24 the signed position),
 * a logarithm or exponential only in the rare wedge and tail cases (under 2% of samples).
 * Several times faster than Box-Muller. R and V are the paper's constants for 256 layers:
 * where the tail starts, and each layer's area under exp(-x^2/2).
 */
const ZIG_LAYERS = 256;
const ZIG_R = 3.6541528853610088;
const ZIG_V = 0.00492867323399;
const ZIG_SCALE = 8388608; // 2^23: the 24-bit signed position is in [-2^23, 2^23)
const zig = zigguratTables();

function zigguratTables(): { k: Int32Array; w: Float64Array; f: Float64Array } {
  const k = new Int32Array(ZIG_LAYERS);
  const w = new Float64Array(ZIG_LAYERS);
  const f = new Float64Array(ZIG_LAYERS);
  let dn = ZIG_R;
  let tn = dn;
  const q = ZIG_V / Math.exp(-0.5 * dn * dn);
  k[0] = Math.floor((dn / q) * ZIG_SCALE);
  k[1] = 0;
  w[0] = q / ZIG_SCALE;
  w[ZIG_LAYERS - 1] = dn / ZIG_SCALE;
  f[0] = 1;
  f[ZIG_LAYERS - 1] = Math.exp(-0.5 * dn * dn);
  for (let i = ZIG_LAYERS - 2; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(ZIG_V / dn + Math.exp(-0.5 * dn * dn)));
    k[i + 1] = Math.floor((dn / tn) * ZIG_SCALE);
    tn = dn;
    f[i] = Math.exp(-0.5 * dn * dn);
    w[i] = dn / ZIG_SCALE;
  }
  return { k, w, f };
}

/** A standard normal sample, outside the fast path of `fillNormal`. */
function normalSlow(rng: Rng, hz: number, iz: number): number {
  const { k, w, f } = zig;
  for (;;) {
    const x = hz * w[iz]!;
    if (iz === 0) {
      // The tail beyond R.
      let tx: number;
      let ty: number;
      do {
        tx = -Math.log(rng.uniform01()) / ZIG_R;
        ty = -Math.log(rng.uniform01());
      } while (ty + ty < tx * tx);
      return hz > 0 ? ZIG_R + tx : -ZIG_R - tx;
    }
    if (f[iz]! + rng.uniform01() * (f[iz - 1]! - f[iz]!) < Math.exp(-0.5 * x * x)) return x;
    const u = rng.int32();
    iz = u & (ZIG_LAYERS - 1);
    hz = u >> 8;
    if (Math.abs(hz) < k[iz]!) return hz * w[iz]!;
  }
}

function fillNormal(data: Float32Array, rng: Rng, std: number): void {
  const k = zig.k;
  const w = zig.w.map((v) => v * std);
  // The generator's step is inlined on local state: this loop is where export time goes.
  let a = rng.a | 0;
  let b = rng.b | 0;
  let c = rng.c | 0;
  let d = rng.d | 0;
  for (let i = 0; i < data.length; i++) {
    const m = Math.imul(b, 5);
    const u = Math.imul((m << 7) | (m >>> 25), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    const iz = u & (ZIG_LAYERS - 1);
    const hz = u >> 8;
    if (Math.abs(hz) < k[iz]!) {
      data[i] = hz * w[iz]!;
    } else {
      rng.a = a;
      rng.b = b;
      rng.c = c;
      rng.d = d;
      data[i] = normalSlow(rng, hz, iz) * std;
      // `| 0` keeps the state in int32 registers (untagged) through the loop.
      a = rng.a | 0;
      b = rng.b | 0;
      c = rng.c | 0;
      d = rng.d | 0;
    }
  }
  rng.a = a;
  rng.b = b;
  rng.c = c;
  rng.d = d;
}
