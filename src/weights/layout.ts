/**
 * Every layout conversion between PyTorch's (and ONNX's) conventions and TensorFlow's,
 * in one place: convolution weights OIHW <-> HWIO, dense weights [out, in] <-> [in, out],
 * and images NCHW <-> NHWC. All take and return flat row-major Float32Arrays.
 */

/** [O, I, H, W] -> [H, W, I, O] (a grouped convolution's I is its channels per group). */
export function oihwToHwio(src: Float32Array, shape: readonly number[]): Float32Array {
  const [o, i, h, w] = shape as [number, number, number, number];
  const dst = new Float32Array(src.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) dst[((y * w + x) * i + b) * o + a] = src[((a * i + b) * h + y) * w + x]!;
  return dst;
}

/** [H, W, I, O] -> [O, I, H, W]; `shape` is the OIHW shape wanted. */
export function hwioToOihw(src: Float32Array, shape: readonly number[]): Float32Array {
  const [o, i, h, w] = shape as [number, number, number, number];
  const dst = new Float32Array(src.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) dst[((a * i + b) * h + y) * w + x] = src[((y * w + x) * i + b) * o + a]!;
  return dst;
}

/** A 2-D matrix transposed: [rows, cols] -> [cols, rows] (dense weights [out, in] <-> [in, out]). */
export function transpose2d(src: Float32Array, rows: number, cols: number): Float32Array {
  const dst = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c]!;
  return dst;
}

/** Images [N, C, H, W] -> [N, H, W, C]. */
export function nchwToNhwc(src: ArrayLike<number>, n: number, c: number, h: number, w: number): Float32Array {
  const dst = new Float32Array(n * c * h * w);
  for (let b = 0; b < n; b++)
    for (let k = 0; k < c; k++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) dst[((b * h + y) * w + x) * c + k] = src[((b * c + k) * h + y) * w + x]!;
  return dst;
}

/** Images [N, H, W, C] -> [N, C, H, W]. */
export function nhwcToNchw(src: ArrayLike<number>, n: number, c: number, h: number, w: number): Float32Array {
  const dst = new Float32Array(n * c * h * w);
  for (let b = 0; b < n; b++)
    for (let k = 0; k < c; k++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) dst[((b * c + k) * h + y) * w + x] = src[((b * h + y) * w + x) * c + k]!;
  return dst;
}
