import { didYouMean } from '../diagnostics/suggest.js';
import * as L from '../model/layers.js';
import type {
  ActivationSpec,
  NormSpec,
  Block,
  CheckedModel,
  DetailedCounts,
  Head,
  Layer,
  ModelOutput,
  ModelTotals,
  Origin,
  Shape,
  Shortcut,
  ShortcutOption,
  Stage,
} from '../model/types.js';
import type { BlockSpec, Located, ModelDecl, OutputName, Reporter, StageDecl, StemLayerSpec } from './declaration.js';
import { defaults, isBottleneck, isPreactivation } from './vocabulary.js';
import { shapeText } from '../model/shape-text.js';

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
    if (s.stride === null || s.dilation === null || s.block === null || s.shortcut === null) stagesComplete = false;
  }
  const { input, stem, block, shortcut, norm, activation, classes, dropout, outputStride, dropPath, pool } = decl;
  if (!input || !stem || !block || !stagesComplete || decl.stages.length === 0) return undefined;
  if (shortcut === null || norm === null || activation === null || classes === null || dropout === null) return undefined;
  if (outputStride === null || dropPath === null || pool === null || decl.outputs === null) return undefined;

  if (dropout && !classes) {
    report.report('R0213', dropout.origin, 'dropout has no effect without a head', { help: "dropout sits before the fully connected layer that 'classes' adds" });
  }

  const ctx: BuildContext = {
    report,
    blockSummaries,
    norm: norm?.value ?? { kind: 'batch', eps: defaults.eps, momentum: defaults.momentum, groups: 1 },
    normOrigin: norm ? (norm.groupsOrigin ?? norm.origin) : undefined,
    act: activation?.value ?? { fn: defaults.activation, negativeSlope: 0 },
    preactivation: isPreactivation(block.kind),
  };

  const selected = selectOutputs(decl, report);
  if (!selected) return undefined;
  const geometry = stageGeometry(decl, stem.value, outputStride ?? undefined, report);
  if (!geometry) return undefined;

  let shape = input.value;
  const stemLayers = buildStem(stem.value, shape, ctx);
  if (!stemLayers) return undefined;
  shape = stemLayers.length > 0 ? stemLayers[stemLayers.length - 1]!.out : shape;
  const stemOut = shape;

  // Stochastic depth over every block the model declares (timm's rule, which counts the
  // blocks of stages that `outputs` later drops too).
  const totalBlocks = decl.stages.reduce((n, s) => n + s.blocks!.value, 0);
  const rate = dropPath?.value ?? 0;
  const dropPathAt = (block: number): number => (totalBlocks > 1 ? (rate * block) / (totalBlocks - 1) : 0);

  const stages: Stage[] = [];
  let blocksBefore = 0;
  for (const [index, s] of decl.stages.slice(0, selected.stages).entries()) {
    const first = blocksBefore;
    const stage = buildStage(s, index, shape, block, shortcut?.value ?? defaults.shortcut, geometry[index]!, (b) => dropPathAt(first + b), ctx);
    if (!stage) return undefined;
    stages.push(stage);
    shape = stage.out;
    blocksBefore += s.blocks!.value;
  }
  const whole = stages.length === decl.stages.length;

  const final: Layer[] = ctx.preactivation && whole ? [normLayer('final.norm', shape, ctx), L.activation('final.act', shape, ctx.act)] : [];
  if (!groupsDivide(final, ctx)) return undefined;

  let head: Head | undefined;
  if (classes && selected.logits) {
    const layers: Layer[] = [L.globalPool('head.pool', shape, pool?.value ?? defaults.pool)];
    if (dropout && dropout.value > 0) layers.push(L.dropout('head.dropout', layers[0]!.out, dropout.value));
    layers.push(L.dense('head.fc', layers[layers.length - 1]!.out, classes.value));
    head = { classes: classes.value, layers, in: shape, ...L.sumCounts(layers) };
  }

  const outputs: ModelOutput[] = selected.names.map((o) =>
    o.source === 'stem'
      ? { name: o.name, source: 'stem', stage: undefined, shape: stemOut }
      : o.source === 'logits'
        ? { name: o.name, source: 'logits', stage: undefined, shape: { c: head!.classes, h: 1, w: 1 } }
        : { name: o.name, source: 'stage', stage: o.stage, shape: stages[o.stage!]!.out },
  );
  if (outputs.length === 0) {
    outputs.push(
      head
        ? { name: 'output', source: 'logits', stage: undefined, shape: { c: head.classes, h: 1, w: 1 } }
        : { name: 'output', source: 'stage', stage: stages.length - 1, shape },
    );
  }
  // What `expect output` compares: the last stage listed, else the last stage the model keeps (the stem's map when it keeps none).
  const lastStageListed = outputs.filter((o) => o.source === 'stage').pop();
  const output = lastStageListed ? lastStageListed.shape : stages.length > 0 ? stages[stages.length - 1]!.out : stemOut;

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
    outputStride: outputStride?.value,
    dropPath: rate,
    outputs,
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
  /** Where the norm (or its `groups`) was written; undefined when not written (batch norm). */
  normOrigin: Origin | undefined;
  act: ActivationSpec;
  preactivation: boolean;
}

/** What `outputs` selects, checked against the model: each item, how many stages the model keeps, and whether it keeps the head. */
interface SelectedOutputs {
  names: { name: string; source: ModelOutput['source']; stage: number | undefined }[];
  stages: number;
  logits: boolean;
}

/**
 * `outputs` resolved: every name a stage, `stem` or `logits` (R0234), `logits` only with
 * `classes` (R0237), listed in the order the network computes them (R0236). Without
 * `outputs`, every stage and the head. Undefined (reported) when a name is wrong.
 */
function selectOutputs(decl: ModelDecl, report: Reporter): SelectedOutputs | undefined {
  const written = decl.outputs;
  if (!written) return { names: [], stages: decl.stages.length, logits: true };
  const stageIndex = new Map(decl.stages.map((s, i) => [s.name, i]));
  const names: SelectedOutputs['names'] = [];
  // Position in the network: the stem before stage 0, logits after the last.
  const position = (o: SelectedOutputs['names'][number]): number => (o.source === 'stem' ? -1 : o.source === 'logits' ? decl.stages.length : o.stage!);
  let previous: { item: SelectedOutputs['names'][number]; at: OutputName } | undefined;
  for (const at of written.value) {
    let item: SelectedOutputs['names'][number];
    if (at.name === 'stem') item = { name: 'stem', source: 'stem', stage: undefined };
    else if (at.name === 'logits') {
      if (!decl.classes) {
        report.report('R0237', at.origin, "'logits' is the head's output, and this model has no head", { help: 'add `classes N`, or list stages only' });
        return undefined;
      }
      item = { name: 'logits', source: 'logits', stage: undefined };
    } else {
      const index = stageIndex.get(at.name);
      if (index === undefined) {
        const known = [...stageIndex.keys(), 'stem', ...(decl.classes ? ['logits'] : [])];
        const suggestion = didYouMean(at.name, known);
        report.report('R0234', at.origin, `outputs lists '${at.name}', which is not a stage of model '${decl.name}', 'stem' or 'logits'`, {
          help: suggestion ? `did you mean '${suggestion}'?` : `the names it takes are ${known.map((k) => `'${k}'`).join(', ')}`,
          fixes: suggestion ? [{ title: `change to '${suggestion}'`, span: at.origin.node.span, newText: suggestion }] : [],
        });
        return undefined;
      }
      item = { name: at.name, source: 'stage', stage: index };
    }
    if (previous && position(item) < position(previous.item)) {
      report.report('R0236', at.origin, `outputs lists '${at.name}' after '${previous.at.name}', which the network computes later`, {
        help: 'list the outputs in the order the network computes them: the stem, the stages in order, then logits',
        related: [{ file: previous.at.origin.file, span: previous.at.origin.node.span, message: `'${previous.at.name}' listed here` }],
      });
      return undefined;
    }
    names.push(item);
    previous = { item, at };
  }
  const last = names[names.length - 1]!;
  const logits = last.source === 'logits';
  return { names, stages: logits ? decl.stages.length : last.source === 'stem' ? 0 : last.stage! + 1, logits };
}

/** A stage's stride and dilations after `output_stride` (or its own `dilation`). */
export interface StageGeometry {
  stride: number;
  dilation: number;
  /** The dilation of the stage before (1 for the first): its first block's first 3x3 convolution takes it. */
  previousDilation: number;
}

/**
 * Every stage's stride and dilation (LANGUAGE.md, "Backbone statements"): with
 * `output_stride N` the stages are taken in order with the stride reached so far, the stem's
 * included, and a stage whose stride would take it past N gets stride 1 and multiplies the
 * dilation by its stride instead (torchvision's `_make_layer` with `replace_stride_with_dilation`,
 * timm's `make_blocks`). Refuses `dilation` written with `output_stride` (R0231) and a stem
 * whose stride alone is past N (R0232).
 */
function stageGeometry(decl: ModelDecl, stem: StemLayerSpec[], outputStride: Located<number> | undefined, report: Reporter): StageGeometry[] | undefined {
  if (outputStride) {
    const dilated = decl.stages.find((s) => s.dilation);
    if (dilated) {
      report.report('R0231', dilated.dilation!.origin, `stage '${dilated.name}' sets its dilation, and the model sets output_stride ${outputStride.value}`, {
        help: 'output_stride decides every stage\'s dilation; write one or the other',
        related: [{ file: outputStride.origin.file, span: outputStride.origin.node.span, message: 'output_stride set here' }],
      });
      return undefined;
    }
  }
  let reached = stem.reduce((n, l) => n * l.stride, 1);
  if (outputStride && reached > outputStride.value) {
    report.report('R0232', outputStride.origin, `the stem alone has stride ${reached}, past output_stride ${outputStride.value}`, {
      help: 'output_stride can turn only the stages\' strides into dilation; lower the stem\'s strides or raise output_stride',
    });
    return undefined;
  }
  const geometry: StageGeometry[] = [];
  let dilation = 1;
  for (const s of decl.stages) {
    const previousDilation = dilation;
    let stride = s.stride?.value ?? defaults.stride;
    if (outputStride) {
      if (reached * stride > outputStride.value) {
        dilation *= stride;
        stride = 1;
      } else reached *= stride;
    } else dilation = s.dilation?.value ?? defaults.dilation;
    geometry.push({ stride, dilation, previousDilation });
  }
  return geometry;
}

/** A norm layer of the model's kind. */
function normLayer(name: string, shape: Shape, ctx: BuildContext): Layer {
  return L.norm(name, shape, ctx.norm);
}

/** Whether the group norm's groups divide the channels of every norm among `layers`; reports R0233 at the first that it does not. */
function groupsDivide(layers: Layer[], ctx: BuildContext): boolean {
  const bad = layers.find((l) => l.op === 'norm' && l.in.c % l.groups !== 0);
  if (!bad || bad.op !== 'norm') return true;
  ctx.report.report('R0233', ctx.normOrigin!, `group norm's ${bad.groups} groups do not divide the ${bad.in.c} channels of ${bad.name}`, {
    help: `GroupNorm needs a group count that divides every channel count it normalises; ${divisorsText(bad.in.c, bad.groups)}`,
  });
  return false;
}

/** The divisors of `c` nearest to `g`, for a help line. */
function divisorsText(c: number, g: number): string {
  const divisors: number[] = [];
  for (let d = 1; d <= c && divisors.length < 10_000; d++) if (c % d === 0) divisors.push(d);
  const below = divisors.filter((d) => d < g).pop();
  const above = divisors.find((d) => d > g);
  return `${c} channels take e.g. ${[below, above].filter((d) => d !== undefined).join(' or ')} groups`;
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
      out = L.conv(`stem.conv${convs}`, shape, l.channels, { kernel: l.kernel, stride: l.stride, groups: l.groups, ...padding(l) });
      if (!mapKept(out, l, ctx)) return undefined;
      layers.push(out);
      if (!ctx.preactivation) {
        layers.push(normLayer(`stem.norm${convs}`, out.out, ctx));
        layers.push(L.activation(`stem.act${convs}`, out.out, ctx.act));
      }
    } else {
      pools++;
      out = L.pool(l.op, `stem.pool${pools}`, shape, { kernel: l.kernel, stride: l.stride, ...padding(l) });
      if (!mapKept(out, l, ctx)) return undefined;
      layers.push(out);
    }
    shape = out.out;
  }
  return groupsDivide(layers, ctx) ? layers : undefined;
}

/** `pad P` as the layer constructors take it: the same on every side; nothing for K/2. */
function padding(l: StemLayerSpec): { padding?: [number, number, number, number] } {
  return l.pad === undefined ? {} : { padding: [l.pad, l.pad, l.pad, l.pad] };
}

/** Whether a stem layer leaves a map of at least 1x1; reports R0238 when its kernel no longer fits (only `pad` smaller than K/2 can do that). */
function mapKept(layer: Layer, spec: StemLayerSpec, ctx: BuildContext): boolean {
  if (layer.out.h > 0 && layer.out.w > 0) return true;
  const padText = spec.pad === undefined ? '' : ` with pad ${spec.pad}`;
  ctx.report.report('R0238', spec.padOrigin ?? spec.origin, `the stem's ${spec.op} ${spec.kernel[0]}x${spec.kernel[1]}${padText} does not fit in its ${layer.in.h}x${layer.in.w} input: it leaves no output`, {
    help: 'raise the padding, shrink the kernel or give the model a larger input',
  });
  return false;
}

function buildStage(
  s: StageDecl,
  index: number,
  input: Shape,
  modelBlock: BlockSpec,
  modelShortcut: ShortcutOption,
  geometry: StageGeometry,
  dropPathOf: (block: number) => number,
  ctx: BuildContext,
): Stage | undefined {
  // Only the first block and the second (the pattern of every later one) are built here;
  // counts follow from those two, and the full list is built when something reads it.
  const blockSpec = s.block ?? modelBlock;
  const shortcut = s.shortcut?.value ?? modelShortcut;
  const width = s.width!.value;
  const { stride, dilation, previousDilation } = geometry;
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
    buildBlock(
      `${s.name}.block${b}`,
      b,
      blockInput,
      { stride: b === 0 ? stride : 1, dilation, firstDilation: b === 0 ? previousDilation : dilation, dropPath: dropPathOf(b) },
      width,
      innerWidth,
      blockSpec,
      shortcut,
      origin,
      { ...ctx, report },
    );
  // What a block adds up to depends only on its configuration, not on its name: files of
  // many variants (and every `extends`) repeat the same blocks, so their sums are kept.
  const configuration = `${blockSpec.kind}/${blockSpec.expansion}/${blockSpec.groups}/${blockSpec.widthPerGroup}/${blockSpec.strideOn}/${blockSpec.se}/${shortcut}/${width}/${ctx.norm.kind}/${ctx.norm.groups}/`;
  const summarize = (b: number, blockInput: Shape): BlockSummary | undefined => {
    const key = configuration + (b === 0 ? `${stride}/${previousDilation}` : `1/${dilation}`) + '/' + blockInput.c + 'x' + blockInput.h + 'x' + blockInput.w;
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
  return new LazyStage(s.name, index, depth, blockSpec.kind, shortcut, stride, dilation, width, input, first.out, origin, counts, (b, blockInput) => make(b, blockInput, silent)!);
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

/** Where a block stands in its stage and model: its stride, its 3x3 convolutions' dilations, its drop-path rate. */
interface BlockPlace {
  stride: number;
  /** The dilation of the block's 3x3 convolutions… */
  dilation: number;
  /** …but the first's (the previous stage's dilation in a stage's first block). */
  firstDilation: number;
  dropPath: number;
}

function buildBlock(
  name: string,
  index: number,
  input: Shape,
  place: BlockPlace,
  width: number,
  innerWidth: number,
  spec: BlockSpec,
  option: ShortcutOption,
  origin: Origin,
  ctx: BuildContext,
): Block | undefined {
  const { act } = ctx;
  const { stride } = place;
  const outChannels = width * spec.expansion;
  const preact = isPreactivation(spec.kind);
  const n = (suffix: string): string => `${name}.${suffix}`;

  const preactivation: Layer[] = preact ? [normLayer(n('norm1'), input, ctx), L.activation(n('act1'), input, act)] : [];
  const branch: Layer[] = [];
  let shape = input;
  const push = (layer: Layer): void => {
    branch.push(layer);
    shape = layer.out;
  };
  // Each convolution is followed by its norm and activation (post-activation blocks), or
  // preceded by them (pre-activation blocks; the first pair is the block's preactivation).
  const convs = branchConvs(spec, stride, innerWidth, outChannels, place.dilation, place.firstDilation);
  for (const [i, c] of convs.entries()) {
    const k = i + 1;
    if (preact && k > 1) {
      push(normLayer(n(`norm${k}`), shape, ctx));
      push(L.activation(n(`act${k}`), shape, act));
    }
    push(L.conv(n(`conv${k}`), shape, c.channels, { kernel: c.kernel, stride: c.stride, groups: c.groups, dilation: c.dilation, padding: c.padding }));
    if (!preact) {
      push(normLayer(n(`norm${k}`), shape, ctx));
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
  if (!groupsDivide([...preactivation, ...branch, ...shortcut.layers], ctx)) return undefined;
  // With K/2 padding (dilation x K/2 for a dilated kernel) every kernel maps n pixels to
  // ceil(n / s) (and never to none), so the branch and any shortcut always agree; this guards that arithmetic.
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
    dropPath: place.dropPath,
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
  dilation: number;
  /** dilation x K/2 on every side: the map keeps its size at stride 1. */
  padding: [number, number, number, number];
}

/**
 * The convolutions of a block's residual branch, in order (LANGUAGE.md's block table): which
 * one takes the block's stride, its kernel, groups, dilation and output channels. The 3x3
 * convolutions take `dilation`, but the first takes `firstDilation` (the previous stage's, in
 * a stage's first block: timm's `first_dilation`, torchvision's `previous_dilation`).
 */
export function branchConvs(
  spec: Pick<BlockSpec, 'kind' | 'strideOn' | 'groups'>,
  stride: number,
  innerWidth: number,
  outChannels: number,
  dilation = 1,
  firstDilation = dilation,
): BranchConv[] {
  const c = (channels: number, k: number, s: number, groups: number, d: number): BranchConv => {
    const p = d * Math.floor(k / 2);
    return { channels, kernel: [k, k], stride: s, groups, dilation: k > 1 ? d : 1, padding: [p, p, p, p] };
  };
  return isBottleneck(spec.kind)
    ? [
        c(innerWidth, 1, spec.strideOn === '1x1' ? stride : 1, 1, 1),
        c(innerWidth, 3, spec.strideOn === '3x3' ? stride : 1, spec.groups, firstDilation),
        c(outChannels, 1, 1, 1, 1),
      ]
    : [c(innerWidth, 3, stride, 1, firstDilation), c(outChannels, 3, 1, 1, dilation)];
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
  if (!preact) layers.push(normLayer(`${name}.norm`, conv.out, ctx));
  return { option, kind: 'projection', source: preact ? 'preactivated' : 'input', layers };
}
