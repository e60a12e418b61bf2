import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CodedError } from '../../src/diagnostics/coded-error.js';
import { decodeImage, type Geometry } from '../../src/images/decode.js';
import { plainPreprocess, writeModelInput } from '../../src/images/preprocess.js';
import { resizeBilinear } from '../../src/images/resample.js';
import { tempDir } from '../tfjs/helpers.js';
import { pattern, python, reference, writeImage } from './helpers.js';

/** The whole image, resized to `height` x `width`. */
const resizeTo =
  (height: number, width: number) =>
  (h: number, w: number): Geometry => ({ crop: { top: 0, left: 0, height: h, width: w }, resize: { height, width }, window: { top: 0, left: 0, height, width }, flip: false });
/** The image as it is. */
const asIs = (h: number, w: number): Geometry => resizeTo(h, w)(h, w);

/** Largest and mean absolute difference of two byte arrays. */
function gaps(a: Uint8Array, b: Uint8Array): { max: number; mean: number } {
  expect(a.length).toBe(b.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.length };
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CodedError) return e.code;
    throw e;
  }
  return undefined;
}

describe.skipIf(!python)("decoding agrees with PIL's", () => {
  const dir = tempDir();
  let names: string[] = [];
  const pil = (path: string, mode: 'RGB' | 'L', size?: [number, number]): Uint8Array => {
    const out = join(dir, `pil-${Math.random().toString(36).slice(2)}.bin`);
    reference([{ op: 'decode', path, mode, out, ...(size ? { size } : {}) }]);
    return new Uint8Array(readFileSync(out));
  };

  beforeAll(() => {
    [names] = reference<string[]>([{ op: 'samples', dir, height: 37, width: 53, seed: 4 }]) as [string[]];
  });

  it("decodes PNG (RGB, grayscale, RGBA, gray+alpha, palette), JPEG, WebP, TIFF and GIF to the bytes of PIL's convert('RGB')", async () => {
    const kinds = names.filter((n) => n !== 'i16.png');
    expect(kinds).toHaveLength(9);
    for (const name of kinds) {
      const ours = await decodeImage(join(dir, name), asIs);
      expect([ours.height, ours.width], name).toEqual([37, 53]);
      // libjpeg-turbo (PIL) and mozjpeg (libvips) decode baseline JPEG with the same integer IDCT and upsampling.
      expect(gaps(ours.rgb, pil(join(dir, name), 'RGB')), name).toEqual({ max: 0, mean: 0 });
    }
  });

  it('keeps the high byte of 16-bit samples (PIL clips them at 255, which whitens the image)', async () => {
    const ours = await decodeImage(join(dir, 'i16.png'), asIs);
    const raw = readFileSync(join(dir, 'i16.bin'));
    const high = Uint8Array.from({ length: 37 * 53 * 3 }, (_, i) => raw.readUInt16LE(2 * Math.floor(i / 3)) >> 8);
    expect(gaps(ours.rgb, high)).toEqual({ max: 0, mean: 0 });
  });

  it("enlarges as PIL's BILINEAR resize does (resample.ts is its algorithm)", async () => {
    for (const [h, w] of [
      [80, 120],
      [37, 90],
      [50, 53],
    ] as const) {
      const ours = await decodeImage(join(dir, 'rgb.png'), resizeTo(h, w));
      expect(gaps(ours.rgb, pil(join(dir, 'rgb.png'), 'RGB', [h, w])), `${h}x${w}`).toEqual({ max: 0, mean: 0 });
    }
    // The same code shrinks exactly as PIL too (decode.ts leaves shrinking to libvips for speed).
    const src = pattern(37, 53, 3, 9);
    const file = join(dir, 'shrink-src.png');
    await writeImage(file, src, 37, 53, 3);
    expect(gaps(resizeBilinear(src, 37, 53, 3, 11, 20), pil(file, 'RGB', [11, 20]))).toEqual({ max: 0, mean: 0 });
  });

  it("shrinks (libvips's antialiased linear reduction) within a few levels of PIL's BILINEAR, more apart the more it shrinks", async () => {
    // Both filter with a triangle widened by the scale, but libvips first averages whole
    // blocks (a box filter, for factors of 2 and more) and repeats the edge at the borders,
    // where Pillow renormalises its weights. Measured on this pattern (values 0-255):
    // 1.3x: mean 0.32, largest 3; 2.65x in width only: 0.35, 11 (at a border); 3x: 0.67, 7;
    // 7.4x: 2.35, 8. The bounds are those with a little room; libvips's default lanczos3
    // kernel, for one, gives a mean of 2.7-3.4 at 1.3x-3x.
    const cases: [number, number, number, number][] = [
      [28, 40, 0.6, 5],
      [37, 20, 0.6, 14],
      [12, 17, 1, 8],
      [5, 7, 3, 10],
    ];
    for (const [h, w, mean, max] of cases) {
      const g = gaps((await decodeImage(join(dir, 'rgb.png'), resizeTo(h, w))).rgb, pil(join(dir, 'rgb.png'), 'RGB', [h, w]));
      expect(g.mean, `${h}x${w}`).toBeLessThan(mean);
      expect(g.max, `${h}x${w}`).toBeLessThanOrEqual(max);
    }
  });

  it("gives a one-channel model PIL's luminance, convert('L'), of the RGB image", async () => {
    const image = await decodeImage(join(dir, 'rgb.png'), asIs);
    const x = new Float32Array(37 * 53);
    writeModelInput(image, plainPreprocess({ c: 1, h: 37, w: 53 }), x, 0);
    expect(gaps(Uint8Array.from(x, (v) => Math.round(v * 255)), pil(join(dir, 'rgb.png'), 'L'))).toEqual({ max: 0, mean: 0 });
  });
});

describe('images that cannot be decoded are refused, naming the file', () => {
  const dir = tempDir();

  it('R0653: a PNG cut short, and a text file named .png', async () => {
    const png = join(dir, 'whole.png');
    await writeImage(png, pattern(20, 20, 3, 1), 20, 20, 3);
    const bytes = readFileSync(png);
    writeFileSync(join(dir, 'cut.png'), bytes.subarray(0, bytes.length - 40));
    writeFileSync(join(dir, 'text.png'), 'not an image at all\n');
    for (const name of ['cut.png', 'text.png']) {
      const path = join(dir, name);
      expect(await code(decodeImage(path, asIs)), name).toBe('R0653');
      await expect(decodeImage(path, asIs)).rejects.toThrow(path);
    }
  });

  it('R0655: an SVG named .png (libvips would render it; resnetc decodes photos only)', async () => {
    writeFileSync(join(dir, 'vector.png'), '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>');
    expect(await code(decodeImage(join(dir, 'vector.png'), asIs))).toBe('R0655');
  });

  it('R0654: a header that declares more than 100 megapixels, refused before anything is decoded', async () => {
    const png = readFileSync(join(dir, 'whole.png'));
    // The IHDR chunk's width and height (bytes 16-23) set to 20000 x 10000; libvips reads the header only.
    const big = Buffer.from(png);
    big.writeUInt32BE(20000, 16);
    big.writeUInt32BE(10000, 20);
    big.writeUInt32BE(crc32(big.subarray(12, 29)), 29);
    writeFileSync(join(dir, 'huge.png'), big);
    expect(await code(decodeImage(join(dir, 'huge.png'), asIs))).toBe('R0654');
  });

  it('R0101 and R0811: a missing file, a folder named like an image', async () => {
    expect(await code(decodeImage(join(dir, 'absent.png'), asIs))).toBe('R0101');
    expect(await code(decodeImage(dir, asIs))).toBe('R0811');
  });
});

/** CRC-32 (ISO-HDLC, PNG's), bit by bit. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
