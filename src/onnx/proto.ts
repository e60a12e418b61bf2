import onnxProto from 'onnx-proto';

/**
 * The ONNX protobuf messages (onnx-proto, protobufjs static code). Everything in src/onnx
 * reaches them through this module, so the CommonJS interop lives in one place.
 */
export const onnx = onnxProto.onnx;
export type NodeProto = onnxProto.onnx.INodeProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type ModelProto = onnxProto.onnx.IModelProto;
/** Decoded messages (every repeated field present). */
export type DecodedGraph = onnxProto.onnx.GraphProto;
export type DecodedNode = onnxProto.onnx.NodeProto;
export type DecodedTensor = onnxProto.onnx.TensorProto;
export type DecodedAttribute = onnxProto.onnx.AttributeProto;

/** TensorProto.DataType values resnetc writes or reads. */
export const DataType = { FLOAT: 1, INT64: 7, FLOAT16: 10, DOUBLE: 11 } as const;

/** Field numbers the streaming writer frames by hand (onnx.proto). */
export const field = {
  /** ModelProto.graph */
  modelGraph: 7,
  /** GraphProto.initializer */
  graphInitializer: 5,
  /** TensorProto.raw_data */
  tensorRawData: 9,
} as const;
