import type { Block, CheckedModel } from '../../src/model/types.js';
import type { WeightSet } from '../../src/weights/init.js';

/**
 * A reference forward pass in plain arithmetic, written from LANGUAGE.md's tables and
 * PyTorch's definitions of each operation, in float64, one image at a time. It shares nothing
 * with src/onnx: it reads the weights by their PyTorch names and does every convolution,
 * norm and pool itself.
 */
export interface Fmap {
  c: number;
  h: number;
  w: number;
  d: Float64Array;
}

const at = (x: Fmap, c: number, i: number, j: number): number => x.d[(c * x.h + i) * x.w + j]!;

function get(weights: WeightSet, name: string): Float32Array {
  const t = weights.get(name);
  if (!t) throw new Error(`reference: no tensor ${name}`);
  return t;
}

/** Convolution with PyTorch's semantics: OIHW weights, symmetric zero padding, groups. */
export function conv(x: Fmap, weights: WeightSet, name: string, o: { out: number; k: number; stride: number; groups?: number; bias?: boolean }): Fmap {
  const W = get(weights, `${name}.weight`);
  const bias = o.bias ? get(weights, `${name}.bias`) : undefined;
  const g = o.groups ?? 1;
  const pad = Math.floor(o.k / 2);
  const h = Math.floor((x.h + 2 * pad - o.k) / o.stride) + 1;
  const w = Math.floor((x.w + 2 * pad - o.k) / o.stride) + 1;
  const inPer = x.c / g;
  const outPer = o.out / g;
  if (W.length !== o.out * inPer * o.k * o.k) throw new Error(`reference: ${name} has ${W.length} weights`);
  const d = new Float64Array(o.out * h * w);
  for (let oc = 0; oc < o.out; oc++) {
    const group = Math.floor(oc / outPer);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        let s = bias ? bias[oc]! : 0;
        for (let ic = 0; ic < inPer; ic++) {
          for (let ki = 0; ki < o.k; ki++) {
            const y = i * o.stride - pad + ki;
            if (y < 0 || y >= x.h) continue;
            for (let kj = 0; kj < o.k; kj++) {
              const z = j * o.stride - pad + kj;
              if (z < 0 || z >= x.w) continue;
              s += W[((oc * inPer + ic) * o.k + ki) * o.k + kj]! * at(x, group * inPer + ic, y, z);
            }
          }
        }
        d[(oc * h + i) * w + j] = s;
      }
    }
  }
  return { c: o.out, h, w, d };
}

/** Batch norm with running statistics (eval mode). */
export function norm(x: Fmap, weights: WeightSet, name: string, eps: number): Fmap {
  const [g, b, m, v] = ['weight', 'bias', 'running_mean', 'running_var'].map((s) => get(weights, `${name}.${s}`));
  const d = new Float64Array(x.d.length);
  const n = x.h * x.w;
  for (let c = 0; c < x.c; c++) {
    for (let i = 0; i < n; i++) d[c * n + i] = ((x.d[c * n + i]! - m![c]!) / Math.sqrt(v![c]! + eps)) * g![c]! + b![c]!;
  }
  return { ...x, d };
}

export const relu = (x: Fmap): Fmap => ({ ...x, d: x.d.map((v) => Math.max(0, v)) });

export function add(a: Fmap, b: Fmap): Fmap {
  if (a.c !== b.c || a.h !== b.h || a.w !== b.w) throw new Error('reference: adding different shapes');
  return { ...a, d: a.d.map((v, i) => v + b.d[i]!) };
}

/**
 * Max or average pool. `pad` zeros (ignored by max); ceil mode lets a last window hang over
 * the end as long as it starts inside; `countPad`: whether padded positions count in an average.
 */
export function pool(x: Fmap, kind: 'max' | 'avg', k: number, stride: number, pad: number, ceil = false, countPad = false): Fmap {
  const len = (n: number): number => {
    const span = n + 2 * pad - k;
    let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
    if (ceil && (out - 1) * stride >= n + pad) out--;
    return out;
  };
  const h = len(x.h);
  const w = len(x.w);
  const d = new Float64Array(x.c * h * w);
  for (let c = 0; c < x.c; c++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        let best = -Infinity;
        let sum = 0;
        let count = 0;
        for (let ki = 0; ki < k; ki++) {
          for (let kj = 0; kj < k; kj++) {
            const y = i * stride - pad + ki;
            const z = j * stride - pad + kj;
            const inside = y >= 0 && y < x.h && z >= 0 && z < x.w;
            const padded = y >= -pad && y < x.h + pad && z >= -pad && z < x.w + pad;
            if (inside) {
              const v = at(x, c, y, z);
              best = Math.max(best, v);
              sum += v;
              count++;
            } else if (padded && countPad) count++;
          }
        }
        d[(c * h + i) * w + j] = kind === 'max' ? best : sum / count;
      }
    }
  }
  return { c: x.c, h, w, d };
}

export function globalAverage(x: Fmap): Fmap {
  const n = x.h * x.w;
  const d = new Float64Array(x.c);
  for (let c = 0; c < x.c; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x.d[c * n + i]!;
    d[c] = s / n;
  }
  return { c: x.c, h: 1, w: 1, d };
}

/** Shortcut A: rows and columns 0, s, 2s, …, then zero channels appended. */
export function subsamplePad(x: Fmap, stride: number, channels: number): Fmap {
  const h = Math.ceil(x.h / stride);
  const w = Math.ceil(x.w / stride);
  const d = new Float64Array(channels * h * w);
  for (let c = 0; c < x.c; c++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) d[(c * h + i) * w + j] = at(x, c, i * stride, j * stride);
  return { c: channels, h, w, d };
}

/** Squeeze-and-excitation: pool, 1x1 conv with bias, act, 1x1 conv with bias, sigmoid, scale. */
function se(x: Fmap, weights: WeightSet, name: string, ratio: number): Fmap {
  const squeezed = Math.floor(x.c / ratio);
  let s = globalAverage(x);
  s = relu(conv(s, weights, `${name}.reduce`, { out: squeezed, k: 1, stride: 1, bias: true }));
  s = conv(s, weights, `${name}.expand`, { out: x.c, k: 1, stride: 1, bias: true });
  const gate = s.d.map((v) => 1 / (1 + Math.exp(-v)));
  const n = x.h * x.w;
  return { ...x, d: x.d.map((v, i) => v * gate[Math.floor(i / n)]!) };
}

/** What the test says about the blocks (the reference does not read the checked layers). */
export interface BlockOptions {
  shortcut: 'A' | 'B' | 'C' | 'D';
  groups?: number;
  strideOn?: '1x1' | '3x3';
  se?: number;
}

/** One block, from LANGUAGE.md's tables ("Blocks" and "Shortcuts"). */
export function block(x: Fmap, weights: WeightSet, b: Block, o: BlockOptions, eps: number): Fmap {
  const n = (s: string): string => `${b.name}.${s}`;
  const s = b.stride;
  const outC = b.out.c;
  const inner = b.innerWidth;
  const preact = b.kind.startsWith('preact-');
  const bottleneck = b.kind.endsWith('bottleneck');
  const bn = (v: Fmap, name: string): Fmap => norm(v, weights, n(name), eps);
  const strideOn = o.strideOn ?? '3x3';

  const pre = preact ? relu(bn(x, 'norm1')) : x;
  let r: Fmap;
  if (!preact && !bottleneck) {
    r = relu(bn(conv(x, weights, n('conv1'), { out: inner, k: 3, stride: s }), 'norm1'));
    r = bn(conv(r, weights, n('conv2'), { out: outC, k: 3, stride: 1 }), 'norm2');
  } else if (!preact) {
    r = relu(bn(conv(x, weights, n('conv1'), { out: inner, k: 1, stride: strideOn === '1x1' ? s : 1 }), 'norm1'));
    r = relu(bn(conv(r, weights, n('conv2'), { out: inner, k: 3, stride: strideOn === '3x3' ? s : 1, groups: o.groups ?? 1 }), 'norm2'));
    r = bn(conv(r, weights, n('conv3'), { out: outC, k: 1, stride: 1 }), 'norm3');
  } else if (!bottleneck) {
    r = conv(pre, weights, n('conv1'), { out: inner, k: 3, stride: s });
    r = conv(relu(bn(r, 'norm2')), weights, n('conv2'), { out: outC, k: 3, stride: 1 });
  } else {
    r = conv(pre, weights, n('conv1'), { out: inner, k: 1, stride: strideOn === '1x1' ? s : 1 });
    r = conv(relu(bn(r, 'norm2')), weights, n('conv2'), { out: inner, k: 3, stride: strideOn === '3x3' ? s : 1, groups: o.groups ?? 1 });
    r = conv(relu(bn(r, 'norm3')), weights, n('conv3'), { out: outC, k: 1, stride: 1 });
  }
  if (o.se !== undefined) r = se(r, weights, n('se'), o.se);

  const changes = s !== 1 || x.c !== outC;
  const source = preact ? pre : x;
  const project = (v: Fmap, stride: number): Fmap => {
    const p = conv(v, weights, n('shortcut.conv'), { out: outC, k: 1, stride });
    return preact ? p : bn(p, 'shortcut.norm');
  };
  let sc: Fmap;
  if (!changes && o.shortcut !== 'C') sc = x;
  else if (o.shortcut === 'A') sc = subsamplePad(x, s, outC);
  else if (o.shortcut === 'B' || o.shortcut === 'C') sc = project(source, s);
  else sc = project(s > 1 ? pool(source, 'avg', 2, s, 0, true, false) : source, 1);

  const sum = add(r, sc);
  return preact ? sum : relu(sum);
}

/** The whole model for one image: stem, blocks, closing norm (pre-activation), head. */
export function forward(model: CheckedModel, weights: WeightSet, image: Float64Array, o: BlockOptions): Float64Array {
  const eps = model.norm.eps;
  let x: Fmap = { ...model.input, d: image };
  let convs = 0;
  for (const l of model.stem) {
    if (l.op === 'conv') {
      convs++;
      x = conv(x, weights, `stem.conv${convs}`, { out: l.out.c, k: l.kernel[0], stride: l.stride, groups: l.groups });
      if (!model.preactivation) x = relu(norm(x, weights, `stem.norm${convs}`, eps));
    } else if (l.op === 'maxpool' || l.op === 'avgpool') {
      x = pool(x, l.op === 'maxpool' ? 'max' : 'avg', l.kernel[0], l.stride, Math.floor(l.kernel[0] / 2), false, l.countIncludePad);
    }
  }
  for (const stage of model.stages) for (const b of stage.blocks) x = block(x, weights, b, o, eps);
  if (model.preactivation) x = relu(norm(x, weights, 'final.norm', eps));
  if (!model.head) return x.d;
  const pooled = globalAverage(x);
  const W = get(weights, 'head.fc.weight');
  const B = get(weights, 'head.fc.bias');
  const k = model.head.classes;
  return Float64Array.from({ length: k }, (_, i) => {
    let s = B[i]!;
    for (let c = 0; c < pooled.c; c++) s += W[i * pooled.c + c]! * pooled.d[c]!;
    return s;
  });
}
