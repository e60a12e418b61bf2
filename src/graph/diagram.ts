import { compactCount, describeCount, shareText } from '../model/count-format.js';
import type { CheckedModel, Layer, Shape, ShortcutOption } from '../model/types.js';
import { shortcutKindWords } from '../syntax/vocabulary.js';

/**
 * The architecture diagram's content, before any layout: one box per part of the network
 * (input, stem, each stage, the head) and the feature map that flows between them. All of
 * it is read from the checked model.
 */
export interface Box {
  id: string;
  kind: 'input' | 'stem' | 'stage' | 'more' | 'final' | 'head' | 'output';
  /** First line in bold, the rest plain. */
  lines: string[];
}

export interface Flow {
  id: string;
  from: string;
  to: string;
  /** The feature map that flows along it, e.g. `256x56x56`. */
  label: string;
}

export interface Diagram {
  title: string;
  subtitle: string;
  boxes: Box[];
  flows: Flow[];
}

const shape = (s: Shape): string => `${s.c}x${s.h}x${s.w}`;

const share = (part: number, whole: number): string => (whole === 0 ? '' : ` (${shareText(part, whole)})`);

function layerText(l: Layer): string | undefined {
  switch (l.op) {
    case 'conv':
      return `conv ${l.kernel[0]}x${l.kernel[1]} ${l.out.c}${l.stride !== 1 ? ` /${l.stride}` : ''}${l.groups !== 1 ? ` g${l.groups}` : ''}`;
    case 'maxpool':
    case 'avgpool':
      return `${l.op} ${l.kernel[0]}x${l.kernel[1]}${l.stride !== 1 ? ` /${l.stride}` : ''}`;
    default:
      return undefined;
  }
}

/** `A, zero-pad`: the kind and its title in the vocabulary. */
const shortcutName = (option: ShortcutOption): string => `${option}, ${shortcutKindWords.words[option].title}`;

/**
 * The most stages drawn: the first and last halves of them, and one box saying how many more
 * there are between (a layout of thousands of boxes takes ELK minutes; a real network has
 * a handful of stages).
 */
export const maxDrawnStages = 64;

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

  if (model.stem.length > 0) {
    const layers = model.stem.map(layerText).filter((t): t is string => t !== undefined);
    const params = model.stem.reduce((n, l) => n + l.params, 0);
    boxes.push({ id: 'stem', kind: 'stem', lines: ['stem', ...layers, `${compactCount(params)} params${share(params, total)}`] });
    link('stem', model.stem[model.stem.length - 1]!.out);
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
    const first = stage.blocks[0];
    const id = `stage:${stage.name}`;
    const kind = first?.kind ?? 'block';
    const details = [`width ${stage.width}`, `stride ${stage.stride}`];
    if (first && first.groups !== 1) details.push(`groups ${first.groups}`);
    boxes.push({
      id,
      kind: 'stage',
      lines: [
        `${stage.name}: ${stage.blocks.length} × ${kind}`,
        details.join(' · '),
        `shortcut ${first ? shortcutName(first.shortcut.option) : '–'}`,
        `→ ${shape(stage.out)}`,
        `${compactCount(stage.params)} params${share(stage.params, total)}`,
      ],
    });
    link(id, stage.out);
  }
  if (model.final.length > 0) {
    boxes.push({ id: 'final', kind: 'final', lines: ['final', 'norm → activation'] });
    link('final', flowing);
  }
  if (model.head) {
    boxes.push({
      id: 'head',
      kind: 'head',
      lines: ['head', `global avgpool → fc ${model.head.classes}`, `${compactCount(model.head.params)} params${share(model.head.params, total)}`],
    });
    link('head', { c: model.head.classes, h: 1, w: 1 });
    boxes.push({ id: 'output', kind: 'output', lines: ['output', `${model.head.classes} classes`] });
    flows.push({ id: `${previous}->output`, from: previous, to: 'output', label: String(model.head.classes) });
  } else {
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
