/**
 * resnetc against PyTorch on Fashion-MNIST, seed by seed: the ResNet-8 of fashion.resnet
 * trained with the same recipe — 2 epochs on the first 6,000 training images, SGD with
 * learning rate 0.1, momentum 0.9, weight decay 5e-4, a cosine schedule, batch 64 — by
 * `resnetc train` (TensorFlow.js, backend `auto`) and by torch_fashion.py (the same
 * network written in torch, torch's SGD and scheduler); both are tested on the 10,000 test
 * images. PyTorch trains twice per seed:
 *
 * - paired: from resnetc's starting weights for the seed (its ONNX export, `compile
 *   --target onnx --seed S`) on the images in resnetc's order for the seed, so that the
 *   two runs differ only in their arithmetic. Each seed's two test accuracies must lie
 *   within 1.5 points (the goal);
 * - on its own: torchvision's initialisation and a DataLoader's shuffling from the seed,
 *   which shows how far two runs of the same recipe drift apart by chance alone.
 *
 *     npx tsx examples/fashion-mnist/compare.ts [--data DIR] [--seeds 0,1,2] [--images 6000] [--epochs 2]
 *
 * Needs the four Fashion-MNIST IDX files (Debian: dataset-fashion-mnist) and a Python with
 * torch (scripts/python.ts). Exits 1 when a seed's accuracies differ by more than 1.5 points.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { missingPython, pythonWith } from '../../scripts/python.js';
import { epochOrder } from '../../src/train/batches.js';
import { loadData } from '../../src/train/data.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    seeds: { type: 'string', default: '0,1,2' },
    images: { type: 'string', default: '6000' },
    epochs: { type: 'string', default: '2' },
  },
});
const recipe = { images: Number(values.images), epochs: Number(values.epochs), batch: 64, lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
const seeds = values.seeds.split(',').map(Number);
const tolerance = 1.5;
const root = join(import.meta.dirname, '..', '..');

const python = pythonWith(['torch', 'numpy']);
if (!python) {
  console.error(`this example needs PyTorch: ${missingPython(['torch', 'numpy'])}`);
  process.exit(1);
}

/** An IDX file of unsigned bytes (MNIST's format). */
function idx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

// The first N training images and every test image, as a data directory resnetc reads.
const work = mkdtempSync(join(tmpdir(), 'resnetc-fashion-'));
const dataDir = join(work, 'data');
mkdirSync(dataDir);
const full = loadData(values.data, { input: { c: 1, h: 28, w: 28 }, classes: 10 });
const n = Math.min(recipe.images, full.train.count);
for (const [prefix, split, count] of [['train', full.train, n], ['t10k', full.test, full.test.count]] as const) {
  writeFileSync(join(dataDir, `${prefix}-images-idx3-ubyte`), idx([count, 28, 28], split.images.subarray(0, count * 784)));
  writeFileSync(join(dataDir, `${prefix}-labels-idx1-ubyte`), idx([count], split.labels.subarray(0, count)));
}

console.log(`ResNet-8 (fashion.resnet), ${recipe.epochs} epochs on the first ${n} training images, SGD lr ${recipe.lr}, momentum ${recipe.momentum}, weight decay ${recipe.weightDecay}, cosine, batch ${recipe.batch}; test accuracy on ${full.test.count} images`);
const cli = (...args: string[]): void => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`resnetc ${args[0]} failed (${r.status})`);
};
/** PyTorch's test accuracy (%) after the last epoch, on its own or paired with resnetc's start and order. */
const torch = (seed: number, paired: string[] = []): { accuracy: number; seconds: number } => {
  const t = spawnSync(python, [join(import.meta.dirname, 'torch_fashion.py'), dataDir, String(n), String(recipe.epochs), String(recipe.batch), String(recipe.lr), String(recipe.momentum), String(recipe.weightDecay), String(seed), ...paired], { encoding: 'utf8' });
  if (t.status !== 0) throw new Error(`torch_fashion.py failed: ${t.stderr}`);
  const r = JSON.parse(t.stdout.trim().split('\n').at(-1)!) as { test_accuracy: number[]; seconds: number };
  return { accuracy: r.test_accuracy.at(-1)! * 100, seconds: r.seconds };
};

const spec = join(root, 'examples', 'fashion-mnist', 'fashion.resnet');
const rows: { seed: number; resnetc: number; paired: number; own: number }[] = [];
for (const seed of seeds) {
  const out = join(work, `run-${seed}`);
  const started = performance.now();
  cli('train', spec, '--data', dataDir, '--out', out, '--epochs', String(recipe.epochs), '--batch-size', String(recipe.batch), '--lr', String(recipe.lr), '--momentum', String(recipe.momentum), '--weight-decay', String(recipe.weightDecay), '--schedule', 'cosine', '--seed', String(seed));
  const seconds = (performance.now() - started) / 1000;
  const resnetc = (JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').at(-1)!) as { testAccuracy: number }).testAccuracy * 100;
  // resnetc's start (the seed's initialisation, as `train` makes it) and order (src/train/batches.ts), for the paired run.
  const init = join(work, `init-${seed}.onnx`);
  cli('compile', spec, '--target', 'onnx', '--seed', String(seed), '-o', init);
  const order = new Int32Array(recipe.epochs * n);
  for (let e = 0; e < recipe.epochs; e++) order.set(epochOrder(n, seed, e), e * n);
  const orderPath = join(work, `order-${seed}.bin`);
  writeFileSync(orderPath, new Uint8Array(order.buffer));
  const paired = torch(seed, [init, orderPath]);
  const own = torch(seed);
  rows.push({ seed, resnetc, paired: paired.accuracy, own: own.accuracy });
  console.log(`seed ${seed}: resnetc ${resnetc.toFixed(2)}% (${seconds.toFixed(0)} s); PyTorch paired ${paired.accuracy.toFixed(2)}% (${paired.seconds.toFixed(0)} s), on its own ${own.accuracy.toFixed(2)}%`);
}
rmSync(work, { recursive: true, force: true });

const pts = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
console.log('\n| seed | resnetc (tfjs) | PyTorch, paired | difference | PyTorch on its own | difference |\n|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.seed} | ${r.resnetc.toFixed(2)}% | ${r.paired.toFixed(2)}% | ${pts(r.resnetc - r.paired)} | ${r.own.toFixed(2)}% | ${pts(r.resnetc - r.own)} |`);
const worst = Math.max(...rows.map((r) => Math.abs(r.resnetc - r.paired)));
console.log(`\nlargest difference from the paired PyTorch run ${worst.toFixed(2)} points (goal: within ${tolerance} for every seed): ${worst <= tolerance ? 'yes' : 'NO'}`);
process.exitCode = worst <= tolerance ? 0 : 1;
