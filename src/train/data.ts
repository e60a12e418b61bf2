import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { CodedError } from '../diagnostics/coded-error.js';
import type { Shape } from '../model/types.js';

/**
 * Labelled images in memory: bytes 0–255, NHWC, one label byte each. Pixels reach a
 * model as value/255 and nothing else (batches.ts), so an exported model classifies raw
 * [0,1] images exactly as the trained one did.
 */
export interface Dataset {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  shape: Shape;
}

export interface DataSplits {
  /** What the source was, for messages: `synthetic data`, `the IDX data in 'DIR'`, `the CIFAR-10 data in 'DIR'`. */
  description: string;
  train: Dataset;
  test: Dataset;
  /** Number of classes the labels use (max label + 1). */
  classes: number;
}

/** Bad data: the command line reports it with its code before training starts. */
export class DataError extends CodedError {
  constructor(code: 'R0601' | 'R0602' | 'R0603', message: string, help?: string) {
    super(code, message, help);
  }
}

export interface LoadOptions {
  /** The spec's input, for synthetic data. */
  input: Shape;
  classes: number;
  seed?: number;
  /** Use the first N examples of each split. */
  limit?: number;
}

/**
 * A data source by name: `synthetic` (or `synthetic:N`, N training images), or a
 * directory holding IDX files (MNIST / Fashion-MNIST layout, gzipped or not) or CIFAR-10
 * binary batches (directly or in `cifar-10-batches-bin/`).
 */
export function loadData(source: string, options: LoadOptions): DataSplits {
  let splits: DataSplits;
  const synthetic = /^synthetic(?::(\d+))?$/.exec(source);
  if (synthetic) {
    const n = synthetic[1] ? Number(synthetic[1]) : 512;
    splits = syntheticData(options.input, options.classes, n, Math.max(64, Math.floor(n / 4)), options.seed ?? 0);
  } else {
    if (!existsSync(source)) throw new DataError('R0601', `cannot find the data source '${source}'`, "give a directory of IDX files or CIFAR-10 binary batches, or 'synthetic'");
    if (!statSync(source).isDirectory()) throw new DataError('R0601', `the data source '${source}' is a file; give the directory that holds it`);
    const cifar = [source, join(source, 'cifar-10-batches-bin')].find((d) => existsSync(join(d, 'data_batch_1.bin')));
    if (cifar) splits = cifarData(cifar);
    else if (findIdx(source, 'train-images-idx3-ubyte')) splits = idxData(source);
    else
      throw new DataError(
        'R0601',
        `'${source}' holds neither IDX files nor CIFAR-10 batches`,
        'expected train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-… (MNIST layout) or data_batch_1.bin … test_batch.bin (CIFAR-10)',
      );
  }
  if (options.limit !== undefined) {
    splits.train = take(splits.train, options.limit);
    splits.test = take(splits.test, options.limit);
  }
  return splits;
}

/** Errors unless the data can feed a model with this input and number of classes. */
export function checkFits(splits: DataSplits, input: Shape, classes: number | undefined, modelName: string): void {
  const s = splits.train.shape;
  if (s.c !== input.c || s.h !== input.h || s.w !== input.w) {
    throw new DataError(
      'R0602',
      `${splits.description} has ${s.c}x${s.h}x${s.w} images but model '${modelName}' takes input ${input.c}x${input.h}x${input.w}`,
      `write \`input ${s.c}x${s.h}x${s.w}\` in the spec (a model that extends this one can change just that)`,
    );
  }
  if (classes === undefined) throw new DataError('R0602', `model '${modelName}' has no head to classify with`, 'add `classes N` to the spec');
  if (splits.classes > classes) {
    throw new DataError('R0602', `${splits.description} has ${splits.classes} classes but model '${modelName}' has ${classes}`, `write \`classes ${splits.classes}\` in the spec`);
  }
  if (splits.train.count === 0 || splits.test.count === 0) throw new DataError('R0603', `${splits.description} has no examples in one of its splits`);
}

function take(d: Dataset, n: number): Dataset {
  if (n >= d.count) return d;
  const size = d.shape.c * d.shape.h * d.shape.w;
  return { images: d.images.subarray(0, n * size), labels: d.labels.subarray(0, n), count: n, shape: d.shape };
}

function maxLabel(labels: Uint8Array): number {
  let m = 0;
  for (const l of labels) if (l > m) m = l;
  return m;
}

// ---- IDX (MNIST layout) ----

function findIdx(dir: string, stem: string): string | undefined {
  // Also the `train-images.idx3-ubyte` spelling some mirrors use.
  const names = [stem, stem.replace(/-idx/, '.idx')];
  for (const name of names) for (const ext of ['', '.gz']) if (existsSync(join(dir, name + ext))) return join(dir, name + ext);
  return undefined;
}

function readMaybeGzip(path: string): Uint8Array {
  const raw = readFileSync(path);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return new Uint8Array(gunzipSync(raw));
    } catch {
      throw new DataError('R0603', `'${path}' is not a readable gzip file`);
    }
  }
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.length);
}

/** An IDX file of unsigned bytes: its dimensions and data. */
export function parseIdx(bytes: Uint8Array, path: string): { dims: number[]; data: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint16(0) !== 0 || bytes[2] !== 0x08) {
    throw new DataError('R0603', `'${path}' is not an IDX file of unsigned bytes`, 'IDX files start with the bytes 00 00 08 and the number of dimensions');
  }
  const rank = bytes[3]!;
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i));
  const offset = 4 + 4 * rank;
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - offset < size) throw new DataError('R0603', `'${path}' is cut short: ${bytes.length - offset} bytes of data, ${size} expected`);
  return { dims, data: bytes.subarray(offset, offset + size) };
}

function idxSplit(dir: string, prefix: 'train' | 't10k'): Dataset {
  const imagesPath = findIdx(dir, `${prefix}-images-idx3-ubyte`);
  const labelsPath = findIdx(dir, `${prefix}-labels-idx1-ubyte`);
  if (!imagesPath || !labelsPath) throw new DataError('R0601', `'${dir}' lacks the ${prefix}-images-idx3-ubyte / ${prefix}-labels-idx1-ubyte files (gzipped or not)`);
  const images = parseIdx(readMaybeGzip(imagesPath), imagesPath);
  const labels = parseIdx(readMaybeGzip(labelsPath), labelsPath);
  if (images.dims.length !== 3 && images.dims.length !== 4) throw new DataError('R0603', `'${imagesPath}' has ${images.dims.length} dimensions; images need 3 (N, H, W) or 4 (N, H, W, C)`);
  if (labels.dims.length !== 1) throw new DataError('R0603', `'${labelsPath}' has ${labels.dims.length} dimensions; labels need 1`);
  const [n, h, w, c = 1] = images.dims as [number, number, number, number?];
  if (labels.dims[0] !== n) throw new DataError('R0603', `'${imagesPath}' has ${n} images but '${labelsPath}' has ${labels.dims[0]} labels`);
  return { images: images.data, labels: labels.data, count: n, shape: { c, h, w } };
}

function idxData(dir: string): DataSplits {
  const train = idxSplit(dir, 'train');
  const test = idxSplit(dir, 't10k');
  return { description: `the IDX data in '${dir}'`, train, test, classes: Math.max(maxLabel(train.labels), maxLabel(test.labels)) + 1 };
}

// ---- CIFAR-10 binary ----

const cifarRecord = 1 + 3 * 32 * 32;

function cifarFiles(dir: string, names: string[]): Dataset {
  const parts = names.map((name) => {
    const path = join(dir, name);
    if (!existsSync(path)) throw new DataError('R0601', `'${dir}' lacks the CIFAR-10 batch '${name}'`);
    const bytes = readFileSync(path);
    if (bytes.length % cifarRecord !== 0) throw new DataError('R0603', `'${path}' is not a CIFAR-10 binary batch: ${bytes.length} bytes is not a whole number of ${cifarRecord}-byte records`);
    return bytes;
  });
  const count = parts.reduce((a, p) => a + p.length / cifarRecord, 0);
  const images = new Uint8Array(count * 3072);
  const labels = new Uint8Array(count);
  let i = 0;
  for (const p of parts) {
    for (let r = 0; r < p.length; r += cifarRecord, i++) {
      labels[i] = p[r]!;
      // Records are CHW; datasets here are HWC.
      const base = i * 3072;
      for (let c = 0; c < 3; c++) for (let k = 0; k < 1024; k++) images[base + k * 3 + c] = p[r + 1 + c * 1024 + k]!;
    }
  }
  return { images, labels, count, shape: { c: 3, h: 32, w: 32 } };
}

function cifarData(dir: string): DataSplits {
  const trainNames = [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`).filter((n) => existsSync(join(dir, n)));
  const train = cifarFiles(dir, trainNames);
  const test = cifarFiles(dir, ['test_batch.bin']);
  return { description: `the CIFAR-10 data in '${dir}'`, train, test, classes: Math.max(maxLabel(train.labels), maxLabel(test.labels)) + 1 };
}

// ---- synthetic ----

/**
 * A learnable task of the spec's shape: each class is a random template; an example is its
 * class's template plus noise. Deterministic in the seed.
 */
export function syntheticData(shape: Shape, classes: number, trainCount: number, testCount: number, seed: number): DataSplits {
  const rng = xoroshiro128plus(seed ^ 0x5eed);
  const next = (): number => (rng.next() >>> 0) / 4294967296;
  const size = shape.c * shape.h * shape.w;
  const templates = Array.from({ length: classes }, () => Uint8Array.from({ length: size }, () => Math.floor(next() * 256)));
  const make = (count: number): Dataset => {
    const images = new Uint8Array(count * size);
    const labels = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const label = Math.floor(next() * classes);
      labels[i] = label;
      const t = templates[label]!;
      for (let k = 0; k < size; k++) images[i * size + k] = Math.max(0, Math.min(255, Math.round(t[k]! + (next() - 0.5) * 160)));
    }
    return { images, labels, count, shape };
  };
  const train = make(trainCount);
  const test = make(testCount);
  return { description: 'synthetic data', train, test, classes };
}
