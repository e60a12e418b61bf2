import { makeNode, type AttributeValue } from './helper.js';
import { DataType, type NodeProto, type ValueInfoProto } from './proto.js';

/**
 * A tensor the graph stores. Its values are produced only when the writer reaches it, so
 * folded weights exist one tensor at a time and the model's weights are never held twice.
 */
export interface Initializer {
  name: string;
  dims: number[];
  dataType: typeof DataType.FLOAT | typeof DataType.INT64;
  values(): Float32Array | BigInt64Array;
}

/** An ONNX graph before serialisation: nodes in execution order, initialisers lazy. */
export interface OnnxGraph {
  name: string;
  nodes: NodeProto[];
  initializers: Initializer[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  docString?: string;
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function byteLength(init: Initializer): number {
  return elementCount(init.dims) * (init.dataType === DataType.INT64 ? 8 : 4);
}

/**
 * Collects nodes and initialisers. A node is named after the value it produces, and values
 * after the layer that makes them (`conv3.block0.conv1`), so a node found in Netron leads
 * straight back to the spec.
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: Initializer[] = [];
  private readonly taken = new Set<string>();

  /** Adds a node producing `output` (also the node's name); returns `output`. */
  node(opType: string, inputs: string[], output: string, attributes: Record<string, AttributeValue> = {}, floats: readonly string[] = []): string {
    this.claim(output);
    this.nodes.push(makeNode(opType, inputs, [output], output, attributes, floats));
    return output;
  }

  /** Adds a float initialiser whose values are computed when written; returns its name. */
  floats(name: string, dims: number[], values: () => Float32Array): string {
    this.claim(name);
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, values });
    return name;
  }

  /** Adds an int64 initialiser (the settings Slice and Pad read from inputs); returns its name. */
  int64s(name: string, values: number[]): string {
    this.claim(name);
    this.initializers.push({ name, dims: [values.length], dataType: DataType.INT64, values: () => BigInt64Array.from(values, BigInt) });
    return name;
  }

  /**
   * A float scalar the graph shares wherever it needs that constant (`const.0.5`): the
   * factors and terms of activations written out in elementary operators.
   */
  scalar(value: number): string {
    const name = `const.${value}`;
    if (!this.taken.has(name)) this.floats(name, [], () => Float32Array.of(value));
    return name;
  }

  /**
   * Gives each graph output's name to the value it returns (the producing node keeps its
   * name; the nodes reading the value read it under the new one) and returns the graph.
   * A value returned twice, or the graph's input returned, goes through an Identity.
   */
  finish(name: string, input: ValueInfoProto, outputs: { value: string; info: ValueInfoProto }[], docString?: string): OnnxGraph {
    const renamed = new Set<string>();
    for (const { value, info } of outputs) {
      const to = info.name!;
      const producer = this.nodes.find((n) => n.output?.[0] === value);
      if (!producer || renamed.has(value)) {
        this.node('Identity', [renamed.has(value) ? this.outputOf(outputs, value) : value], to);
        continue;
      }
      this.claim(to);
      producer.output = [to];
      for (const n of this.nodes) n.input = n.input!.map((i) => (i === value ? to : i));
      renamed.add(value);
    }
    return { name, nodes: this.nodes, initializers: this.initializers, inputs: [input], outputs: outputs.map((o) => o.info), ...(docString ? { docString } : {}) };
  }

  /** The name the value was given as the first output returning it. */
  private outputOf(outputs: { value: string; info: ValueInfoProto }[], value: string): string {
    return outputs.find((o) => o.value === value)!.info.name!;
  }

  private claim(name: string): void {
    if (this.taken.has(name)) throw new Error(`two values named '${name}'`);
    this.taken.add(name);
  }
}
