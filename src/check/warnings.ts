import { outputLength, paddingOnlyTaps } from '../model/arithmetic.js';
import type { CheckedModel, Shape, ShortcutOption, Stage } from '../model/types.js';
import { branchConvs, changesShape } from './build.js';
import type { BlockSpec, ModelDecl, Reporter, StageDecl } from './declaration.js';
import { shortcutKindWords } from '../syntax/vocabulary.js';
import { isBottleneck } from './vocabulary.js';

/**
 * What a reviewer of a ResNet spec would flag in a model that checks: statements that are
 * valid but change nothing, or weights that can never train. Each warning is right every
 * time it fires (docs/diagnostics.md says why), and none fires on the model zoo.
 *
 * - R0306: a stride (stem layer or stage) on a 1x1 map changes nothing.
 * - R0307: a shortcut kind written explicitly that no block uses: every block it applies
 *   to keeps its shape, so every shortcut is an identity.
 * - R0308: squeeze-and-excitation that squeezes to one channel.
 * - R0309: a convolution (stem, or a stage's block) whose kernel reaches past the map it
 *   sees: taps that fall only on padding, whose weights get no gradient.
 * - R0216: `stride_on` on a block that never strides.
 * - R0320: `output_stride N` on a model whose stride never goes past N: it changes nothing.
 * - R0321: `pool` on a model without a head (no `classes`, or `outputs` without `logits`).
 * - R0217: an inner width `width x width_per_group / 64` that is not whole, so rounded down.
 *
 * Reads the merged declaration (where things were written) and the built model (shapes);
 * never builds a stage's blocks.
 */
export function reportWarnings(decl: ModelDecl, model: Omit<CheckedModel, 'expects'>, report: Reporter): void {
  let pointSince: string | undefined = isPoint(model.input) ? 'from the input on' : undefined;

  // The stem: its convolutions and pools are the stem spec's layers, in order.
  const stemOps = model.stem.filter((l) => l.op === 'conv' || l.op === 'maxpool' || l.op === 'avgpool');
  for (const [i, spec] of (decl.stem?.value ?? []).entries()) {
    const layer = stemOps[i];
    if (!layer || (layer.op !== 'conv' && layer.op !== 'maxpool' && layer.op !== 'avgpool')) break;
    const what = `the stem's ${spec.op} ${spec.kernel[0]}x${spec.kernel[1]}`;
    if (spec.stride > 1 && pointSince) {
      report.report('R0306', spec.strideOrigin ?? spec.origin, `stride ${spec.stride} of ${what} meets a 1x1 map and changes nothing`, {
        help: `the map is 1x1 ${pointSince}; remove the stride, or give the model a larger input`,
      });
    } else if (layer.op === 'conv') {
      const dead = deadTaps(layer.in, layer.kernel, layer.stride, layer.padding, layer.dilation);
      if (dead > 0) report.report('R0309', spec.origin, `${what} sees a ${mapText(layer.in, layer.stride)}: ${taps(dead, layer.kernel)}`, { help: tooSmall });
    }
    if (!pointSince && isPoint(layer.out)) pointSince = `after the stem's ${spec.op} ${spec.kernel[0]}x${spec.kernel[1]}`;
  }

  const byBlock = new Map<BlockSpec, { stages: Stage[]; strides: boolean }>();
  const seWarned = new Set<BlockSpec>();
  for (const [i, stage] of model.stages.entries()) {
    const s = decl.stages[i]!;
    const spec = (s.block ?? decl.block)!;
    const use = byBlock.get(spec) ?? { stages: [], strides: false };
    use.stages.push(stage);
    use.strides ||= stage.stride > 1;
    byBlock.set(spec, use);

    if (stage.stride > 1 && pointSince && s.stride) {
      report.report('R0306', s.stride.origin, `stride ${stage.stride} of stage '${stage.name}' meets a 1x1 map and changes nothing`, {
        help: `the map is 1x1 ${pointSince}; remove the stride, or give the model a larger input`,
      });
    } else {
      const dead = stageDeadTaps(stage, spec, i > 0 ? model.stages[i - 1]!.dilation : 1);
      if (dead) report.report('R0309', s.nameOrigin, `a ${dead.kernel[0]}x${dead.kernel[1]} convolution of stage '${stage.name}' sees a ${mapText(dead.map, dead.stride)}: ${taps(dead.taps, dead.kernel)}`, { help: tooSmall });
    }
    if (!pointSince && isPoint(stage.out)) pointSince = `after stage '${stage.name}'`;

    if (s.shortcut && !stageChangesShape(stage)) unusedShortcut(report, s.shortcut.value, s.shortcut.origin, `stage '${stage.name}'`);

    if (spec.se !== undefined && Math.floor(stage.out.c / spec.se) === 1 && !seWarned.has(spec)) {
      seWarned.add(spec);
      report.report('R0308', spec.seOrigin ?? spec.origin, `se ${spec.se} squeezes the ${stage.out.c} channels of stage '${stage.name}' to 1`, {
        help: `every channel's gate then comes from one number; a ratio of at most ${Math.floor(stage.out.c / 2)} keeps two or more (SENet uses 16)`,
      });
    }

    if (isBottleneck(spec.kind) && (stage.width * spec.widthPerGroup) % 64 !== 0) {
      const exact = (stage.width * spec.widthPerGroup) / 64; // k / 64: printed exactly
      const perGroup = Math.floor(exact);
      const inner = spec.groups > 1 ? `: an inner width of ${perGroup * spec.groups}, not ${exact * spec.groups}` : '';
      report.report('R0217', s.width!.origin, `stage '${stage.name}' has ${stage.width} x ${spec.widthPerGroup} / 64 = ${exact} inner channels${spec.groups > 1 ? ' per group' : ''}, rounded down to ${perGroup}${inner}`, {
        help: `the inner width is floor(width x width_per_group / 64)${spec.groups > 1 ? ' x groups' : ''}, as in torchvision; a width that is a multiple of ${64 / gcd(spec.widthPerGroup, 64)} loses nothing`,
      });
    }
  }

  // A model-wide shortcut that no stage taking it uses.
  if (decl.shortcut) {
    const takers = model.stages.filter((_, i) => decl.stages[i]!.shortcut === undefined);
    if (takers.length > 0 && !takers.some(stageChangesShape)) unusedShortcut(report, decl.shortcut.value, decl.shortcut.origin, takers.length === 1 ? `stage '${takers[0]!.name}', the only stage it applies to` : 'the stages it applies to');
  }

  if (decl.outputStride && model.stages.every((s) => s.dilation === 1)) {
    const all = decl.stem?.value.reduce((n, l) => n * l.stride, 1) ?? 1;
    const reached = decl.stages.slice(0, model.stages.length).reduce((n, s) => n * (s.stride?.value ?? 1), all);
    report.report('R0320', decl.outputStride.origin, `output_stride ${decl.outputStride.value} changes nothing: the model's stride reaches only ${reached}`, {
      help: 'output_stride turns the strides that would take the model past it into dilation; remove it, or lower it',
    });
  }
  if (decl.pool && !model.head) {
    report.report('R0321', decl.pool.origin, `pool ${decl.pool.value} has no effect: the model has no head`, {
      help: decl.classes ? "outputs leaves out the head: list 'logits' to keep it" : "pool is the head's global pool, which 'classes' adds",
    });
  }

  for (const [spec, use] of byBlock) {
    if (spec.strideOnOrigin && !use.strides) {
      report.report('R0216', spec.strideOnOrigin, `stride_on ${spec.strideOn} has no effect: no stage with this block has a stride`, {
        help: 'stride_on picks the convolution that takes a stage\'s stride; remove it, or give a stage a stride',
      });
    }
  }
}

const tooSmall = 'the map is smaller than the kernel reaches: give the model a larger input, or fewer strides before this point';

const isPoint = (s: Shape): boolean => s.h === 1 && s.w === 1;

const mapText = (s: Shape, stride: number): string => `${s.h}x${s.w} map${stride > 1 ? ` at stride ${stride}` : ''}`;

const taps = (dead: number, kernel: [number, number]): string =>
  `${dead} of its ${kernel[0] * kernel[1]} taps fall only on padding, so their weights never train`;

/** Taps of a kernel (with its padding [top, left, bottom, right] and dilation) that only ever multiply padding on this map. */
function deadTaps(map: Shape, kernel: [number, number], stride: number, padding: [number, number, number, number], dilation: number): number {
  const liveH = kernel[0] - paddingOnlyTaps(map.h, kernel[0], stride, padding[0], padding[2], dilation);
  const liveW = kernel[1] - paddingOnlyTaps(map.w, kernel[1], stride, padding[1], padding[3], dilation);
  return kernel[0] * kernel[1] - liveH * liveW;
}

/** The first convolution of a stage's blocks with taps that see only padding: the first block's, then a later block's. */
function stageDeadTaps(stage: Stage, spec: BlockSpec, previousDilation: number): { kernel: [number, number]; map: Shape; stride: number; taps: number } | undefined {
  const blocks: [Shape, number, number][] = [[stage.in, stage.stride, previousDilation]];
  if (stage.depth > 1) blocks.push([stage.out, 1, stage.dilation]);
  for (const [input, stride, firstDilation] of blocks) {
    let map = input;
    for (const conv of branchConvs(spec, stride, 0, 0, stage.dilation, firstDilation)) {
      const dead = deadTaps(map, conv.kernel, conv.stride, conv.padding, conv.dilation);
      if (dead > 0) return { kernel: conv.kernel, map, stride: conv.stride, taps: dead };
      const span = (k: number): number => conv.dilation * (k - 1) + 1;
      const [pt, pl, pb, pr] = conv.padding;
      map = { c: map.c, h: outputLength(map.h, span(conv.kernel[0]), conv.stride, pt, pb), w: outputLength(map.w, span(conv.kernel[1]), conv.stride, pl, pr) };
    }
  }
  return undefined;
}

/** Whether the stage's first block (the only one that can) changes the shape, so that its shortcut is more than an identity. */
function stageChangesShape(stage: Stage): boolean {
  return changesShape(stage.in.c, stage.stride, stage.out.c);
}

function unusedShortcut(report: Reporter, option: ShortcutOption, origin: StageDecl['origin'], where: string): void {
  if (option === 'C') return; // C projects in every block
  report.report('R0307', origin, `shortcut ${option} (${shortcutKindWords.words[option].title}) never takes effect in ${where}: no block there strides or changes its channels, so every shortcut is an identity`, {
    help: `shortcut ${option} acts only where a block changes shape; remove the line, or write \`shortcut C\` to project in every block`,
  });
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
