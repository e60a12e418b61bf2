import { CodedError } from '../diagnostics/coded-error.js';
import { decodeImage, type Geometry } from './decode.js';
import { type Preprocess, writeModelInput } from './preprocess.js';

/**
 * Batches of images decoded ahead of the one being used, so that a data set larger than
 * memory streams through training with decoding and training overlapping.
 *
 * The batches to make are known in advance (an epoch's order cut in steps). The stream
 * keeps the next `ahead` batches in the making: every image of them is read and decoded at
 * once (on libuv's threads, UV_THREADPOOL_SIZE at a time, 4 by default: each runs while the main thread trains,
 * so a batch has had several steps to be made by the time it is taken). Memory holds at
 * most `ahead` + 1 batches of model input (float32) and the files and decoded images of
 * the batches in the making — a few batches, whatever the size of the data set.
 *
 * Each image's geometry is a function of its index (transforms.ts: seeded by the run's
 * seed, the epoch and the index), never of the order in which decodes finish: a stream
 * gives the same batches, bit for bit, however its decodes interleave.
 */

/** The images a stream reads: paths and labels (ImageFolder's order). */
export interface ImageSource {
  files: readonly string[];
  labels: Int32Array;
}

/** A batch: model input NHWC float32 of the images that decoded, their labels, and the paths left out (skipBadImages). */
export interface ImageBatch {
  x: Float32Array;
  y: Int32Array;
  skipped: { path: string; error: CodedError }[];
}

export interface StreamOptions {
  /** Batches in the making ahead of the one taken (default 3: reading, decoding and finishing each take a turn of the event loop). */
  ahead?: number;
  /** Leave out images that cannot be read or decoded (reported in `skipped`) instead of failing the batch with their error. */
  skipBadImages?: boolean;
}

interface Pending {
  promise: Promise<ImageBatch>;
  resolve(b: ImageBatch): void;
  reject(e: unknown): void;
  x: Float32Array;
  y: Int32Array;
  ok: Uint8Array;
  skipped: { path: string; error: CodedError }[];
  left: number;
  failed: boolean;
}

export class ImageBatchStream {
  private readonly pending = new Map<number, Pending>();
  private started = 0;
  private taken = 0;
  private closed = false;
  private inFlight = 0;
  private settled: (() => void) | undefined;
  private readonly ahead: number;
  private readonly size: number;

  /**
   * @param source the images
   * @param batches the index lists of the batches, in the order `next()` gives them
   * @param geometry the geometry of image `index` once its size is known (decode.ts)
   * @param preprocess the model's input: shape, mean and std (preprocess.ts)
   */
  constructor(
    private readonly source: ImageSource,
    private readonly batches: readonly ArrayLike<number>[],
    private readonly geometry: (index: number, height: number, width: number) => Geometry,
    private readonly preprocess: Preprocess,
    private readonly options: StreamOptions = {},
  ) {
    this.ahead = Math.max(1, options.ahead ?? 3);
    const { c, h, w } = preprocess.input;
    this.size = c * h * w;
  }

  /** Batches left to take. */
  get remaining(): number {
    return this.batches.length - this.taken;
  }

  /**
   * The next batch. Rejects with the first image error of the batch (ImageDataError,
   * FileError; OptionalPackageError without sharp) unless skipBadImages.
   */
  next(): Promise<ImageBatch> {
    if (this.taken >= this.batches.length) return Promise.reject(new Error('ImageBatchStream: no batch left'));
    this.fill(this.taken + this.ahead);
    const step = this.taken++;
    const batch = this.pending.get(step)!;
    this.pending.delete(step);
    this.fill(this.taken + this.ahead);
    return batch.promise;
  }

  /** Stops making batches; resolves once every decode under way has ended (their results are dropped). */
  close(): Promise<void> {
    this.closed = true;
    this.pending.clear();
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((done) => (this.settled = done));
  }

  /** Starts every batch up to (not including) `until`. */
  private fill(until: number): void {
    while (!this.closed && this.started < Math.min(until, this.batches.length)) this.start(this.started++);
  }

  private start(step: number): void {
    const indices = this.batches[step]!;
    const n = indices.length;
    let resolve!: (b: ImageBatch) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<ImageBatch>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined); // taken (and so handled) by next(); a closed stream's are never taken
    const batch: Pending = { promise, resolve, reject, x: new Float32Array(n * this.size), y: new Int32Array(n), ok: new Uint8Array(n), skipped: [], left: n, failed: false };
    this.pending.set(step, batch);
    if (n === 0) resolve({ x: batch.x, y: batch.y, skipped: [] });
    for (let slot = 0; slot < n; slot++) void this.decode(batch, slot, indices[slot]!);
  }

  private async decode(batch: Pending, slot: number, index: number): Promise<void> {
    const path = this.source.files[index]!;
    this.inFlight++;
    try {
      const image = await decodeImage(path, (height, width) => this.geometry(index, height, width));
      if (!batch.failed) {
        writeModelInput(image, this.preprocess, batch.x, slot * this.size);
        batch.y[slot] = this.source.labels[index]!;
        batch.ok[slot] = 1;
      }
    } catch (e) {
      const skippable = this.options.skipBadImages && e instanceof CodedError && !['R0940', 'R0941'].includes(e.code);
      if (skippable) batch.skipped.push({ path, error: e });
      else if (!batch.failed) {
        batch.failed = true;
        batch.reject(e);
      }
    } finally {
      this.inFlight--;
      if (--batch.left === 0 && !batch.failed) batch.resolve(compact(batch, this.size));
      if (this.closed && this.inFlight === 0) this.settled?.();
    }
  }
}

/** The batch without the slots of the images left out. */
function compact(batch: Pending, size: number): ImageBatch {
  const kept = batch.ok.reduce((a, v) => a + v, 0);
  if (kept === batch.ok.length) return { x: batch.x, y: batch.y, skipped: batch.skipped };
  const x = new Float32Array(kept * size);
  const y = new Int32Array(kept);
  let k = 0;
  batch.ok.forEach((ok, slot) => {
    if (!ok) return;
    x.set(batch.x.subarray(slot * size, (slot + 1) * size), k * size);
    y[k++] = batch.y[slot]!;
  });
  batch.skipped.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { x, y, skipped: batch.skipped };
}
