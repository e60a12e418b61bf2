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
