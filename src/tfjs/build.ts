import * as tf from './tf.js';
import type { Block, CheckedModel, ConvLayer, Layer } from '../model/types.js';
import { BatchNorm2D, GroupedConv2D, Pool2D, SubsamplePad } from './layers.js';

/**
 * A checked model as a `tf.LayersModel`: NHWC inside, every layer named as in the checked
 * model (and so as in the ONNX export): `conv3.block0.conv1`, `conv3.block0.norm1`, …
 * Layers the checked model does not name get the block's name and a suffix:
 * `conv3.block0.add`, and `<conv>.pad` before a strided convolution.
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
  let x = applyAll(model.stem, input);
  for (const stage of model.stages) for (const block of stage.blocks) x = applyBlock(block, x);
  x = applyAll(model.final, x);
  if (model.head) x = applyAll(model.head.layers, x);
  return tf.model({ inputs: input, outputs: x, name: model.name });
}

type Node = tf.SymbolicTensor;

function applyAll(layers: Layer[], x: Node): Node {
  for (const l of layers) x = applyLayer(l, x);
  return x;
}

function applyBlock(block: Block, input: Node): Node {
  const pre = applyAll(block.preactivation, input);
  const branch = applyAll(block.branch, pre);
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
  if (l.groups !== 1) {
    return new GroupedConv2D({ name: l.name, filters: l.out.c, kernel: l.kernel, stride: l.stride, padding: l.padding, groups: l.groups, useBias: l.bias }).apply(x) as Node;
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
      return new BatchNorm2D({ name: l.name, momentum: l.momentum, epsilon: l.eps }).apply(x) as Node;
    case 'act':
      if (l.fn !== 'relu' && l.fn !== 'sigmoid') throw new Error(`internal: the tfjs target has no ${l.fn} yet (${l.name})`);
      return (l.fn === 'relu' ? tf.layers.reLU({ name: l.name }) : tf.layers.activation({ name: l.name, activation: l.fn })).apply(x) as Node;
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
      if (l.kind !== 'avg') throw new Error(`internal: the tfjs target has no ${l.kind} global pool yet (${l.name})`);
      return tf.layers.globalAveragePooling2d({ name: l.name }).apply(x) as Node;
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
