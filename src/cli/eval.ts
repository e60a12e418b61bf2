import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { loadSharp } from '../images/decode.js';
import { scanEvalFolder } from '../images/folder.js';
import type { Preprocess } from '../images/preprocess.js';
import { EvalTally, type EvalResult } from '../infer/metrics.js';
import { passBatches, stepIndices } from '../train/batches.js';
import { DataError, type Dataset, type FileSplit, fileSplit, inMemory, loadData } from '../train/data.js';
import { printWarning } from './errors.js';
import { duration, type InferenceFlags, inferenceOptions, openInference, positiveOption } from './inference.js';
import type { Output } from './output.js';

interface EvalFlags extends InferenceFlags {
  data: string;
  batchSize: string;
  limit?: string;
  skipBadImages?: boolean;
}

/** The data to evaluate on: an image folder's evaluation split (or a folder of class folders), or the test split of IDX, CIFAR-10 or synthetic data. */
interface EvalData {
  description: string;
  split: Dataset | FileSplit;
  /** Names of the classes the folder names, by label (for a model that does not name its own). */
  folderClasses: string[];
}

function evalData(source: string, p: Preprocess, classes: number, limit: number | undefined, skipBadImages: boolean, out: Output): EvalData {
  if (inMemory(source)) {
    const test = loadData(source, { input: p.input, classes, ...(limit !== undefined ? { limit } : {}) }).test;
    const { c, h, w } = test.shape;
    if (c !== p.input.c || h !== p.input.h || w !== p.input.w) {
      throw new DataError('R0602', `the data in '${source}' has ${c}x${h}x${w} images but the model takes ${p.input.c}x${p.input.h}x${p.input.w}`);
    }
    const top = test.labels.reduce((m, l) => Math.max(m, l), 0);
    if (top >= classes) throw new DataError('R0602', `the data in '${source}' has labels up to ${top} but the model has ${classes} classes`);
    return { description: `the test images of '${source}'`, split: test, folderClasses: [] };
  }
  const folder = scanEvalFolder(source, p.classes ?? undefined, { skipBadImages });
  for (const w of folder.warnings) printWarning(out, w.code, w.message);
  if (folder.classes.length > classes) throw new DataError('R0602', `'${folder.splitDir}' has ${folder.classes.length} class folders but the model has ${classes} classes`);
  return { description: `the images of '${folder.splitDir}'`, split: fileSplit(folder.list, p.input, limit), folderClasses: folder.classes };
}

/** Applies the preprocessing's mean and std to a batch of value/255 pixels (data in memory), unless they are 0 and 1. */
function normalise(x: Float32Array, p: Preprocess): void {
  const c = p.input.c;
  if (p.mean.every((m) => m === 0) && p.std.every((s) => s === 1)) return;
  for (let i = 0; i < x.length; i++) x[i] = (x[i]! - p.mean[i % c]!) / p.std[i % c]!;
}

const percent = (v: number): string => `${(v * 100).toFixed(2)}%`;

/** The per-class table: the classes with images or predictions. */
function classTable(result: EvalResult, name: (i: number) => string): string {
  const rows = result.classes.filter((c) => c.images > 0 || c.predicted > 0);
  const cells = rows.map((c) => [name(c.index), String(c.images), String(c.correct), c.images > 0 ? percent(c.correct / c.images) : '-', String(c.predicted), c.predicted > 0 ? percent(c.correct / c.predicted) : '-']);
  const header = ['class', 'images', 'correct', 'recall', 'predicted', 'precision'];
  const widths = header.map((h, k) => Math.max(h.length, ...cells.map((r) => r[k]!.length)));
  const line = (r: string[]): string => r.map((v, k) => (k === 0 ? v.padEnd(widths[k]!) : v.padStart(widths[k]!))).join('  ');
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

export function registerEval(program: Command, out: Output): void {
  inferenceOptions(program.command('eval').argument('<file>', 'a .resnet file'))
    .requiredOption('--data <source>', "an image folder (its val/ or test/ split, or class folders), a directory of IDX files or CIFAR-10 batches (their test split), or 'synthetic[:N]'")
    .option('--batch-size <n>', 'images per batch', '64')
    .option('--limit <n>', 'evaluate on N images only (of an image folder: spread evenly over its classes)')
    .option('--skip-bad-images', 'leave out images that cannot be read or decoded, with a warning, instead of stopping')
    .option('--json', 'print the figures as JSON')
    .action(async (file: string, flags: EvalFlags) => {
      const batchSize = positiveOption('--batch-size', flags.batchSize);
      const limit = flags.limit === undefined ? undefined : positiveOption('--limit', flags.limit);
      const inf = await openInference(file, flags, out, 'eval');
      try {
        const data = evalData(flags.data, inf.preprocess, inf.classes, limit, flags.skipBadImages ?? false, out);
        if ('files' in data.split) await loadSharp(); // R0940 without sharp, before the progress bar
        const name = (i: number): string => (inf.preprocess.classes ? inf.name(i) : (data.folderClasses[i] ?? String(i)));
        const steps = Math.ceil(data.split.count / batchSize);
        const order = Uint32Array.from({ length: data.split.count }, (_, i) => i);
        const batches = passBatches(data.split, stepIndices(order, batchSize, 0, steps), { preprocess: inf.preprocess, skipBadImages: flags.skipBadImages ?? false });
        if (!flags.json) out.err(`evaluating ${inf.model.name} on ${data.description} (${data.split.count} images) with ${inf.where}\n`);
        const bar = new SingleBar({ format: 'eval [{bar}] {value}/{total} images | top-1 {acc} | {rate} img/s | ETA {eta_text}', stream: process.stderr, hideCursor: true }, undefined);
        bar.start(data.split.count, 0, { acc: '-', rate: '-', eta_text: '?' });
        const tally = new EvalTally(inf.classes);
        const skipped: string[] = [];
        const start = performance.now();
        let done = 0;
        try {
          for (let s = 0; s < steps; s++) {
            const batch = await batches.next();
            for (const { path, error } of batch.skipped) {
              skipped.push(path);
              printWarning(out, 'R0656', `${error.message}: left out (--skip-bad-images)`);
            }
            done += batch.y.length + batch.skipped.length;
            if (batch.y.length > 0) {
              if (!('files' in data.split)) normalise(batch.x, inf.preprocess);
              tally.add(await inf.classifier.logits(batch.x, batch.y.length), batch.y);
            }
            const rate = done / ((performance.now() - start) / 1000);
            bar.update(done, { acc: percent(tally.result().top1), rate: rate.toFixed(1), eta_text: duration((data.split.count - done) / rate) });
          }
        } finally {
          bar.stop();
          await batches.close();
        }
        const r = tally.result();
        if (flags.json) {
          const classes = r.classes.map((c) => ({ index: c.index, name: name(c.index), images: c.images, correct: c.correct, predicted: c.predicted, recall: c.images > 0 ? c.correct / c.images : null, precision: c.predicted > 0 ? c.correct / c.predicted : null }));
          out.out(`${JSON.stringify({ model: inf.model.name, data: data.description, runtime: inf.classifier.runtime, images: r.images, top1: r.top1, top5: r.top5, loss: r.loss, skipped, classes })}\n`);
          return;
        }
        out.out(`top-1 ${percent(r.top1)} (${r.correct} of ${r.images})  top-5 ${percent(r.top5)} (${r.correct5} of ${r.images})  loss ${r.loss.toFixed(4)}${skipped.length > 0 ? `  (${skipped.length} images left out)` : ''}\n\n`);
        out.out(classTable(r, name));
      } finally {
        await inf.classifier.dispose();
      }
    });
}
