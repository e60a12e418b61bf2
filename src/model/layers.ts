import { outputLength, symmetricPadding } from './arithmetic.js';
import type {
  ActivationLayer,
  ActivationSpec,
  GlobalPoolKind,
  NormSpec,
  ConvLayer,
  Counts,
  DenseLayer,
  DetailedCounts,
  DropoutLayer,
  GlobalPoolLayer,
  Layer,
  NormLayer,
  PoolLayer,
  Shape,
  SqueezeExcitation,
  SubsamplePadLayer,
} from './types.js';

/**
 * Constructors of checked layers: each computes its output shape and its counts,
 * the counts from the layer's tensors so that they cannot disagree with the weights.
 */

const zero: Counts = { params: 0, buffers: 0, macs: 0 };

function withCounts<L extends Layer>(layer: L): L {
  layer.params = paramsOf(layer);
  layer.buffers = layer.op === 'norm' && layer.kind === 'batch' ? 2 * layer.in.c : 0;
  layer.macs = macsOf(layer);
  return layer;
}

/**
 * Trainable parameters of a layer: the sizes of its trainable tensors (tensors.ts), in
 * closed form because the checker counts millions of layers; a test holds the two equal.
 */
function paramsOf(layer: Layer): number {
  switch (layer.op) {
    case 'conv':
      return layer.out.c * (layer.in.c / layer.groups) * layer.kernel[0] * layer.kernel[1] + (layer.bias ? layer.out.c : 0);
    case 'norm':
      return 2 * layer.in.c;
    case 'dense':
      return layer.out.c * layer.in.c + layer.out.c;
    case 'se':
      return layer.reduce.params + layer.expand.params;
    default:
      return 0;
  }
}

function macsOf(layer: Layer): number {
  switch (layer.op) {
    case 'conv':
      return (layer.in.c / layer.groups) * layer.kernel[0] * layer.kernel[1] * layer.out.c * layer.out.h * layer.out.w;
    case 'dense':
      return layer.in.c * layer.out.c;
    case 'se':
      return layer.reduce.macs + layer.expand.macs;
    default:
      return 0;
  }
}

export interface ConvOptions {
  kernel: [number, number];
  stride?: number;
  /** 1 unless given; the padding default stays K/2 (callers of a dilated 3x3 pass padding = dilation). */
  dilation?: number;
  groups?: number;
  bias?: boolean;
  padding?: [number, number, number, number];
}

export function conv(name: string, input: Shape, outChannels: number, o: ConvOptions): ConvLayer {
  const stride = o.stride ?? 1;
  const dilation = o.dilation ?? 1;
  const padding = o.padding ?? symmetricPadding(o.kernel);
  const span = (k: number): number => dilation * (k - 1) + 1;
  const out: Shape = {
    c: outChannels,
    h: outputLength(input.h, span(o.kernel[0]), stride, padding[0], padding[2]),
    w: outputLength(input.w, span(o.kernel[1]), stride, padding[1], padding[3]),
  };
  return withCounts({ op: 'conv', name, in: input, out, kernel: o.kernel, stride, dilation, padding, groups: o.groups ?? 1, bias: o.bias ?? false, ...zero });
}

/** A batch norm (eps, momentum) or, with `spec.kind` 'group', a group norm of `spec.groups` groups (no buffers). */
export function norm(name: string, input: Shape, spec: NormSpec): NormLayer {
  const groups = spec.kind === 'group' ? spec.groups : 1;
  return withCounts({ op: 'norm', name, in: input, out: input, kind: spec.kind, eps: spec.eps, momentum: spec.momentum, groups, ...zero });
}

/** The model's activation, or the sigmoid of an SE gate. */
export function activation(name: string, input: Shape, spec: ActivationSpec | 'sigmoid'): ActivationLayer {
  const { fn, negativeSlope } = spec === 'sigmoid' ? { fn: 'sigmoid' as const, negativeSlope: 0 } : spec;
  return { op: 'act', name, in: input, out: input, fn, negativeSlope, ...zero };
}

export interface PoolOptions {
  kernel: [number, number];
  stride: number;
  padding?: [number, number, number, number];
  ceilMode?: boolean;
  countIncludePad?: boolean;
}

export function pool(op: 'maxpool' | 'avgpool', name: string, input: Shape, o: PoolOptions): PoolLayer {
  const padding = o.padding ?? symmetricPadding(o.kernel);
  const ceilMode = o.ceilMode ?? false;
  const out: Shape = {
    c: input.c,
    h: outputLength(input.h, o.kernel[0], o.stride, padding[0], padding[2], ceilMode),
    w: outputLength(input.w, o.kernel[1], o.stride, padding[1], padding[3], ceilMode),
  };
  return { op, name, in: input, out, kernel: o.kernel, stride: o.stride, padding, ceilMode, countIncludePad: o.countIncludePad ?? false, ...zero };
}

/** The head's global pool; `catavgmax` doubles the channels (average's first). */
export function globalPool(name: string, input: Shape, kind: GlobalPoolKind): GlobalPoolLayer {
  return { op: 'global_pool', kind, name, in: input, out: { c: kind === 'catavgmax' ? 2 * input.c : input.c, h: 1, w: 1 }, ...zero };
}

export function dropout(name: string, input: Shape, rate: number): DropoutLayer {
  return { op: 'dropout', name, in: input, out: input, rate, ...zero };
}

export function dense(name: string, input: Shape, outFeatures: number): DenseLayer {
  return withCounts({ op: 'dense', name, in: input, out: { c: outFeatures, h: 1, w: 1 }, bias: true, ...zero });
}

export function subsamplePad(name: string, input: Shape, outChannels: number, stride: number): SubsamplePadLayer {
  const out: Shape = { c: outChannels, h: Math.ceil(input.h / stride), w: Math.ceil(input.w / stride) };
  return { op: 'subsample_pad', name, in: input, out, stride, ...zero };
}

export function squeezeExcitation(name: string, input: Shape, squeezed: number, fn: ActivationSpec): SqueezeExcitation {
  const pooled: Shape = { c: input.c, h: 1, w: 1 };
  const reduce = conv(`${name}.reduce`, pooled, squeezed, { kernel: [1, 1], bias: true });
  const act = activation(`${name}.act`, reduce.out, fn);
  const expand = conv(`${name}.expand`, reduce.out, input.c, { kernel: [1, 1], bias: true });
  return withCounts({ op: 'se', name, in: input, out: input, reduce, act, expand, ...zero });
}

export function sumCounts(parts: Iterable<Counts>): Counts {
  const total = { ...zero };
  for (const p of parts) {
    total.params += p.params;
    total.buffers += p.buffers;
    total.macs += p.macs;
  }
  return total;
}

/** Counts of a list of layers with biases and norm parameters apart. */
export function detailedCounts(layers: Iterable<Layer>): DetailedCounts {
  const total: DetailedCounts = { params: 0, buffers: 0, macs: 0, biases: 0, normParams: 0 };
  const add = (l: Layer): void => {
    if (l.op === 'se') {
      add(l.reduce);
      add(l.expand);
      return;
    }
    total.params += l.params;
    total.buffers += l.buffers;
    total.macs += l.macs;
    if (l.op === 'norm') total.normParams += l.params;
    else if (l.op === 'dense' || (l.op === 'conv' && l.bias)) total.biases += l.out.c;
  };
  for (const l of layers) add(l);
  return total;
}

export function addCounts(a: DetailedCounts, b: DetailedCounts, times = 1): DetailedCounts {
  return {
    params: a.params + b.params * times,
    buffers: a.buffers + b.buffers * times,
    macs: a.macs + b.macs * times,
    biases: a.biases + b.biases * times,
    normParams: a.normParams + b.normParams * times,
  };
}
