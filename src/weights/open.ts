import { readdirSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { errnoCode, FileError } from '../io/file-error.js';
import type { CheckedModel } from '../model/types.js';
import { fitWeights } from './adapt.js';
import type { ExaminedPath, WeightFileFormat } from './format.js';
import { onnxFormat } from './formats/onnx.js';
import { safetensorsFormat } from './formats/safetensors.js';
import { tfjsFormat } from './formats/tfjs.js';
import { readWeightsHead } from './read.js';
import { pickleRefusal } from './safetensors.js';
import { describeFile, headBytes, isText, torchSaveKind } from './sniff.js';
import { WeightSourceError, type WeightSource } from './source.js';

/**
 * `--weights PATH`: the source of a model's weights picked from what the path is. A file is
 * recognised by its first bytes (a safetensors header, an ONNX ModelProto), a folder by
 * what it holds (a tfjs model's model.json); a damaged file is read as the format its name
 * claims (`.safetensors`, `.onnx`, `model.json`), to be refused with that format's own
 * codes. Anything else is refused saying what the file looks like and what is accepted.
 */

/** Every format `--weights` reads, in the order they are tried. A new format is one more entry. */
export const weightFormats: readonly WeightFileFormat[] = [safetensorsFormat, onnxFormat, tfjsFormat];

/** The formats --weights reads, for messages: "an ONNX model (.onnx), a safetensors state_dict (.safetensors) or a tfjs model folder (with model.json)". */
export function acceptedFormats(): string {
  const names = weightFormats.map((f) => f.accepts);
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]!}`;
}

export interface OpenOptions {
  /** Seed of a head initialised afresh (adapt.ts); 0 unless set. */
  seed?: number;
  /** `--strict-weights`: refuse weights whose head or input differs (R1011, R1012) instead of adapting them. */
  strict?: boolean;
}

/** Whether the path is named as the format's files are. */
function named(format: WeightFileFormat, path: string): boolean {
  return format.suffix.startsWith('.') ? path.toLowerCase().endsWith(format.suffix) : basename(path) === format.suffix;
}

/** Whether the format claims a file its bytes do not show to be of any format: by its name, a binary format never for text. */
function claims(format: WeightFileFormat, file: ExaminedPath): boolean {
  return file.kind === 'file' && file.size > 0 && named(format, file.path) && (format.text || !isText(file.head));
}

/** What the path is: R0101 when nothing is there; src/io's refusals (R0811, R0812, R0902) for what cannot be read. */
function examine(path: string): ExaminedPath {
  let folder = false;
  try {
    folder = statSync(path).isDirectory();
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new FileError('R0101', path, `cannot find the weights file '${path}'`);
  }
  if (folder) {
    try {
      return { path, kind: 'folder', entries: readdirSync(path) };
    } catch (e) {
      throw new FileError('R0902', path, `cannot read the folder '${path}': ${errnoCode(e) ?? String(e)}`);
    }
  }
  return { path, kind: 'file', ...readWeightsHead(path, headBytes) };
}

/** The refusal of a path no format reads (R1008), saying what it looks like. */
function unknownFormat(file: ExaminedPath): WeightSourceError {
  const accepted = `--weights reads ${acceptedFormats()}`;
  if (file.kind === 'folder') {
    const inside = file.entries.filter((e) => weightFormats.some((f) => named(f, e))).slice(0, 3);
    const help = inside.length > 0 ? `name the file inside it: ${inside.map((e) => `'${e}'`).join(', ')}` : accepted;
    return new WeightSourceError('R1008', `'${file.path}' is a folder without a tfjs model (no model.json)`, inside.length > 0 ? `${help}; ${accepted}` : help);
  }
  const what = describeFile(file.head, file.size);
  const claimed = weightFormats.find((f) => named(f, file.path));
  return new WeightSourceError('R1008', `'${file.path}' is ${what}${claimed ? `, though named ${claimed.suffix}` : ''}: resnetc does not read it as weights`, accepted);
}

/**
 * The weights of `path` for `model`, as a source (source.ts): every tensor under resnetc's
 * names in PyTorch's layouts, values checked (R0816), matched to the spec now and decoded
 * when asked for. Where the file's network differs from the spec only in its classes or its
 * input channels, the head is initialised afresh and the input convolution adapted (adapt.ts),
 * each said in the source's `notes`; `strict` refuses both.
 *
 * Throws a CodedError: FileError R0101 (nothing there), R0811, R0812, R0902 (src/io); R1000
 * a pickle from torch.save; R1008 a format resnetc does not read; R1011–R1013 (adapt.ts); and
 * each format's own: R0502–R0509 (ONNX), R1001–R1007 (safetensors), R0606 and R0813, R0815
 * (tfjs); R0816 (a value no trained network holds), at `get` for file formats.
 */
export async function openWeightSource(path: string, model: CheckedModel, options: OpenOptions = {}): Promise<WeightSource> {
  const file = examine(path);
  if (file.kind === 'file') {
    const torch = torchSaveKind(file.head, path);
    if (torch) throw pickleRefusal(`'${path}'`, torch === 'zip' ? 'pytorch-zip' : 'pytorch-pickle');
  }
  const format = weightFormats.find((f) => f.sniff(file)) ?? weightFormats.find((f) => claims(f, file));
  if (!format) throw unknownFormat(file);
  return fitWeights(await format.read(file), model, { format: format.format, from: path, ...options });
}
