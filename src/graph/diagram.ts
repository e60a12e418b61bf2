import { compactCount, describeCount, shareText } from '../model/count-format.js';
import type { ActivationLayer, Block, CheckedModel, ConvLayer, Layer, NormLayer, Shape, Stage } from '../model/types.js';
import { shortcutKindWords } from '../syntax/vocabulary.js';
import { shapeText } from '../model/shape-text.js';

/**
 * The architecture diagram's content, before any layout, all of it read from the checked
 * model: the parts of the network left to right (input, stem, each stage, the head, the
 * outputs) and the feature map that flows between them. A stage is drawn as the paper
 * draws a block (He et al. 2016, fig. 2 and 5; fig. 1 of the pre-activation paper): its
 * block's inside once, top to bottom (each convolution with kernel, width, stride,
 * dilation and groups, the norm and activation beside it, SE, the addition), the skip
 * connection beside it, and a projection shortcut only where the stage's blocks have one.
 */
export interface Box {
  id: string;
  kind: 'input' | 'stem' | 'stage' | 'more' | 'final' | 'head' | 'output' | 'feature' | 'layer' | 'shortcut' | 'add' | 'split';
  /** First line in bold (for boxes with children, the header above them), the rest plain. */
  lines: string[];
  /** A stage's inside: the boxes and flows of its block, laid out within it. */
  inside?: { boxes: Box[]; flows: Flow[] };
}

export interface Flow {
  id: string;
  from: string;
  to: string;
  /** The feature map that flows along it (e.g. `256x56x56`), or what a skip connection is (`identity`); may be empty. */
  label: string;
  /** `skip`: a shortcut of a block (drawn dashed). */
  kind?: 'skip';
}

export interface Diagram {
  title: string;
  subtitle: string;
  boxes: Box[];
  flows: Flow[];
}

const shape = shapeText;

const share = (part: number, whole: number): string => (whole === 0 ? '' : ` (${shareText(part, whole)})`);

/** `pad 0` where a stem layer's padding is not the language's K/2 default. */
function padText(l: { kernel: [number, number]; padding: [number, number, number, number] }): string {
  const same = l.padding.every((p, i) => p === Math.floor(l.kernel[i % 2]! / 2));
  if (same) return '';
  const [t, le, b, r] = l.padding;
  return t === le && t === b && t === r ? ` pad ${t}` : ` pad ${l.padding.join(',')}`;
}

function stemLayerText(l: Layer): string | undefined {
  switch (l.op) {
    case 'conv':
      return `conv ${l.kernel[0]}x${l.kernel[1]} ${l.out.c}${l.stride !== 1 ? ` /${l.stride}` : ''}${l.groups !== 1 ? ` g${l.groups}` : ''}${padText(l)}`;
    case 'maxpool':
    case 'avgpool':
      return `${l.op} ${l.kernel[0]}x${l.kernel[1]}${l.stride !== 1 ? ` /${l.stride}` : ''}${padText(l)}`;
    default:
      return undefined;
  }
}

const normName = (l: NormLayer): string => (l.kind === 'group' ? `GN(${l.groups})` : 'BN');
const actName = (l: ActivationLayer): string => (l.fn === 'leaky_relu' ? `LeakyReLU(${l.negativeSlope})` : { relu: 'ReLU', silu: 'SiLU', gelu: 'GELU', mish: 'Mish', sigmoid: 'sigmoid' }[l.fn]);

/** `3x3 conv, 128`, then what sets it apart: stride, dilation, groups. Where block 0's differs from the later blocks', both are said. */
function convText(first: ConvLayer, later: ConvLayer | undefined): string {
  const parts = [`${first.kernel[0]}x${first.kernel[1]} conv, ${first.out.c}`];
  if (later === undefined || later.stride === first.stride) {
    if (first.stride !== 1) parts.push(`/${first.stride}`);
  } else parts.push(first.stride !== 1 ? `/${first.stride} in block 0` : `/${later.stride} after block 0`);
  if (later === undefined || later.dilation === first.dilation) {
    if (first.dilation !== 1) parts.push(`dilation ${first.dilation}`);
  } else parts.push(`dilation ${first.dilation} in block 0, ${later.dilation} after`);
  if (first.groups !== 1) parts.push(`groups ${first.groups}`);
  return parts.join(', ');
}

/** What follows (post-activation) or precedes (pre-activation) a convolution: `BN · ReLU`. */
function normActText(layers: Layer[]): string {
  return layers.map((l) => (l.op === 'norm' ? normName(l) : l.op === 'act' ? actName(l) : l.name)).join(' · ');
}

/** Block names of a stage's later blocks: `block 1`, `blocks 1–5`. */
const laterBlocks = (depth: number): string => (depth === 2 ? 'block 1' : `blocks 1–${depth - 1}`);

/**
 * A stage's block drawn once: boxes `<stage>/…` and the flows between them. Block 0 is
 * drawn (it carries the stride and any projection); where a later block differs (stride,
 * dilation, shortcut), the text says so.
 */
function blockInside(stage: Stage, prefix: string): { boxes: Box[]; flows: Flow[] } {
  const blocks = stage.blocks;
  const first = blocks[0]!;
  const later: Block | undefined = blocks[1];
  const boxes: Box[] = [];
  const flows: Flow[] = [];
  const id = (s: string): string => `${prefix}/${s}`;
  const flow = (from: string, to: string, label = '', kind?: 'skip'): void => {
    flows.push({ id: `${from}->${to}${kind ? ':skip' : ''}`, from, to, label, ...(kind ? { kind } : {}) });
  };

  boxes.push({ id: id('in'), kind: 'split', lines: ['block input'] });
  let previous = id('in');
  let preactivated: string | undefined;
  if (first.preactivation.length > 0) {
    boxes.push({ id: id('pre'), kind: 'layer', lines: [normActText(first.preactivation)] });
    flow(previous, id('pre'));
    previous = preactivated = id('pre');
  }
  // The branch: each convolution with the norm and activation that follow it (or, in a
  // pre-activation block, precede the next one); SE on its own.
  const laterConvs = later?.branch.filter((l): l is ConvLayer => l.op === 'conv') ?? [];
  let k = 0;
  let pending: Layer[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const last = boxes[boxes.length - 1]!;
    last.lines.push(normActText(pending));
    pending = [];
  };
  for (const l of first.branch) {
    if (l.op === 'conv') {
      const preLines = first.preactivation.length > 0 && pending.length > 0 ? [normActText(pending)] : [];
      if (first.preactivation.length === 0) flush();
      else pending = [];
      const b = id(`conv${++k}`);
      boxes.push({ id: b, kind: 'layer', lines: [...preLines, convText(l, laterConvs[k - 1])] });
      flow(previous, b);
      previous = b;
    } else if (l.op === 'se') {
      flush();
      const b = id('se');
      boxes.push({ id: b, kind: 'layer', lines: [`SE ${l.in.c} → ${l.reduce.out.c} → ${l.in.c}`, `${actName(l.act)} · sigmoid gate`] });
      flow(previous, b);
      previous = b;
    } else pending.push(l);
  }
  flush();
  const add = id('add');
  boxes.push({ id: add, kind: 'add', lines: ['+'] });
  flow(previous, add);

  // The skip connection: block 0's shortcut, and the later blocks' where it differs.
  const shortcutText = (b: Block): string[] => {
    if (b.shortcut.kind === 'subsample_pad') return [`subsample /${b.stride}`, 'zero channels appended'];
    return b.shortcut.layers.map((l) =>
      l.op === 'conv' ? convText(l, undefined) : l.op === 'norm' ? normName(l) : l.op === 'avgpool' || l.op === 'maxpool' ? `${l.op} ${l.kernel[0]}x${l.kernel[1]} /${l.stride}` : l.op,
    );
  };
  const option = (b: Block): string => `shortcut ${b.shortcut.option}, ${shortcutKindWords.words[b.shortcut.option].title}`;
  const laterKind = later?.shortcut.kind;
  const everyBlock = later === undefined || laterKind === first.shortcut.kind;
  if (first.shortcut.kind === 'identity') {
    flow(id('in'), add, everyBlock ? 'identity' : `identity (block 0)`, 'skip');
  } else {
    const s = id('shortcut');
    boxes.push({ id: s, kind: 'shortcut', lines: [`${option(first)}${everyBlock && later ? ' (every block)' : later ? ' (block 0)' : ''}`, ...shortcutText(first)] });
    flow(first.shortcut.source === 'preactivated' && preactivated ? preactivated : id('in'), s, '', 'skip');
    flow(s, add, '', 'skip');
  }
  if (!everyBlock && later) {
    if (laterKind === 'identity') flow(id('in'), add, `identity (${laterBlocks(blocks.length)})`, 'skip');
    else {
      const s = id('shortcut-later');
      boxes.push({ id: s, kind: 'shortcut', lines: [`${option(later)} (${laterBlocks(blocks.length)})`, ...shortcutText(later)] });
      flow(later.shortcut.source === 'preactivated' && preactivated ? preactivated : id('in'), s, '', 'skip');
      flow(s, add, '', 'skip');
    }
  }
  if (first.after.length > 0) {
    const after = id('after');
    boxes.push({ id: after, kind: 'layer', lines: [normActText(first.after)] });
    flow(add, after);
  }
  return { boxes, flows };
}

/**
 * The most stages drawn: the first and last halves of them, and one box saying how many more
 * there are between (a layout of thousands of boxes takes ELK minutes; a real network has
 * a handful of stages).
 */
export const maxDrawnStages = 32;

/** The diagram of a checked model (see Box). The stages' blocks are read (built) for the stages drawn only. */
export function diagramOf(model: CheckedModel): Diagram {
  const total = model.totals.params;
  const boxes: Box[] = [{ id: 'input', kind: 'input', lines: ['input', shape(model.input)] }];
  const flows: Flow[] = [];
  let previous = 'input';
  let flowing = model.input;
  const link = (to: string, out: Shape): void => {
    flows.push({ id: `${previous}->${to}`, from: previous, to, label: shape(flowing) });
    previous = to;
    flowing = out;
  };
  // Feature outputs (`outputs` written): a box hanging off the part it taps.
  const named = !(model.outputs.length === 1 && model.outputs[0]!.name === 'output');
  const feature = (from: string, source: 'stem' | 'stage', stage?: number): void => {
    if (!named) return;
    for (const o of model.outputs) {
      if (o.source !== source || (source === 'stage' && o.stage !== stage)) continue;
      const fid = `output:${o.name}`;
      boxes.push({ id: fid, kind: 'feature', lines: [`output '${o.name}'`, shape(o.shape)] });
      flows.push({ id: `${from}->${fid}`, from, to: fid, label: '' });
    }
  };

  if (model.stem.length > 0) {
    const layers = model.stem.map(stemLayerText).filter((t): t is string => t !== undefined);
    const params = model.stem.reduce((n, l) => n + l.params, 0);
    boxes.push({ id: 'stem', kind: 'stem', lines: ['stem', ...layers, `${compactCount(params)} params${share(params, total)}`] });
    link('stem', model.stem[model.stem.length - 1]!.out);
    feature('stem', 'stem');
  }
  const hidden = Math.max(0, model.stages.length - maxDrawnStages);
  const shownFirst = model.stages.length - hidden - Math.floor(maxDrawnStages / 2);
  for (const [i, stage] of model.stages.entries()) {
    if (hidden > 0 && i >= shownFirst && i < shownFirst + hidden) {
      if (i === shownFirst) {
        const skipped = model.stages.slice(i, i + hidden);
        const params = skipped.reduce((n, st) => n + st.params, 0);
        boxes.push({ id: 'more', kind: 'more', lines: [`… ${hidden.toLocaleString('en-US')} more stages`, `${compactCount(params)} params${share(params, total)}`] });
        link('more', skipped[skipped.length - 1]!.out);
      }
      continue;
    }
    const id = `stage:${stage.name}`;
    const details = [`width ${stage.width}`, `stride ${stage.stride}`];
    if (stage.dilation !== 1) details.push(`dilation ${stage.dilation}`);
    const groups = stage.blocks[0]?.groups ?? 1;
    if (groups !== 1) details.push(`groups ${groups}`);
    boxes.push({
      id,
      kind: 'stage',
      lines: [`${stage.name}: ${stage.depth} × ${stage.kind}`, details.join(' · '), `→ ${shape(stage.out)} · ${compactCount(stage.params)} params${share(stage.params, total)}`],
      inside: blockInside(stage, id),
    });
    link(id, stage.out);
    if (i < model.stages.length - 1 || model.final.length === 0) feature(id, 'stage', i);
  }
  if (model.final.length > 0) {
    boxes.push({ id: 'final', kind: 'final', lines: ['final', normActText(model.final)] });
    link('final', flowing);
    feature('final', 'stage', model.stages.length - 1);
  }
  if (model.head) {
    const pool = model.head.layers.find((l) => l.op === 'global_pool');
    const poolText = pool?.op === 'global_pool' ? `global ${pool.kind} pool` : 'global pool';
    boxes.push({
      id: 'head',
      kind: 'head',
      lines: ['head', `${poolText} → fc ${model.head.classes}`, `${compactCount(model.head.params)} params${share(model.head.params, total)}`],
    });
    link('head', { c: model.head.classes, h: 1, w: 1 });
    const logits = model.outputs.find((o) => o.source === 'logits');
    const name = named && logits ? `output '${logits.name}'` : 'output';
    boxes.push({ id: 'output', kind: 'output', lines: [name, `${model.head.classes} classes`] });
    flows.push({ id: `${previous}->output`, from: previous, to: 'output', label: String(model.head.classes) });
  } else if (!named) {
    boxes.push({ id: 'output', kind: 'output', lines: ['output', shape(model.output)] });
    flows.push({ id: `${previous}->output`, from: previous, to: 'output', label: shape(flowing) });
  }
  return {
    title: model.name + (model.parent ? ` (extends ${model.parent})` : ''),
    subtitle: `${describeCount(model.totals.params)} params · ${describeCount(model.totals.macs)} MACs`,
    boxes,
    flows,
  };
}
