/**
 * Output length of a convolution or pool along one axis, PyTorch's formula. In ceil mode
 * a last, partial window counts as long as it starts inside the input or its leading padding.
 */
export function outputLength(n: number, kernel: number, stride: number, padBefore: number, padAfter: number, ceilMode = false): number {
  const span = n + padBefore + padAfter - kernel + (ceilMode ? stride - 1 : 0);
  let out = Math.floor(span / stride) + 1;
  if (ceilMode && (out - 1) * stride >= n + padBefore) out--;
  return Math.max(out, 0);
}

/** `same`-style padding the language gives every kernel: K/2 rounded down, on both sides. */
export function symmetricPadding(kernel: [number, number]): [number, number, number, number] {
  const ph = Math.floor(kernel[0] / 2);
  const pw = Math.floor(kernel[1] / 2);
  return [ph, pw, ph, pw];
}

/**
 * How many of a kernel's offsets along one axis never fall inside the input: taps that
 * multiply only padding, whatever the image (their weights get no gradient). A 3x3
 * convolution with padding 1 on a map of 1 has 2 per axis; on a map of 2 at stride 2, 1.
 * `n` is the input length; the geometry is outputLength's (output o reads input rows
 * o x stride - padBefore + t x dilation for tap t).
 */
export function paddingOnlyTaps(n: number, kernel: number, stride: number, padBefore: number, padAfter: number, dilation = 1): number {
  const out = outputLength(n, dilation * (kernel - 1) + 1, stride, padBefore, padAfter);
  let dead = 0;
  for (let t = 0; t < kernel; t++) {
    const offset = t * dilation; // a dilated kernel's tap t reads `dilation` x t rows below the window's first
    const first = Math.max(0, Math.ceil((padBefore - offset) / stride)); // the first output whose row for tap t is not above the input
    if (first >= out || first * stride - padBefore + offset >= n) dead++;
  }
  return dead;
}
