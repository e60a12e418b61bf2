import { layerTensors, type TensorRole } from '../model/tensors.js';
import type { Block, CheckedModel, Layer } from '../model/types.js';
import { blockPaths, walkLayers } from '../model/walk.js';

/**
 * The one naming table between resnetc's layers and PyTorch's module tree: every layer of a
 * checked model gets the module path it has in PyTorch, and every tensor its `state_dict`
 * key. Reading a state_dict, writing one and the PyTorch target's module names all come
 * from here.
 *
 * Post-activation models take **torchvision's** names (torchvision/models/resnet.py, read in
 * torchvision 0.14): `conv1`, `bn1`, `maxpool`, `layer1`…`layerN` (one per stage, in order),
 * `layerI.J.conv1`/`bn1`/`conv2`/`bn2`/`conv3`/`bn3`, the shortcut `layerI.J.downsample.0`
 * (1x1 conv) and `.downsample.1` (norm), `fc`. Where torchvision has no such layer, the names
 * are **timm's** (huggingface/pytorch-image-models, timm/models/resnet.py at commit 00c5be76,
 * timm/layers/squeeze_excite.py at 0d4c04f3), whose ResNet keeps torchvision's names:
 * - a stem of several convolutions is timm's deep stem: `conv1` is an nn.Sequential of every
 *   stem layer up to the last convolution (`conv1.0` conv, `conv1.1` norm, `conv1.2` act,
 *   `conv1.3` conv, …), the last convolution's norm is `bn1` and its activation `act1`;
 *   pools after the last convolution are `maxpool` (timm keeps that name "for weight
 *   compatibility" whatever the pool), an nn.Sequential `maxpool.0`, `maxpool.1` when several;
 * - shortcut D is timm's `downsample_avg`: `downsample.0` pool (nn.Identity at stride 1, so
 *   the indices stay), `downsample.1` conv, `downsample.2` norm;
 * - SE is timm's SEModule: `se.fc1` (reduce, with bias), `se.act`, `se.fc2` (expand).
 *   (timm's EfficientNet blocks, timm/models/_efficientnet_blocks.py, call theirs
 *   `conv_reduce`/`conv_expand`; its ResNets use SEModule, so these names are fc1/fc2.)
 *
 * Pre-activation models take **timm's ResNetV2** names (timm/models/resnetv2.py at commit
 * 00851493): torchvision has no pre-activation ResNet, and timm's `resnetv2_18/34/50/101`
 * (plain convolutions, BatchNormAct2d) are the published pre-activation ResNets whose blocks
 * are the language's: norm and act opening the block, a projection reading the pre-activated
 * input without a norm of its own, a closing norm. So their weights load as they are.
 * `stem.conv` (`stem.conv1`, `stem.conv2`, … when several; the language's pre-activation stem
 * is bare convolutions), `stem.pool` (`stem.pool1`, … when several),
 * `stages.I.blocks.J.norm1`, `.conv1`, `.norm2`, `.conv2`, `.norm3`, `.conv3` (0-based stage
 * and block indices), the shortcut `downsample.conv` (and `downsample.pool` for D), the
 * closing `norm`, and the head `head.fc`, which in ResNetV2 is a 1x1 convolution with bias:
 * its weight is [classes, C, 1, 1] in the state_dict (the same values as our [classes, C]).
 * SE, which ResNetV2 does not have, is named as in timm's ResNet (`se.fc1`, `se.fc2`).
 *
 * Group norm (`norm group`) takes the place and the name of every batch norm, as timm's
 * ResNet and ResNetV2 do with `norm_layer=GroupNorm` (`bn1`, `downsample.1`; `norm1`,
 * `norm`): its keys are `.weight` and `.bias` only. Activations, drop path and the global
 * pools have no tensors; the PyTorch target names drop path `drop_path` (timm's).
 *
 * Every norm also has torch's `num_batches_tracked` buffer (int64, shape []), listed after its
 * running variance as torch lists it. resnetc does not count batches: the writer writes 0 (so
 * `load_state_dict(strict=True)` and `safetensors.torch.load_model` find every key they
 * expect) and the reader checks it is where a norm is, and otherwise ignores it.
 */

/** Which family of names a model's layers take in PyTorch. */
export type TorchLayout = 'torchvision' | 'resnetv2';

export function torchLayout(model: CheckedModel): TorchLayout {
  return model.preactivation ? 'resnetv2' : 'torchvision';
}

/** One entry of the model's PyTorch `state_dict`. */
export interface TorchTensor {
  /** The `state_dict` key, e.g. `layer2.0.downsample.0.weight`. */
  key: string;
  /** The shape PyTorch holds it in (a [] scalar for `num_batches_tracked`). */
  shape: number[];
  dtype: 'F32' | 'I64';
  /** resnetc's tensor (`conv3.block0.shortcut.conv.weight`); undefined for `num_batches_tracked`. */
  name: string | undefined;
  /** resnetc's layer it belongs to (`conv3.block0.shortcut.conv`). */
  layer: string;
  role: TensorRole | 'num_batches_tracked';
}

/**
 * The attribute names the parts of a block have in PyTorch, per layout. The PyTorch target
 * writes its classes with these names, and `torchModulePaths` builds every path from them.
 */
export interface BlockNames {
  /** The k-th convolution of the residual branch (1-based). */
  conv(k: number): string;
  /** The k-th norm of the block (1-based; in a pre-activation block norm1 opens it). */
  norm(k: number): string;
  se: string;
  seReduce: string;
  seAct: string;
  seExpand: string;
  /** The shortcut's module (a projection, or shortcut A's stateless module). */
  shortcut: string;
  /** The parts of a projection shortcut: Sequential indices (torchvision) or attributes (resnetv2). */
  shortcutPart(option: 'B' | 'C' | 'D', part: 'pool' | 'conv' | 'norm'): string;
}

const torchvisionBlock: BlockNames = {
  conv: (k) => `conv${k}`,
  norm: (k) => `bn${k}`,
  se: 'se',
  seReduce: 'fc1',
  seAct: 'act',
  seExpand: 'fc2',
  shortcut: 'downsample',
  // torchvision's downsample: Sequential(conv1x1, norm); timm's downsample_avg: Sequential(pool, conv1x1, norm).
  shortcutPart: (option, part) => String((option === 'D' ? { pool: 0, conv: 1, norm: 2 } : { pool: -1, conv: 0, norm: 1 })[part]),
};

const resnetv2Block: BlockNames = {
  conv: (k) => `conv${k}`,
  norm: (k) => `norm${k}`,
  se: 'se',
  seReduce: 'fc1',
  seAct: 'act',
  seExpand: 'fc2',
  shortcut: 'downsample',
  // DownsampleConv / DownsampleAvg: attributes pool, conv (and norm, an nn.Identity when pre-activated).
  shortcutPart: (_option, part) => part,
};

export function blockNames(layout: TorchLayout): BlockNames {
  return layout === 'torchvision' ? torchvisionBlock : resnetv2Block;
}

/** The module path of a stage's container of blocks: `layer2` / `stages.1.blocks`. */
export function stagePath(layout: TorchLayout, index: number): string {
  return layout === 'torchvision' ? `layer${index + 1}` : `stages.${index}.blocks`;
}

/** The module path of the model's closing norm (pre-activation models): `norm`. */
export const finalNormPath = 'norm';

/**
 * The module path of each stem layer, in order (see the module's docstring). Activations and
 * pools have paths too: the PyTorch target groups the stem by them.
 */
export function stemPaths(layout: TorchLayout, stem: readonly Layer[]): string[] {
  const count = (op: (l: Layer) => boolean): number => stem.filter(op).length;
  if (layout === 'resnetv2') {
    const convs = count((l) => l.op === 'conv');
    const pools = count((l) => l.op === 'maxpool' || l.op === 'avgpool');
    let c = 0;
    let p = 0;
    return stem.map((l) => {
      if (l.op === 'conv') return convs === 1 ? 'stem.conv' : `stem.conv${++c}`;
      if (l.op === 'maxpool' || l.op === 'avgpool') return pools === 1 ? 'stem.pool' : `stem.pool${++p}`;
      throw new Error(`internal: a pre-activation stem has a ${l.op} layer (${l.name})`);
    });
  }
  const lastConv = stem.map((l) => l.op).lastIndexOf('conv');
  const trailing = stem.length - (lastConv < 0 ? 0 : lastConv + 3);
  return stem.map((l, i) => {
    if (i < lastConv) return `conv1.${i}`;
    if (i === lastConv) return lastConv === 0 ? 'conv1' : `conv1.${i}`;
    if (lastConv >= 0 && i === lastConv + 1) return 'bn1';
    if (lastConv >= 0 && i === lastConv + 2) return 'act1';
    const j = i - (lastConv < 0 ? 0 : lastConv + 3);
    return trailing === 1 ? 'maxpool' : `maxpool.${j}`;
  });
}

/**
 * The module path of each head layer: torchvision's `avgpool`, `dropout`, `fc`, or ResNetV2's
 * `head.global_pool`, `head.drop`, `head.fc`. A global pool other than the average is timm's
 * ResNet's `global_pool` (torchvision has no other; no tensors, so no key depends on it).
 */
export function headPath(layout: TorchLayout, layer: Layer): string {
  const pool = layer.op === 'global_pool' && layer.kind !== 'avg' ? 'global_pool' : 'avgpool';
  const names = layout === 'torchvision' ? { global_pool: pool, dropout: 'dropout', dense: 'fc' } : { global_pool: 'head.global_pool', dropout: 'head.drop', dense: 'head.fc' };
  const name = (names as Record<string, string>)[layer.op];
  if (!name) throw new Error(`internal: a head has a ${layer.op} layer (${layer.name})`);
  return name;
}

/** The module path of every layer of a block, relative to the block (`conv1`, `downsample.0`, `se.fc1`, …). */
export function blockLayerPaths(layout: TorchLayout, block: Block): Map<string, string> {
  const names = blockNames(layout);
  const paths = new Map<string, string>();
  let convs = 0;
  let norms = 0;
  for (const [path, layers] of blockPaths(block)) {
    for (const layer of layers) {
      if (path === 'shortcut') {
        if (block.shortcut.kind !== 'projection') paths.set(layer.name, names.shortcut);
        else {
          const option = block.shortcut.option as 'B' | 'C' | 'D';
          const part = layer.op === 'avgpool' ? 'pool' : layer.op === 'conv' ? 'conv' : 'norm';
          paths.set(layer.name, `${names.shortcut}.${names.shortcutPart(option, part)}`);
        }
        continue;
      }
      switch (layer.op) {
        case 'conv':
          paths.set(layer.name, names.conv(++convs));
          break;
        case 'norm':
          paths.set(layer.name, names.norm(++norms));
          break;
        case 'act':
          // Stateless: one activation module serves the whole block, as torchvision's `relu` does.
          paths.set(layer.name, 'act');
          break;
        case 'se':
          paths.set(layer.name, names.se);
          paths.set(layer.reduce.name, `${names.se}.${names.seReduce}`);
          paths.set(layer.act.name, `${names.se}.${names.seAct}`);
          paths.set(layer.expand.name, `${names.se}.${names.seExpand}`);
          break;
        default:
          throw new Error(`internal: a block has a ${layer.op} layer (${layer.name})`);
      }
    }
  }
  return paths;
}

/** The PyTorch module path of every layer of the model (SE's inner layers included), by resnetc's layer name. */
export function torchModulePaths(model: CheckedModel): Map<string, string> {
  const layout = torchLayout(model);
  const paths = new Map<string, string>();
  stemPaths(layout, model.stem).forEach((p, i) => paths.set(model.stem[i]!.name, p));
  for (const stage of model.stages) {
    const prefix = stagePath(layout, stage.index);
    for (const block of stage.blocks) {
      for (const [name, p] of blockLayerPaths(layout, block)) paths.set(name, `${prefix}.${block.index}.${p}`);
    }
  }
  for (const layer of model.final) paths.set(layer.name, layer.op === 'norm' ? finalNormPath : 'act');
  for (const layer of model.head?.layers ?? []) paths.set(layer.name, headPath(layout, layer));
  return paths;
}

/**
 * The model's PyTorch `state_dict`, entry by entry in the order of resnetc's layers (what
 * torchvision registers its modules in; timm's ResNetV2 registers a block's shortcut first,
 * which only changes the order), per norm weight, bias, running_mean, running_var,
 * num_batches_tracked as torch lists them: each key with its shape in PyTorch and resnetc's
 * tensor behind it. Values are in PyTorch's layouts, as
 * every WeightSet is (convolutions OIHW, the fully connected weight [out, in]); the one
 * reshape is ResNetV2's convolutional head, [classes, C] → [classes, C, 1, 1].
 */
export function torchStateDict(model: CheckedModel): TorchTensor[] {
  const paths = torchModulePaths(model);
  const convHead = torchLayout(model) === 'resnetv2';
  const entries: TorchTensor[] = [];
  for (const { layer } of walkLayers(model)) {
    for (const t of layerTensors(layer)) {
      const attribute = t.name.slice(t.name.lastIndexOf('.') + 1);
      const owner = t.name.slice(0, t.name.lastIndexOf('.'));
      const path = paths.get(owner);
      if (path === undefined) throw new Error(`internal: no PyTorch name for the layer ${owner}`);
      const shape = convHead && layer.op === 'dense' && t.role === 'weight' ? [...t.shape, 1, 1] : t.shape;
      entries.push({ key: `${path}.${attribute}`, shape, dtype: 'F32', name: t.name, layer: owner, role: t.role });
      if (t.role === 'running_var') entries.push({ key: `${path}.num_batches_tracked`, shape: [], dtype: 'I64', name: undefined, layer: owner, role: 'num_batches_tracked' });
    }
  }
  return entries;
}
