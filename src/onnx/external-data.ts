import { closeSync, lstatSync, readSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { errnoCode, FileError } from '../io/file-error.js';
import { confinedPath, describeBytes, openInput, readInputFile } from '../io/read.js';
import { OnnxError } from './errors.js';
import { onnx, type DecodedTensor as TensorProto } from './proto.js';

/**
 * ONNX external data (onnx/docs/ExternalData.md): a tensor whose TensorProto has
 * `data_location` EXTERNAL keeps its bytes, in raw_data's little-endian layout, in another
 * file, named by `external_data` key/value entries: `location` (a path relative to the
 * model's folder), `offset` and `length` (decimal byte counts; the file's start and the
 * rest of the file when absent). `checksum` and `basepath` are allowed and ignored, as
 * unknown keys are (onnx warns about them).
 *
 * A model file is as hostile as any input: its locations stay inside its folder (R0813,
 * as tfjs shards), its data files must be regular files (R0811), and a range is checked
 * against the file's size and the tensor's shape before a byte of it is read.
 */

/** Where a tensor's bytes lie outside its model file, checked. */
export interface ExternalTensorData {
  /** The data file, resolved inside the model's folder. */
  path: string;
  /** The location as the model names it, for messages. */
  location: string;
  offset: number;
  length: number;
}

/** The external data file resnetc writes for the model at `modelPath`: `NAME.data` beside it (NAME with its extension). */
export function externalDataPath(modelPath: string): string {
  return `${modelPath}.data`;
}

/** TensorProto.DataLocation.EXTERNAL. */
export const externalLocation = onnx.TensorProto.DataLocation.EXTERNAL;

function malformed(tensor: TensorProto, layer: string, what: string): OnnxError {
  return new OnnxError('R0510', `'${tensor.name}' is stored outside the file, but ${what}`, layer, 'export the model again (onnx.save_model(..., save_as_external_data=True) writes well-formed entries)');
}

/** A byte count of an entry: decimal digits making a safe integer; undefined when absent. */
function byteCount(value: string | undefined, key: string, tensor: TensorProto, layer: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(n)) throw malformed(tensor, layer, `its '${key}' is '${value.slice(0, 40)}', not a count of bytes`);
  return n;
}

/**
 * The external data a tensor names, checked before any of it is read: the entries well
 * formed (R0510: no `location`, a key twice, an offset or length that is not a whole
 * number), the location inside the folder of the model at `modelPath` (FileError R0813; R0101
 * when missing), the data file a regular file (R0811), the length the tensor's shape and
 * type give, `bytes` (R0512), and the range inside the file (R0511). `layer` is the spec's
 * layer the tensor was matched to, for messages.
 */
export function externalTensorData(tensor: TensorProto, modelPath: string, bytes: number, layer: string): ExternalTensorData {
  const entries = new Map<string, string>();
  for (const { key, value } of tensor.externalData) {
    if (entries.has(key ?? '')) throw malformed(tensor, layer, `its external_data names '${key}' twice`);
    entries.set(key ?? '', value ?? '');
  }
  const location = entries.get('location');
  if (!location) throw malformed(tensor, layer, 'its external_data has no location');
  const offset = byteCount(entries.get('offset'), 'offset', tensor, layer) ?? 0;
  const declared = byteCount(entries.get('length'), 'length', tensor, layer);
  const path = confinedPath(dirname(modelPath), location, modelPath);
  if (declared !== undefined && declared !== bytes) throw wrongLength(tensor, layer, declared, bytes);
  const size = dataFileSize(path);
  const length = declared ?? Math.max(size - offset, 0);
  const ref = { path, location, offset, length };
  if (offset + length > size) throw outOfRange(tensor, layer, ref, size);
  if (length !== bytes) throw wrongLength(tensor, layer, length, bytes);
  return ref;
}

function wrongLength(tensor: TensorProto, layer: string, length: number, bytes: number): OnnxError {
  return new OnnxError('R0512', `'${tensor.name}' names ${length.toLocaleString('en-US')} bytes of external data, but its shape and type make ${bytes.toLocaleString('en-US')}`, layer, 'export the model again: its external data does not match its tensors');
}

function outOfRange(tensor: TensorProto, layer: string, ref: ExternalTensorData, size: number): OnnxError {
  const range = `bytes ${ref.offset.toLocaleString('en-US')} to ${(ref.offset + ref.length).toLocaleString('en-US')}`;
  return new OnnxError(
    'R0511',
    `'${tensor.name}' lies at ${range} of '${ref.location}', which holds ${size.toLocaleString('en-US')} bytes (${describeBytes(size)})`,
    layer,
    'the external data file is cut short or belongs to another model: copy the model with its data file',
  );
}

/** The size of the data file at `path`, opened as every input is (a regular file; FileError R0811 otherwise). */
function dataFileSize(path: string): number {
  const { fd, stats } = openInput(path, 'externalData');
  closeSync(fd);
  return stats.size;
}

/** The most one read(2) is given (Node refuses more than 2 GiB - 1 at once). */
const maxRead = 1 << 30;

/**
 * The bytes of a tensor's external data, in a new buffer of their own. The file is opened
 * and its size checked again (it may have changed since externalTensorData): R0511 when the
 * range no longer fits; FileError R0811, R0902 as any input.
 */
export function readExternalTensorData(ref: ExternalTensorData, tensor: TensorProto, layer: string): Uint8Array {
  const { fd, stats } = openInput(ref.path, 'externalData');
  try {
    if (ref.offset + ref.length > stats.size) throw outOfRange(tensor, layer, ref, stats.size);
    const out = new Uint8Array(ref.length);
    let at = 0;
    while (at < out.length) {
      let n: number;
      try {
        n = readSync(fd, out, at, Math.min(out.length - at, maxRead), ref.offset + at);
      } catch (e) {
        const code = errnoCode(e);
        if (code) throw new FileError('R0902', ref.path, `cannot read '${ref.path}': ${code}`);
        throw e;
      }
      if (n === 0) throw outOfRange(tensor, layer, ref, ref.offset + at);
      at += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether the ONNX model at `modelPath` (an earlier output about to be replaced) keeps a
 * tensor in the regular file `dataPath`: then that file is the old model's data, which a
 * new model without external data leaves obsolete. False when either cannot be read.
 */
export function namesExternalData(modelPath: string, dataPath: string): boolean {
  try {
    if (!lstatSync(dataPath).isFile()) return false;
    const graph = onnx.ModelProto.decode(readInputFile(modelPath, 'weights', { track: false })).graph;
    const folder = dirname(modelPath);
    return (graph?.initializer ?? []).some(
      (t) => t.dataLocation === externalLocation && t.externalData?.some((e) => e.key === 'location' && e.value && resolve(folder, e.value) === resolve(dataPath)),
    );
  } catch {
    return false;
  }
}
