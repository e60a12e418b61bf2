import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { CodedError } from '../diagnostics/coded-error.js';
import { readInputText } from '../io/read.js';
import type { Shape } from '../model/types.js';
import type { DecodedImage, Geometry } from './decode.js';
import { centerCropBox, evalResizeSize, resizeShortSide } from './transforms.js';

/**
 * What a model expects of its input beyond its shape: the normalisation of its pixels, the
 * evaluation's resize, and the names of its classes. `train` writes it as `preprocess.json`
 * beside `model.json` (in `OUT/model` and in the checkpoint), so that `eval`, `predict`
 * and a later fine-tune apply exactly what training applied.
 *
 *     {"format": "resnetc-preprocess", "version": 1, "input": [3, 224, 224],
 *      "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "resize": 256,
 *      "classes": ["cat", "dog"]}
 *
 * A pixel reaches the model as (value / 255 − mean[c]) / std[c]. `resize`: the short side
 * an image is resized to before the centre crop to the input (evalResizeSize); null: the
 * whole image is resized to the input (IDX and CIFAR-10, whose images have the input's
 * size: nothing changes). `classes`: the name of each output, or null (numbered).
 */

export const preprocessFile = 'preprocess.json';
const format = 'resnetc-preprocess';
const version = 1;

export interface Preprocess {
  input: Shape;
  mean: number[];
  std: number[];
  resize: number | null;
  classes: string[] | null;
}

/** ImageNet's channel statistics (torchvision's and timm's default normalisation). */
export const imagenetMean = [0.485, 0.456, 0.406];
export const imagenetStd = [0.229, 0.224, 0.225];
/**
 * For one channel: ImageNet's mean and standard deviation weighted as PIL weighs R, G, B
 * into luminance (ITU-R 601: 0.299, 0.587, 0.114), the statistics a grayscale conversion
 * of ImageNet has to first order.
 */
export const imagenetGrayMean = [0.459];
export const imagenetGrayStd = [0.2256];

/** A preprocessing file that cannot be used (R0659), or a missing one where it is needed. */
export class PreprocessError extends CodedError {
  constructor(message: string, help?: string) {
    super('R0659', message, help ?? `preprocess.json is written by resnetc train beside model.json; its format is in docs/images.md`);
  }
}

/** An image folder's: ImageNet's statistics (or `mean`/`std` given), evaluation resize by evalResizeSize. */
export function imagePreprocess(input: Shape, classes: string[], mean?: number[], std?: number[]): Preprocess {
  return {
    input,
    mean: mean ?? (input.c === 1 ? imagenetGrayMean : imagenetMean),
    std: std ?? (input.c === 1 ? imagenetGrayStd : imagenetStd),
    resize: evalResizeSize(input.h, input.w),
    classes,
  };
}

/** Data already at the input's size (IDX, CIFAR-10, synthetic): value/255 and nothing else, as resnetc has always trained on them. */
export function plainPreprocess(input: Shape, classes: string[] | null = null): Preprocess {
  return { input, mean: Array(input.c).fill(0), std: Array(input.c).fill(1), resize: null, classes };
}

/** preprocess.json's text. */
export function preprocessText(p: Preprocess): string {
  const fields = { format, version, input: [p.input.c, p.input.h, p.input.w], mean: p.mean, std: p.std, resize: p.resize, classes: p.classes };
  return `{\n${Object.entries(fields)
    .map(([k, v]) => ` ${JSON.stringify(k)}: ${JSON.stringify(v)}`)
    .join(',\n')}\n}\n`;
}

/**
 * A preprocess.json, read (src/io's JSON rules) and checked against the model's input and
 * number of classes. Throws PreprocessError (R0659) naming the field; FileError for the file.
 */
export function readPreprocess(path: string, input: Shape, classes: number | undefined): Preprocess {
  let raw: unknown;
  try {
    raw = JSON.parse(readInputText(path, 'json'));
  } catch (e) {
    if (e instanceof CodedError) throw e;
    throw new PreprocessError(`'${path}' is not JSON (${(e as Error).message})`);
  }
  const bad = (what: string): PreprocessError => new PreprocessError(`'${path}': ${what}`);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('not a JSON object');
  const o = raw as Record<string, unknown>;
  if (o['format'] !== format || o['version'] !== version) throw bad(`not a resnetc preprocessing file of version ${version} ("format": ${JSON.stringify(o['format'])}, "version": ${JSON.stringify(o['version'])})`);
  const shape = o['input'];
  if (!Array.isArray(shape) || shape.length !== 3 || shape.some((v) => !Number.isSafeInteger(v) || (v as number) < 1)) throw bad('"input" must be [channels, height, width]');
  const [c, h, w] = shape as number[];
  if (c !== input.c || h !== input.h || w !== input.w) throw bad(`it is for input ${c}x${h}x${w}, the model takes ${input.c}x${input.h}x${input.w}`);
  const channelValues = (key: string, positive: boolean): number[] => {
    const v = o[key];
    if (!Array.isArray(v) || v.length !== input.c || v.some((x) => typeof x !== 'number' || !Number.isFinite(x) || (positive && x <= 0))) {
      throw bad(`"${key}" must be ${input.c} ${positive ? 'positive' : 'finite'} number${input.c === 1 ? '' : 's'} (one per channel), not ${JSON.stringify(v)}`);
    }
    return v as number[];
  };
  const mean = channelValues('mean', false);
  const std = channelValues('std', true);
  const resize = o['resize'];
  if (resize !== null && (!Number.isSafeInteger(resize) || (resize as number) < 1)) throw bad(`"resize" must be a positive whole number or null, not ${JSON.stringify(resize)}`);
  const names = o['classes'];
  if (names !== null && (!Array.isArray(names) || names.some((n) => typeof n !== 'string'))) throw bad('"classes" must be a list of names or null');
  if (Array.isArray(names) && classes !== undefined && names.length > classes) throw bad(`it names ${names.length} classes, the model has ${classes}`);
  return { input, mean, std, resize: resize as number | null, classes: names as string[] | null };
}

/**
 * Where the preprocessing of a weights source is kept: `DIR/preprocess.json` for a tfjs
 * model folder (or its model.json), `NAME.preprocess.json` beside a file `NAME.EXT`
 * (an ONNX or safetensors file). Undefined when there is none.
 */
export function findPreprocess(weights: string): string | undefined {
  let candidate: string;
  if (existsSync(weights) && statSync(weights).isDirectory()) candidate = join(weights, preprocessFile);
  else if (basename(weights) === 'model.json') candidate = join(dirname(weights), preprocessFile);
  else candidate = join(dirname(weights), `${basename(weights, extname(weights))}.${preprocessFile}`);
  return existsSync(candidate) ? candidate : undefined;
}

/**
 * The evaluation's geometry for an image of `height` x `width` (torchvision's Resize then
 * CenterCrop): the short side resized to `p.resize`, then the centre `input` cut out; or,
 * with `resize` null, the whole image resized to the input.
 */
export function evalGeometry(p: Preprocess, height: number, width: number): Geometry {
  const whole = { top: 0, left: 0, height, width };
  const { h, w } = p.input;
  if (p.resize === null) return { crop: whole, resize: { height: h, width: w }, window: { top: 0, left: 0, height: h, width: w }, flip: false };
  const resized = resizeShortSide(height, width, p.resize);
  return { crop: whole, resize: resized, window: centerCropBox(resized.height, resized.width, h, w), flip: false };
}

/**
 * Writes an RGB image (decode.ts) as the model's input at `out[offset…]`: HWC float32,
 * (value/255 − mean)/std per channel. For one channel, the luminance PIL's convert('L')
 * computes, (R·19595 + G·38470 + B·7471 + 2^15) >> 16 (ITU-R 601), so a grayscale image
 * keeps its values exactly.
 */
export function writeModelInput(image: DecodedImage, p: Preprocess, out: Float32Array, offset: number): void {
  const n = image.height * image.width;
  const { rgb } = image;
  if (p.input.c === 1) {
    const [m, s] = [p.mean[0]!, p.std[0]!];
    for (let i = 0; i < n; i++) out[offset + i] = (((rgb[3 * i]! * 19595 + rgb[3 * i + 1]! * 38470 + rgb[3 * i + 2]! * 7471 + 0x8000) >> 16) / 255 - m) / s;
    return;
  }
  for (let c = 0; c < 3; c++) {
    const [m, s] = [p.mean[c]!, p.std[c]!];
    for (let i = 0; i < n; i++) out[offset + 3 * i + c] = (rgb[3 * i + c]! / 255 - m) / s;
  }
}
