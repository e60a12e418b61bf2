import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { CodedError } from '../diagnostics/coded-error.js';
import { FileError } from '../io/file-error.js';
import { describeBytes, inputLimits, readInputFile } from '../io/read.js';
import type { Shape } from '../model/types.js';
import { type DataWarning, describeFolder, type ImageList, isImageFolder, scanImageFolder } from '../images/folder.js';
import { imagePreprocess, type Preprocess } from '../images/preprocess.js';

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

/**
 * Labelled images streamed from files (an image folder): paths and labels, decoded batch
 * by batch (src/images/stream.ts) to the model's input `shape`.
 */
export interface FileSplit {
  files: string[];
  labels: Int32Array;
  count: number;
  shape: Shape;
}

/** An image folder as training data: its splits, class names, preprocessing (stored with the model) and fingerprint. */
export interface ImageFolderSplits {
  kind: 'image-folder';
  description: string;
  train: FileSplit;
  test: FileSplit;
  classes: number;
  classNames: string[];
  /** Normalisation and evaluation resize, written with the trained model (preprocess.json). */
  preprocess: Preprocess;
  /** SHA-256 of the class names and every image's path, size and label (src/images/folder.ts). */
  fingerprint: string;
  /** Warnings of the listing (R0651, R0656), for the command to print. */
  warnings: DataWarning[];
  /** Leave out unreadable images with a warning (R0656) instead of stopping. */
  skipBadImages: boolean;
}

/** Anything train() trains on: in memory, or streamed from an image folder. */
export type TrainingData = DataSplits | ImageFolderSplits;

export const isImageFolderData = (data: TrainingData): data is ImageFolderSplits => 'kind' in data && data.kind === 'image-folder';

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
  /** Use the first N examples of each split (of an image folder: N spread evenly over its list, so every class keeps its share). */
  limit?: number;
}

export interface OpenOptions extends LoadOptions {
  /** An image folder's normalisation, one value per channel (ImageNet's by default). */
  mean?: number[];
  std?: number[];
  /** Leave out images that cannot be read with a warning (R0656) instead of stopping (R0653–R0655). */
  skipBadImages?: boolean;
}

/**
 * Any data source: an image folder (`DIR/train/CLASS/…`, `DIR/val/CLASS/…`: src/images/folder.ts),
 * or what loadData reads. Throws as scanImageFolder and loadData do.
 */
export function openData(source: string, options: OpenOptions): TrainingData {
  if (!inMemory(source) && isImageFolder(source)) return imageFolderData(source, options);
  return loadData(source, options);
}

/** An image list as a split of `shape` images; `limit`: N of them, spread evenly over the list (so every class keeps its share). */
export function fileSplit(list: ImageList, shape: Shape, limit?: number): FileSplit {
  const n = limit === undefined ? list.files.length : Math.min(limit, list.files.length);
  const pick = Array.from({ length: n }, (_, i) => Math.floor((i * list.files.length) / n));
  return { files: pick.map((i) => list.files[i]!), labels: Int32Array.from(pick, (i) => list.labels[i]!), count: n, shape };
}

/** Whether loadData reads `source` (synthetic data, or a folder of IDX files or CIFAR-10 batches), not the image-folder reader. */
export function inMemory(source: string): boolean {
  if (/^synthetic(?::\d+)?$/.test(source)) return true;
  if (!existsSync(source) || !statSync(source).isDirectory()) return false;
  return findIdx(source, 'train-images-idx3-ubyte') !== undefined || [source, join(source, 'cifar-10-batches-bin')].some((d) => existsSync(join(d, 'data_batch_1.bin')));
}

function imageFolderData(source: string, options: OpenOptions): ImageFolderSplits {
  const folder = scanImageFolder(source, { skipBadImages: options.skipBadImages ?? false });
  const split = (list: ImageList): FileSplit => fileSplit(list, options.input, options.limit);
  return {
    kind: 'image-folder',
    description: `the image folder '${source}'`,
    train: split(folder.train),
    test: split(folder.test),
    classes: folder.classes.length,
    classNames: folder.classes,
    preprocess: imagePreprocess(options.input, folder.classes, options.mean, options.std),
    fingerprint: options.limit === undefined ? folder.fingerprint : `${folder.fingerprint} limit ${options.limit}`,
    warnings: folder.warnings,
    skipBadImages: options.skipBadImages ?? false,
  };
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
    if (!existsSync(source)) throw new DataError('R0601', `cannot find the data source '${source}'`, "give an image folder, a directory of IDX files or CIFAR-10 binary batches, or 'synthetic'");
    if (!statSync(source).isDirectory()) throw new DataError('R0601', `the data source '${source}' is a file; give the directory that holds it`);
    const cifar = [source, join(source, 'cifar-10-batches-bin')].find((d) => existsSync(join(d, 'data_batch_1.bin')));
    if (cifar) splits = cifarData(cifar);
    else if (findIdx(source, 'train-images-idx3-ubyte')) splits = idxData(source);
    else
      throw new DataError(
        'R0601',
        `'${source}' is not a data folder resnetc knows; it holds ${describeFolder(source)}`,
        'expected an image folder (train/CLASS/IMAGE and val/CLASS/IMAGE, as torchvision\'s ImageFolder), train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-… (MNIST layout) or data_batch_1.bin … test_batch.bin (CIFAR-10)',
      );
  }
  if (options.limit !== undefined) {
    splits.train = take(splits.train, options.limit);
    splits.test = take(splits.test, options.limit);
  }
  return splits;
}

/** Errors unless the data can feed a model with this input and number of classes. */
export function checkFits(splits: TrainingData, input: Shape, classes: number | undefined, modelName: string): void {
  if (isImageFolderData(splits) && input.c !== 1 && input.c !== 3) {
    throw new DataError('R0602', `${splits.description} gives images of 1 (grayscale) or 3 (RGB) channels but model '${modelName}' takes ${input.c}`, 'write `input 3x…` (or `input 1x…`) in the spec');
  }
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

/** An IDX file's header: its dimensions, where its data starts and how many bytes it declares. */
interface IdxHeader {
  dims: number[];
  offset: number;
  size: number;
}

/**
 * The header of an IDX file of unsigned bytes (00 00 08, the rank, then each dimension as a
 * big-endian uint32), from the file's first bytes. Throws DataError R0603 (not IDX, a header
 * cut short) and FileError R0812 (more data declared than resnetc reads).
 */
function parseIdxHeader(bytes: Uint8Array, path: string): IdxHeader {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) {
    throw new DataError('R0603', `'${path}' is not an IDX file of unsigned bytes`, 'IDX files start with the bytes 00 00 08 and the number of dimensions');
  }
  const rank = bytes[3]!;
  const offset = 4 + 4 * rank;
  if (bytes.length < offset) throw new DataError('R0603', `'${path}' is cut short in its header: ${rank} dimensions need ${offset} bytes, it has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  if (size > inputLimits.data) throw new FileError('R0812', path, `'${path}' declares ${dims.join('x')} = ${describeBytes(size)} of data, more than the ${describeBytes(inputLimits.data)} resnetc reads of a data file`);
  return { dims, offset, size };
}

/** An IDX file of unsigned bytes: its dimensions and data. */
export function parseIdx(bytes: Uint8Array, path: string): { dims: number[]; data: Uint8Array } {
  const { dims, offset, size } = parseIdxHeader(bytes, path);
  if (bytes.length - offset < size) throw new DataError('R0603', `'${path}' is cut short: ${bytes.length - offset} bytes of data, ${size} expected`);
  if (bytes.length - offset > size) throw new DataError('R0603', `'${path}' holds ${bytes.length - offset} bytes of data, more than the ${size} its header declares`);
  return { dims, data: bytes.subarray(offset, offset + size) };
}

const isGzip = (raw: Uint8Array): boolean => raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;

function notGzip(path: string): DataError {
  return new DataError('R0603', `'${path}' is not a readable gzip file`);
}

/**
 * The gunzipped bytes of `raw`, at most `limit` of them; `undefined` when there are more.
 * Decompressing stops there: a small file that decompresses to gigabytes costs `limit`.
 */
function gunzipAtMost(raw: Uint8Array, limit: number, path: string, wholeStream: boolean): Uint8Array | undefined {
  try {
    return gunzipSync(raw, { maxOutputLength: Math.max(limit, 1), ...(wholeStream ? {} : { finishFlush: zlibConstants.Z_SYNC_FLUSH }) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return undefined;
    throw notGzip(path);
  }
}

/**
 * The first bytes of a gzip file's content, enough for an IDX header (at most 1,024 bytes):
 * the shortest prefix of the compressed file that gives them, found by doubling then halving
 * so that no step decompresses more than 1 MiB.
 */
function gunzipHead(raw: Uint8Array, path: string): Uint8Array {
  const want = 1024;
  const cap = 1 << 20;
  const probe = (n: number): Uint8Array | undefined => gunzipAtMost(raw.subarray(0, n), cap, path, false);
  let lo = 0;
  let hi = raw.length;
  for (let n = 256; ; n *= 2) {
    const at = Math.min(n, raw.length);
    const out = probe(at);
    if (out === undefined) {
      hi = at;
      break;
    }
    if (out.length >= want || at === raw.length) return out;
    lo = at;
  }
  // One byte of deflate gives at most a few kilobytes: a prefix between gives want..cap bytes.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const out = probe(mid);
    if (out === undefined) hi = mid;
    else if (out.length >= want) return out;
    else lo = mid;
  }
  return probe(lo) ?? new Uint8Array(0);
}

/** An IDX file (gzipped or not) read but not decompressed: its header first. */
interface IdxFile {
  path: string;
  raw: Uint8Array;
  header: IdxHeader;
}

function openIdx(path: string): IdxFile {
  const raw = readInputFile(path, 'data');
  return { path, raw, header: parseIdxHeader(isGzip(raw) ? gunzipHead(raw, path) : raw, path) };
}

/** The data of an IDX file whose header was read, decompressed up to what the header declares and no further. */
function idxContent(file: IdxFile): Uint8Array {
  const { path, raw, header } = file;
  let bytes = raw;
  if (isGzip(raw)) {
    const out = gunzipAtMost(raw, header.offset + header.size, path, true);
    if (!out) throw new DataError('R0603', `'${path}' decompresses to more than the ${header.offset + header.size} bytes its header declares`);
    bytes = out;
  }
  return parseIdx(bytes, path).data;
}

function idxSplit(dir: string, prefix: 'train' | 't10k'): Dataset {
  const imagesPath = findIdx(dir, `${prefix}-images-idx3-ubyte`);
  const labelsPath = findIdx(dir, `${prefix}-labels-idx1-ubyte`);
  if (!imagesPath || !labelsPath) throw new DataError('R0601', `'${dir}' lacks the ${prefix}-images-idx3-ubyte / ${prefix}-labels-idx1-ubyte files (gzipped or not)`);
  // Both headers are checked before either file is decompressed.
  const images = openIdx(imagesPath);
  const labels = openIdx(labelsPath);
  const dims = images.header.dims;
  if (dims.length !== 3 && dims.length !== 4) throw new DataError('R0603', `'${imagesPath}' has ${dims.length} dimensions; images need 3 (N, H, W) or 4 (N, H, W, C)`);
  if (labels.header.dims.length !== 1) throw new DataError('R0603', `'${labelsPath}' has ${labels.header.dims.length} dimensions; labels need 1`);
  const [n, h, w, c = 1] = dims as [number, number, number, number?];
  if (labels.header.dims[0] !== n) throw new DataError('R0603', `'${imagesPath}' has ${n} images but '${labelsPath}' has ${labels.header.dims[0]} labels`);
  return { images: idxContent(images), labels: idxContent(labels), count: n, shape: { c, h, w } };
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
    const bytes = readInputFile(path, 'data');
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
