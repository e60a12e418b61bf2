import * as L from '../model/layers.js';
import type { ActivationSpec, NormSpec, Block, CheckedModel, DetailedCounts, Head, Layer, ModelTotals, Origin, Shape, Shortcut, ShortcutOption, Stage } from '../model/types.js';
import type { BlockSpec, ModelDecl, Reporter, StageDecl, StemLayerSpec } from './declaration.js';
import { defaults, isBottleneck, isPreactivation } from './vocabulary.js';

/**
 * The pure function at the heart of the checker: a model's merged statements to its
 * checked model, shape by shape. Returns undefined (having reported why) when the
 * statements cannot make a network.
 */
export function buildModel(
  decl: ModelDecl,
  report: Reporter,
  blockSummaries: Map<string, BlockSummary> = new Map(),
): Omit<CheckedModel, 'expects'> | undefined {
  const nameOrigin: Origin = { file: decl.file, node: decl.nameNode };
  const missing = (what: string, example: string): void =>
    report.report('R0201', nameOrigin, `model '${decl.name}' has no '${what}' statement`, { help: `add one, e.g. \`${example}\`` });

  if (decl.input === undefined) missing('input', 'input 3x224x224');
  if (decl.stem === undefined) missing('stem', 'stem { conv 7x7 64 stride 2  maxpool 3x3 stride 2 }');
  if (decl.block === undefined) missing('block', 'block bottleneck');
  if (decl.stages.length === 0) {
    report.report('R0214', nameOrigin, `model '${decl.name}' has no stages`, { help: 'add one, e.g. `stage conv2 { blocks 2  width 64 }`' });
  }
  let stagesComplete = true;
  for (const s of decl.stages) {
    for (const field of ['blocks', 'width'] as const) {
      if (s[field] === undefined) {
        report.report('R0210', s.nameOrigin, `stage '${s.name}' has no '${field}'`, { help: `add e.g. \`${field} ${field === 'blocks' ? 2 : 64}\`` });
        stagesComplete = false;
      } else if (s[field] === null) stagesComplete = false;
    }
    if (s.stride === null || s.block === null || s.shortcut === null) stagesComplete = false;
  }
  const { input, stem, block, shortcut, norm, activation, classes, dropout } = decl;
  if (!input || !stem || !block || !stagesComplete || decl.stages.length === 0) return undefined;
  if (shortcut === null || norm === null || activation === null || classes === null || dropout === null) return undefined;

  if (dropout && !classes) {
    report.report('R0213', dropout.origin, 'dropout has no effect without a head', { help: "dropout sits before the fully connected layer that 'classes' adds" });
  }

  const ctx: BuildContext = {
    report,
    blockSummaries,
    norm: { kind: 'batch', eps: norm?.value.eps ?? defaults.eps, momentum: norm?.value.momentum ?? defaults.momentum, groups: 1 },
    act: { fn: activation?.value ?? defaults.activation, negativeSlope: 0 },
    preactivation: isPreactivation(block.kind),
  };

  let shape = input.value;
  const stemLayers = buildStem(stem.value, shape, ctx);
  if (!stemLayers) return undefined;
  shape = stemLayers.length > 0 ? stemLayers[stemLayers.length - 1]!.out : shape;

  const stages: Stage[] = [];
  for (const [index, s] of decl.stages.entries()) {
    const stage = buildStage(s, index, shape, block, shortcut?.value ?? defaults.shortcut, ctx);
    if (!stage) return undefined;
    stages.push(stage);
    shape = stage.out;
  }
  const output = shape;

  const final: Layer[] = ctx.preactivation ? [L.norm('final.norm', shape, ctx.norm), L.activation('final.act', shape, ctx.act)] : [];

  let head: Head | undefined;
  if (classes) {
    const layers: Layer[] = [L.globalPool('head.pool', shape, 'avg')];
    if (dropout && dropout.value > 0) layers.push(L.dropout('head.dropout', layers[0]!.out, dropout.value));
    layers.push(L.dense('head.fc', layers[layers.length - 1]!.out, classes.value));
    head = { classes: classes.value, layers, in: shape, ...L.sumCounts(layers) };
  }

  let totals: ModelTotals = L.detailedCounts([...stemLayers, ...final, ...(head?.layers ?? [])]);
  for (const stage of stages) totals = L.addCounts(totals, stage);
  if (!Number.isSafeInteger(totals.params) || !Number.isSafeInteger(totals.macs)) {
    report.report('R0215', nameOrigin, `model '${decl.name}' is too large to count exactly (over 2^53 parameters or MACs)`, {
      help: 'reduce the input size, the widths or the depths',
    });
    return undefined;
  }

  return {
    name: decl.name,
    parent: decl.parent?.text,
    origin: decl.origin,
    input: input.value,
    output,
    classes: classes?.value,
    preactivation: ctx.preactivation,
    activation: ctx.act,
    norm: ctx.norm,
    outputStride: undefined,
    dropPath: 0,
    outputs: [
      head
        ? { name: 'output', source: 'logits', stage: undefined, shape: { c: head.classes, h: 1, w: 1 } }
        : { name: 'output', source: 'stage', stage: stages.length - 1, shape: output },
    ],
    stem: stemLayers,
    stages,
    final,
    head,
    totals,
  };
}

/** A block's counts and output, all the checker needs of it. */
export interface BlockSummary {
  counts: DetailedCounts;
  out: Shape;
}

interface BuildContext {
  report: Reporter;
  blockSummaries: Map<string, BlockSummary>;
  norm: NormSpec;
  act: ActivationSpec;
  preactivation: boolean;
}

function shapeText(s: Shape): string {
  return `${s.c}x${s.h}x${s.w}`;
}

function buildStem(spec: StemLayerSpec[], input: Shape, ctx: BuildContext): Layer[] | undefined {
  const layers: Layer[] = [];
  let shape = input;
  let convs = 0;
  let pools = 0;
  for (const l of spec) {
    let out: Layer;
    if (l.op === 'conv') {
      convs++;
      if (shape.c % l.groups !== 0 || l.channels % l.groups !== 0) {
        ctx.report.report('R0302', l.origin, `groups ${l.groups} must divide both the input's ${shape.c} channels and the output's ${l.channels}`);
        return undefined;
      }
      out = L.conv(`stem.conv${convs}`, shape, l.channels, { kernel: l.kernel, stride: l.stride, groups: l.groups });
      layers.push(out);
      if (!ctx.preactivation) {
        layers.push(L.norm(`stem.norm${convs}`, out.out, ctx.norm));
        layers.push(L.activation(`stem.act${convs}`, out.out, ctx.act));
      }
    } else {
      pools++;
      out = L.pool(l.op, `stem.pool${pools}`, shape, { kernel: l.kernel, stride: l.stride });
      layers.push(out);
    }
    shape = out.out;
  }
  return layers;
}

function buildStage(s: StageDecl, index: number, input: Shape, modelBlock: BlockSpec, modelShortcut: ShortcutOption, ctx: BuildContext): Stage | undefined {
  // Only the first block and the second (the pattern of every later one) are built here;
  // counts follow from those two, and the full list is built when something reads it.
  const blockSpec = s.block ?? modelBlock;
  const shortcut = s.shortcut?.value ?? modelShortcut;
  const width = s.width!.value;
  const stride = s.stride?.value ?? defaults.stride;
  const origin = s.origin;
  if (isPreactivation(blockSpec.kind) !== ctx.preactivation) {
    ctx.report.report('R0209', s.block?.origin ?? origin, `a ${blockSpec.kind} block cannot stand in a model whose block is ${modelBlock.kind}`, {
      help: 'pre-activation and post-activation blocks differ in their stem and ending; use one family in a model',
    });
    return undefined;
  }
  const innerWidth = Math.floor((width * blockSpec.widthPerGroup) / 64) * blockSpec.groups;
  if (innerWidth < 1) {
    ctx.report.report('R0208', s.width!.origin, `the inner width floor(${width} x ${blockSpec.widthPerGroup} / 64) x ${blockSpec.groups} is 0`, {
      help: 'raise the width or width_per_group',
    });
    return undefined;
  }
  const depth = s.blocks!.value;
  const make = (b: number, blockInput: Shape, report: Reporter): Block | undefined =>
    buildBlock(`${s.name}.block${b}`, b, blockInput, b === 0 ? stride : 1, width, innerWidth, blockSpec, shortcut, origin, { ...ctx, report });
  // What a block adds up to depends only on its configuration, not on its name: files of
  // many variants (and every `extends`) repeat the same blocks, so their sums are kept.
  const configuration = `${blockSpec.kind}/${blockSpec.expansion}/${blockSpec.groups}/${blockSpec.widthPerGroup}/${blockSpec.strideOn}/${blockSpec.se}/${shortcut}/${width}/`;
  const summarize = (b: number, blockInput: Shape): BlockSummary | undefined => {
    const key = configuration + (b === 0 ? stride : 1) + '/' + blockInput.c + 'x' + blockInput.h + 'x' + blockInput.w;
    const known = ctx.blockSummaries.get(key);
    if (known) return known;
    const block = make(b, blockInput, ctx.report);
    if (!block) return undefined;
    const summary = { counts: blockCounts(block), out: block.out };
    ctx.blockSummaries.set(key, summary);
    return summary;
  };
  const first = summarize(0, input);
  if (!first) return undefined;
  let counts = first.counts;
  if (depth > 1) {
    const later = summarize(1, first.out);
    if (!later) return undefined;
    counts = L.addCounts(counts, later.counts, depth - 1);
  }
  const silent: Reporter = { report: () => undefined };
  return new LazyStage(s.name, index, depth, blockSpec.kind, shortcut, stride, 1, width, input, first.out, origin, counts, (b, blockInput) => make(b, blockInput, silent)!);
}

/**
 * A checked stage whose blocks are built when first read (rebuilt rather than kept from
 * the check: most checked models are never read this deep).
 */
class LazyStage implements Stage {
  params: number;
  buffers: number;
  macs: number;
  biases: number;
  normParams: number;
  in: Shape;
  private built: Block[] | undefined;

  constructor(
    public name: string,
    public index: number,
    public depth: number,
    public kind: Stage['kind'],
    public shortcut: ShortcutOption,
    public stride: number,
    public dilation: number,
    public width: number,
    input: Shape,
    /** Every block after the first keeps this shape. */
    public out: Shape,
    public origin: Origin,
    counts: DetailedCounts,
    private readonly make: (index: number, input: Shape) => Block,
  ) {
    this.in = input;
    this.params = counts.params;
    this.buffers = counts.buffers;
    this.macs = counts.macs;
    this.biases = counts.biases;
    this.normParams = counts.normParams;
  }

  get blocks(): Block[] {
    if (!this.built) {
      this.built = [this.make(0, this.in)];
      for (let b = 1; b < this.depth; b++) this.built.push(this.make(b, this.out));
    }
    return this.built;
  }
}

function blockCounts(b: Block): DetailedCounts {
  return L.detailedCounts([...b.preactivation, ...b.branch, ...b.shortcut.layers, ...b.after]);
}

function buildBlock(
  name: string,
  index: number,
  input: Shape,
  stride: number,
  width: number,
  innerWidth: number,
  spec: BlockSpec,
  option: ShortcutOption,
  origin: Origin,
  ctx: BuildContext,
): Block | undefined {
  const { norm: normSpec, act } = ctx;
  const outChannels = width * spec.expansion;
  const preact = isPreactivation(spec.kind);
  const n = (suffix: string): string => `${name}.${suffix}`;

  const preactivation: Layer[] = preact ? [L.norm(n('norm1'), input, normSpec), L.activation(n('act1'), input, act)] : [];
  const branch: Layer[] = [];
  let shape = input;
  const push = (layer: Layer): void => {
    branch.push(layer);
    shape = layer.out;
  };
  // Each convolution is followed by its norm and activation (post-activation blocks), or
  // preceded by them (pre-activation blocks; the first pair is the block's preactivation).
  const convs = branchConvs(spec, stride, innerWidth, outChannels);
  for (const [i, c] of convs.entries()) {
    const k = i + 1;
    if (preact && k > 1) {
      push(L.norm(n(`norm${k}`), shape, normSpec));
      push(L.activation(n(`act${k}`), shape, act));
    }
    push(L.conv(n(`conv${k}`), shape, c.channels, { kernel: c.kernel, stride: c.stride, groups: c.groups }));
    if (!preact) {
      push(L.norm(n(`norm${k}`), shape, normSpec));
      if (k < convs.length) push(L.activation(n(`act${k}`), shape, act));
    }
  }
  if (spec.se !== undefined) {
    const squeezed = Math.floor(shape.c / spec.se);
    if (squeezed < 1) {
      ctx.report.report('R0305', spec.origin, `se ${spec.se} squeezes ${shape.c} channels to none in ${name}`, {
        help: `use a ratio of at most ${shape.c}`,
      });
      return undefined;
    }
    push(L.squeezeExcitation(n('se'), shape, squeezed, act));
  }

  const shortcut = buildShortcut(n('shortcut'), input, stride, outChannels, option, preact, ctx);
  if (shortcut === undefined) {
    ctx.report.report('R0303', origin, `shortcut A cannot take ${input.c} channels to ${outChannels} in ${name}: it only appends zero channels`, {
      help: 'use shortcut B (a projection) where a block narrows',
    });
    return undefined;
  }
  // With K/2 padding every kernel maps n pixels to ceil(n / s) (and never to none), so
  // the branch and any shortcut always agree; this guards that arithmetic.
  const shortcutOut = shortcut.layers.length > 0 ? shortcut.layers[shortcut.layers.length - 1]!.out : input;
  if (shortcutOut.c !== shape.c || shortcutOut.h !== shape.h || shortcutOut.w !== shape.w) {
    throw new Error(`internal: in ${name} the branch gives ${shapeText(shape)} but the shortcut ${shapeText(shortcutOut)}`);
  }
  const after: Layer[] = preact ? [] : [L.activation(n('act'), shape, act)];
  const counts = L.sumCounts([...preactivation, ...branch, ...shortcut.layers]);
  return {
    name,
    index,
    kind: spec.kind,
    stride,
    in: input,
    out: shape,
    innerWidth,
    groups: spec.groups,
    expansion: spec.expansion,
    dropPath: 0,
    preactivation,
    branch,
    shortcut,
    after,
    ...counts,
  };
}

/** One convolution of a block's residual branch. */
export interface BranchConv {
  channels: number;
  kernel: [number, number];
  stride: number;
  groups: number;
}

/**
 * The convolutions of a block's residual branch, in order (LANGUAGE.md's block table): which
 * one takes the block's stride, its kernel, groups and output channels.
 */
export function branchConvs(spec: Pick<BlockSpec, 'kind' | 'strideOn' | 'groups'>, stride: number, innerWidth: number, outChannels: number): BranchConv[] {
  return isBottleneck(spec.kind)
    ? [
        { channels: innerWidth, kernel: [1, 1], stride: spec.strideOn === '1x1' ? stride : 1, groups: 1 },
        { channels: innerWidth, kernel: [3, 3], stride: spec.strideOn === '3x3' ? stride : 1, groups: spec.groups },
        { channels: outChannels, kernel: [1, 1], stride: 1, groups: 1 },
      ]
    : [
        { channels: innerWidth, kernel: [3, 3], stride, groups: 1 },
        { channels: outChannels, kernel: [3, 3], stride: 1, groups: 1 },
      ];
}

/** torchvision's one rule: a block changes the shape, and its shortcut is more than an identity, when it strides or changes the channels. */
export function changesShape(inChannels: number, stride: number, outChannels: number): boolean {
  return stride !== 1 || inChannels !== outChannels;
}

/** Undefined when shortcut A would have to drop channels. */
function buildShortcut(name: string, input: Shape, stride: number, outChannels: number, option: ShortcutOption, preact: boolean, ctx: BuildContext): Shortcut | undefined {
  const changes = changesShape(input.c, stride, outChannels);
  const identity: Shortcut = { option, kind: 'identity', source: 'input', layers: [] };
  if (option === 'A') {
    if (!changes) return identity;
    if (outChannels < input.c) return undefined;
    return { option, kind: 'subsample_pad', source: 'input', layers: [L.subsamplePad(`${name}.pad`, input, outChannels, stride)] };
  }
  if (!changes && option !== 'C') return identity;
  const layers: Layer[] = [];
  let shape = input;
  if (option === 'D' && stride > 1) {
    const p = L.pool('avgpool', `${name}.pool`, shape, { kernel: [2, 2], stride, padding: [0, 0, 0, 0], ceilMode: true, countIncludePad: false });
    layers.push(p);
    shape = p.out;
  }
  const conv = L.conv(`${name}.conv`, shape, outChannels, { kernel: [1, 1], stride: option === 'D' ? 1 : stride });
  layers.push(conv);
  if (!preact) layers.push(L.norm(`${name}.norm`, conv.out, ctx.norm));
  return { option, kind: 'projection', source: preact ? 'preactivated' : 'input', layers };
}
