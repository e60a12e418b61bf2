import { endianness } from 'node:os';
import type { ByteSink } from '../io/write.js';
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

interface Framed {
  /** Everything of the model except the initialisers' raw bytes, in order, as chunks. */
  head: Uint8Array[];
  tensors: { init: Initializer; header: Uint8Array; rawLength: number }[];
  size: number;
}

function frame(graph: OnnxGraph, meta: ModelMeta): Framed {
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

  const tensors: Framed['tensors'] = [];
  let graphLength = body.length;
  for (const init of graph.initializers) {
    const rawLength = byteLength(init);
    // TensorProto: dims, data_type and name by onnx-proto, raw_data (field 9) appended here.
    const tensorHeader = onnx.TensorProto.encode({ dims: init.dims, dataType: init.dataType, name: init.name }).finish();
    const tensorLength = tensorHeader.length + tag(field.tensorRawData).length + varintLength(rawLength) + rawLength;
    const entryHeader = concat([tag(field.graphInitializer), varint(tensorLength), tensorHeader, tag(field.tensorRawData), varint(rawLength)]);
    tensors.push({ init, header: entryHeader, rawLength });
    graphLength += entryHeader.length + rawLength;
  }
  const head = [header, tag(field.modelGraph), varint(graphLength), body];
  const size = head.reduce((a, c) => a + c.length, 0) + graphLength - body.length;
  return { head, tensors, size };
}

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

/** The model's size in bytes, known before any weight is computed. */
export function modelSize(graph: OnnxGraph, meta: ModelMeta): number {
  return frame(graph, meta).size;
}

/** Writes the model to the sink, one initialiser at a time; returns the bytes written. */
export function writeModel(graph: OnnxGraph, meta: ModelMeta, sink: ByteSink): number {
  const framed = frame(graph, meta);
  for (const chunk of framed.head) sink.write(chunk);
  for (const { init, header, rawLength } of framed.tensors) {
    sink.write(header);
    const raw = rawBytes(init.values());
    if (raw.length !== rawLength) throw new Error(`initialiser '${init.name}' has ${raw.length} bytes, its shape says ${rawLength}`);
    sink.write(raw);
  }
  return framed.size;
}

/** The whole model in one buffer, allocated once at its final size. */
export function serializeModel(graph: OnnxGraph, meta: ModelMeta): Uint8Array {
  const framed = frame(graph, meta);
  const out = new Uint8Array(framed.size);
  let at = 0;
  const sink: ByteSink = {
    write(chunk) {
      out.set(chunk, at);
      at += chunk.length;
    },
  };
  for (const chunk of framed.head) sink.write(chunk);
  for (const { init, header } of framed.tensors) {
    sink.write(header);
    sink.write(rawBytes(init.values()));
  }
  return out;
}
