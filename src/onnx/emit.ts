import { layerTensors, tensorSize } from '../model/tensors.js';
import type { ActivationLayer, Block, CheckedModel, ConvLayer, DenseLayer, GlobalPoolLayer, Layer, NormLayer, PoolLayer, SqueezeExcitation, SubsamplePadLayer } from '../model/types.js';
import { walkLayers } from '../model/walk.js';
import type { WeightLookup, WeightSource } from '../weights/source.js';
import { foldedConvBias, foldedConvWeight, normAffine, tensor, uniformFactor } from './fold.js';
import { GraphBuilder, type OnnxGraph } from './graph.js';
import { makeTensorValueInfo } from './helper.js';
import { defaultOpset } from './opset.js';
import { emitActivation } from './activations.js';

export interface EmitOptions {
  /** Fold batch norms into the convolutions before them (others become Mul and Add); leave dropout out. */
  inference: boolean;
  /** The opset the graph is for (13 to 21; 17 unless set): it decides how GELU, Mish and group norm are written. */
  opset?: number;
  /** Height and width symbolic (`H`, `W`), like the batch: the graph runs at any input size. */
  dynamicSize?: boolean;
}

/** The graph's input name, its one output's name when the model lists no `outputs`, and the symbolic dimensions. */
export const inputName = 'input';
export const outputName = 'output';
export const batchDim = 'N';
export const heightDim = 'H';
export const widthDim = 'W';

/**
 * The checked model as an ONNX graph: one function per layer kind, one for a block, and
 * the model as stem, stages, closing norm and head in order. Values are named after the
 * layers that produce them, initialisers after the PyTorch tensors they hold
 * (`conv3.block0.conv1.weight`). Weights are read when the writer reaches them.
 */
export function emitGraph(model: CheckedModel, weights: WeightSource, options: EmitOptions): OnnxGraph {
  // Weights held in memory are checked before anything is written; the other sources make
  // their tensors from the model itself (seeded) or matched them to it when opened.
  if (weights.format === 'memory') checkWeights(model, weights);
  const e = new Emitter(new GraphBuilder(), weights, options.inference, options.opset ?? defaultOpset);
  const stem = e.path(model.stem, inputName);
  const stages: string[] = [];
  let x = stem;
  for (const stage of model.stages) {
    for (const block of stage.blocks) x = e.block(block, x);
    stages.push(x);
  }
  // A pre-activation model's last stage ends with the closing norm and activation (timm's ResNetV2 features).
  x = e.path(model.final, x);
  if (model.final.length > 0 && stages.length > 0) stages[stages.length - 1] = x;
  const logits = e.path(model.head?.layers ?? [], x);
  const dynamic = options.dynamicSize ?? false;
  const { c, h, w } = model.input;
  const input = makeTensorValueInfo(inputName, [batchDim, c, dynamic ? heightDim : h, dynamic ? widthDim : w]);
  const outputs = model.outputs.map((o) => {
    const value = o.source === 'stem' ? stem : o.source === 'logits' ? logits : stages[o.stage!];
    if (value === undefined) throw new Error(`internal: output '${o.name}' names stage ${o.stage} of ${stages.length}`);
    // Spatial sizes of outputs under --dynamic-size depend on the input's: left unnamed.
    const dims = o.source === 'logits' ? [batchDim, o.shape.c] : [batchDim, o.shape.c, dynamic ? undefined : o.shape.h, dynamic ? undefined : o.shape.w];
    return { value, info: makeTensorValueInfo(o.name, dims) };
  });
  return e.g.finish(model.name, input, outputs);
}

/** Every tensor the model owns must be in the weight set with its size, before anything is written. */
function checkWeights(model: CheckedModel, weights: WeightLookup): void {
  for (const { layer } of walkLayers(model)) {
    for (const t of layerTensors(layer)) tensor(weights, t.name, tensorSize(t.shape), layer.name);
  }
}

class Emitter {
  constructor(
    readonly g: GraphBuilder,
    private readonly weights: WeightSource,
    private readonly inference: boolean,
    private readonly opset: number,
  ) {}

  /** Layers in sequence; in the inference form a convolution swallows the batch norm right after it. */
  path(layers: readonly Layer[], x: string): string {
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i]!;
      const next = layers[i + 1];
      if (this.inference && layer.op === 'conv' && next?.op === 'norm' && next.kind === 'batch') {
        x = this.conv(layer, x, next);
        i++;
      } else {
        x = this.layer(layer, x);
      }
    }
    return x;
  }

  /**
   * A residual block: the branch (after the pre-activation, if any), the shortcut from the
   * raw or the pre-activated input, their sum, and the activation after it.
   */
  block(block: Block, x: string): string {
    const preactivated = this.path(block.preactivation, x);
    const branch = this.path(block.branch, preactivated);
    const shortcutInput = block.shortcut.source === 'preactivated' ? preactivated : x;
    const shortcut = this.path(block.shortcut.layers, shortcutInput);
    const sum = this.g.node('Add', [branch, shortcut], `${block.name}.add`);
    return this.path(block.after, sum);
  }

  layer(layer: Layer, x: string): string {
    switch (layer.op) {
      case 'conv':
        return this.conv(layer, x);
      case 'norm':
        return this.norm(layer, x);
      case 'act':
        return this.activation(layer, x);
      case 'maxpool':
      case 'avgpool':
        return this.pool(layer, x);
      case 'global_pool':
        return this.globalPool(layer, x);
      case 'dropout':
        // Identity at inference (Dropout's training_mode defaults to false); kept in the
        // training form so that a framework fine-tuning the graph finds it.
        if (this.inference) return x;
        return this.g.node('Dropout', [x, this.g.floats(`${layer.name}.ratio`, [], () => Float32Array.of(layer.rate))], layer.name);
      case 'dense':
        return this.dense(layer, x);
      case 'subsample_pad':
        return this.subsamplePad(layer, x);
      case 'se':
        return this.squeezeExcitation(layer, x);
    }
  }

  /** Conv with explicit pads [top, left, bottom, right] (ONNX's order too); `norm` folds into it. */
  conv(layer: ConvLayer, x: string, norm?: NormLayer): string {
    const { name, out, groups } = layer;
    const shape = [out.c, layer.in.c / groups, ...layer.kernel];
    const weight = (): Float32Array => tensor(this.weights, `${name}.weight`, tensorSize(shape), name);
    const bias = (): Float32Array | undefined => (layer.bias ? tensor(this.weights, `${name}.bias`, out.c, name) : undefined);
    const inputs = [x];
    if (norm) {
      const folded = (): Float32Array => {
        const affine = normAffine(norm, this.weights);
        // One factor for every channel (a fresh model's norms): the source's capability, where it has it, scales as it draws.
        const factor = uniformFactor(affine.a);
        const scaled = factor !== undefined ? this.weights.scaling?.scaled(`${name}.weight`, factor) : undefined;
        return scaled ?? foldedConvWeight(layer, weight(), affine, this.weights.fresh);
      };
      inputs.push(this.g.floats(`${name}.weight`, shape, folded));
      inputs.push(this.g.floats(`${name}.bias`, [out.c], () => foldedConvBias(layer, bias(), normAffine(norm, this.weights))));
    } else {
      inputs.push(this.g.floats(`${name}.weight`, shape, weight));
      if (layer.bias) inputs.push(this.g.floats(`${name}.bias`, [out.c], () => bias()!));
    }
    return this.g.node('Conv', inputs, name, {
      kernel_shape: layer.kernel,
      strides: [layer.stride, layer.stride],
      pads: layer.padding,
      dilations: [layer.dilation, layer.dilation],
      group: groups,
    });
  }

  /**
   * Batch norm, training form: BatchNormalization with the running statistics (ONNX's
   * momentum is the running value's weight, 1 - PyTorch's). Inference form, where no
   * convolution precedes it: x * a + b per channel. Group norm: the same in both forms.
   */
  norm(layer: NormLayer, x: string): string {
    if (layer.kind === 'group') return this.groupNorm(layer, x);
    const { name } = layer;
    const c = layer.in.c;
    if (!this.inference) {
      const stat = (suffix: string): string => this.g.floats(`${name}.${suffix}`, [c], () => tensor(this.weights, `${name}.${suffix}`, c, name));
      return this.g.node('BatchNormalization', [x, stat('weight'), stat('bias'), stat('running_mean'), stat('running_var')], name, { epsilon: layer.eps, momentum: 1 - layer.momentum }, [
        'epsilon',
        'momentum',
      ]);
    }
    const scale = this.g.floats(`${name}.scale`, [c, 1, 1], () => Float32Array.from(normAffine(layer, this.weights).a));
    const shift = this.g.floats(`${name}.shift`, [c, 1, 1], () => Float32Array.from(normAffine(layer, this.weights).b));
    const scaled = this.g.node('Mul', [x, scale], `${name}.scaled`);
    return this.g.node('Add', [scaled, shift], name);
  }

  /**
   * Pools with explicit padding. A ceil-mode pool becomes a floor-mode one whose end padding
   * covers the last, partial window (runtimes disagree on ceil_mode; they agree on pads),
   * by a rule that holds at every input size (ceilModeEndPadding), so a `--dynamic-size`
   * graph pools as PyTorch does at any size. With padding not counted, the averages are the
   * same; only an average pool that counts its padding keeps ceil_mode, which nothing in the
   * language makes.
   */
  pool(layer: PoolLayer, x: string): string {
    const s = layer.stride;
    const pads = [...layer.padding];
    const attributes: Record<string, number | number[]> = { kernel_shape: layer.kernel, strides: [s, s] };
    if (layer.ceilMode && layer.op === 'avgpool' && layer.countIncludePad) attributes['ceil_mode'] = 1;
    else if (layer.ceilMode) {
      pads[2] = ceilModeEndPadding(layer.kernel[0], s, pads[2]!);
      pads[3] = ceilModeEndPadding(layer.kernel[1], s, pads[3]!);
    }
    attributes['pads'] = pads;
    if (layer.op === 'avgpool') attributes['count_include_pad'] = layer.countIncludePad ? 1 : 0;
    return this.g.node(layer.op === 'maxpool' ? 'MaxPool' : 'AveragePool', [x], layer.name, attributes);
  }

  /** The model's activation (activations.ts says how each is written in each opset). */
  activation(layer: ActivationLayer, x: string): string {
    return emitActivation(this.g, layer, x, this.opset);
  }

  /**
   * The head's global pool, timm's SelectAdaptivePool2d: GlobalAveragePool, GlobalMaxPool,
   * their mean (`0.5 * (avg + max)`: Add then Mul by 0.5), or both concatenated along the
   * channels, the average's first (Concat axis 1).
   */
  globalPool(layer: GlobalPoolLayer, x: string): string {
    const { name, kind } = layer;
    if (kind === 'avg') return this.g.node('GlobalAveragePool', [x], name);
    if (kind === 'max') return this.g.node('GlobalMaxPool', [x], name);
    const avg = this.g.node('GlobalAveragePool', [x], `${name}.avg`);
    const max = this.g.node('GlobalMaxPool', [x], `${name}.max`);
    if (kind === 'catavgmax') return this.g.node('Concat', [avg, max], name, { axis: 1 });
    const sum = this.g.node('Add', [avg, max], `${name}.sum`);
    return this.g.node('Mul', [sum, this.g.scalar(0.5)], name);
  }

  /**
   * PyTorch's GroupNorm(G, C, eps): each image's channels in G groups, each group normalised
   * over its channels and pixels (biased variance), then a scale and shift per channel.
   * Opset 21's GroupNormalization takes the per-channel scale and shift itself. In opsets
   * 18 to 20 the operator's scale and shift are per group, so it normalises with scale 1
   * and shift 0 (`<norm>.group_scale`, `.group_shift`) and a Mul and Add apply the
   * per-channel ones (`<norm>.weight`, `.bias`, shaped [C,1,1]). Before 18, as PyTorch's
   * exporter writes it: Reshape to [N, G, -1], InstanceNormalization (scale 1, shift 0),
   * Reshape back to the input's Shape, then the same Mul and Add.
   */
  groupNorm(layer: NormLayer, x: string): string {
    const { name, eps: epsilon, groups } = layer;
    const c = layer.in.c;
    const perChannel = (suffix: 'weight' | 'bias', dims: number[]): string => this.g.floats(`${name}.${suffix}`, dims, () => tensor(this.weights, `${name}.${suffix}`, c, name));
    if (this.opset >= 21) {
      return this.g.node('GroupNormalization', [x, perChannel('weight', [c]), perChannel('bias', [c])], name, { epsilon, num_groups: groups }, ['epsilon']);
    }
    const unit = this.g.floats(`${name}.group_scale`, [groups], () => new Float32Array(groups).fill(1));
    const zero = this.g.floats(`${name}.group_shift`, [groups], () => new Float32Array(groups));
    let normalized: string;
    if (this.opset >= 18) {
      normalized = this.g.node('GroupNormalization', [x, unit, zero], `${name}.normalized`, { epsilon, num_groups: groups }, ['epsilon']);
    } else {
      const grouped = this.g.node('Reshape', [x, this.g.int64s(`${name}.grouped_shape`, [0, groups, -1])], `${name}.grouped`);
      const instance = this.g.node('InstanceNormalization', [grouped, unit, zero], `${name}.instance_norm`, { epsilon }, ['epsilon']);
      normalized = this.g.node('Reshape', [instance, this.g.node('Shape', [x], `${name}.shape`)], `${name}.normalized`);
    }
    const scaled = this.g.node('Mul', [normalized, perChannel('weight', [c, 1, 1])], `${name}.scaled`);
    return this.g.node('Add', [scaled, perChannel('bias', [c, 1, 1])], name);
  }

  /** Flatten, then Gemm with the weight in PyTorch's [out, in] layout (transB). */
  dense(layer: DenseLayer, x: string): string {
    const { name } = layer;
    const flat = this.g.node('Flatten', [x], `${name}.flatten`, { axis: 1 });
    const w = this.g.floats(`${name}.weight`, [layer.out.c, layer.in.c], () => tensor(this.weights, `${name}.weight`, layer.out.c * layer.in.c, name));
    const b = this.g.floats(`${name}.bias`, [layer.out.c], () => tensor(this.weights, `${name}.bias`, layer.out.c, name));
    return this.g.node('Gemm', [flat, w, b], name, { transB: 1 });
  }

  /** Shortcut A: Slice every s-th row and column, then Pad zero channels after the input's. */
  subsamplePad(layer: SubsamplePadLayer, x: string): string {
    const { name, stride } = layer;
    const extra = layer.out.c - layer.in.c;
    if (stride > 1) {
      const slice = extra > 0 ? `${name}.slice` : name;
      x = this.g.node('Slice', [
        x,
        this.g.int64s(`${slice}.starts`, [0, 0]),
        // To the end of each axis, whatever its size (Slice clamps the end).
        this.g.int64s(`${slice}.ends`, [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]),
        this.g.int64s(`${slice}.axes`, [2, 3]),
        this.g.int64s(`${slice}.steps`, [stride, stride]),
      ], slice);
    }
    if (extra > 0) x = this.g.node('Pad', [x, this.g.int64s(`${name}.pads`, [0, 0, 0, 0, 0, extra, 0, 0])], name, { mode: 'constant' });
    return x;
  }

  /** Squeeze-and-excitation: pool, reduce, act, expand, sigmoid, and the scaling Mul. */
  squeezeExcitation(layer: SqueezeExcitation, x: string): string {
    const { name } = layer;
    let s = this.g.node('GlobalAveragePool', [x], `${name}.pool`);
    s = this.conv(layer.reduce, s);
    s = this.layer(layer.act, s);
    s = this.conv(layer.expand, s);
    s = this.g.node('Sigmoid', [s], `${name}.gate`);
    return this.g.node('Mul', [x, s], name);
  }
}

/**
 * The end padding that makes a floor-mode pool compute PyTorch's ceil-mode pool at every
 * input size n. PyTorch's ceil-mode count is ceil((n + b + e - k) / s) + 1, less one when
 * the last window would start past the input and its start padding b: that is
 * min(floor((n + b + e - k + s - 1) / s), floor((n + b - 1) / s)) + 1, and a floor-mode pool
 * with end padding E gives floor((n + b + E - k) / s) + 1, so E = min(e + s - 1, k - 1),
 * whatever n. The windows are PyTorch's; E < k keeps each one reaching the input.
 */
export function ceilModeEndPadding(kernel: number, stride: number, end: number): number {
  return Math.max(end, Math.min(end + stride - 1, kernel - 1));
}
