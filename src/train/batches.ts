import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { Dataset } from './data.js';

/** A generator of uniform numbers in [0, 1), seeded. */
export type Random = () => number;

export function random(seed: number): Random {
  const rng = xoroshiro128plus(seed | 0);
  return () => (rng.next() >>> 0) / 4294967296;
}

/** A permutation of 0..n-1 for an epoch: the same for the same seed and epoch (so a resumed run sees the same order). */
export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  const rand = random(Math.imul(seed + 1, 0x9e3779b1) ^ (epoch * 0x85ebca6b));
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

export interface Augment {
  /** Zero padding around the image before a random crop back to its size (0: no crop). */
  cropPadding: number;
  flip: boolean;
}

/** The standard light augmentation: pad 4 and crop (He et al. 2015 for CIFAR), and horizontal flips. */
export const standardAugment: Augment = { cropPadding: 4, flip: true };

/**
 * Examples `indices` of `data` as a float NHWC batch, values byte/255 (the only thing done
 * to pixels outside the model), optionally shifted and flipped.
 */
export function makeBatch(data: Dataset, indices: ArrayLike<number>, augment: Augment | undefined, rand: Random): { x: Float32Array; y: Int32Array } {
  const { c, h, w } = data.shape;
  const size = c * h * w;
  const x = new Float32Array(indices.length * size);
  const y = new Int32Array(indices.length);
  for (let b = 0; b < indices.length; b++) {
    const i = indices[b]!;
    y[b] = data.labels[i]!;
    const src = i * size;
    const dst = b * size;
    if (!augment) {
      for (let k = 0; k < size; k++) x[dst + k] = data.images[src + k]! / 255;
      continue;
    }
    const p = augment.cropPadding;
    const dy = p > 0 ? Math.floor(rand() * (2 * p + 1)) - p : 0;
    const dx = p > 0 ? Math.floor(rand() * (2 * p + 1)) - p : 0;
    const flip = augment.flip && rand() < 0.5;
    for (let row = 0; row < h; row++) {
      const sy = row + dy;
      for (let col = 0; col < w; col++) {
        const sx = (flip ? w - 1 - col : col) + dx;
        const o = dst + (row * w + col) * c;
        if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue; // zeros (Float32Array starts zeroed)
        const s = src + (sy * w + sx) * c;
        for (let k = 0; k < c; k++) x[o + k] = data.images[s + k]! / 255;
      }
    }
  }
  return { x, y };
}
