import * as tf from './tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdKernels } from './simd-kernels.js';

/**
 * Kernels for the wasm backend: convolutions' gradients (so that they train on it at all,
 * and fast), max pooling's (so that it trains right), ReLU's, and Identity and Cast that
 * share their input instead of copying it.
 *
 * tfjs's wasm backend ships no Conv2DBackpropFilter (a convolution's weight gradient), and
 * its Conv2DBackpropInput is a plain loop about 8x slower than its XNNPACK forward
 * convolution. Both gradients are rewritten here in terms of the backend's fast kernels:
 *
 * - filter gradient: dW[(kh, kw, ci), co] = sum over m = (n, oy, ox) of patchT[(kh, kw, ci), m] * dy[m, co].
 *   With ci a multiple of 4 and co of 8, kernels.wat's filter_grad computes it directly
 *   (2x faster than the following at ResNet-20's sizes: 16 against 33 ms for 64x32x32x16).
 *   Otherwise the transposed patch matrix is laid out in the wasm heap by kernels.wat's
 *   im2col_t (by a strided copy in JS where WebAssembly SIMD is missing), and the product
 *   goes to the backend's BatchMatMul with no
 *   transposed operand (its fast path: transposed operands are ~13x slower there). The
 *   result [kh*kw*ci, co] is already the HWIO layout.
 * - input gradient: a forward convolution of dy, spread by the stride and padded by
 *   k-1-pad, with the filter flipped in space and its in/out channels swapped; it runs on
 *   the backend's own (XNNPACK) Conv2D.
 *
 * - max pool gradient: tfjs's wasm MaxPoolGrad starts each window's maximum at 0 and
 *   takes the last of equal values, so a window of negative values sends its gradient to
 *   the wrong pixel (a pre-activation stem's bare convolution feeds its pool such values)
 *   and a window of ReLU's zeros to the last one. Ours follows PyTorch (and tfjs's cpu
 *   backend): the first maximum in the window's row-major order gets it.
 *
 * Measured figures are in docs/tfjs.md. Only NHWC with dilation 1 takes the fast paths;
 * anything else falls back (input gradient: to the backend's own kernel).
 */

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

interface FilterAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

interface InputAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

type WasmKernel = (args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: Record<string, unknown> }) => tf.TensorInfo;

function wasmKernel(name: string): WasmKernel {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`the wasm backend has no ${name} kernel`);
  return k.kernelFunc as unknown as WasmKernel;
}

/** Geometry of one NHWC convolution, from tfjs's own shape arithmetic. */
interface Geometry {
  n: number;
  h: number;
  w: number;
  ci: number;
  oh: number;
  ow: number;
  co: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
}

function geometry(info: tf.backend_util.Conv2DInfo): Geometry {
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    ci: info.inChannels,
    oh: info.outHeight,
    ow: info.outWidth,
    co: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

export function conv2DBackpropFilterWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as unknown as BackendWasm;
  const x = args.inputs['x']!;
  const dy = args.inputs['dy']!;
  const attrs = args.attrs as unknown as FilterAttrs;
  if (attrs.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('Conv2DBackpropFilter on wasm supports float32 only');
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const g = geometry(info);
  const simd = simdKernels(backend);
  if (simd && g.ci % 4 === 0 && g.co % 8 === 0) {
    // kernels.wat's filter_grad: no patch matrix at all.
    const dw = backend.makeOutput([g.kh, g.kw, g.ci, g.co], 'float32');
    simd.filter_grad(simd.offset(x), simd.offset(dy), simd.offset(dw), g.n, g.h, g.w, g.ci, g.oh, g.ow, g.co, g.kh, g.kw, g.sh, g.sw, g.top, g.left);
    return dw;
  }
  const rows = g.kh * g.kw * g.ci;
  const cols = g.n * g.oh * g.ow;
  const patchesT = backend.makeOutput([1, rows, cols], 'float32');
  if (simd) {
    // kernels.wat's im2col, with its channel planes in a scratch tensor.
    const planes = backend.makeOutput([g.n * g.h * g.w * g.ci], 'float32');
    simd.im2col_t(simd.offset(x), simd.offset(planes), simd.offset(patchesT), g.n, g.h, g.w, g.ci, g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.top, g.left);
    backend.disposeData(planes.dataId);
  } else {
    // Views are taken after every allocation: allocating may grow (and so move) the heap.
    im2colTransposed(backend.typedArrayFromHeap(x) as Float32Array, backend.typedArrayFromHeap(patchesT) as Float32Array, g);
  }
  const dyMatrix: tf.TensorInfo = { dataId: dy.dataId, shape: [1, cols, g.co], dtype: 'float32' };
  const product = wasmKernel('BatchMatMul')({ inputs: { a: patchesT, b: dyMatrix }, backend, attrs: { transposeA: false, transposeB: false } });
  backend.disposeData(patchesT.dataId);
  return { dataId: product.dataId, shape: [g.kh, g.kw, g.ci, g.co], dtype: 'float32' };
}

/** Scratch space for the input in NCHW order, kept between calls (training repeats the same sizes). */
let planes = new Float32Array(0);

/**
 * Row (fy, fx, c) of `dst` holds, for every output pixel m = (b, oy, ox), the input value
 * under that filter tap: x[b, oy*sh - top + fy, ox*sw - left + fx, c], zero in the padding.
 * The input is first regrouped into channel planes (NCHW), so that each run of a row is
 * read with stride sw instead of stride ci (3x faster at ResNet-20's sizes).
 */
export function im2colTransposed(src: Float32Array, dst: Float32Array, g: Geometry): void {
  const { n, h, w, ci, oh, ow, kh, kw, sh, sw, top, left } = g;
  const plane = h * w;
  if (planes.length < src.length) planes = new Float32Array(src.length);
  const t = planes;
  for (let b = 0; b < n; b++) {
    const base = b * ci * plane;
    for (let p = 0, s = b * plane * ci; p < plane; p++) for (let c = 0; c < ci; c++, s++) t[base + c * plane + p] = src[s]!;
  }
  let o = 0;
  for (let fy = 0; fy < kh; fy++) {
    for (let fx = 0; fx < kw; fx++) {
      // The output columns whose tap falls inside the image: ox in [x0, x1).
      const x0 = Math.max(0, Math.ceil((left - fx) / sw));
      const x1 = Math.min(ow, Math.floor((w - 1 + left - fx) / sw) + 1);
      for (let c = 0; c < ci; c++) {
        for (let b = 0; b < n; b++) {
          const planeBase = (b * ci + c) * plane;
          for (let oy = 0; oy < oh; oy++) {
            const y = oy * sh - top + fy;
            if (y < 0 || y >= h || x1 <= x0) {
              dst.fill(0, o, o + ow);
              o += ow;
              continue;
            }
            for (let ox = 0; ox < x0; ox++) dst[o + ox] = 0;
            let s = planeBase + y * w + x0 * sw - left + fx;
            if (sw === 1 && x1 - x0 >= 16) dst.set(t.subarray(s, s + x1 - x0), o + x0);
            else for (let ox = x0; ox < x1; ox++, s += sw) dst[o + ox] = t[s]!;
            for (let ox = x1; ox < ow; ox++) dst[o + ox] = 0;
            o += ow;
          }
        }
      }
    }
  }
  if (o !== dst.length || dst.length !== kh * kw * ci * n * oh * ow) throw new Error('im2col: size mismatch');
}

let originalBackpropInput: WasmKernel | undefined;

export function conv2DBackpropInputWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as unknown as BackendWasm;
  const dy = args.inputs['dy']!;
  const filter = args.inputs['filter']!;
  const attrs = args.attrs as unknown as InputAttrs;
  if (attrs.dataFormat === 'NCHW' || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    return originalBackpropInput!({ inputs: args.inputs, backend, attrs: args.attrs as Record<string, unknown> });
  }
  const info = tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const g = geometry(info);
  const byPhase = polyphaseInputGrad(backend, dy, filter, g);
  if (byPhase) return byPhase;
  // dx = valid convolution of dy spread by the stride, padded by k-1-pad before, with the flipped filter.
  const padTop = g.kh - 1 - g.top;
  const padLeft = g.kw - 1 - g.left;
  const spreadH = g.h + g.kh - 1;
  const spreadW = g.w + g.kw - 1;
  if (padTop < 0 || padLeft < 0) return originalBackpropInput!({ inputs: args.inputs, backend, attrs: args.attrs as Record<string, unknown> });

  const flipped = backend.makeOutput([g.kh, g.kw, g.co, g.ci], 'float32');
  let spread: tf.TensorInfo;
  let pad: tf.backend_util.ExplicitPadding | 'valid' = 'valid';
  const plain = g.sh === 1 && g.sw === 1 && g.h + g.kh - 1 - padTop - g.oh >= 0 && g.w + g.kw - 1 - padLeft - g.ow >= 0;
  if (plain) {
    // Stride 1: the backend pads dy itself.
    spread = dy;
    pad = [
      [0, 0],
      [padTop, spreadH - padTop - g.oh],
      [padLeft, spreadW - padLeft - g.ow],
      [0, 0],
    ];
  } else {
    spread = backend.makeOutput([g.n, spreadH, spreadW, g.co], 'float32');
  }
  const w = backend.typedArrayFromHeap(filter) as Float32Array;
  const f = backend.typedArrayFromHeap(flipped) as Float32Array;
  flipFilter(w, f, g);
  if (!plain) spreadOut(backend.typedArrayFromHeap(dy) as Float32Array, backend.typedArrayFromHeap(spread) as Float32Array, g, padTop, padLeft, spreadH, spreadW);
  const dx = wasmKernel('Conv2D')({
    inputs: { x: spread, filter: flipped },
    backend,
    attrs: { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined },
  });
  backend.disposeData(flipped.dataId);
  if (!plain) backend.disposeData(spread.dataId);
  return dx;
}

/**
 * One axis of a convolution's input gradient, split by the residue r of the input index
 * modulo the stride s: input row r + s·j takes dy rows j + q − t through filter taps
 * f0 + s·t (t < taps), i.e. a stride-1 convolution of dy with those taps reversed, padded by
 * `before` and `after`, of `length` outputs. From iy = oy·s − pad + f: f ≡ r + pad (mod s).
 */
interface Phase {
  r: number;
  f0: number;
  taps: number;
  before: number;
  after: number;
  length: number;
}

/** The phases of one axis (input `size`, kernel k, stride s, padding before `pad`, dy's length `out`); undefined where one would need a negative padding. */
function phases(size: number, k: number, s: number, pad: number, out: number): Phase[] | undefined {
  const result: Phase[] = [];
  for (let r = 0; r < Math.min(s, size); r++) {
    const length = Math.ceil((size - r) / s);
    const f0 = (r + pad) % s;
    const taps = f0 >= k ? 0 : Math.ceil((k - f0) / s);
    const q = (r + pad - f0) / s;
    const before = taps - 1 - q;
    const after = length + q - out;
    if (taps > 0 && (before < 0 || after < 0)) return undefined;
    result.push({ r, f0, taps, before, after, length });
  }
  return result;
}

/**
 * dx by phases: for each pair of residues (ry, rx), a stride-1 convolution of dy (the
 * backend's XNNPACK Conv2D) with the taps of that phase, flipped and with channels swapped,
 * put in place by kernels.wat's scatter_phase. Every multiply of it is needed, where a
 * convolution of dy spread by the stride multiplies s² times as many (mostly zeros). With
 * stride 1 it is one convolution, its output dx itself.
 */
function polyphaseInputGrad(backend: BackendWasm, dy: tf.TensorInfo, filter: tf.TensorInfo, g: Geometry): tf.TensorInfo | undefined {
  const rows = phases(g.h, g.kh, g.sh, g.top, g.oh);
  const cols = phases(g.w, g.kw, g.sw, g.left, g.ow);
  const simd = simdKernels(backend);
  const single = g.sh === 1 && g.sw === 1;
  if (!rows || !cols || (!single && !simd)) return undefined;
  let dx: tf.TensorInfo | undefined;
  if (!single) {
    dx = backend.makeOutput([g.n, g.h, g.w, g.ci], 'float32');
    // A phase with no taps leaves its positions 0.
    if (rows.some((p) => p.taps === 0) || cols.some((p) => p.taps === 0)) (backend.typedArrayFromHeap(dx) as Float32Array).fill(0);
  }
  for (const py of rows) {
    for (const px of cols) {
      if (py.taps === 0 || px.taps === 0) continue;
      // f[u, v, o, i] = w[f0y + sh·(Ty−1−u), f0x + sw·(Tx−1−v), i, o]
      const sub = backend.makeOutput([py.taps, px.taps, g.co, g.ci], 'float32');
      const w = backend.typedArrayFromHeap(filter) as Float32Array;
      const f = backend.typedArrayFromHeap(sub) as Float32Array;
      for (let u = 0; u < py.taps; u++) {
        for (let v = 0; v < px.taps; v++) {
          const src = ((py.f0 + g.sh * (py.taps - 1 - u)) * g.kw + (px.f0 + g.sw * (px.taps - 1 - v))) * g.ci * g.co;
          const dst = (u * px.taps + v) * g.co * g.ci;
          for (let i = 0; i < g.ci; i++) for (let o = 0; o < g.co; o++) f[dst + o * g.ci + i] = w[src + i * g.co + o]!;
        }
      }
      const part = wasmKernel('Conv2D')({
        inputs: { x: dy, filter: sub },
        backend,
        attrs: {
          strides: [1, 1],
          pad: [
            [0, 0],
            [py.before, py.after],
            [px.before, px.after],
            [0, 0],
          ],
          dataFormat: 'NHWC',
          dilations: [1, 1],
          dimRoundingMode: undefined,
        },
      });
      backend.disposeData(sub.dataId);
      if (single) return part;
      simd!.scatter_phase(simd!.offset(part), simd!.offset(dx!), g.n, py.length, px.length, g.ci, g.h, g.w, py.r, px.r, g.sh, g.sw);
      backend.disposeData(part.dataId);
    }
  }
  return dx;
}

/** f[y, x, o, i] = w[kh-1-y, kw-1-x, i, o]. */
function flipFilter(w: Float32Array, f: Float32Array, g: Geometry): void {
  const { kh, kw, ci, co } = g;
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      const src = ((kh - 1 - y) * kw + (kw - 1 - x)) * ci * co;
      const dst = (y * kw + x) * co * ci;
      for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) f[dst + o * ci + i] = w[src + i * co + o]!;
    }
  }
}

/** Zeros, with dy[b, oy, ox, :] at [b, top + oy*sh, left + ox*sw, :]. */
function spreadOut(dy: Float32Array, out: Float32Array, g: Geometry, top: number, left: number, height: number, width: number): void {
  const { n, oh, ow, co, sh, sw } = g;
  out.fill(0);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const y = top + oy * sh;
      if (y >= height) break;
      for (let ox = 0; ox < ow; ox++) {
        const x = left + ox * sw;
        if (x >= width) break;
        const s = ((b * oh + oy) * ow + ox) * co;
        out.set(dy.subarray(s, s + co), ((b * height + y) * width + x) * co);
      }
    }
  }
}

interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** MaxPoolGrad: dx (the input's shape, NHWC) from dy, routed to each window's first maximum. */
export function maxPoolGradWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as unknown as BackendWasm;
  const dy = args.inputs['dy']!;
  const input = args.inputs['input']!;
  const attrs = args.attrs as unknown as PoolAttrs;
  if (input.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('MaxPoolGrad on wasm supports float32 only');
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const dx = backend.makeOutput(input.shape, 'float32');
  // Views are taken after every allocation: allocating may grow (and so move) the heap.
  maxPoolBackprop(backend.typedArrayFromHeap(input) as Float32Array, backend.typedArrayFromHeap(dy) as Float32Array, backend.typedArrayFromHeap(dx) as Float32Array, info);
  return dx;
}

/**
 * dx[the window's argmax] += dy[window], per channel, NHWC. The argmax is PyTorch's
 * (aten's max_pool2d: `val > max || isnan(val)`, starting from the window's first pixel at
 * −∞): the first of equal maxima in row-major order, a NaN over any number. Windows are
 * clipped to the input (padding never wins).
 */
export function maxPoolBackprop(x: Float32Array, dy: Float32Array, dx: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  dx.fill(0);
  const best = new Float32Array(c);
  const at = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const y0 = Math.max(0, oy * sh - top);
      const y1 = Math.min(h, oy * sh - top + kh);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = Math.max(0, ox * sw - left);
        const x1 = Math.min(w, ox * sw - left + kw);
        const first = ((b * h + y0) * w + x0) * c;
        best.fill(-Infinity);
        for (let k = 0; k < c; k++) at[k] = first + k;
        for (let y = y0; y < y1; y++) {
          for (let xx = x0; xx < x1; xx++) {
            const base = ((b * h + y) * w + xx) * c;
            for (let k = 0; k < c; k++) {
              const v = x[base + k]!;
              if (v > best[k]! || v !== v) {
                best[k] = v;
                at[k] = base + k;
              }
            }
          }
        }
        const o = ((b * oh + oy) * ow + ox) * c;
        if (y1 <= y0 || x1 <= x0) continue;
        for (let k = 0; k < c; k++) {
          const i = at[k]!;
          dx[i] = dx[i]! + dy[o + k]!;
        }
      }
    }
  }
}

/**
 * Identity shares its input's buffer (a reference count), as the cpu backend's does,
 * where the wasm backend's copies it. tfjs clones every tensor it saves for the backward
 * pass (engine.saveTensorsForBackwardMode): ~600 copies, 6% of a ResNet-20 step. Sharing
 * is safe because no kernel writes into its inputs.
 */
export function identityWasm(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs['x']!;
  (args.backend as unknown as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

let originalCast: WasmKernel | undefined;

/** Cast to the dtype a tensor already has shares it (tfjs's ReLU and Cast gradients cast float32 to float32); any other cast is the backend's. */
export function castWasm(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs['x']!;
  if ((args.attrs as { dtype?: string } | undefined)?.dtype === x.dtype) return identityWasm(args);
  return originalCast!({ inputs: args.inputs, backend: args.backend as unknown as BackendWasm, attrs: args.attrs as Record<string, unknown> });
}

let originalSlice: WasmKernel | undefined;

/**
 * Slice by contiguous runs: the innermost dimensions taken whole, with the one before them,
 * are one run of the input, copied at once. The wasm backend's Slice copies one run per
 * index of every dimension but the last: per pixel in NHWC, 65,536 copies of 16 floats to
 * take the padding off a 64x34x34x16 gradient (zero padding's gradient, 1% of a ResNet-20
 * step). Strings go to the backend's own kernel; tfjs refuses to slice a scalar.
 */
export function sliceWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as unknown as BackendWasm;
  const x = args.inputs['x']!;
  const attrs = args.attrs as { begin: number | number[]; size: number | number[] };
  if (x.dtype === 'string') return originalSlice!({ inputs: args.inputs, backend, attrs: args.attrs as Record<string, unknown> });
  const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin, attrs.size) as [number[], number[]];
  const out = backend.makeOutput(size, x.dtype);
  const total = size.reduce((a, d) => a * d, 1);
  if (total === 0) return out;
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = [...tf.util.computeStrides(x.shape), 1];
  // d0: the first dimension of the run (every one after it taken whole).
  let d0 = rank - 1;
  while (d0 > 0 && size[d0] === x.shape[d0]) d0--;
  const run = size.slice(d0).reduce((a, d) => a * d, 1);
  const index = new Array<number>(d0).fill(0);
  for (let o = 0; o < total; o += run) {
    let from = begin[d0]! * strides[d0]!;
    for (let e = 0; e < d0; e++) from += (begin[e]! + index[e]!) * strides[e]!;
    dst.set(src.subarray(from, from + run), o);
    for (let e = d0 - 1; e >= 0; e--) {
      if (++index[e]! < size[e]!) break;
      index[e] = 0;
    }
  }
  return out;
}

/**
 * The name of ReLU's gradient as one kernel: inputs dy and x, output dx = dy where x > 0,
 * else 0 (registered for wasm; gradients.ts uses it where the backend has it). tfjs's
 * gradient is three kernels (Step, Cast, Multiply) with two full-size temporaries.
 */
export const RELU_GRAD = 'ResnetcReluGrad';

export function reluGradWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as unknown as BackendWasm;
  const dy = args.inputs['dy']!;
  const x = args.inputs['x']!;
  if (dy.dtype !== 'float32' || x.dtype !== 'float32') throw new Error(`${RELU_GRAD} supports float32 only`);
  const dx = backend.makeOutput(x.shape, 'float32');
  const simd = simdKernels(backend);
  const n = x.shape.reduce((a, d) => a * d, 1);
  if (simd) {
    simd.relu_grad(simd.offset(dy), simd.offset(x), simd.offset(dx), n);
  } else {
    const [g, v, out] = [dy, x, dx].map((t) => backend.typedArrayFromHeap(t) as Float32Array) as [Float32Array, Float32Array, Float32Array];
    for (let i = 0; i < n; i++) out[i] = v[i]! > 0 ? g[i]! : 0;
  }
  return dx;
}

let registered = false;

/** Registers this module's kernels with tfjs for the wasm backend (once). */
export function registerWasmGradients(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilterWasm as unknown as tf.KernelFunc });
  replaceKernel('Conv2DBackpropInput', conv2DBackpropInputWasm, (original) => (originalBackpropInput = original));
  replaceKernel('MaxPoolGrad', maxPoolGradWasm);
  tf.registerKernel({ kernelName: RELU_GRAD, backendName: 'wasm', kernelFunc: reluGradWasm as unknown as tf.KernelFunc });
  replaceKernel('Identity', identityWasm);
  replaceKernel('Cast', castWasm, (original) => (originalCast = original));
  replaceKernel('Slice', sliceWasm, (original) => (originalSlice = original));
}

/** Puts `kernel` in place of the wasm backend's own kernel of that name (its setup kept), handing the original to `keep`. */
function replaceKernel(name: string, kernel: (args: KernelArgs) => tf.TensorInfo, keep?: (original: WasmKernel) => void): void {
  const original = tf.getKernel(name, 'wasm');
  if (original) {
    keep?.(original.kernelFunc as unknown as WasmKernel);
    tf.unregisterKernel(name, 'wasm');
  }
  tf.registerKernel({ ...(original ?? {}), kernelName: name, backendName: 'wasm', kernelFunc: kernel as unknown as tf.KernelFunc });
}
