/** Output length of a convolution or pool along one axis (PyTorch's formula). */
export function outputLength(n: number, kernel: number, stride: number, padBefore: number, padAfter: number, ceilMode = false): number {
  const span = n + padBefore + padAfter - kernel;
  if (span < 0) return 0;
  if (!ceilMode) return Math.floor(span / stride) + 1;
  let out = Math.ceil(span / stride) + 1;
  // The last window must start inside the input or its leading padding.
  if ((out - 1) * stride >= n + padBefore) out--;
  return out;
}

/** `same`-style padding the language gives every kernel: K/2 rounded down, on both sides. */
export function symmetricPadding(kernel: [number, number]): [number, number, number, number] {
  const ph = Math.floor(kernel[0] / 2);
  const pw = Math.floor(kernel[1] / 2);
  return [ph, pw, ph, pw];
}
