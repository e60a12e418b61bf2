import { random, type Random } from './random.js';
import { CodedError } from '../diagnostics/coded-error.js';
import type { CheckedModel, NormLayer } from '../model/types.js';
import { walkLayers } from '../model/walk.js';
import type { Geometry } from '../images/decode.js';
import { evalGeometry, type Preprocess } from '../images/preprocess.js';
import { ImageBatchStream } from '../images/stream.js';
import { inceptionCrop, type ResizedCrop, trainAugmentation } from '../images/transforms.js';
import type { Dataset, FileSplit } from './data.js';

export { random, type Random } from './random.js';

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
  /** Image folders: RandomResizedCrop's ranges (transforms.ts) instead of padding and cropping. */
  resizedCrop?: ResizedCrop;
}

/** The standard light augmentation: pad 4 and crop (He et al. 2015 for CIFAR), and horizontal flips. */
export const standardAugment: Augment = { cropPadding: 4, flip: true };

/** Image folders' augmentation, torchvision's ImageNet training recipe: RandomResizedCrop (8%–100% of the area, aspect 3/4–4/3) and horizontal flips. */
export const imageAugment: Augment = { cropPadding: 0, flip: true, resizedCrop: inceptionCrop };

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

/** A batch of model input (NHWC float32) and labels; `skipped`: the images left out (--skip-bad-images). */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  skipped: { path: string; error: CodedError }[];
}

/** The batches of a pass over a split, taken in order with next(); close() when done or stopping. */
export interface Batches {
  next(): Promise<Batch>;
  close(): Promise<void>;
}

/** How a pass makes its batches: training (augmented or not) in an epoch, or evaluation. */
export interface PassOptions {
  /** Training: the augmentation (none: the evaluation's transform), its generator for data in memory, and the seed and epoch that seed an image file's. */
  train?: { augment: Augment | undefined; rand: Random; seed: number; epoch: number };
  /** Image files: their preprocessing and whether unreadable ones are left out. */
  preprocess?: Preprocess;
  skipBadImages?: boolean;
}

/**
 * The batches `steps` (lists of example indices) of a split: for data in memory each made
 * when taken (makeBatch: byte/255, the augmentation drawn from `train.rand` in order); for
 * image files, decoded ahead by an ImageBatchStream, each image's augmentation drawn from
 * its own generator (seed, epoch, index: transforms.ts).
 */
export function passBatches(split: Dataset | FileSplit, steps: readonly ArrayLike<number>[], o: PassOptions): Batches {
  if (!('files' in split)) {
    let k = 0;
    const rand = o.train?.rand ?? random(0);
    return {
      next: async () => ({ ...makeBatch(split, steps[k++]!, o.train?.augment, rand), skipped: [] }),
      close: async () => undefined,
    };
  }
  const preprocess = o.preprocess;
  if (!preprocess) throw new Error('passBatches: image files need their preprocessing');
  const { h, w } = preprocess.input;
  const t = o.train;
  const crop = t?.augment?.resizedCrop;
  const geometry = (index: number, height: number, width: number): Geometry => {
    if (t && crop) {
      const a = trainAugmentation(height, width, t.seed, t.epoch, index, crop, t.augment!.flip);
      return { crop: a.box, resize: { height: h, width: w }, window: { top: 0, left: 0, height: h, width: w }, flip: a.flip };
    }
    const g = evalGeometry(preprocess, height, width);
    return t?.augment?.flip ? { ...g, flip: trainAugmentation(height, width, t.seed, t.epoch, index, undefined, true).flip } : g;
  };
  return new ImageBatchStream(split, steps, geometry, preprocess, { skipBadImages: o.skipBadImages ?? false });
}

/** The index lists of steps `from`..`to` (exclusive) of an epoch's `order` cut in batches of `batchSize`. */
export function stepIndices(order: Uint32Array, batchSize: number, from: number, to: number): Uint32Array[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, k) => order.subarray((from + k) * batchSize, Math.min(order.length, (from + k + 1) * batchSize)));
}

/** A batch size the model cannot train with (R0611). */
export class BatchError extends CodedError {
  constructor(message: string, help?: string) {
    super('R0611', message, help);
  }
}

/** How an epoch is cut into steps. */
export interface EpochPlan {
  /** Steps per epoch: batches of `batchSize`, the last one possibly smaller. */
  steps: number;
  /**
   * The norm that a last batch of one image would leave with one value per channel (its
   * input map is 1x1), when the data's size makes such a last batch: it is dropped.
   */
  dropped?: NormLayer;
}

/**
 * The steps of an epoch of `count` images in batches of `batchSize`, as PyTorch's
 * DataLoader cuts them (in order, the last batch smaller) — except that a batch that would
 * leave a norm ONE value per channel (batch × height × width = 1: one image reaching a 1x1
 * map) is never trained on, as PyTorch refuses it ("Expected more than 1 value per channel
 * when training"; its unbiased variance is 0/0): such a last batch is dropped (`dropped`
 * says which norm; the caller warns), and a batch size that makes every batch such a batch
 * is refused.
 *
 * @throws BatchError (R0611) when `batchSize` is 1, or there is a single training image,
 *   and some norm of the model sees a 1x1 map.
 */
export function epochPlan(model: CheckedModel, count: number, batchSize: number): EpochPlan {
  const norm = normAt1x1(model);
  const steps = Math.ceil(count / batchSize);
  if (!norm) return { steps };
  const what = `norm '${norm.name}' one value per channel (its map is 1x1), so its batch statistics are undefined`;
  if (batchSize === 1) throw new BatchError(`--batch-size 1 leaves ${what}`, 'use a batch size of 2 or more (PyTorch refuses such batches too)');
  if (count % batchSize !== 1) return { steps };
  if (count === 1) throw new BatchError(`a single training image leaves ${what}`, 'give at least 2 training images');
  return { steps: steps - 1, dropped: norm };
}

/** The first norm whose input map is 1x1: one image gives it one value per channel. */
export function normAt1x1(model: CheckedModel): NormLayer | undefined {
  for (const { layer } of walkLayers(model)) if (layer.op === 'norm' && layer.in.h * layer.in.w === 1) return layer;
  return undefined;
}
