import { CodedError } from '../diagnostics/coded-error.js';
import type { Code } from '../diagnostics/codes.js';
import { halfToFloat } from './float16.js';

/**
 * The safetensors format (Hugging Face's; the hub and timm publish weights in it), written
 * and read here without the `safetensors` package, which has no Debian build:
 *
 *     [8 bytes: N, unsigned little-endian] [N bytes: a JSON header] [the tensors' bytes]
 *
 * The header maps each tensor's name to `{"dtype": "F32", "shape": [64, 3, 7, 7],
 * "data_offsets": [begin, end]}` (offsets into the bytes after the header) and may hold
 * `"__metadata__": {string: string}`. Values are little-endian, row-major (C order).
 *
 * The writer pads the header with spaces to a multiple of 8 bytes, as the Hugging Face
 * implementation does, so that the data starts aligned; it puts 8-byte tensors before 4-byte
 * ones for the same reason. The reader trusts nothing: the header length against the file's
 * size, the header's size (at most 100 MB, Hugging Face's limit), its UTF-8 and JSON, every
 * entry's fields, dtype, and shape times dtype size against its offsets, and the offsets in
 * order, without gaps or overlaps, covering the data exactly. Each refusal has its code.
 */

/** A failure a user caused with a PyTorch weights file, with its stable code (R10xx) and, where there is one, the spec's layer. */
export class TorchWeightsError extends CodedError {
  override readonly name = 'TorchWeightsError';

  constructor(
    code: Code,
    message: string,
    help?: string,
    readonly layer?: string,
  ) {
    super(code, message, help);
  }
}

/** Every dtype of the safetensors format with its size in bytes (sub-byte float formats are not read). */
export const dtypeSizes = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type Dtype = keyof typeof dtypeSizes;

/** The dtypes read as float32: F32 as it is, F16 and BF16 exactly, F64 rounded to nearest. */
export const floatDtypes: readonly Dtype[] = ['F32', 'F16', 'BF16', 'F64'];

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Hugging Face's bound on the header (safetensors' MAX_HEADER_SIZE). */
export const maxHeaderBytes = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Offsets into the file's bytes (the header's offsets plus where the data starts). */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  bytes: Uint8Array;
  /** By name, in the order of their data. */
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

/** What the first bytes of a weights file say it is. */
export type WeightsFileKind = 'safetensors' | 'pytorch-zip' | 'pytorch-pickle' | 'other';

/**
 * Recognises a file by its first bytes (at least 9 of them): a safetensors header (a length
 * that fits, then `{`), a zip archive (`PK\x03\x04`, what `torch.save` writes since PyTorch
 * 1.6) or a Python pickle (`\x80` and a protocol 2–5, the legacy `torch.save`).
 */
export function sniffWeightsFile(head: Uint8Array): WeightsFileKind {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'pytorch-zip';
  if (head.length >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5) return 'pytorch-pickle';
  if (head.length >= 9 && head[8] === 0x7b) {
    const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
    if (n >= 2n && n <= BigInt(maxHeaderBytes)) return 'safetensors';
  }
  return 'other';
}

/** The coded refusal of a pickled PyTorch file, with how to convert it. */
export function pickleRefusal(source: string, kind: 'pytorch-zip' | 'pytorch-pickle'): TorchWeightsError {
  const what = kind === 'pytorch-zip' ? "a zip archive, PyTorch's torch.save format (.pth/.pt)" : "a Python pickle, PyTorch's legacy torch.save format (.pth/.pt)";
  return new TorchWeightsError(
    'R1000',
    `${source} is ${what}: resnetc does not read pickles, which can run code when loaded`,
    'convert it to safetensors in Python: `safetensors.torch.save_file(model.state_dict(), "weights.safetensors")`, or without the safetensors package the script in docs/pytorch.md',
  );
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parses and validates a safetensors file (see the module's docstring); `source` names it in
 * messages. Throws TorchWeightsError: R1000 a pickled PyTorch file, R1001 not safetensors or a
 * corrupt header, R1002 a dtype the format does not have, R1003 a tensor whose bytes disagree
 * with its shape, R1004 tensors' bytes out of order, overlapping, or not covering the data.
 */
export function parseSafetensors(bytes: Uint8Array, source: string): SafetensorsFile {
  const kind = sniffWeightsFile(bytes);
  if (kind === 'pytorch-zip' || kind === 'pytorch-pickle') throw pickleRefusal(source, kind);
  const corrupt = (what: string): TorchWeightsError =>
    new TorchWeightsError('R1001', `${source} is not a valid safetensors file: ${what}`, 'write it with safetensors.torch.save_file, or resnetc compile --target safetensors');
  if (bytes.length < 8) throw corrupt(`it has ${bytes.length} bytes, fewer than the 8 of the header's length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(maxHeaderBytes)) throw corrupt(`its header length says ${n} bytes, over the ${maxHeaderBytes} allowed`);
  const headerEnd = 8 + Number(n);
  if (headerEnd > bytes.length) throw corrupt(`its header length says ${n} bytes, but the file has ${bytes.length - 8} after it`);
  let text: string;
  try {
    text = utf8.decode(bytes.subarray(8, headerEnd));
  } catch {
    throw corrupt('its header is not UTF-8 text');
  }
  if (!text.startsWith('{')) throw corrupt('its header is not a JSON object');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw corrupt(`its header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw corrupt('its header is not a JSON object');

  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw corrupt(`__metadata__ '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt(`the entry of '${name}' is not an object`);
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (typeof dtype !== 'string') throw corrupt(`'${name}' has no dtype`);
    if (!Object.hasOwn(dtypeSizes, dtype)) {
      throw new TorchWeightsError('R1002', `in ${source}, '${name}' has the dtype '${dtype}', which resnetc does not know`, `resnetc reads ${floatDtypes.join(', ')} tensors (as float32); convert it with tensor.float()`);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) throw corrupt(`'${name}' has no shape of whole numbers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) throw corrupt(`'${name}' has no data_offsets [begin, end]`);
    const [begin, end] = offsets as [number, number];
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const size = elements * dtypeSizes[dtype as Dtype];
    if (!Number.isSafeInteger(size) || end < begin || end - begin !== size) {
      throw new TorchWeightsError(
        'R1003',
        `in ${source}, '${name}' (${dtype}, shape [${(shape as number[]).join(', ')}]) needs ${size} bytes, but its data_offsets [${begin}, ${end}] span ${end - begin}`,
        'the file is damaged or was written wrongly; write it again',
      );
    }
    entries.push({ name, dtype: dtype as Dtype, shape: shape as number[], begin: headerEnd + begin, end: headerEnd + end });
  }

  // The tensors' bytes, sorted, must follow each other from the start of the data to its end.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = headerEnd;
  for (const e of entries) {
    if (e.begin !== at) {
      const what = e.begin < at ? 'overlap the tensor before them' : `leave ${e.begin - at} bytes unused before them`;
      throw new TorchWeightsError('R1004', `in ${source}, the bytes of '${e.name}' (from ${e.begin - headerEnd}) ${what}`, 'the file is damaged or was written wrongly; write it again');
    }
    at = e.end;
  }
  if (at !== bytes.length) {
    const what = at > bytes.length ? `end at byte ${at - headerEnd} of the data, past its end (${bytes.length - headerEnd} bytes)` : `cover ${at - headerEnd} of the ${bytes.length - headerEnd} bytes of data`;
    throw new TorchWeightsError('R1004', `in ${source}, the tensors ${what}`, at > bytes.length ? 'the file is cut short; copy or download it again' : 'the file is damaged or was written wrongly; write it again');
  }
  return { bytes, tensors: new Map(entries.map((e) => [e.name, e])), metadata };
}

/** Elements of a tensor's shape. */
function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * A floating-point tensor of the file as a new float32 array (row-major, as stored): F32 as it
 * is, F16 and BF16 exactly, F64 rounded to nearest. Throws R1002 for any other dtype.
 */
export function tensorAsFloat32(file: SafetensorsFile, entry: SafetensorsEntry, source: string, layer?: string): Float32Array {
  const count = elements(entry.shape);
  const view = new DataView(file.bytes.buffer, file.bytes.byteOffset + entry.begin, entry.end - entry.begin);
  const read = (value: (i: number) => number): Float32Array => Float32Array.from({ length: count }, (_, i) => value(i));
  switch (entry.dtype) {
    case 'F32':
      // A copy of the bytes is the array where the machine is little-endian, as nearly all are.
      // (Copied with set: a Node Buffer's slice is a view of the whole file.)
      if (littleEndian) {
        const copy = new Uint8Array(entry.end - entry.begin);
        copy.set(file.bytes.subarray(entry.begin, entry.end));
        return new Float32Array(copy.buffer);
      }
      return read((i) => view.getFloat32(4 * i, true));
    case 'F64':
      return read((i) => view.getFloat64(8 * i, true));
    case 'F16':
      return read((i) => halfToFloat(view.getUint16(2 * i, true)));
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    default:
      throw new TorchWeightsError(
        'R1002',
        `in ${source}, '${entry.name}' is ${entry.dtype}; a weight must be a floating-point tensor (${floatDtypes.join(', ')})`,
        'convert it in PyTorch with tensor.float()',
        layer,
      );
  }
}

/** A tensor to write: float32 values, or int64 ones (norms' num_batches_tracked). */
export interface TensorToWrite {
  name: string;
  dtype: 'F32' | 'I64';
  shape: number[];
  /** Called once, when the writer reaches the tensor; must give elements(shape) values. */
  values(): Float32Array | BigInt64Array;
}

export interface ByteSink {
  write(chunk: Uint8Array): void;
}

/** The header's bytes (length and padded JSON) and the tensors in the order of their data. */
function layout(tensors: readonly TensorToWrite[], metadata: Record<string, string>): { header: Uint8Array; order: TensorToWrite[]; size: number } {
  // 8-byte tensors first, so that every tensor starts at a multiple of its element size.
  const order = [...tensors.filter((t) => t.dtype === 'I64'), ...tensors.filter((t) => t.dtype !== 'I64')];
  const json: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) json['__metadata__'] = metadata;
  let offset = 0;
  for (const t of order) {
    const size = elements(t.shape) * dtypeSizes[t.dtype];
    if (Object.hasOwn(json, t.name)) throw new Error(`internal: the tensor '${t.name}' is written twice`);
    json[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const body = new TextEncoder().encode(JSON.stringify(json));
  // Spaces after the JSON up to a multiple of 8 bytes, as Hugging Face's writer pads.
  const header = new Uint8Array(8 + Math.ceil(body.length / 8) * 8).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(header.length - 8), true);
  header.set(body, 8);
  return { header, order, size: header.length + offset };
}

/** A typed array's bytes in little-endian order: a view of them where the machine is little-endian. */
function littleEndianBytes(values: Float32Array | BigInt64Array): Uint8Array {
  if (littleEndian) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new DataView(new ArrayBuffer(values.byteLength));
  if (values instanceof Float32Array) values.forEach((v, i) => out.setFloat32(4 * i, v, true));
  else values.forEach((v, i) => out.setBigInt64(8 * i, v, true));
  return new Uint8Array(out.buffer);
}

/**
 * Writes the tensors as safetensors to the sink, one tensor at a time, and returns the bytes
 * written. Names must be unique; `metadata` becomes `__metadata__` (left out when empty).
 */
export function writeSafetensors(tensors: readonly TensorToWrite[], metadata: Record<string, string>, sink: ByteSink): number {
  const { header, order, size } = layout(tensors, metadata);
  sink.write(header);
  for (const t of order) {
    const values = t.values();
    if (values.length !== elements(t.shape)) throw new Error(`internal: '${t.name}' has ${values.length} values, its shape [${t.shape.join(', ')}] needs ${elements(t.shape)}`);
    sink.write(littleEndianBytes(values));
  }
  return size;
}

/** The whole file in one buffer. */
export function serializeSafetensors(tensors: readonly TensorToWrite[], metadata: Record<string, string> = {}): Uint8Array {
  const chunks: Uint8Array[] = [];
  const size = writeSafetensors(tensors, metadata, { write: (c) => chunks.push(c.slice()) });
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
