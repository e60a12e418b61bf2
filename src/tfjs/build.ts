import * as tf from './tf.js';
import type { ActivationLayer, Block, CheckedModel, ConvLayer, GlobalPoolLayer, Layer, NormLayer } from '../model/types.js';
import { DropPath, GroupNorm2D } from './backbone-layers.js';
import { BatchNorm2D, GroupedConv2D, Pool2D, SubsamplePad } from './layers.js';

/**
 * A checked model as a `tf.LayersModel`: NHWC inside, every layer named as in the checked
 * model (and so as in the ONNX export): `conv3.block0.conv1`, `conv3.block0.norm1`, …
 * Layers the checked model does not name get the block's name and a suffix:
 * `conv3.block0.add`, `conv3.block0.drop_path` (stochastic depth, on the branch before the
 * addition, only where the block's rate is above 0), and `<conv>.pad` before a strided
 * convolution. The model's outputs are CheckedModel.outputs, in order, each a tfjs layer
 * named as the output (`conv3`, `logits`; `output` for a model without `outputs`):
 * `model.outputNames` lists them, `model.predict` returns one tensor per output (an array
 * when there are several).
 *
 * tfjs's own layers are used wherever they mean exactly what the checked model says
 * (Conv2D, ReLU, Add, GlobalAveragePooling2D, Dropout, Dense), so a saved model is plain
 * Keras-style JSON except for the few custom layers in layers.ts (norms among them:
 * tfjs's BatchNormalization trains its running variance another way than PyTorch).
 * The weights are whatever tfjs initialises; `setWeights` (weights.ts) puts the
 * project's seeded initialisation or imported weights in.
 */
export function buildTfjsModel(model: CheckedModel): tf.LayersModel {
  const input = tf.input({ shape: [model.input.h, model.input.w, model.input.c], name: 'input' });
  const taps = new Map<string, Node>();
  let x = applyAll(model.stem, input);
  taps.set('stem', x);
  const last = model.stages.length - 1;
  for (const stage of model.stages) {
    for (const block of stage.blocks) x = applyBlock(block, x);
    // A pre-activation model's last stage ends after `final` (timm's ResNetV2 features).
    if (stage.index === last) x = applyAll(model.final, x);
    taps.set(`stage ${stage.index}`, x);
  }
  if (model.head) taps.set('logits', applyAll(model.head.layers, x));
  const outputs = model.outputs.map((o) => {
    const at = taps.get(o.source === 'stage' ? `stage ${o.stage}` : o.source);
    if (!at) throw new Error(`internal: output '${o.name}' (${o.source} ${o.stage ?? ''}) is not in the built model`);
    return tf.layers.activation({ name: o.name, activation: 'linear' }).apply(at) as Node;
  });
  return tf.model({ inputs: input, outputs, name: model.name });
}

type Node = tf.SymbolicTensor;

function applyAll(layers: Layer[], x: Node): Node {
  for (const l of layers) x = applyLayer(l, x);
  return x;
}

function applyBlock(block: Block, input: Node): Node {
  const pre = applyAll(block.preactivation, input);
  let branch = applyAll(block.branch, pre);
  if (block.dropPath > 0) branch = new DropPath({ name: `${block.name}.drop_path`, rate: block.dropPath }).apply(branch) as Node;
  let shortcut: Node;
  if (block.shortcut.kind === 'identity') shortcut = input;
  else shortcut = applyAll(block.shortcut.layers, block.shortcut.source === 'preactivated' ? pre : input);
  const sum = tf.layers.add({ name: `${block.name}.add` }).apply([branch, shortcut]) as Node;
  return applyAll(block.after, sum);
}

function samePadding(l: ConvLayer): boolean {
  const [t, left, b, r] = l.padding;
  const [kh, kw] = l.kernel;
  return l.stride === 1 && kh % 2 === 1 && kw % 2 === 1 && t === (kh - 1) / 2 && b === t && left === (kw - 1) / 2 && r === left;
}

function applyConv(l: ConvLayer, x: Node): Node {
  const [t, left, b, r] = l.padding;
  if (l.groups !== 1 || l.dilation !== 1) {
    return new GroupedConv2D({ name: l.name, filters: l.out.c, kernel: l.kernel, stride: l.stride, padding: l.padding, groups: l.groups, useBias: l.bias, dilation: l.dilation }).apply(x) as Node;
  }
  const unpadded = t === 0 && left === 0 && b === 0 && r === 0;
  let padding: 'same' | 'valid' = 'valid';
  if (samePadding(l)) padding = 'same';
  else if (!unpadded) {
    x = tf.layers
      .zeroPadding2d({
        name: `${l.name}.pad`,
        padding: [
          [t, b],
          [left, r],
        ],
      })
      .apply(x) as Node;
  }
  return tf.layers
    .conv2d({ name: l.name, filters: l.out.c, kernelSize: l.kernel, strides: l.stride, padding, useBias: l.bias, kernelInitializer: 'zeros' })
    .apply(x) as Node;
}

function applyLayer(l: Layer, x: Node): Node {
  switch (l.op) {
    case 'conv':
      return applyConv(l, x);
    case 'norm':
      return normLayer(l).apply(x) as Node;
    case 'act':
      return activationLayer(l).apply(x) as Node;
    case 'maxpool':
    case 'avgpool':
      return new Pool2D({
        name: l.name,
        mode: l.op === 'maxpool' ? 'max' : 'avg',
        kernel: l.kernel,
        stride: l.stride,
        padding: l.padding,
        ceilMode: l.ceilMode,
        countIncludePad: l.countIncludePad,
      }).apply(x) as Node;
    case 'global_pool':
      return applyGlobalPool(l, x);
    case 'dropout':
      return tf.layers.dropout({ name: l.name, rate: l.rate }).apply(x) as Node;
    case 'dense':
      return tf.layers.dense({ name: l.name, units: l.out.c, useBias: true }).apply(x) as Node;
    case 'subsample_pad':
      return new SubsamplePad({ name: l.name, stride: l.stride, channels: l.out.c }).apply(x) as Node;
    case 'se': {
      const pooled = tf.layers.globalAveragePooling2d({ name: `${l.name}.pool` }).apply(x) as Node;
      let gate = tf.layers.reshape({ name: `${l.name}.reshape`, targetShape: [1, 1, l.in.c] }).apply(pooled) as Node;
      gate = applyConv(l.reduce, gate);
      gate = applyLayer(l.act, gate);
      gate = applyConv(l.expand, gate);
      gate = tf.layers.activation({ name: `${l.name}.sigmoid`, activation: 'sigmoid' }).apply(gate) as Node;
      return tf.layers.multiply({ name: `${l.name}.scale` }).apply([x, gate]) as Node;
    }
  }
}

function normLayer(l: NormLayer): tf.layers.Layer {
  if (l.kind === 'group') return new GroupNorm2D({ name: l.name, groups: l.groups, epsilon: l.eps });
  return new BatchNorm2D({ name: l.name, momentum: l.momentum, epsilon: l.eps });
}

/** PyTorch's activations by tfjs's own layers: each computes the same function (LANGUAGE.md's definitions; tfjs's `gelu` is the erf form). */
function activationLayer(l: ActivationLayer): tf.layers.Layer {
  switch (l.fn) {
    case 'relu':
      return tf.layers.reLU({ name: l.name });
    case 'leaky_relu':
      return tf.layers.leakyReLU({ name: l.name, alpha: l.negativeSlope });
    case 'silu':
      return tf.layers.activation({ name: l.name, activation: 'swish' });
    case 'gelu':
    case 'mish':
    case 'sigmoid':
      return tf.layers.activation({ name: l.name, activation: l.fn });
  }
}

/** The head's global pool, [N, H, W, C] → [N, C] ([N, 2C] for catavgmax, the average's channels first), as timm's SelectAdaptivePool2d. */
function applyGlobalPool(l: GlobalPoolLayer, x: Node): Node {
  if (l.kind === 'avg') return tf.layers.globalAveragePooling2d({ name: l.name }).apply(x) as Node;
  if (l.kind === 'max') return tf.layers.globalMaxPooling2d({ name: l.name }).apply(x) as Node;
  const avg = tf.layers.globalAveragePooling2d({ name: `${l.name}.avg` }).apply(x) as Node;
  const max = tf.layers.globalMaxPooling2d({ name: `${l.name}.max` }).apply(x) as Node;
  const merge = l.kind === 'avgmax' ? tf.layers.average({ name: l.name }) : tf.layers.concatenate({ name: l.name, axis: -1 });
  return merge.apply([avg, max]) as Node;
}
