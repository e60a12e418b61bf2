import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { pythonWith } from '../../scripts/python.js';

/** The Python with torchvision and PIL that test/images/reference.py needs, or undefined (those tests skip, saying so). */
export const python = pythonWith(['torch', 'torchvision', 'PIL']);

/** Answers of test/images/reference.py (torchvision and PIL) to a list of requests. */
export function reference<T = unknown>(requests: object[]): T[] {
  const r = spawnSync(python!, [join(import.meta.dirname, 'reference.py')], { input: JSON.stringify(requests), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`reference.py failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T[];
}

/**
 * An 8-bit image of `height` x `width` x `channels` that resampling tells apart: a smooth
 * pattern (different per seed) plus noise, values over the whole range.
 */
export function pattern(height: number, width: number, channels: number, seed: number): Uint8Array {
  const rng = xoroshiro128plus(seed);
  const u = (): number => (rng.next() >>> 0) / 4294967296;
  const fx = 0.2 + u() * 0.3;
  const fy = 0.2 + u() * 0.3;
  const out = new Uint8Array(height * width * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) {
        const v = 128 + 90 * Math.sin(x * fx + c * 1.7 + seed) * Math.cos(y * fy - c) + (u() - 0.5) * 60;
        out[(y * width + x) * channels + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
  return out;
}

/** Writes `pixels` (HWC, 8-bit) as PNG or JPEG (by the path's extension), with sharp. */
export async function writeImage(path: string, pixels: Uint8Array, height: number, width: number, channels: 1 | 2 | 3 | 4): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const image = sharp(pixels, { raw: { width, height, channels } });
  await (/\.jpe?g$/i.test(path) ? image.jpeg({ quality: 92 }) : image.png()).toFile(path);
}

/**
 * An image folder: `DIR/SPLIT/CLASS/NAME` for each entry of `images` (split → class →
 * [name, height, width]), RGB patterns of their own per image. Returns DIR.
 */
export async function imageFolder(dir: string, images: Record<string, Record<string, [string, number, number][]>>, channels: 1 | 3 = 3): Promise<string> {
  let seed = 1;
  for (const [split, classes] of Object.entries(images))
    for (const [name, files] of Object.entries(classes))
      for (const [file, h, w] of files) await writeImage(join(dir, split, name, file), pattern(h, w, channels, seed++), h, w, channels);
  return dir;
}
