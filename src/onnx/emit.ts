import { layerTensors, tensorSize } from '../model/tensors.js';
import type { Block, CheckedModel, ConvLayer, DenseLayer, Layer, NormLayer, PoolLayer, SqueezeExcitation, SubsamplePadLayer } from '../model/types.js';
import { walkLayers } from '../model/walk.js';
import type { WeightLookup, WeightSource } from '../weights/source.js';
import { foldedConvBias, foldedConvWeight, normAffine, tensor, uniformFactor } from './fold.js';
import { GraphBuilder, type OnnxGraph } from './graph.js';
import { makeTensorValueInfo } from './helper.js';

export interface EmitOptions {
  /** Fold norms into the convolutions before them (others become Mul and Add); leave dropout out. */
  inference: boolean;
}

/** The graph's input and output names, and the symbolic batch dimension. */
export const inputName = 'input';
export const outputName = 'output';
export const batchDim = 'N';

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
  const e = new Emitter(new GraphBuilder(), weights, options.inference);
  let x = inputName;
  x = e.path(model.stem, x);
  for (const stage of model.stages) for (const block of stage.blocks) x = e.block(block, x);
  x = e.path(model.final, x);
  x = e.path(model.head?.layers ?? [], x);
  const { c, h, w } = model.input;
  const out = model.head ? [batchDim, model.head.classes] : [batchDim, model.output.c, model.output.h, model.output.w];
  return e.g.finish(model.name, x, [makeTensorValueInfo(inputName, [batchDim, c, h, w])], [makeTensorValueInfo(outputName, out)]);
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
  ) {}

  /** Layers in sequence; in the inference form a convolution swallows the norm right after it. */
  path(layers: readonly Layer[], x: string): string {
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i]!;
      const next = layers[i + 1];
      if (this.inference && layer.op === 'conv' && next?.op === 'norm') {
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
        if (layer.fn !== 'relu' && layer.fn !== 'sigmoid') throw new Error(`internal: the ONNX target has no ${layer.fn} yet (${layer.name})`);
        return this.g.node(layer.fn === 'relu' ? 'Relu' : 'Sigmoid', [x], layer.name);
      case 'maxpool':
      case 'avgpool':
        return this.pool(layer, x);
      case 'global_pool':
        if (layer.kind !== 'avg') throw new Error(`internal: the ONNX target has no ${layer.kind} global pool yet (${layer.name})`);
        return this.g.node('GlobalAveragePool', [x], layer.name);
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
      dilations: [1, 1],
      group: groups,
    });
  }

  /**
   * Training form: BatchNormalization with the running statistics (ONNX's momentum is the
   * running value's weight, 1 - PyTorch's). Inference form, where no convolution precedes
   * it: x * a + b per channel.
   */
  norm(layer: NormLayer, x: string): string {
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
   * covers the last, partial window (runtimes disagree on ceil_mode; they agree on pads).
   * With padding not counted, the averages are the same; only an average pool that counts
   * its padding and needs a partial window keeps ceil_mode, which nothing in the language makes.
   */
  pool(layer: PoolLayer, x: string): string {
    const [kh, kw] = layer.kernel;
    const s = layer.stride;
    const pads = [...layer.padding];
    const attributes: Record<string, number | number[]> = { kernel_shape: layer.kernel, strides: [s, s] };
    let ceil = false;
    if (layer.ceilMode) {
      const extraH = Math.max(0, (layer.out.h - 1) * s + kh - (layer.in.h + pads[0]! + pads[2]!));
      const extraW = Math.max(0, (layer.out.w - 1) * s + kw - (layer.in.w + pads[1]! + pads[3]!));
      if (layer.op === 'avgpool' && layer.countIncludePad && extraH + extraW > 0) ceil = true;
      else {
        pads[2]! += extraH;
        pads[3]! += extraW;
      }
    }
    attributes['pads'] = pads;
    if (ceil) attributes['ceil_mode'] = 1;
    if (layer.op === 'avgpool') attributes['count_include_pad'] = layer.countIncludePad ? 1 : 0;
    return this.g.node(layer.op === 'maxpool' ? 'MaxPool' : 'AveragePool', [x], layer.name, attributes);
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
        this.g.int64s(`${slice}.ends`, [layer.in.h, layer.in.w]),
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
