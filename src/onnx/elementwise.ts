import { activationValue, erf } from './activations.js';
import type { DecodedNode as NodeProto } from './proto.js';

/**
 * Parameter-free elementwise subgraphs of a weights file, read as functions: how the
 * importer recognises an activation however an exporter spelt it (`Gelu`, or PyTorch's
 * x·0.5·(1 + erf(x/√2)) in five nodes; `Mish` or Softplus, Tanh and Mul; a SiLU as Sigmoid
 * and Mul), and the mean of two global pools. A value is taken for the function when it
 * equals it at a set of sample points, computed in double precision from the nodes' ONNX
 * definitions. Work is bounded: values within `maxDepth` nodes, each evaluated once a point.
 */

/** What this module reads of the file's graph. */
export interface ElementwiseGraph {
  readonly consumers: ReadonlyMap<string, NodeProto[]>;
  readonly producers: ReadonlyMap<string, NodeProto>;
  /** The value of a stored tensor of exactly one value (a Constant, an initialiser), else undefined. */
  scalar(name: string): number | undefined;
}

/** The most nodes between a function's input and its output (PyTorch's GELU takes five). */
export const maxDepth = 8;

/** Sample points: both signs, near 0, the bends of every activation, and larger values. */
const points = [-6, -3, -1.7, -1, -0.45, -0.1, 0, 0.02, 0.3, 0.8, 1.6, 2.5, 7];

type Evaluate = (inputs: number[], node: NodeProto) => number;

const floatAttribute = (node: NodeProto, name: string, fallback: number): number => {
  const a = node.attribute.find((x) => x.name === name);
  return a?.f ?? fallback;
};

const stringAttribute = (node: NodeProto, name: string): string | undefined => {
  const s = node.attribute.find((x) => x.name === name)?.s;
  return s && s.length > 0 ? new TextDecoder().decode(s) : undefined;
};

/** ONNX's elementwise operators (their definitions in onnx/docs/Operators.md), on scalars. */
const operators: Record<string, Evaluate> = {
  Identity: ([x]) => x!,
  Dropout: ([x]) => x!,
  Neg: ([x]) => -x!,
  Abs: ([x]) => Math.abs(x!),
  Exp: ([x]) => Math.exp(x!),
  Log: ([x]) => Math.log(x!),
  Sqrt: ([x]) => Math.sqrt(x!),
  Tanh: ([x]) => Math.tanh(x!),
  Erf: ([x]) => erf(x!),
  Relu: ([x]) => Math.max(0, x!),
  Sigmoid: ([x]) => activationValue('sigmoid', 0, x!),
  Softplus: ([x]) => Math.log1p(Math.exp(x!)),
  Mish: ([x]) => activationValue('mish', 0, x!),
  Gelu: ([x], n) => (stringAttribute(n, 'approximate') === 'tanh' ? 0.5 * x! * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x! + 0.044715 * x! ** 3))) : activationValue('gelu', 0, x!)),
  LeakyRelu: ([x], n) => activationValue('leaky_relu', floatAttribute(n, 'alpha', 0.01), x!),
  Elu: ([x], n) => (x! >= 0 ? x! : floatAttribute(n, 'alpha', 1) * Math.expm1(x!)),
  HardSigmoid: ([x], n) => Math.max(0, Math.min(1, floatAttribute(n, 'alpha', 0.2) * x! + floatAttribute(n, 'beta', 0.5))),
  HardSwish: ([x]) => x! * Math.max(0, Math.min(1, x! / 6 + 0.5)),
  Add: ([a, b]) => a! + b!,
  Sub: ([a, b]) => a! - b!,
  Mul: ([a, b]) => a! * b!,
  Div: ([a, b]) => a! / b!,
  Pow: ([a, b]) => a! ** b!,
};

/**
 * The values reached from `v` through at most `maxDepth` elementwise nodes, nearest first:
 * the candidates for the output of a function of `v`. Each value is visited once.
 */
export function elementwiseFrom(g: ElementwiseGraph, v: string): string[] {
  const depth = new Map([[v, 0]]);
  const queue = [v];
  const found: string[] = [];
  for (let i = 0; i < queue.length; i++) {
    const value = queue[i]!;
    const d = depth.get(value)!;
    if (d >= maxDepth) continue;
    for (const node of g.consumers.get(value) ?? []) {
      const out = node.output[0];
      if (!out || !(node.opType in operators) || depth.has(out)) continue;
      depth.set(out, d + 1);
      queue.push(out);
      found.push(out);
    }
  }
  return found;
}

/**
 * Whether `end` is computed from the values `sources` (each the index of its argument of
 * `f`) by elementwise nodes and scalar constants alone, and equals `f` at every sample point
 * within 1e-5 (relative to values over 1). Sources take the sample points in turn, shifted
 * so that no two share a value.
 */
export function computes(g: ElementwiseGraph, end: string, sources: ReadonlyMap<string, number>, f: (xs: readonly number[]) => number): boolean {
  for (let p = 0; p < points.length; p++) {
    const xs = [...sources.values()].map((_, i) => points[(p + 5 * i) % points.length]!);
    const known = new Map<string, number>();
    for (const [name, i] of sources) known.set(name, xs[i]!);
    const got = evaluate(g, end, known, 0);
    const want = f(xs);
    if (got === undefined || !(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)))) return false;
  }
  return true;
}

/** The value `name` takes, or undefined where it depends on anything but the known values and scalars. */
function evaluate(g: ElementwiseGraph, name: string, known: Map<string, number>, depth: number): number | undefined {
  const k = known.get(name);
  if (k !== undefined) return k;
  const scalar = g.scalar(name);
  if (scalar !== undefined) return scalar;
  const node = g.producers.get(name);
  const op = node ? operators[node.opType] : undefined;
  // Depth is bounded (the function is at most maxDepth nodes deep), so recursion is too.
  if (!node || !op || depth > maxDepth) return undefined;
  const inputs: number[] = [];
  // Dropout's ratio and training mode, and the like, are not operands.
  const operands = node.opType === 'Dropout' ? node.input.slice(0, 1) : node.input;
  for (const input of operands) {
    const x = evaluate(g, input, known, depth + 1);
    if (x === undefined) return undefined;
    inputs.push(x);
  }
  const value = op(inputs, node);
  known.set(name, value);
  return value;
}
