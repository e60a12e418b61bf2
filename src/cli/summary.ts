import type { Command } from 'commander';
import { compactCount, groupDigits, shareText } from '../model/count-format.js';
import { displayPath } from '../diagnostics/render.js';
import type { CheckedModel, Counts, Layer, Shape } from '../model/types.js';
import { blockPaths } from '../model/walk.js';
import { loadModel } from './load.js';
import type { Output } from './output.js';
import { shapeText } from '../model/shape-text.js';

export function registerSummary(program: Command, out: Output): void {
  program
    .command('summary')
    .argument('<file>', 'a .resnet file')
    .option('-m, --model <name>', 'the model to summarise (needed when the file declares several)')
    .option('-l, --layers', 'one row per layer instead of per stage')
    .action((file: string, opts: { model?: string; layers?: boolean }) => {
      const { checked, model } = loadModel(file, opts.model, out, 'summary', 'inspect');
      out.out(summaryText(model, displayPath(checked.path, process.cwd()), opts.layers ?? false) + '\n');
    });
}

const shape = shapeText;
const n = (v: number): string => groupDigits(v);

/**
 * Rows in aligned columns two spaces apart, the first two columns to the left and the rest
 * to the right, under a header row: what a person reads. Linear in the rows (cli-table3,
 * used before, laid out 16,000 rows in 40 s).
 */
class Columns {
  private readonly rows: string[][];

  constructor(head: string[]) {
    this.rows = [head];
  }

  push(row: string[]): void {
    this.rows.push(row);
  }

  toString(): string {
    const widths = this.rows[0]!.map((_, i) => this.rows.reduce((w, r) => Math.max(w, (r[i] ?? '').length), 0));
    return this.rows.map((r) => widths.map((w, i) => (i < 2 ? (r[i] ?? '').padEnd(w) : (r[i] ?? '').padStart(w))).join('  ')).join('\n');
  }
}

/** What `resnetc summary` prints: a table a person reads, then the totals with their parts apart. */
export function summaryText(model: CheckedModel, file: string, layers: boolean): string {
  const t = model.totals;
  const lines: string[] = [];
  const blockKinds = [...new Set(model.stages.map((s) => s.kind))].join(', ');
  const shortcuts = [...new Set(model.stages.map((s) => s.shortcut))].join(', ');
  lines.push(`${model.name}  (${file})`);
  lines.push(`input ${shape(model.input)}, ${blockKinds} blocks, shortcut ${shortcuts}${model.head ? `, ${model.head.classes} classes` : ''}`);
  lines.push('');

  if (layers) {
    const tb = new Columns(['layer', 'op', 'output', 'params', 'MACs']);
    const row = (l: Layer): void => void tb.push([l.name, describe(l), shape(l.out), n(l.params), n(l.macs)]);
    model.stem.forEach(row);
    for (const s of model.stages) for (const b of s.blocks) for (const [, ls] of blockPaths(b)) ls.forEach(row);
    model.final.forEach(row);
    model.head?.layers.forEach(row);
    tb.push(['total', '', '', n(t.params), n(t.macs)]);
    lines.push(tb.toString());
  } else {
    const tb = new Columns(['part', 'blocks', 'output', 'params', 'share', 'MACs', 'share']);
    const row = (name: string, blocks: string, out: Shape | string, c: Counts): void =>
      void tb.push([name, blocks, typeof out === 'string' ? out : shape(out), n(c.params), shareText(c.params, t.params), n(c.macs), shareText(c.macs, t.macs)]);
    const stemOut = model.stem.length > 0 ? model.stem[model.stem.length - 1]!.out : model.input;
    row('stem', '', stemOut, sum(model.stem));
    for (const s of model.stages) row(s.name, `${s.depth} x ${s.kind}${s.stride > 1 ? ` /${s.stride}` : ''}${s.dilation > 1 ? ` d${s.dilation}` : ''}`, s.out, s);
    if (model.final.length > 0) row('final', 'norm, act', model.output, sum(model.final));
    if (model.head) row('head', `${globalPoolOf(model.head.layers)}pool, fc`, String(model.head.classes), model.head);
    tb.push(['total', '', '', n(t.params), '', n(t.macs), '']);
    lines.push(tb.toString());
  }
  lines.push('');
  const weights = t.params - t.normParams - t.biases;
  lines.push(`parameters  ${n(t.params)}  (weights ${n(weights)}, norm scale and shift ${n(t.normParams)}, biases ${n(t.biases)})`);
  lines.push(`buffers     ${n(t.buffers)}  (norm running mean and variance: state, not parameters)`);
  lines.push(`MACs        ${n(t.macs)}  (${compactCount(t.macs)}, one image)`);
  if (model.outputs.length === 1 && model.outputs[0]!.name === 'output') {
    lines.push(`output      ${shape(model.output)}${model.head ? ` -> ${model.head.classes} logits` : ''}`);
  } else {
    lines.push(`outputs     ${model.outputs.map((o) => `${o.name} ${shape(o.shape)}`).join(', ')}`);
  }
  const extras = [
    model.activation.fn !== 'relu' ? `activation ${describeActivation(model.activation)}` : '',
    model.norm.kind === 'group' ? `group norm, ${model.norm.groups} groups` : '',
    model.outputStride !== undefined ? `output stride ${model.outputStride}` : '',
    model.dropPath > 0 ? `drop path up to ${model.dropPath}` : '',
  ].filter(Boolean);
  if (extras.length > 0) lines.push(extras.join(', '));
  return lines.join('\n');
}

/** The head's global pool kind, as a prefix of "pool": `avg`, `catavgmax`. */
function globalPoolOf(layers: Layer[]): string {
  const pool = layers.find((l) => l.op === 'global_pool');
  return pool?.op === 'global_pool' ? `${pool.kind} ` : '';
}

function describeActivation(a: { fn: string; negativeSlope: number }): string {
  return a.fn === 'leaky_relu' ? `leaky_relu ${a.negativeSlope}` : a.fn;
}

function sum(layers: Layer[]): Counts {
  return layers.reduce((a, l) => ({ params: a.params + l.params, buffers: a.buffers + l.buffers, macs: a.macs + l.macs }), { params: 0, buffers: 0, macs: 0 });
}

function describe(l: Layer): string {
  switch (l.op) {
    case 'conv':
      return `conv ${l.kernel[0]}x${l.kernel[1]}${l.stride > 1 ? ` /${l.stride}` : ''}${l.dilation > 1 ? ` d${l.dilation}` : ''}${l.groups > 1 ? ` g${l.groups}` : ''}${l.bias ? ' +bias' : ''}`;
    case 'maxpool':
    case 'avgpool':
      return `${l.op} ${l.kernel[0]}x${l.kernel[1]}${l.stride > 1 ? ` /${l.stride}` : ''}${l.ceilMode ? ' ceil' : ''}`;
    case 'act':
      return describeActivation(l);
    case 'se':
      return `se ${l.in.c}->${l.reduce.out.c}->${l.in.c}`;
    case 'subsample_pad':
      return `subsample /${l.stride}, pad channels`;
    case 'global_pool':
      return `global ${l.kind}pool`;
    case 'dropout':
      return `dropout ${l.rate}`;
    case 'dense':
      return 'fully connected';
    case 'norm':
      return l.kind === 'group' ? `group norm /${l.groups}` : 'batch norm';
  }
}
