import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { makeBatch, random } from '../../src/train/batches.js';
import { checkFits, DataError, loadData, parseIdx } from '../../src/train/data.js';
import { tempDir } from '../tfjs/helpers.js';
import { idx } from './helpers.js';

function writeIdxSet(dir: string, n: number, h: number, w: number, gz: boolean): void {
  const pack = (b: Uint8Array): Uint8Array => (gz ? gzipSync(b) : b);
  const ext = gz ? '.gz' : '';
  for (const prefix of ['train', 't10k']) {
    const images = Uint8Array.from({ length: n * h * w }, (_, i) => i % 256);
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 3);
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte${ext}`), pack(idx([n, h, w], images)));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte${ext}`), pack(idx([n], labels)));
  }
}

const input = { c: 1, h: 4, w: 5 };

describe('IDX data', () => {
  for (const gz of [false, true]) {
    it(`reads ${gz ? 'gzipped' : 'plain'} IDX files as 1xHxW images with their labels`, () => {
      const dir = tempDir();
      writeIdxSet(dir, 6, 4, 5, gz);
      const data = loadData(dir, { input, classes: 10 });
      expect(data.train.count).toBe(6);
      expect(data.train.shape).toEqual({ c: 1, h: 4, w: 5 });
      expect(Array.from(data.train.labels)).toEqual([0, 1, 2, 0, 1, 2]);
      expect(data.train.images[21]).toBe(21);
      expect(data.classes).toBe(3);
    });
  }

  it('takes the first N examples of each split with limit', () => {
    const dir = tempDir();
    writeIdxSet(dir, 6, 4, 5, false);
    const data = loadData(dir, { input, classes: 10, limit: 2 });
    expect(data.train.count).toBe(2);
    expect(data.test.count).toBe(2);
  });

  it('rejects a file that is not IDX', () => {
    expect(() => parseIdx(new Uint8Array([1, 2, 3, 4, 5]), 'x')).toThrow(DataError);
  });

  it('rejects a file cut short', () => {
    const bytes = idx([10, 4, 5], new Uint8Array(20));
    expect(() => parseIdx(bytes, 'x')).toThrow(/cut short/);
  });

  it('says when the images do not fit the spec input, before any training', () => {
    const dir = tempDir();
    writeIdxSet(dir, 6, 4, 5, false);
    const data = loadData(dir, { input, classes: 10 });
    try {
      checkFits(data, { c: 3, h: 32, w: 32 }, 10, 'resnet20');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DataError);
      expect((e as DataError).code).toBe('R0602');
      expect((e as DataError).message).toContain("has 1x4x5 images but model 'resnet20' takes input 3x32x32");
    }
  });

  it('says when the labels need more classes than the head has', () => {
    const dir = tempDir();
    writeIdxSet(dir, 6, 4, 5, false);
    const data = loadData(dir, { input, classes: 10 });
    expect(() => checkFits(data, input, 2, 'm')).toThrow(/3 classes but model 'm' has 2/);
  });
});

describe('CIFAR-10 binary data', () => {
  it('reads records (label byte, then 3x32x32 planes) as HWC images', () => {
    const dir = tempDir();
    const record = (label: number): Uint8Array => {
      const r = new Uint8Array(3073);
      r[0] = label;
      r[1] = 10; // red, pixel 0
      r[1 + 1024] = 20; // green, pixel 0
      r[1 + 2048 + 1] = 30; // blue, pixel 1
      return r;
    };
    const batch = new Uint8Array([...record(7), ...record(2)]);
    writeFileSync(join(dir, 'data_batch_1.bin'), batch);
    writeFileSync(join(dir, 'test_batch.bin'), record(1));
    const data = loadData(dir, { input: { c: 3, h: 32, w: 32 }, classes: 10 });
    expect(data.train.count).toBe(2);
    expect(Array.from(data.train.labels)).toEqual([7, 2]);
    expect(Array.from(data.train.images.subarray(0, 6))).toEqual([10, 20, 0, 0, 0, 30]);
    expect(data.test.count).toBe(1);
  });

  it('rejects a batch that is not whole records', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'data_batch_1.bin'), new Uint8Array(100));
    writeFileSync(join(dir, 'test_batch.bin'), new Uint8Array(3073));
    expect(() => loadData(dir, { input: { c: 3, h: 32, w: 32 }, classes: 10 })).toThrow(/not a CIFAR-10 binary batch/);
  });
});

describe('data sources', () => {
  it('makes synthetic data of the spec input, deterministic in the seed', () => {
    const a = loadData('synthetic:32', { input: { c: 3, h: 8, w: 8 }, classes: 4, seed: 5 });
    const b = loadData('synthetic:32', { input: { c: 3, h: 8, w: 8 }, classes: 4, seed: 5 });
    expect(a.train.count).toBe(32);
    expect(a.train.shape).toEqual({ c: 3, h: 8, w: 8 });
    expect(a.train.images).toEqual(b.train.images);
  });

  it('reports a missing source with R0601', () => {
    try {
      loadData(join(tempDir(), 'nope'), { input, classes: 10 });
      expect.unreachable();
    } catch (e) {
      expect((e as DataError).code).toBe('R0601');
    }
  });

  it('reports a directory of no known layout with R0601, saying what it holds', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'images'));
    writeFileSync(join(dir, 'labels.csv'), '');
    expect(() => loadData(dir, { input, classes: 10 })).toThrow(/is not a data folder resnetc knows; it holds 1 folder \(images\) and 1 file \(labels\.csv\)/);
  });
});

describe('batches', () => {
  it('hand pixels to the model as value/255 and nothing else', () => {
    const data = { images: Uint8Array.from([0, 51, 255, 102]), labels: Uint8Array.from([1]), count: 1, shape: { c: 1, h: 2, w: 2 } };
    const { x, y } = makeBatch(data, [0], undefined, random(0));
    expect(Array.from(x)).toEqual([0, 0.2, 1, 0.4].map((v) => Math.fround(v)));
    expect(Array.from(y)).toEqual([1]);
  });
});

describe('malformed data files (R0603)', () => {
  const code = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (e) {
      return e instanceof DataError ? e.code : `not a DataError: ${String(e)}`;
    }
    return undefined;
  };

  it('an IDX file cut short', () => {
    const dir = tempDir();
    writeIdxSet(dir, 4, 4, 5, false);
    const full = idx([4, 4, 5], new Uint8Array(80));
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), full.subarray(0, full.length - 10));
    expect(code(() => loadData(dir, { input, classes: 10 }))).toBe('R0603');
  });

  it('a .gz file that is not gzip', () => {
    const dir = tempDir();
    writeIdxSet(dir, 4, 4, 5, true);
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), new Uint8Array([1, 2, 3, 4]));
    expect(code(() => loadData(dir, { input, classes: 10 }))).toBe('R0603');
  });

  it('images and labels of different counts', () => {
    const dir = tempDir();
    writeIdxSet(dir, 4, 4, 5, false);
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx([3], new Uint8Array(3)));
    expect(code(() => loadData(dir, { input, classes: 10 }))).toBe('R0603');
  });
});
