/**
 * Checks networks.resnet and prints what the bottleneck block buys: the two networks
 * side by side, then `resnetc summary` of each.
 *
 *     npx tsx examples/bottleneck/compare.ts
 */
import { join } from 'node:path';
import { Workspace } from '../../src/index.js';
import { summaryText } from '../../src/cli/summary.js';

const file = new Workspace().check(join(import.meta.dirname, 'networks.resnet'));
if (!file || file.diagnostics.length > 0) {
  console.error('networks.resnet has problems: run `resnetc check examples/bottleneck/networks.resnet`');
  process.exit(1);
}
const [basic, bottleneck] = ['wide_basic', 'bottleneck'].map((n) => file.models.find((m) => m.name === n)!);
if (!basic || !bottleneck) throw new Error('networks.resnet should declare wide_basic and bottleneck');

const fmt = (n: number): string => n.toLocaleString('en-US');
const layers = (m: typeof basic): number => m.stages.reduce((sum, s) => sum + s.blocks.reduce((b, blk) => b + blk.branch.filter((l) => l.op === 'conv').length, 0), 0) + 2;
const rows: [string, string, string, string][] = [
  ['', 'wide_basic', 'bottleneck', 'ratio'],
  ['weighted layers', String(layers(basic)), String(layers(bottleneck)), (layers(bottleneck) / layers(basic)).toFixed(2)],
  ['parameters', fmt(basic.totals.params), fmt(bottleneck.totals.params), (basic.totals.params / bottleneck.totals.params).toFixed(1) + 'x fewer'],
  ['MACs', fmt(basic.totals.macs), fmt(bottleneck.totals.macs), (basic.totals.macs / bottleneck.totals.macs).toFixed(1) + 'x fewer'],
  ...basic.stages.map((s, i): [string, string, string, string] => {
    const b = bottleneck.stages[i]!;
    return [`${s.name} params (out ${s.out.c}x${s.out.h}x${s.out.w})`, fmt(s.params), fmt(b.params), (s.params / b.params).toFixed(1) + 'x fewer'];
  }),
];
const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   '));
console.log('\nSame feature maps after every stage; the bottleneck network has 1.5x the layers for a');
console.log('small fraction of the parameters and MACs: the depth it buys is what made ResNet-50/101/152 possible.\n');
for (const m of [basic, bottleneck]) console.log(summaryText(m, 'examples/bottleneck/networks.resnet', false) + '\n');
