/**
 * Draws OUT/plot.svg from OUT/metrics.jsonl with `resnetc train`'s own plot (loss and
 * accuracy, train and test, by epoch), for the runs of train.py:
 *
 *     npx tsx examples/distributed/plot.ts OUT [NAME]
 *
 * NAME (the model's) goes in the title. train.py runs this itself at the end of a run where
 * Node is found; it can be run at any time during one.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EpochMetrics, plotSvg } from '../../src/train/metrics.js';

const [out, name = 'model'] = process.argv.slice(2);
if (!out) {
  console.error('usage: npx tsx examples/distributed/plot.ts OUT [NAME]');
  process.exit(2);
}
let text: string;
try {
  text = readFileSync(join(out, 'metrics.jsonl'), 'utf8');
} catch {
  console.error(`there is no ${join(out, 'metrics.jsonl')}: give the --out directory of a run that has finished an epoch`);
  process.exit(1);
}
// JSON has no NaN: a loss that diverged is written as null.
const rows = text
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line, (_, v: unknown) => (v === null ? Number.NaN : v)) as EpochMetrics);
const path = join(out, 'plot.svg');
writeFileSync(`${path}.tmp-${process.pid}`, plotSvg(rows, `${name}: loss and accuracy`));
renameSync(`${path}.tmp-${process.pid}`, path);
