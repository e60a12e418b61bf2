import * as tf from '../src/tfjs/tf.js';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { Workspace } from '../src/check/workspace.js';
import { scanImageFolder } from '../src/images/folder.js';
import { imagePreprocess } from '../src/images/preprocess.js';
import type { CheckedModel } from '../src/model/types.js';
import { useBackend } from '../src/tfjs/backend.js';
import { buildTfjsModel } from '../src/tfjs/build.js';
import { setWeights } from '../src/tfjs/weights.js';
import { epochOrder, imageAugment, passBatches, random, stepIndices } from '../src/train/batches.js';
import { type FileSplit, loadData } from '../src/train/data.js';
import { Sgd } from '../src/train/optimizer.js';
import { trainStep } from '../src/train/train.js';
import { initialWeights } from '../src/weights/init.js';

/**
 * Image folders: is decoding or training the bottleneck? For two image folders generated
 * here, decoded images/s through the training pipeline (ImageBatchStream: read, decode,
 * RandomResizedCrop, flip, normalise, at the model's input size, UV_THREADPOOL_SIZE
 * decodes at a time) beside the training images/s of a network at that input on the wasm
 * backend, and the images/s of training fed by the pipeline (decoding overlapped with
 * training): when decoding is faster than training, the fed figure is the training one.
 *
 * - Fashion-MNIST's first 1,280 training images as PNG files (28x28 grayscale) → 3x32x32,
 *   ResNet-20 (specs/cifar_resnet.resnet), batch 64;
 * - 192 JPEG photographs' worth of pixels (500x375, quality 90, ImageNet's typical size) →
 *   3x224x224, ResNet-18 (specs/resnet18.resnet), batch 8 (a wasm step takes seconds).
 */

const here = dirname(fileURLToPath(import.meta.url));
const fashion = '/usr/share/datasets/fashion-mnist';

function specModel(file: string, name: string): CheckedModel {
  return new Workspace().check(join(here, '..', 'specs', file))!.models.find((m) => m.name === name)!;
}

/** Fashion-MNIST's first `n` training images as PNG files in class folders (a split of 1,280 in val too); or synthetic patterns where the data set is absent. */
async function fashionFolder(root: string, n: number): Promise<string> {
  const data = existsSync(fashion) ? loadData(fashion, { input: { c: 1, h: 28, w: 28 }, classes: 10, limit: n }).train : undefined;
  for (const split of ['train', 'val']) {
    for (let i = 0; i < (split === 'train' ? n : 10); i++) {
      const label = data ? data.labels[i]! : i % 10;
      const pixels = data ? data.images.subarray(i * 784, (i + 1) * 784) : Uint8Array.from({ length: 784 }, (_, k) => (k * 7 + i * 13) % 256);
      const dir = join(root, split, String(label));
      mkdirSync(dir, { recursive: true });
      await sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(join(dir, `${i}.png`));
    }
  }
  return data ? 'Fashion-MNIST PNG 28x28' : 'synthetic PNG 28x28 (Fashion-MNIST not installed)';
}

/** `n` JPEGs of 500x375 (smooth colour fields with noise: what a JPEG encoder and decoder work on in a photograph). */
async function photoFolder(root: string, n: number): Promise<string> {
  for (const split of ['train', 'val']) {
    for (let i = 0; i < (split === 'train' ? n : 4); i++) {
      const dir = join(root, split, `c${i % 4}`);
      mkdirSync(dir, { recursive: true });
      const rand = random(i);
      const pixels = Buffer.alloc(500 * 375 * 3);
      for (let y = 0; y < 375; y++)
        for (let x = 0; x < 500; x++)
          for (let c = 0; c < 3; c++) pixels[(y * 500 + x) * 3 + c] = Math.max(0, Math.min(255, 128 + 100 * Math.sin(x / (20 + c * 7) + i) * Math.cos(y / (30 - c * 5)) + (rand() - 0.5) * 40));
      await sharp(pixels, { raw: { width: 500, height: 375, channels: 3 } })
        .jpeg({ quality: 90 })
        .toFile(join(dir, `${i}.jpg`));
    }
  }
  return 'JPEG 500x375';
}

interface Case {
  folder: string;
  model: CheckedModel;
  batch: number;
  /** Batches decoded for the decoding figure, and training steps for the others. */
  batches: number;
  steps: number;
}

async function measure(c: Case): Promise<{ decoded: number; trained: number; fed: number }> {
  const listed = scanImageFolder(c.folder);
  const preprocess = imagePreprocess(c.model.input, listed.classes);
  const split: FileSplit = { files: listed.train.files, labels: listed.train.labels, count: listed.train.files.length, shape: c.model.input };
  const order = epochOrder(split.count, 0, 0);
  const pass = (steps: number) => passBatches(split, stepIndices(order, c.batch, 0, steps), { train: { augment: imageAugment, rand: random(0), seed: 0, epoch: 0 }, preprocess });

  // Decoding alone: the main thread only waits.
  let t = performance.now();
  const decoding = pass(c.batches);
  for (let k = 0; k < c.batches; k++) await decoding.next();
  const decoded = (c.batches * c.batch) / ((performance.now() - t) / 1000);
  await decoding.close();

  const net = buildTfjsModel(c.model);
  setWeights(net, c.model, initialWeights(c.model, { seed: 0 }));
  const variables = net.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = new Sgd(0.9, 5e-4);
  const classes = c.model.classes!;
  const step = (batch: { x: Float32Array; y: Int32Array }): void => void trainStep(net, variables, optimizer, { x: batch.x, y: Int32Array.from(batch.y, (v) => v % classes) }, split, classes, 0.01);

  // Training alone, on one batch already decoded (after a warm-up step).
  const warm = pass(1);
  const fixed = await warm.next();
  await warm.close();
  step(fixed);
  t = performance.now();
  for (let k = 0; k < c.steps; k++) step(fixed);
  const trained = (c.steps * c.batch) / ((performance.now() - t) / 1000);

  // Training fed by the pipeline, as train() runs it (a turn of the event loop after each step).
  const feeding = pass(c.steps + 1);
  step(await feeding.next());
  t = performance.now();
  for (let k = 0; k < c.steps; k++) {
    step(await feeding.next());
    await new Promise((r) => setImmediate(r));
  }
  const fed = (c.steps * c.batch) / ((performance.now() - t) / 1000);
  await feeding.close();
  optimizer.dispose();
  net.dispose();
  return { decoded, trained, fed };
}

export async function run(): Promise<void> {
  await useBackend('wasm');
  const scratch = mkdtempSync(join(tmpdir(), 'resnetc-images-bench-'));
  try {
    const cases: (Case & { images: string; network: string })[] = [];
    const small = join(scratch, 'fashion');
    cases.push({ images: await fashionFolder(small, 1280), folder: small, network: 'ResNet-20', model: specModel('cifar_resnet.resnet', 'resnet20'), batch: 64, batches: 20, steps: 4 });
    const large = join(scratch, 'photos');
    cases.push({ images: await photoFolder(large, 192), folder: large, network: 'ResNet-18', model: specModel('resnet18.resnet', 'resnet18'), batch: 8, batches: 24, steps: 2 });
    console.log(`decodes at once: UV_THREADPOOL_SIZE=${process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)'}; sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`);
    for (const c of cases) {
      const { decoded, trained, fed } = await measure(c);
      const { c: ch, h, w } = c.model.input;
      const bottleneck = decoded > trained ? `training (decoding is ${(decoded / trained).toFixed(1)}x faster)` : `decoding (${(trained / decoded).toFixed(1)}x slower than training)`;
      console.log(
        `${c.images} → ${ch}x${h}x${w}, RandomResizedCrop + flip: decoded ${decoded.toFixed(1)} images/s; ${c.network} batch ${c.batch} on wasm: trained ${trained.toFixed(2)} images/s alone, ${fed.toFixed(2)} fed by the pipeline (${((fed / trained) * 100).toFixed(0)}%); bottleneck: ${bottleneck}`,
      );
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
