import { layerTensors } from '../model/tensors.js';
import type { ActivationLayer, Block, CheckedModel, ConvLayer, DenseLayer, GlobalPoolLayer, Layer, NormLayer, PoolLayer, SqueezeExcitation } from '../model/types.js';
import { walkLayers } from '../model/walk.js';
import type { WeightSet } from '../weights/init.js';
import type { WeightLookup } from '../weights/source.js';
import type { Code } from '../diagnostics/codes.js';
import { readInputFile } from '../io/read.js';
import { activationValue } from './activations.js';
import { computes, elementwiseFrom, type ElementwiseGraph } from './elementwise.js';
import { OnnxError } from './errors.js';
import { externalLocation, externalTensorData, readExternalTensorData, type ExternalTensorData } from './external-data.js';
import { DataType, onnx, type ValueInfoProto, type DecodedAttribute as AttributeProto, type DecodedGraph, type DecodedNode as NodeProto, type DecodedTensor as TensorProto } from './proto.js';

/**
 * Weights from another ONNX file of the same architecture, matched by place.
 *
 * The file's graph is walked from its input along the data flow, the spec's layers in
 * execution order alongside: each layer must find a node of its kind consuming the current
 * value, with parameters of its shapes. A block is matched as a whole: its residual branch
 * from the block's input (or pre-activated input), its shortcut likewise, and an Add that
 * sums exactly those two. So the branch and the shortcut are told apart by where they lead,
 * never by names or by the order the file lists nodes or tensors in (PyTorch's exporter, for
 * one, writes a block's branch before its shortcut, whose 1x1 convolution may have the
 * branch's last one's shape). Where several readings are possible, every one is tried.
 *
 * Nodes that do not change values (Identity, Dropout, Flatten, Reshape, Squeeze,
 * Unsqueeze) are looked through. A batch norm is a BatchNormalization node, or, after a
 * convolution, may have been folded into that Conv (PyTorch's default export: eval mode,
 * constant folding). Such a norm is rebuilt as the function it computed: the outputs are
 * the same, but the running statistics the network was trained with are not in the file.
 * A group norm is a GroupNormalization with the per-channel scale and shift (opset 21), or
 * a normalisation per group with scale 1 and shift 0 (GroupNormalization before 21, or
 * PyTorch's Reshape and InstanceNormalization) followed by a Mul and an Add per channel.
 * An activation is any run of parameter-free elementwise nodes from the value that computes
 * PyTorch's function (checked at sample points: `elementwise.ts`), so that `Gelu` and
 * PyTorch's Erf-based GELU, `Mish` and Softplus-Tanh-Mul all match; so is the mean of the
 * two global pools of `pool avgmax`.
 */
export function importOnnxWeights(bytes: Uint8Array, model: CheckedModel, options: MatchOptions = {}): WeightSet {
  const source = importOnnxWeightSource(bytes, model, options);
  const weights: WeightSet = new Map();
  for (const { layer } of walkLayers(model)) for (const t of layerTensors(layer)) weights.set(t.name, source.get(t.name)!);
  return weights;
}

/**
 * The same weights, matched up front (every failure is thrown here) but decoded only when
 * asked for, each time into a new array: a streaming writer then holds the file and one
 * tensor, never the model twice.
 */
export function importOnnxWeightSource(bytes: Uint8Array, model: CheckedModel, options: MatchOptions = {}): WeightLookup {
  return { get: parseOnnxWeights(bytes, options.path).match(model, options) };
}

/** An ONNX file decoded and checked (one value made by one node, no cycle), to be matched to models by place. */
export interface OnnxWeightsFile {
  /** The channels of the graph's input (its dimension 1), where the file declares them. */
  readonly channels: number | undefined;
  /** The classes of the graph's only output, [N, classes], where the file declares them. */
  readonly classes: number | undefined;
  /**
   * `model`'s tensors matched by place (every failure is thrown here: OnnxError), decoded when
   * asked for, each time into a new array; undefined for a name the model lacks.
   */
  match(model: CheckedModel, options?: MatchOptions): (name: string) => Float32Array | undefined;
}

/**
 * Decodes an ONNX file for matching; `path` (the file's) locates its external data, without
 * which a tensor stored there is R0505. Throws OnnxError (R0502 not an ONNX model, R0508, R0509).
 */
export function parseOnnxWeights(bytes: Uint8Array, path?: string): OnnxWeightsFile {
  const net = OnnxNet.parse(bytes, path);
  return {
    channels: net.inputChannels,
    classes: net.outputClasses,
    match: (model, options = {}) => {
      const bindings = new Matcher(net, model, options.maxSteps ?? maxMatchSteps(model)).run();
      const layerOf = new Map<string, string>();
      for (const { layer } of walkLayers(model)) {
        for (const t of layerTensors(layer)) {
          if (!bindings.has(t.name)) throw new OnnxError('R0503', `the weights file has no tensor for '${t.name}'`, layer.name);
          layerOf.set(t.name, layer.name);
        }
      }
      // Decoding checks each tensor's storage: do it for all now, so no failure waits for the writer.
      for (const [name, b] of bindings) net.checkStorage(b, layerOf.get(name) ?? name);
      return (name) => {
        const b = bindings.get(name);
        return b ? net.values(b, layerOf.get(name) ?? name) : undefined;
      };
    },
  };
}

export interface MatchOptions {
  /** The most steps of matching before giving up with R0507 (`maxMatchSteps(model)` unless set). */
  maxSteps?: number;
  /** The path of the file the bytes are, whose folder holds its external data (a tensor stored there is R0505 without it). */
  path?: string;
}

/**
 * The weights of the ONNX file at `path` (read as src/io reads every weights file: a regular
 * file, at most 2 GiB), matched as importOnnxWeightSource; tensors stored as external data
 * are read from the files the model names in its folder (external-data.ts), each when asked
 * for. Throws OnnxError and FileError.
 */
export function readOnnxWeightSource(path: string, model: CheckedModel, options: MatchOptions = {}): WeightLookup {
  return { get: readOnnxWeightsFile(path).match(model, options) };
}

/**
 * The ONNX file at `path` decoded once for matching (read as readOnnxWeightSource reads it,
 * external data located beside it), so that it can be matched against the spec or against the
 * spec as the file's network with another head or input (src/weights/adapt.ts).
 */
export function readOnnxWeightsFile(path: string): OnnxWeightsFile {
  return parseOnnxWeights(readInputFile(path, 'weights'), path);
}

/** readOnnxWeightSource's weights, all decoded. */
export function readOnnxWeights(path: string, model: CheckedModel, options: MatchOptions = {}): WeightSet {
  return importOnnxWeights(readInputFile(path, 'weights'), model, { ...options, path });
}

/**
 * Where one of our tensors comes from: a tensor of the file (transposed for a Gemm without
 * transB), or, for a norm the file folded away, a value the function it computed implies.
 */
type Binding = { theirs: string; transpose?: [number, number] } | { fill: number; length: number };

interface Match {
  /** The value the matched layers produce. */
  end: string;
  bound: [string, Binding][];
}

const transparent = new Set(['Identity', 'Dropout', 'Flatten', 'Reshape', 'Squeeze', 'Unsqueeze']);
const reshaping = new Set(['Flatten', 'Reshape', 'Squeeze', 'Unsqueeze']);
const parameterized = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'GroupNormalization']);

function toNumber(v: number | { toString(): string }): number {
  return typeof v === 'number' ? v : Number(v.toString());
}

function attribute(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name) as AttributeProto | undefined;
}

function ints(node: NodeProto, name: string): number[] | undefined {
  const a = attribute(node, name);
  return a?.ints ? a.ints.map(toNumber) : undefined;
}

function int(node: NodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a?.i !== undefined && a.i !== null ? toNumber(a.i) : fallback;
}

/** A value's dimension `i` where the file gives it as a number (not a symbol such as `N`). */
function declaredDim(value: ValueInfoProto, i: number): number | undefined {
  const d = value.type?.tensorType?.shape?.dim?.[i]?.dimValue;
  const n = d === undefined || d === null ? undefined : toNumber(d);
  return n !== undefined && n > 0 ? n : undefined;
}

const same = (a: readonly number[] | undefined, b: readonly number[]): boolean => a !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);
const dimsText = (d: readonly number[]): string => (d.length === 0 ? 'a scalar' : d.join('x'));

/**
 * A node on a cycle, or undefined when the nodes can be ordered so that each reads only what
 * earlier ones made: Kahn's algorithm, linear in the graph, whatever order the file lists
 * its nodes in (files may list them out of order).
 */
function nodeOnCycle(nodes: NodeProto[], producers: Map<string, NodeProto>): NodeProto | undefined {
  const waiting = new Map<NodeProto, number>();
  const readers = new Map<NodeProto, NodeProto[]>();
  for (const node of nodes) {
    let count = 0;
    for (const input of node.input) {
      const producer = input ? producers.get(input) : undefined;
      if (!producer) continue;
      count++;
      const list = readers.get(producer);
      if (list) list.push(node);
      else readers.set(producer, [node]);
    }
    waiting.set(node, count);
  }
  const ready = nodes.filter((n) => waiting.get(n) === 0);
  for (let i = 0; i < ready.length; i++) {
    for (const reader of readers.get(ready[i]!) ?? []) {
      const left = waiting.get(reader)! - 1;
      waiting.set(reader, left);
      if (left === 0) ready.push(reader);
    }
  }
  if (ready.length === nodes.length) return undefined;
  // Every node left waits for a node left: walking back along them must come round.
  const seen = new Set<NodeProto>();
  let node = nodes.find((n) => waiting.get(n)! > 0);
  while (node && !seen.has(node)) {
    seen.add(node);
    node = node.input.map((i) => (i ? producers.get(i) : undefined)).find((p) => p !== undefined && waiting.get(p)! > 0);
  }
  return node;
}

/** The parsed file: nodes indexed by the values they consume, tensors by name. */
class OnnxNet implements ElementwiseGraph {
  readonly consumers = new Map<string, NodeProto[]>();
  readonly producers = new Map<string, NodeProto>();
  readonly tensors = new Map<string, TensorProto>();
  /** Values that are a tensor of the file reshaped (Unsqueeze, Reshape, Squeeze, Flatten of it): the tensor's name. */
  readonly reshaped = new Map<string, string>();
  readonly outputs = new Set<string>();
  input = '';
  inputChannels: number | undefined;
  outputClasses: number | undefined;

  /** The file's path, against which external data locations resolve; undefined for bytes from elsewhere. */
  path: string | undefined;

  static parse(bytes: Uint8Array, path?: string): OnnxNet {
    let model: ReturnType<typeof onnx.ModelProto.decode>;
    try {
      model = onnx.ModelProto.decode(bytes);
    } catch {
      // The decoder's own words (`invalid wire type 4 at offset 35`) say nothing to a user.
      throw new OnnxError('R0502', 'the weights file cannot be decoded as an ONNX model: it is damaged, cut short, or another kind of file', undefined, 'export the model again, or give one of the formats --weights reads (docs/onnx.md)');
    }
    // Decoding makes class instances, every repeated field present.
    const graph = model.graph as DecodedGraph | null;
    if (!graph || graph.node.length === 0) throw new OnnxError('R0502', 'the weights file is not an ONNX model: it has no graph');
    const net = new OnnxNet();
    net.path = path;
    for (const t of graph.initializer as TensorProto[]) net.tensors.set(t.name, t);
    // ONNX's own rules, which the matcher relies on: every value is made by one node, and
    // the graph has no cycle. A file that breaks them is refused here, before any matching.
    for (const node of graph.node as NodeProto[]) {
      for (const out of node.output) {
        if (!out) continue;
        const other = net.producers.get(out);
        if (other) {
          throw new OnnxError('R0508', `the weights file's graph makes '${out}' twice (nodes '${other.name || other.opType}' and '${node.name || node.opType}')`, undefined, 'export the model again; in ONNX every value is made by exactly one node');
        }
        net.producers.set(out, node);
      }
    }
    const cyclic = nodeOnCycle(graph.node as NodeProto[], net.producers);
    if (cyclic) {
      throw new OnnxError('R0509', `the weights file's graph has a cycle: node '${cyclic.name || cyclic.opType}' depends on its own output`, undefined, 'export the model again; an ONNX graph has no cycles');
    }
    for (const node of graph.node as NodeProto[]) {
      // Constants some exporters use for weights count as tensors, and so does an Identity
      // of a tensor: PyTorch's exporter stores equal tensors once and gives the others as
      // Identity nodes (a fresh model's norms, all ones and zeros, share one). ONNX lists
      // nodes in topological order, so an Identity of an Identity resolves in this pass.
      const value =
        node.opType === 'Constant'
          ? (attribute(node, 'value')?.t as TensorProto | undefined)
          : node.opType === 'Identity' && node.input[0]
            ? net.tensors.get(node.input[0])
            : undefined;
      if (value) net.tensors.set(node.output[0]!, value);
      else if (reshaping.has(node.opType) && node.input[0] && node.output[0]) {
        const tensor = net.tensors.has(node.input[0]) ? node.input[0] : net.reshaped.get(node.input[0]);
        if (tensor !== undefined) net.reshaped.set(node.output[0], tensor);
      }
      for (const input of node.input) {
        if (!input) continue;
        const list = net.consumers.get(input) ?? [];
        list.push(node);
        net.consumers.set(input, list);
      }
    }
    for (const o of graph.output) if (o.name) net.outputs.add(o.name);
    const input = graph.input.find((i) => i.name && !net.tensors.has(i.name));
    if (!input) throw new OnnxError('R0502', 'the weights file is not an ONNX model of a network: its graph has no input');
    net.input = input.name!;
    net.inputChannels = declaredDim(input, 1);
    const output = graph.output.length === 1 ? graph.output[0] : undefined;
    // A classifier's output is [N, classes]; a feature map's has rank 4.
    if (output && output.type?.tensorType?.shape?.dim?.length === 2) net.outputClasses = declaredDim(output, 1);
    return net;
  }

  dims(name: string): number[] | undefined {
    const t = this.tensors.get(name);
    return t ? t.dims.map(toNumber) : undefined;
  }

  /** The tensor `name` is, possibly reshaped (a per-channel scale unsqueezed to [C,1,1]), and its number of values. */
  stored(name: string | undefined): { tensor: string; length: number } | undefined {
    if (!name) return undefined;
    const tensor = this.tensors.has(name) ? name : this.reshaped.get(name);
    const dims = tensor === undefined ? undefined : this.dims(tensor);
    return dims ? { tensor: tensor!, length: dims.reduce((a, c) => a * c, 1) } : undefined;
  }

  private readonly scalars = new Map<string, number | undefined>();

  /** The value of a float tensor of one value (an activation's constant), else undefined. */
  scalar(name: string): number | undefined {
    if (this.scalars.has(name)) return this.scalars.get(name);
    const s = this.stored(name);
    const type = s ? this.tensors.get(s.tensor)!.dataType : undefined;
    const value = s?.length === 1 && (type === DataType.FLOAT || type === DataType.DOUBLE) ? this.values({ theirs: s.tensor }, name)[0] : undefined;
    this.scalars.set(name, value);
    return value;
  }

  /** Whether the tensor holds only `value` (decoded: for the few values of a per-group scale). */
  holdsOnly(tensor: string, value: number, layer: string): boolean {
    return this.values({ theirs: tensor }, layer).every((v) => v === value);
  }

  private readonly nextCache = new Map<string, { node: NodeProto; via: string }[]>();

  /**
   * Nodes that consume `value`, looking through nodes that do not change values; `via` is
   * what each node reads. In the order a depth-first walk finds them; each value is visited
   * once, so this ends on any graph. Kept per value: the matcher asks again and again.
   */
  next(value: string): { node: NodeProto; via: string }[] {
    const known = this.nextCache.get(value);
    if (known) return known;
    const found: { node: NodeProto; via: string }[] = [];
    const seen = new Set<string>();
    const stack: { nodes: NodeProto[]; i: number; via: string }[] = [];
    const enter = (v: string): void => {
      if (seen.has(v)) return;
      seen.add(v);
      stack.push({ nodes: this.consumers.get(v) ?? [], i: 0, via: v });
    };
    enter(value);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const node = top.nodes[top.i++];
      if (!node) stack.pop();
      else if (transparent.has(node.opType) && node.input[0] === top.via) enter(node.output[0]!);
      else found.push({ node, via: top.via });
    }
    this.nextCache.set(value, found);
    return found;
  }

  /** Whether `value` is (or leads, through value-preserving nodes, to) an output of the graph. */
  reachesOutput(value: string): boolean {
    const seen = new Set([value]);
    const queue = [value];
    for (let i = 0; i < queue.length; i++) {
      const v = queue[i]!;
      if (this.outputs.has(v)) return true;
      for (const n of this.consumers.get(v) ?? []) {
        const out = n.output[0];
        if (transparent.has(n.opType) && n.input[0] === v && out && !seen.has(out)) {
          seen.add(out);
          queue.push(out);
        }
      }
    }
    return false;
  }

  /**
   * Whether `value` is computed from `source` by nodes without parameters (a zero-padding
   * shortcut), within 32 nodes: a walk back along producers, each value visited once.
   */
  derivesWithoutParameters(value: string, source: string): boolean {
    const depth = new Map([[value, 0]]);
    const queue = [value];
    for (let i = 0; i < queue.length; i++) {
      const v = queue[i]!;
      if (v === source) return true;
      const node = this.producers.get(v);
      const d = depth.get(v)!;
      if (!node || d >= 32 || parameterized.has(node.opType)) continue;
      for (const input of node.input) {
        if (!input || this.tensors.has(input) || depth.has(input)) continue;
        depth.set(input, d + 1);
        queue.push(input);
      }
    }
    return false;
  }

  /** Whether `a` is `b`, or `b` passed through value-preserving nodes (walked back along producers). */
  sameValue(a: string, b: string): boolean {
    const seen = new Set<string>();
    for (let v: string | undefined = a; v !== undefined && !seen.has(v); ) {
      if (v === b) return true;
      seen.add(v);
      const node = this.producers.get(v);
      v = node && transparent.has(node.opType) ? node.input[0] : undefined;
    }
    return false;
  }

  /** The external data of each tensor checked so far (by the file's tensor name). */
  private readonly external = new Map<string, ExternalTensorData>();

  /**
   * Throws unless the tensor is stored in a form `values` reads: float32 or float64,
   * complete, inside the file or in external data beside it (external-data.ts: R0510–R0512,
   * and FileError R0813, R0811, R0101 for its data file).
   */
  checkStorage(b: Binding, layer: string): void {
    if ('fill' in b) return;
    const t = this.tensors.get(b.theirs)!;
    if (t.dataType !== DataType.FLOAT && t.dataType !== DataType.DOUBLE) {
      throw new OnnxError('R0505', `'${t.name}' holds data type ${t.dataType}; resnetc reads float32 and float64 weights`, layer);
    }
    const expected = t.dims.map(toNumber).reduce((a, c) => a * c, 1);
    const width = t.dataType === DataType.FLOAT ? 4 : 8;
    if (t.dataLocation === externalLocation) {
      if (this.path === undefined) {
        throw new OnnxError('R0505', `'${t.name}' is stored outside the file (external data), and the file's folder is not known`, layer, 'read the model from its path (readOnnxWeights), where its external data lies');
      }
      if (!this.external.has(t.name)) this.external.set(t.name, externalTensorData(t, this.path, expected * width, layer));
      return;
    }
    const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
    const stored = raw ? raw.length / width : t.dataType === DataType.FLOAT ? t.floatData.length : t.doubleData.length;
    if (stored !== expected) throw new OnnxError('R0505', `'${t.name}' holds ${stored} values but its shape says ${expected}`, layer);
  }

  /** A tensor's values as float32 (a new array), transposed when the binding says so. */
  values(b: Binding, layer: string): Float32Array {
    if ('fill' in b) return new Float32Array(b.length).fill(b.fill);
    this.checkStorage(b, layer);
    const t = this.tensors.get(b.theirs)!;
    const ref = this.external.get(t.name);
    // Bytes of their own (a copy of raw_data, or read from the data file), so the array may be handed out.
    const own = ref ? readExternalTensorData(ref, t, layer) : t.rawData && t.rawData.length > 0 ? new Uint8Array(t.rawData) : undefined;
    let values: Float32Array;
    if (t.dataType === DataType.FLOAT) {
      values = own ? new Float32Array(own.buffer, own.byteOffset, own.byteLength / 4) : Float32Array.from(t.floatData);
    } else {
      values = Float32Array.from(own ? new Float64Array(own.buffer, own.byteOffset, own.byteLength / 8) : t.doubleData);
    }
    if (!b.transpose) return values;
    const [rows, cols] = b.transpose;
    const out = new Float32Array(values.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
    return out;
  }
}

interface Failure {
  rank: number;
  code: Code;
  layer: string;
  message: string;
  help?: string;
}

/**
 * The most steps of matching (a candidate node looked at, a reading extended) tried before
 * giving up (R0507): 100,000 and 100 per layer of the spec. Matching a network's own export
 * takes two or three a layer (ResNet-152: about 1,100 for its 500 layers); the bound only
 * stops graphs built to be ambiguous, in seconds (a step costs some 10 to 60 µs).
 */
export function maxMatchSteps(model: CheckedModel): number {
  let layers = 0;
  for (const _ of walkLayers(model)) layers++;
  return matchSteps.base + matchSteps.perLayer * layers;
}

export const matchSteps = { base: 100_000, perLayer: 100 } as const;

class Matcher {
  private readonly rank = new Map<string, number>();
  private failure: Failure | undefined;
  private steps = 0;

  constructor(
    private readonly net: OnnxNet,
    private readonly model: CheckedModel,
    private readonly maxSteps: number,
  ) {
    let i = 0;
    for (const { layer } of walkLayers(model)) {
      this.rank.set(layer.name, i);
      if (layer.op === 'se') for (const sub of [layer.reduce, layer.act, layer.expand]) this.rank.set(sub.name, i);
      i++;
    }
  }

  /**
   * Our tensor names → the file's tensors; throws the most advanced failure when nothing
   * matches. The spec is read unit by unit (the stem, each block, the ending, the head);
   * what a unit matches depends only on the value it starts from, so each unit keeps one
   * reading per value it can end at: the work is polynomial in the graph's size however
   * ambiguous the graph (a depth-first search over readings was exponential), and bounded
   * by `maxMatchSteps` besides (R0507).
   */
  run(): Map<string, Binding> {
    type Unit = (v: string) => Match[];
    const units: Unit[] = [(v) => this.path(this.model.stem, v)];
    for (const stage of this.model.stages) for (const block of stage.blocks) units.push((v) => this.block(block, v));
    units.push((v) => this.path(this.model.final, v));
    units.push((v) => this.path(this.model.head?.layers ?? [], v));
    let last: Layer | undefined;
    for (const { layer } of walkLayers(this.model)) last = layer;

    /** Per unit: each value it can end at, with the value it started from and what it bound. */
    const steps: Map<string, { from: string; bound: [string, Binding][] }>[] = [];
    let frontier: Iterable<string> = [this.net.input];
    for (const unit of units) {
      const reached = new Map<string, { from: string; bound: [string, Binding][] }>();
      for (const v of frontier) for (const m of unit(v)) if (!reached.has(m.end)) reached.set(m.end, { from: v, bound: m.bound });
      if (reached.size === 0) throw this.failed();
      steps.push(reached);
      frontier = reached.keys();
    }
    const found = [...steps[steps.length - 1]!.keys()].find((v) => this.net.reachesOutput(v));
    if (found === undefined) {
      const v = steps[steps.length - 1]!.keys().next().value!;
      const after = this.net.next(v).map((n) => n.node.opType);
      this.fail(last!, 'R0506', `the weights file's network goes on after the spec's last layer '${last!.name}' (with ${after.join(', ') || 'nothing'})`, 'the file has more layers than the spec: check the stages and the head');
      throw this.failed();
    }
    const bindings = new Map<string, Binding>();
    let end = found;
    for (let i = steps.length - 1; i >= 0; i--) {
      const reading = steps[i]!.get(end)!;
      for (const [name, binding] of reading.bound) bindings.set(name, binding);
      end = reading.from;
    }
    return bindings;
  }

  /** The most advanced failure, as the error to throw. */
  private failed(): OnnxError {
    const f: Failure = this.failure ?? { rank: 0, code: 'R0503', layer: this.model.name, message: "the weights file's network differs from the spec" };
    return new OnnxError(f.code, `${f.layer}: ${f.message}`, f.layer, f.help ?? 'the weights file must describe the same network as the spec');
  }

  /** Counts a step of matching; throws R0507 past the bound. */
  private step(): void {
    if (++this.steps > this.maxSteps) {
      throw new OnnxError(
        'R0507',
        `the weights file's graph is too ambiguous to match: ${this.maxSteps.toLocaleString('en-US')} readings of it were tried (nodes that read the same value and look alike)`,
        undefined,
        'export the model again without duplicated nodes',
      );
    }
  }

  private fail(layer: Layer, code: Code, message: string, help?: string): [] {
    const rank = this.rank.get(layer.name) ?? 0;
    const f = this.failure;
    if (!f || rank > f.rank || (rank === f.rank && code === 'R0504' && f.code !== 'R0504')) {
      this.failure = { rank, code, layer: layer.name, message, ...(help ? { help } : {}) };
    }
    return [];
  }

  /**
   * All the ways a sequence of layers reads from `v`, one per value they can end at. A
   * convolution followed by a norm may also be one Conv with a bias: the norm folded into
   * it (see `conv`).
   */
  path(layers: readonly Layer[], v: string): Match[] {
    // reached[i]: after the first i layers, each value reached with what was bound on the way.
    const reached = Array.from({ length: layers.length + 1 }, () => new Map<string, [string, Binding][]>());
    reached[0]!.set(v, []);
    const add = (i: number, end: string, bound: [string, Binding][], more: [string, Binding][]): void => {
      this.step();
      if (!reached[i]!.has(end)) reached[i]!.set(end, [...bound, ...more]);
    };
    for (const [i, layer] of layers.entries()) {
      for (const [end, bound] of reached[i]!) {
        for (const n of this.layer(layer, end)) add(i + 1, n.end, bound, n.bound);
        const next = layers[i + 1];
        if (layer.op === 'conv' && !layer.bias && next?.op === 'norm' && next.kind === 'batch') {
          for (const n of this.conv(layer, end, next)) add(i + 2, n.end, bound, n.bound);
        }
      }
    }
    return [...reached[layers.length]!].map(([end, bound]) => ({ end, bound }));
  }

  /** The ways a block reads from `x`, one per value it can end at. */
  block(block: Block, x: string): Match[] {
    const results = new Map<string, Match>();
    for (const pre of this.path(block.preactivation, x)) {
      for (const branch of this.path(block.branch, pre.end)) {
        const adds = (this.net.consumers.get(branch.end) ?? []).filter((n) => n.opType === 'Add' || n.opType === 'Sum');
        if (adds.length === 0) {
          const last = block.branch.at(-1)!;
          this.fail(last, 'R0503', `expected the residual branch to end in an addition; the file has ${this.describeNext(branch.end)}`);
        }
        for (const add of adds) {
          if (add.input.length !== 2) {
            this.fail(block.branch.at(-1)!, 'R0503', `expected the residual branch to be added to the shortcut; the file's ${add.opType} '${add.name}' sums ${add.input.length} values`);
            continue;
          }
          const other = add.input[0] === branch.end ? add.input[1]! : add.input[0]!;
          for (const shortcut of this.shortcut(block, x, pre.end, other)) {
            for (const after of this.path(block.after, add.output[0]!)) {
              this.step();
              if (!results.has(after.end)) results.set(after.end, { end: after.end, bound: [...pre.bound, ...branch.bound, ...shortcut.bound, ...after.bound] });
            }
          }
        }
      }
    }
    return [...results.values()];
  }

  /** The shortcut's matches that end at `other`, the Add's second input. */
  private shortcut(block: Block, x: string, preactivated: string, other: string): Match[] {
    const s = block.shortcut;
    const where = block.branch.at(-1)!;
    if (s.kind === 'identity' || s.kind === 'subsample_pad') {
      const ok = s.kind === 'identity' ? this.sameValue(other, x) : this.net.derivesWithoutParameters(other, x);
      if (ok) return [{ end: other, bound: [] }];
      this.fail(where, 'R0503', `expected ${s.kind === 'identity' ? 'the block input itself' : "the block input without parameters (shortcut A)"} as the shortcut; the file adds ${this.describeValue(other)}`);
      return [];
    }
    const source = s.source === 'preactivated' ? preactivated : x;
    const matches = this.path(s.layers, source).filter((m) => this.sameValue(other, m.end));
    if (matches.length === 0) this.fail(s.layers.at(-1)!, 'R0503', `expected the projection shortcut to be added to the residual branch; the file adds ${this.describeValue(other)}`);
    return matches;
  }

  private sameValue(a: string, b: string): boolean {
    return this.net.sameValue(a, b);
  }

  private describeValue(v: string): string {
    const node = this.net.producers.get(v);
    return node ? `the output of a ${node.opType} node ('${node.name || v}')` : `'${v}'`;
  }

  private describeNext(v: string): string {
    const ops = this.net.next(v).map((n) => `${n.node.opType}${n.node.name ? ` ('${n.node.name}')` : ''}`);
    return ops.length ? ops.join(', ') : 'nothing after it';
  }

  /** Candidate nodes of one of the op types reading `v`; a failure naming what was found instead. */
  private candidates(layer: Layer, v: string, ops: readonly string[], what: string): NodeProto[] {
    const found = this.net.next(v).filter((n) => ops.includes(n.node.opType) && n.node.input[0] === n.via).map((n) => n.node);
    for (let i = 0; i < found.length; i++) this.step();
    if (found.length === 0) this.fail(layer, 'R0503', `expected ${what}; the file has ${this.describeNext(v)}`);
    return found;
  }

  layer(layer: Layer, v: string): Match[] {
    switch (layer.op) {
      case 'conv':
        return this.conv(layer, v);
      case 'norm':
        return this.norm(layer, v);
      case 'act':
        return this.activation(layer, v);
      case 'maxpool':
      case 'avgpool':
        return this.pool(layer, v);
      case 'global_pool':
        return this.globalPool(layer, v);
      case 'dropout':
        return [{ end: v, bound: [] }];
      case 'dense':
        return this.dense(layer, v);
      case 'subsample_pad':
        return [{ end: v, bound: [] }];
      case 'se':
        return this.squeezeExcitation(layer, v);
    }
  }

  /**
   * A Conv node for the layer. With `folded`, the norm after the layer was folded into the
   * file's Conv (PyTorch's default export, in eval mode): the Conv has a bias, and the norm
   * is rebuilt as the function it computed, x + bias (scale 1, shift the bias, mean 0,
   * variance 1 - eps). Outputs are the same; the running statistics are not the ones the
   * network was trained with, which the file no longer holds.
   */
  private conv(layer: ConvLayer, v: string, folded?: NormLayer): Match[] {
    const expected = [layer.out.c, layer.in.c / layer.groups, ...layer.kernel];
    const matches: Match[] = [];
    for (const node of this.candidates(layer, v, ['Conv'], `a Conv with a ${dimsText(expected)} weight`)) {
      const w = node.input[1];
      const dims = w ? this.net.dims(w) : undefined;
      if (!w || !dims) {
        this.fail(layer, 'R0503', `the Conv '${node.name}' takes its weight from another node, not from a stored tensor`);
        continue;
      }
      if (!same(dims, expected)) {
        this.fail(layer, 'R0504', `expected a convolution weight of ${dimsText(expected)}; the file's Conv '${node.name}' has ${dimsText(dims)}`);
        continue;
      }
      const group = int(node, 'group', 1);
      const strides = ints(node, 'strides') ?? [1, 1];
      const dilations = ints(node, 'dilations') ?? [1, 1];
      if (group !== layer.groups || !same(strides, [layer.stride, layer.stride]) || !same(dilations, [layer.dilation, layer.dilation])) {
        this.fail(
          layer,
          'R0504',
          `expected groups ${layer.groups}, stride ${layer.stride} and dilation ${layer.dilation}; the file's Conv '${node.name}' has groups ${group}, strides ${strides.join('x')} and dilations ${dilations.join('x')}`,
        );
        continue;
      }
      const bound: [string, Binding][] = [[`${layer.name}.weight`, { theirs: w }]];
      const b = node.input[2];
      const c = layer.out.c;
      if (folded || layer.bias) {
        if (!b || !same(this.net.dims(b), [c])) {
          const what = folded ? `${c} norm values or a bias of ${c}` : `a bias of ${c} values`;
          this.fail(folded ?? layer, 'R0504', `expected ${what} on the file's Conv '${node.name}'`);
          continue;
        }
        if (!folded) bound.push([`${layer.name}.bias`, { theirs: b }]);
        else {
          bound.push(
            [`${folded.name}.weight`, { fill: 1, length: c }],
            [`${folded.name}.bias`, { theirs: b }],
            [`${folded.name}.running_mean`, { fill: 0, length: c }],
            [`${folded.name}.running_var`, { fill: 1 - folded.eps, length: c }],
          );
        }
      } else if (b) {
        this.fail(layer, 'R0503', `the file's Conv '${node.name}' has a bias, which the spec's convolution does not`);
        continue;
      }
      matches.push({ end: node.output[0]!, bound });
    }
    return matches;
  }

  private norm(layer: NormLayer, v: string): Match[] {
    if (layer.kind === 'group') return this.groupNorm(layer, v);
    const c = layer.in.c;
    const matches: Match[] = [];
    const what = `a BatchNormalization of ${c} channels`;
    for (const node of this.candidates(layer, v, ['BatchNormalization'], what)) {
      const names = node.input.slice(1, 5);
      if (names.length !== 4 || !names.every((n) => same(this.net.dims(n), [c]))) {
        this.fail(layer, 'R0504', `expected ${what}; the file's BatchNormalization '${node.name}' has ${names.map((n) => dimsText(this.net.dims(n) ?? [])).join(', ')}`);
        continue;
      }
      const roles = ['weight', 'bias', 'running_mean', 'running_var'];
      matches.push({ end: node.output[0]!, bound: names.map((n, i) => [`${layer.name}.${roles[i]}`, { theirs: n }]) });
    }
    return matches;
  }

  /**
   * A group norm of G groups over C channels: a GroupNormalization whose scale and shift
   * have C values (opset 21's, per channel), or a normalisation per group (GroupNormalization
   * with G values, InstanceNormalization of the input reshaped to [N, G, -1]) with scale 1
   * and shift 0, followed by a Mul and an Add by C values each (PyTorch's own export).
   */
  private groupNorm(layer: NormLayer, v: string): Match[] {
    const { groups, name } = layer;
    const c = layer.in.c;
    const what = `a group norm of ${groups} groups over ${c} channels`;
    const weight = `${name}.weight`;
    const bias = `${name}.bias`;
    const matches: Match[] = [];
    for (const node of this.candidates(layer, v, ['GroupNormalization', 'InstanceNormalization'], what)) {
      const scale = this.net.stored(node.input[1]);
      const shift = this.net.stored(node.input[2]);
      const found = node.opType === 'GroupNormalization' ? int(node, 'num_groups', 0) : scale?.length;
      if (!scale || !shift || found !== groups) {
        this.fail(layer, 'R0504', `expected ${what}; the file's ${node.opType} '${node.name}' has ${found ?? 'no stored scale for its'} groups`);
        continue;
      }
      const out = node.output[0]!;
      if (node.opType === 'GroupNormalization' && scale.length === c && shift.length === c) {
        matches.push({ end: out, bound: [[weight, { theirs: scale.tensor }], [bias, { theirs: shift.tensor }]] });
      }
      if (scale.length !== groups || shift.length !== groups) continue;
      if (!this.net.holdsOnly(scale.tensor, 1, name) || !this.net.holdsOnly(shift.tensor, 0, name)) {
        this.fail(layer, 'R0504', `expected the per-group scale 1 and shift 0 of PyTorch's GroupNorm; the file's ${node.opType} '${node.name}' has others`);
        continue;
      }
      for (const mul of this.affine(out, 'Mul', c)) {
        for (const add of this.affine(mul.end, 'Add', c)) matches.push({ end: add.end, bound: [[weight, { theirs: mul.tensor }], [bias, { theirs: add.tensor }]] });
      }
      if (matches.length === 0) this.fail(layer, 'R0503', `expected the group norm's scale and shift per channel (a Mul and an Add by ${c} values); the file has ${this.describeNext(out)}`);
    }
    return matches;
  }

  /** The nodes of type `op` reading `v` with a stored tensor of `length` values as their other input. */
  private affine(v: string, op: 'Mul' | 'Add', length: number): { end: string; tensor: string }[] {
    const found: { end: string; tensor: string }[] = [];
    for (const { node, via } of this.net.next(v)) {
      this.step();
      if (node.opType !== op || node.input.length !== 2) continue;
      const other = this.net.stored(node.input[0] === via ? node.input[1] : node.input[0]);
      if (other?.length === length) found.push({ end: node.output[0]!, tensor: other.tensor });
    }
    return found;
  }

  /**
   * The activation: every value within 8 parameter-free elementwise nodes of `v` that is
   * PyTorch's function of `v` (checked at sample points), so that `Gelu` and the Erf-based
   * form PyTorch writes before opset 20, `Mish` and Softplus-Tanh-Mul, a SiLU as Sigmoid and
   * Mul, all match; a LeakyRelu only with the spec's slope.
   */
  private activation(layer: ActivationLayer, v: string): Match[] {
    const f = (x: number): number => activationValue(layer.fn, layer.negativeSlope, x);
    const matches: Match[] = [];
    for (const end of elementwiseFrom(this.net, v)) {
      this.step();
      if (computes(this.net, end, new Map([[v, 0]]), (xs) => f(xs[0]!))) matches.push({ end, bound: [] });
    }
    if (matches.length === 0) {
      const fn = layer.fn === 'leaky_relu' ? `leaky_relu with slope ${layer.negativeSlope}` : layer.fn;
      this.fail(layer, 'R0503', `expected the activation ${fn}; the file has ${this.describeNext(v)}`);
    }
    return matches;
  }

  /**
   * The head's global pool: GlobalAveragePool or ReduceMean, GlobalMaxPool or ReduceMax;
   * for `avgmax` a value computed from the two that is their mean (checked at sample
   * points), for `catavgmax` a Concat of the average then the max along axis 1.
   */
  private globalPool(layer: GlobalPoolLayer, v: string): Match[] {
    const ends = (ops: string[], what: string): string[] => this.candidates(layer, v, ops, what).filter((n) => n.opType !== 'MaxPool' || this.wholeMap(layer, n)).map((n) => n.output[0]!);
    // PyTorch 1.13 writes adaptive_max_pool2d(x, 1) as a MaxPool over the whole map.
    const maxOps = ['GlobalMaxPool', 'ReduceMax', 'MaxPool'];
    if (layer.kind === 'avg') return ends(['GlobalAveragePool', 'ReduceMean'], 'a global average pool').map((end) => ({ end, bound: [] }));
    if (layer.kind === 'max') return ends(maxOps, 'a global max pool').map((end) => ({ end, bound: [] }));
    const matches: Match[] = [];
    for (const avg of ends(['GlobalAveragePool', 'ReduceMean'], 'a global average pool')) {
      for (const max of ends(maxOps, 'a global max pool')) {
        if (layer.kind === 'catavgmax') {
          for (const { node } of this.net.next(avg)) {
            this.step();
            const [a, m] = node.input;
            if (node.opType === 'Concat' && node.input.length === 2 && int(node, 'axis', 0) === 1 && this.sameValue(a!, avg) && this.sameValue(m!, max)) matches.push({ end: node.output[0]!, bound: [] });
          }
        } else {
          for (const end of elementwiseFrom(this.net, avg)) {
            this.step();
            if (computes(this.net, end, new Map([[avg, 0], [max, 1]]), (xs) => 0.5 * (xs[0]! + xs[1]!))) matches.push({ end, bound: [] });
          }
        }
      }
    }
    if (matches.length === 0) this.fail(layer, 'R0503', `expected the ${layer.kind} global pool (timm's SelectAdaptivePool2d); the file has ${this.describeNext(v)}`);
    return matches;
  }

  /** Whether a MaxPool's one window is the layer's whole input map (no padding). */
  private wholeMap(layer: GlobalPoolLayer, node: NodeProto): boolean {
    return same(ints(node, 'kernel_shape'), [layer.in.h, layer.in.w]) && (ints(node, 'pads') ?? [0, 0, 0, 0]).every((p) => p === 0);
  }

  private pool(layer: PoolLayer, v: string): Match[] {
    const op = layer.op === 'maxpool' ? 'MaxPool' : 'AveragePool';
    const matches: Match[] = [];
    // A pool may read through an explicit Pad.
    const starts = [v, ...this.net.next(v).filter((n) => n.node.opType === 'Pad').map((n) => n.node.output[0]!)];
    for (const start of starts) {
      for (const node of this.net.next(start).filter((n) => n.node.opType === op && n.node.input[0] === n.via).map((n) => n.node)) {
        const kernel = ints(node, 'kernel_shape');
        if (!same(kernel, layer.kernel)) {
          this.fail(layer, 'R0504', `expected a ${layer.kernel.join('x')} ${op}; the file's '${node.name}' is ${kernel?.join('x') ?? 'without a kernel'}`);
          continue;
        }
        matches.push({ end: node.output[0]!, bound: [] });
      }
    }
    if (matches.length === 0) this.fail(layer, 'R0503', `expected a ${op}; the file has ${this.describeNext(v)}`);
    return matches;
  }

  private dense(layer: DenseLayer, v: string): Match[] {
    const [o, i] = [layer.out.c, layer.in.c];
    const matches: Match[] = [];
    for (const node of this.candidates(layer, v, ['Gemm'], `a Gemm to ${o} outputs`)) {
      const [w, b] = [node.input[1], node.input[2]];
      const wd = w ? this.net.dims(w) : undefined;
      const bd = b ? this.net.dims(b) : undefined;
      const transB = int(node, 'transB', 0) === 1;
      const ok = wd !== undefined && same(wd, transB ? [o, i] : [i, o]) && bd !== undefined && bd.reduce((a, c) => a * c, 1) === o;
      if (!ok || int(node, 'transA', 0) !== 0) {
        this.fail(layer, 'R0504', `expected a fully connected layer from ${i} to ${o}; the file's Gemm '${node.name}' has a weight of ${dimsText(wd ?? [])}${transB ? ' (transposed)' : ''}`);
        continue;
      }
      matches.push({
        end: node.output[0]!,
        bound: [
          [`${layer.name}.weight`, transB ? { theirs: w! } : { theirs: w!, transpose: [i, o] }],
          [`${layer.name}.bias`, { theirs: b! }],
        ],
      });
    }
    return matches;
  }

  /** Pool, reduce, act, expand, sigmoid, and a Mul of the sigmoid with the SE's own input. */
  private squeezeExcitation(layer: SqueezeExcitation, v: string): Match[] {
    const matches: Match[] = [];
    for (const pool of this.candidates(layer, v, ['GlobalAveragePool', 'ReduceMean'], 'the global average pool of a squeeze-and-excitation')) {
      for (const inner of this.path([layer.reduce, layer.act, layer.expand], pool.output[0]!)) {
        for (const gate of this.candidates(layer.expand, inner.end, ['Sigmoid'], 'a Sigmoid')) {
          const g = gate.output[0]!;
          const muls = (this.net.consumers.get(g) ?? []).filter((n) => n.opType === 'Mul' && n.input.some((i) => i !== g && this.sameValue(i, v)));
          if (muls.length === 0) this.fail(layer, 'R0503', `expected the squeeze-and-excitation gate to scale its input; the file has ${this.describeNext(g)}`);
          for (const mul of muls) matches.push({ end: mul.output[0]!, bound: inner.bound });
        }
      }
    }
    return matches;
  }
}
