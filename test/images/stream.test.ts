import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CodedError } from '../../src/diagnostics/coded-error.js';
import type { Geometry } from '../../src/images/decode.js';
import { evalGeometry, imagePreprocess } from '../../src/images/preprocess.js';
import { ImageBatchStream, type ImageSource } from '../../src/images/stream.js';
import { trainAugmentation } from '../../src/images/transforms.js';
import { tempDir } from '../tfjs/helpers.js';
import { pattern, writeImage } from './helpers.js';

const preprocess = imagePreprocess({ c: 3, h: 8, w: 8 }, ['a', 'b', 'c']);
const batches = [
  [5, 0, 9],
  [1, 7, 3],
  [8, 2, 6],
  [4, 10],
];

/** RandomResizedCrop and flips, as training draws them (seed 3, epoch 1). */
const augmented = (index: number, height: number, width: number): Geometry => {
  const a = trainAugmentation(height, width, 3, 1, index, { scale: [0.08, 1], ratio: [3 / 4, 4 / 3] }, true);
  return { crop: a.box, resize: { height: 8, width: 8 }, window: { top: 0, left: 0, height: 8, width: 8 }, flip: a.flip };
};

let source: ImageSource;

beforeAll(async () => {
  const dir = tempDir();
  const files: string[] = [];
  for (let i = 0; i < 11; i++) {
    const [h, w] = [9 + ((i * 5) % 13), 10 + ((i * 7) % 11)];
    const path = join(dir, `${i}.${i % 2 ? 'png' : 'jpg'}`);
    await writeImage(path, pattern(h, w, 3, i), h, w, 3);
    files.push(path);
  }
  source = { files, labels: Int32Array.from(files, (_, i) => i % 3) };
});

async function all(stream: ImageBatchStream): Promise<{ x: Float32Array; y: Int32Array }[]> {
  const out = [];
  for (let k = 0; k < batches.length; k++) out.push(await stream.next());
  await stream.close();
  return out;
}

describe('the image batch stream', () => {
  it('gives the same batches, bit for bit, however far ahead it decodes', async () => {
    const one = await all(new ImageBatchStream(source, batches, augmented, preprocess, { ahead: 1 }));
    const four = await all(new ImageBatchStream(source, batches, augmented, preprocess, { ahead: 4 }));
    expect(four.map((b) => [...b.y])).toEqual(batches.map((b) => b.map((i) => i % 3)));
    four.forEach((b, k) => expect(b.x, `batch ${k}`).toEqual(one[k]!.x));
    // and each batch is its images decoded one by one.
    expect(one[3]!.x.length).toBe(2 * 8 * 8 * 3);
  });

  it('never decodes more than `ahead` batches beyond the one taken (memory: a few batches, not the data set)', async () => {
    const started: number[] = [];
    const stepOf = new Map(batches.flatMap((b, k) => b.map((i) => [i, k] as const)));
    const stream = new ImageBatchStream(source, batches, (index, h, w) => (started.push(stepOf.get(index)!), evalGeometry(preprocess, h, w)), preprocess, { ahead: 2 });
    for (let k = 0; k < batches.length; k++) {
      await stream.next();
      // Let every decode already started reach its geometry.
      await new Promise((r) => setTimeout(r, 50));
      expect(Math.max(...started), `after taking batch ${k}`).toBeLessThanOrEqual(k + 2);
    }
    await stream.close();
  });

  it('fails the batch that holds an unreadable image with its code and path; --skip-bad-images leaves it out', async () => {
    const broken = join(tempDir(), 'broken.png');
    writeFileSync(broken, 'no image');
    const withBroken: ImageSource = { files: [...source.files, broken], labels: Int32Array.from([...source.labels, 2]) };
    const steps = [[0, 11, 1], [2]];
    const failing = new ImageBatchStream(withBroken, steps, (_, h, w) => evalGeometry(preprocess, h, w), preprocess);
    const error = await failing.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CodedError);
    expect((error as CodedError).code).toBe('R0653');
    expect((error as CodedError).message).toContain(broken);
    await failing.close();

    const skipping = new ImageBatchStream(withBroken, steps, (_, h, w) => evalGeometry(preprocess, h, w), preprocess, { skipBadImages: true });
    const batch = await skipping.next();
    expect([...batch.y]).toEqual([0, 1]);
    expect(batch.skipped.map((s) => [s.path, s.error.code])).toEqual([[broken, 'R0653']]);
    const whole = await new ImageBatchStream(source, [[0, 1]], (_, h, w) => evalGeometry(preprocess, h, w), preprocess).next();
    expect(batch.x).toEqual(whole.x);
    await skipping.close();
  });
});
