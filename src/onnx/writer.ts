import { endianness } from 'node:os';
import type { ByteSink } from '../io/write.js';
import { describeBytes } from '../io/read.js';
import { OnnxError } from './errors.js';
import { byteLength, type Initializer, type OnnxGraph } from './graph.js';
import { irVersionFor } from './opset.js';
import { field, onnx } from './proto.js';

/**
 * Serialisation of a ModelProto without ever holding it whole. onnx-proto encodes the small
 * messages (the model's header, the graph's nodes, inputs and outputs, each tensor's name and
 * shape); the raw bytes of every initialiser are framed here and handed to the sink straight
 * from the weights' own memory. Protobuf lets a message's fields come in any order, so the
 * graph is its non-initialiser fields followed by the initialisers, each of whose length
 * is known before its values are computed.
 *
 * So is the whole file's size, and a protobuf message cannot pass 2 GiB: planModel decides,
 * before any value is computed, whether the tensors go inside the model or into an external
 * data file beside it (ONNX's layout: docs/onnx.md, onnx/docs/ExternalData.md).
 */

export type { ByteSink } from '../io/write.js';

export interface ModelMeta {
  opset: number;
  producerVersion: string;
  docString?: string;
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function varint(n: number): Uint8Array {
  const out = new Uint8Array(varintLength(n));
  for (let i = 0; i < out.length; i++) {
    out[i] = (n % 128) | (i < out.length - 1 ? 128 : 0);
    n = Math.floor(n / 128);
  }
  return out;
}

/** The key of a length-delimited field. */
function tag(fieldNumber: number): Uint8Array {
  return varint((fieldNumber << 3) | 2);
}

/** The largest ONNX file (a protobuf message) runtimes parse: 2 GiB - 1 byte (protobuf's int limit). */
export const maxModelBytes = 2 ** 31 - 1;

/** Tensors of at least this many bytes go to the external data file (onnx's `size_threshold` default); smaller ones stay inside the model. */
export const externalDataThreshold = 1024;

/**
 * Where each tensor's bytes start in the external data file: a multiple of the page size
 * (4 KiB), as the ONNX spec asks so that runtimes can map the file into memory, and for
 * tensors of 1 MiB or more of 64 KiB (Windows' allocation granularity). The gaps are zeros.
 */
export function externalDataAlignment(length: number): number {
  return length >= 1 << 20 ? 1 << 16 : 1 << 12;
}

/**
 * Whether tensors go to an external data file: `auto` when the model would pass
 * maxModelBytes, `always`, or `never` (a model over the limit is then refused, R0513).
 */
export type ExternalDataMode = 'auto' | 'always' | 'never';

export interface PlanOptions {
  externalData?: ExternalDataMode;
  /** The external data file's path relative to the model's folder (its `location`); needed unless `never`. */
  location?: string;
  /** The largest model file; maxModelBytes unless set (tests set less). */
  limit?: number;
}

/** One initialiser: what the model holds of it, and where its values go. */
interface PlannedTensor {
  init: Initializer;
  /** Bytes of its values (the shape times the element's width). */
  rawLength: number;
  /** Its entry in the model: up to the raw bytes (inside), or whole (external). */
  header: Uint8Array;
  /** Its offset in the external data file; undefined when the values are inside the model. */
  offset?: number;
}

/** A model laid out, sizes known, nothing computed yet. */
export interface ModelPlan {
  /** Everything of the model before the initialisers, in order, as chunks. */
  head: Uint8Array[];
  tensors: PlannedTensor[];
  /** The model file's size in bytes. */
  modelBytes: number;
  /** The external data file, when tensors go there: its location and size in bytes. */
  data?: { location: string; bytes: number };
}

/**
 * The model's layout: every tensor inside it when it fits in `limit` bytes (and `always`
 * is not asked), otherwise the tensors of externalDataThreshold bytes or more in the data
 * file at `location`, each at an aligned offset (externalDataAlignment), in execution order.
 * Throws OnnxError R0513 when the model passes the limit and `never` is asked, or when even
 * the model without those tensors would.
 */
export function planModel(graph: OnnxGraph, meta: ModelMeta, options: PlanOptions = {}): ModelPlan {
  const mode = options.externalData ?? 'auto';
  const limit = options.limit ?? maxModelBytes;
  const inside = frame(graph, meta, undefined);
  if (mode === 'never' || (mode === 'auto' && inside.modelBytes <= limit)) {
    if (inside.modelBytes > limit) {
      throw new OnnxError('R0513', `the model is ${describeBytes(inside.modelBytes)}, more than the ${describeBytes(limit + 1)} an ONNX file can hold`, undefined, 'write it to a file (`resnetc compile`), which puts the weights in an external data file beside the model');
    }
    return inside;
  }
  if (options.location === undefined) throw new Error('an external data file needs a location');
  const external = frame(graph, meta, options.location);
  if (external.modelBytes > limit) {
    throw new OnnxError('R0513', `the model's graph alone, without its weights, is ${describeBytes(external.modelBytes)}, more than the ${describeBytes(limit + 1)} an ONNX file can hold`, undefined, 'make the spec smaller (fewer blocks or stages)');
  }
  return external;
}

/** The model framed with its tensors inside (`location` undefined) or in the data file at `location`. */
function frame(graph: OnnxGraph, meta: ModelMeta, location: string | undefined): ModelPlan {
  const header = onnx.ModelProto.encode({
    irVersion: irVersionFor(meta.opset),
    opsetImport: [{ domain: '', version: meta.opset }],
    producerName: 'resnetc',
    producerVersion: meta.producerVersion,
    ...(meta.docString ? { docString: meta.docString } : {}),
  }).finish();
  const body = onnx.GraphProto.encode({
    node: graph.nodes,
    name: graph.name,
    input: graph.inputs,
    output: graph.outputs,
    ...(graph.docString ? { docString: graph.docString } : {}),
  }).finish();

  const tensors: PlannedTensor[] = [];
  let graphLength = body.length;
  let dataBytes = 0;
  for (const init of graph.initializers) {
    const rawLength = byteLength(init);
    const fields = { dims: init.dims, dataType: init.dataType, name: init.name };
    if (location !== undefined && rawLength >= externalDataThreshold) {
      // TensorProto with data_location EXTERNAL and external_data entries, as onnx's save_model writes them.
      const offset = alignUp(dataBytes, externalDataAlignment(rawLength));
      dataBytes = offset + rawLength;
      const externalData = [
        { key: 'location', value: location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(rawLength) },
      ];
      const tensor = onnx.TensorProto.encode({ ...fields, externalData, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL }).finish();
      const entry = concat([tag(field.graphInitializer), varint(tensor.length), tensor]);
      tensors.push({ init, rawLength, header: entry, offset });
      graphLength += entry.length;
    } else {
      // TensorProto: dims, data_type and name by onnx-proto, raw_data (field 9) appended here.
      const tensorHeader = onnx.TensorProto.encode(fields).finish();
      const tensorLength = tensorHeader.length + tag(field.tensorRawData).length + varintLength(rawLength) + rawLength;
      const entry = concat([tag(field.graphInitializer), varint(tensorLength), tensorHeader, tag(field.tensorRawData), varint(rawLength)]);
      tensors.push({ init, rawLength, header: entry });
      graphLength += entry.length + rawLength;
    }
  }
  const head = [header, tag(field.modelGraph), varint(graphLength), body];
  const modelBytes = head.reduce((a, c) => a + c.length, 0) + graphLength - body.length;
  return { head, tensors, modelBytes, ...(location !== undefined && dataBytes > 0 ? { data: { location, bytes: dataBytes } } : {}) };
}

const alignUp = (n: number, alignment: number): number => Math.ceil(n / alignment) * alignment;

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const littleEndian = endianness() === 'LE';

/** A tensor's values as ONNX raw_data (little-endian), without copying on little-endian machines. */
function rawBytes(values: Float32Array | BigInt64Array): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (littleEndian) return bytes;
  const swapped = new Uint8Array(bytes.length);
  const width = values.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += width) for (let j = 0; j < width; j++) swapped[i + j] = bytes[i + width - 1 - j]!;
  return swapped;
}

/** A tensor's values as raw bytes, checked against the length its shape gives. */
function valuesOf(t: PlannedTensor): Uint8Array {
  const raw = rawBytes(t.init.values());
  if (raw.length !== t.rawLength) throw new Error(`initialiser '${t.init.name}' has ${raw.length} bytes, its shape says ${t.rawLength}`);
  return raw;
}

/** Writes the model file to the sink, with the values of the tensors planned inside it; returns the bytes written. */
export function writeModel(plan: ModelPlan, sink: ByteSink): number {
  for (const chunk of plan.head) sink.write(chunk);
  for (const t of plan.tensors) {
    sink.write(t.header);
    if (t.offset === undefined) sink.write(valuesOf(t));
  }
  return plan.modelBytes;
}

/** Writes the external data file to the sink: the values of the tensors planned there, at their offsets; returns the bytes written. */
export function writeExternalData(plan: ModelPlan, sink: ByteSink): number {
  let at = 0;
  for (const t of plan.tensors) {
    if (t.offset === undefined) continue;
    if (t.offset > at) sink.write(new Uint8Array(t.offset - at));
    sink.write(valuesOf(t));
    at = t.offset + t.rawLength;
  }
  return at;
}

/** The whole model in one buffer, allocated once at its final size; every tensor inside (R0513 past maxModelBytes). */
export function serializeModel(graph: OnnxGraph, meta: ModelMeta): Uint8Array {
  const plan = planModel(graph, meta, { externalData: 'never' });
  const out = new Uint8Array(plan.modelBytes);
  let at = 0;
  writeModel(plan, {
    write(chunk) {
      out.set(chunk, at);
      at += chunk.length;
    },
  });
  return out;
}
