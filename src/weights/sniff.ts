/**
 * What a file looks like, from its first bytes: how `--weights` recognises an ONNX model
 * among protobufs, and what it says about a file it does not read ("a ZIP archive", "an
 * HDF5 file", "text") instead of a decoder's internals. Signatures are the formats' own:
 * ZIP's local file header `PK\x03\x04` (PKWARE's APPNOTE), HDF5's `\x89HDF\r\n\x1a\n`,
 * NumPy's `\x93NUMPY` (numpy/lib/format.py), gzip's `\x1f\x8b` (RFC 1952), TensorFlow Lite's
 * `TFL3` at byte 4 (a FlatBuffer's file identifier), GGUF's `GGUF`, PNG's and JPEG's, a
 * Python pickle's PROTO opcode `\x80` with protocol 2 to 5; protobuf's wire format
 * (protobuf.dev/programming-guides/encoding) for the rest.
 */

/** How many first bytes the sniffers look at. */
export const headBytes = 512;

const startsWith = (head: Uint8Array, bytes: readonly number[], at = 0): boolean => head.length >= at + bytes.length && bytes.every((b, i) => head[at + i] === b);
const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

/** A varint at `at`: its value (as a double: exact up to 2^53) and where it ends, or undefined when the head ends inside it or it runs past 10 bytes. */
function varint(head: Uint8Array, at: number): { value: number; end: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < head.length && i < at + 10; i++) {
    const b = head[i]!;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (b < 0x80) return { value, end: i + 1 };
  }
  return undefined;
}

/**
 * The fields at the start of a protobuf message, [field number, wire type] each, as far as
 * the head holds them (a field whose length runs past the end of the file ends the walk: a
 * file cut short still shows its first fields); undefined where the bytes are not protobuf.
 */
function protobufFields(head: Uint8Array, size: number): [number, number][] | undefined {
  const fields: [number, number][] = [];
  let at = 0;
  while (at < head.length) {
    const tag = varint(head, at);
    if (!tag) return head.length < size ? fields : undefined;
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    if (field < 1 || field > 536_870_911 || ![0, 1, 2, 5].includes(wire)) return undefined;
    fields.push([field, wire]);
    at = tag.end;
    if (wire === 0) {
      const v = varint(head, at);
      if (!v) return head.length < size && head.length - at < 10 ? fields : undefined;
      at = v.end;
    } else if (wire === 2) {
      const length = varint(head, at);
      if (!length) return head.length < size ? fields : undefined;
      at = length.end + length.value;
    } else at += wire === 1 ? 8 : 4;
    if (at > size) return fields;
  }
  return fields;
}

/**
 * ModelProto's fields (onnx/onnx.proto) with their wire types: ir_version 1, producer_name 2,
 * producer_version 3, domain 4, model_version 5, doc_string 6, graph 7, opset_import 8,
 * metadata_props 14, training_info 20, functions 25.
 */
const modelProtoFields = new Map([
  [1, 0],
  [2, 2],
  [3, 2],
  [4, 2],
  [5, 0],
  [6, 2],
  [7, 2],
  [8, 2],
  [14, 2],
  [20, 2],
  [25, 2],
]);

/**
 * Whether the bytes begin as an ONNX ModelProto: protobuf fields, each one of ModelProto's
 * with its wire type, among them the IR version (what every ONNX writer puts first).
 */
export function looksLikeOnnx(head: Uint8Array, size: number): boolean {
  const fields = protobufFields(head, size);
  return fields !== undefined && fields.length > 0 && fields.some(([f]) => f === 1) && fields.every(([f, w]) => modelProtoFields.get(f) === w);
}

/** The name of the first member of a ZIP archive (its first local file header's), where the head holds it. */
export function firstZipMember(head: Uint8Array): string | undefined {
  if (!startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || head.length < 30) return undefined;
  const length = head[26]! | (head[27]! << 8);
  if (head.length < 30 + length) return undefined;
  return new TextDecoder('utf-8', { fatal: false }).decode(head.subarray(30, 30 + length));
}

/**
 * Whether the file is PyTorch's `torch.save` output: a ZIP archive whose first member is a
 * pickle (`archive/data.pkl`; PyTorch 1.6 and later), a ZIP named `.pth`/`.pt`/`.ckpt`, or a
 * pickle (the legacy format).
 */
export function torchSaveKind(head: Uint8Array, path: string): 'zip' | 'pickle' | undefined {
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) {
    const member = firstZipMember(head);
    return (member !== undefined && member.endsWith('.pkl')) || /\.(pth|pt|ckpt)$/i.test(path) ? 'zip' : undefined;
  }
  if (head.length >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5) return 'pickle';
  return undefined;
}

/** Whether the bytes read as text: UTF-8, no NUL, and nearly all printable or white space. */
export function isText(head: Uint8Array): boolean {
  if (head.length === 0 || head.includes(0)) return false;
  let text: string;
  try {
    // A character cut at the end of the head is not a fault of the file.
    text = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, lastWhole(head)));
  } catch {
    return false;
  }
  let control = 0;
  for (const c of text) if (c < ' ' && c !== '\n' && c !== '\r' && c !== '\t' && c !== '\f') control++;
  return control <= text.length / 100;
}

/** Where the last whole UTF-8 character of the bytes ends. */
function lastWhole(bytes: Uint8Array): number {
  for (let i = bytes.length - 1; i >= Math.max(0, bytes.length - 4); i--) {
    const b = bytes[i]!;
    if (b < 0x80) return bytes.length;
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return bytes.length - i >= need ? bytes.length : i;
    }
  }
  return bytes.length;
}

/**
 * What a file of `size` bytes beginning with `head` looks like, for a message: "an empty
 * file", "a ZIP archive", "a NumPy .npz archive", "a Keras .keras archive", "an HDF5 file
 * (Keras's .h5 format)", "a NumPy .npy array", "a gzip-compressed file", "a TensorFlow Lite
 * model", "a GGUF model", "a PNG image", "a JPEG image", "a Python pickle", "JSON text",
 * "text", "a protobuf of unknown kind", or "binary data of no format resnetc knows".
 */
export function describeFile(head: Uint8Array, size: number): string {
  if (size === 0) return 'an empty file';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) {
    const member = firstZipMember(head) ?? '';
    if (member.endsWith('.npy')) return 'a NumPy .npz archive';
    if (['metadata.json', 'config.json', 'model.weights.h5'].includes(member)) return 'a Keras .keras archive';
    return 'a ZIP archive';
  }
  if (startsWith(head, [0x89, ...ascii('HDF\r\n'), 0x1a, 0x0a])) return "an HDF5 file (Keras's .h5 format)";
  if (startsWith(head, [0x93, ...ascii('NUMPY')])) return 'a NumPy .npy array';
  if (startsWith(head, [0x1f, 0x8b])) return 'a gzip-compressed file';
  if (startsWith(head, ascii('TFL3'), 4)) return 'a TensorFlow Lite model';
  if (startsWith(head, ascii('GGUF'))) return 'a GGUF model';
  if (startsWith(head, [0x89, ...ascii('PNG')])) return 'a PNG image';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'a JPEG image';
  if (head.length >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5) return 'a Python pickle';
  if (isText(head)) return /^\s*[[{]/.test(new TextDecoder().decode(head)) ? 'JSON text' : 'text';
  // Two fields of plausible numbers: most other binary data breaks the wire format sooner.
  const fields = protobufFields(head, size);
  if (fields !== undefined && fields.length >= 2 && fields.every(([f]) => f <= 1000)) return 'a protobuf of unknown kind';
  return 'binary data of no format resnetc knows';
}
