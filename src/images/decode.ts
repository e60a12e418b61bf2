import type SharpFactory from 'sharp';
import { CodedError } from '../diagnostics/coded-error.js';
import { readInputFileAsync } from '../io/read.js';
import { loadOptional } from '../util/optional.js';
import { ImageDataError } from './folder.js';
import { resizeBilinear } from './resample.js';
import type { Box } from './transforms.js';

/**
 * One image file → the model's input, as torchvision's ImageFolder + transforms make it:
 * decoded by libvips (through sharp), converted to 8-bit RGB, cropped, resized with
 * bilinear filtering, flipped, then (preprocess.ts: writeModelInput) converted to the model's channels and
 * normalised. Decoding, colour conversion and shrinking run on libuv's threads, so images
 * decode while the main thread trains.
 *
 * Conversions to RGB, as PIL's `convert('RGB')` in ImageFolder's loader does them where
 * it can: grayscale is repeated in the three channels, alpha is dropped (not composited:
 * PIL drops it too), palettes are expanded; 16-bit samples keep their high byte (PIL
 * clips them at 255 instead, which makes most 16-bit images white); CMYK goes through
 * libvips's colour management (PIL uses a plain formula: CMYK images differ). EXIF
 * orientation is not applied (ImageFolder does not apply it either). The first page of a
 * multi-page file (GIF, TIFF) is read.
 */

/** sharp, loaded on first use (an optional package: R0940 when it is not installed); its operation cache off (a data set streams through once an epoch). */
let sharpModule: Promise<typeof SharpFactory> | undefined;

export function loadSharp(): Promise<typeof SharpFactory> {
  sharpModule ??= loadOptional<{ default: typeof SharpFactory }>('sharp').then((m) => {
    m.default.cache(false);
    return m.default;
  });
  sharpModule.catch(() => (sharpModule = undefined));
  return sharpModule;
}

/** The most pixels an image may declare: 100 megapixels (R0654). Each decode holds at most its image's pixels. */
export const maxImagePixels = 100_000_000;

/** The formats decoded (others — SVG, AVIF, libvips's own — are refused even when named .png: R0655). */
const decodedFormats = ['jpeg', 'png', 'webp', 'tiff', 'gif'];

/** What to make of an image once its size is known. */
export interface Geometry {
  /** The part of the image used (RandomResizedCrop's box; the whole image otherwise). Inside the image. */
  crop: Box;
  /** The size the crop is resized to. */
  resize: { height: number; width: number };
  /** The part of the resized image that is the model's input; rows and columns outside it are black (CenterCrop's padding). */
  window: Box;
  /** Mirror the window left to right. */
  flip: boolean;
}

/** An image as 8-bit RGB, interleaved (HWC), the window's size, flipped when asked. */
export interface DecodedImage {
  rgb: Uint8Array;
  height: number;
  width: number;
}

/**
 * Reads and decodes the image at `path` and applies the geometry `plan` gives for its
 * size (height, width). Reads through src/io's rules (a regular file, at most 256 MiB).
 *
 * Throws ImageDataError: R0653 (not an image, corrupt or cut short: libvips's reason),
 * R0654 (more than maxImagePixels), R0655 (a format resnetc does not decode); FileError
 * for the file (R0101, R0811, R0812, R0902); OptionalPackageError (R0940/R0941) without sharp.
 */
export async function decodeImage(path: string, plan: (height: number, width: number) => Geometry): Promise<DecodedImage> {
  const sharp = await loadSharp();
  const bytes = await readInputFileAsync(path, 'image', { track: false });
  const fail = (e: unknown): never => {
    if (e instanceof CodedError) throw e;
    const reason = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
    throw new ImageDataError('R0653', path, `'${path}' cannot be decoded as an image: ${reason}`, 'remove or replace the file, or pass --skip-bad-images to leave unreadable images out');
  };
  const options = { limitInputPixels: maxImagePixels, failOn: 'warning' as const };
  let meta: { format?: string; width?: number; height?: number };
  try {
    meta = await sharp(bytes, { ...options, limitInputPixels: false }).metadata();
  } catch (e) {
    return fail(e);
  }
  const { format, width, height } = meta;
  if (format === undefined || !decodedFormats.includes(format)) {
    throw new ImageDataError('R0655', path, `'${path}' is ${format ? `a ${format.toUpperCase()} image` : 'of a format resnetc does not know'}; resnetc decodes JPEG, PNG, WebP, TIFF and GIF`, 'convert it to PNG or JPEG');
  }
  if (!width || !height) return fail(new Error('no size in its header'));
  if (width * height > maxImagePixels) {
    throw new ImageDataError('R0654', path, `'${path}' is ${width}x${height} = ${(width * height).toLocaleString('en-US')} pixels, more than the ${maxImagePixels.toLocaleString('en-US')} resnetc decodes`, 'make it smaller');
  }
  const g = plan(height, width);
  // libvips shrinks (antialiased, off the main thread); it would enlarge half an output pixel off Pillow's grid, so resample.ts enlarges.
  const shrinkHeight = Math.min(g.crop.height, g.resize.height);
  const shrinkWidth = Math.min(g.crop.width, g.resize.width);
  let data: Uint8Array;
  try {
    let image = sharp(bytes, options);
    if (g.crop.top !== 0 || g.crop.left !== 0 || g.crop.height !== height || g.crop.width !== width) image = image.extract({ top: g.crop.top, left: g.crop.left, height: g.crop.height, width: g.crop.width });
    if (shrinkHeight !== g.crop.height || shrinkWidth !== g.crop.width) image = image.resize(shrinkWidth, shrinkHeight, { fit: 'fill', kernel: 'linear', fastShrinkOnLoad: false });
    const out = await image.toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (out.info.channels !== 3 || out.info.width !== shrinkWidth || out.info.height !== shrinkHeight) throw new Error(`libvips gave ${out.info.width}x${out.info.height}x${out.info.channels}`);
    data = out.data;
  } catch (e) {
    return fail(e);
  }
  if (shrinkHeight !== g.resize.height || shrinkWidth !== g.resize.width) data = resizeBilinear(data, shrinkHeight, shrinkWidth, 3, g.resize.height, g.resize.width);
  return { rgb: cut(data, g.resize.height, g.resize.width, g.window, g.flip), height: g.window.height, width: g.window.width };
}

/** The window of an RGB image (black outside it), mirrored when `flip`. */
function cut(rgb: Uint8Array, height: number, width: number, window: Box, flip: boolean): Uint8Array {
  if (!flip && window.top === 0 && window.left === 0 && window.height === height && window.width === width) return rgb;
  const out = new Uint8Array(window.height * window.width * 3);
  for (let row = 0; row < window.height; row++) {
    const sy = window.top + row;
    if (sy < 0 || sy >= height) continue;
    for (let col = 0; col < window.width; col++) {
      const sx = window.left + (flip ? window.width - 1 - col : col);
      if (sx < 0 || sx >= width) continue;
      const s = (sy * width + sx) * 3;
      const o = (row * window.width + col) * 3;
      out[o] = rgb[s]!;
      out[o + 1] = rgb[s + 1]!;
      out[o + 2] = rgb[s + 2]!;
    }
  }
  return out;
}
