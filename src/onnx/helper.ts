import { DataType, type AttributeProto, type NodeProto, type ValueInfoProto } from './proto.js';

/**
 * Small builders in the spirit of ONNX's `onnx.helper` (make_node, make_attribute,
 * make_tensor_value_info): they keep the emitter reading like the network it describes.
 */

export type AttributeValue = number | number[] | string;

/** An attribute; integers (and integer arrays) become INT/INTS, other numbers FLOAT. */
export function makeAttribute(name: string, value: AttributeValue, kind?: 'int' | 'float'): AttributeProto {
  if (typeof value === 'string') return { name, type: 3, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: 7, ints: value };
  if (kind === 'float' || (kind === undefined && !Number.isInteger(value))) return { name, type: 1, f: value };
  return { name, type: 2, i: value };
}

/** A node; `attributes` maps names to values, floats marked by `floats`. */
export function makeNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  name: string,
  attributes: Record<string, AttributeValue> = {},
  floats: readonly string[] = [],
): NodeProto {
  return {
    opType,
    input: inputs,
    output: outputs,
    name,
    attribute: Object.entries(attributes).map(([k, v]) => makeAttribute(k, v, floats.includes(k) ? 'float' : undefined)),
  };
}

/** A float tensor's name and shape; strings in `dims` are symbolic (the batch `N`), undefined ones unknown. */
export function makeTensorValueInfo(name: string, dims: (number | string | undefined)[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: dims.map((d) => (d === undefined ? {} : typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}
