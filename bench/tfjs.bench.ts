import * as tf from '../src/tfjs/tf.js';
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingPython, pythonWith } from '../scripts/python.js';
import { Workspace } from '../src/check/workspace.js';
import { BackendUnavailable, type ConcreteBackend, preference, useBackend } from '../src/tfjs/backend.js';
import { buildTfjsModel } from '../src/tfjs/build.js';
import { setWeights } from '../src/tfjs/weights.js';
import { Sgd } from '../src/train/optimizer.js';
import { trainStep } from '../src/train/train.js';
import { initialWeights } from '../src/weights/init.js';

/**
 * Training images/s of the CIFAR ResNet-20 spec at batch 64 on every backend that loads:
 * the compiled model trained as `resnetc train` trains it, against a hand-written tfjs
 * ResNet-20 trained the idiomatic tfjs way (tf.train.momentum + minimize) on the same
 * backend in the same run (goal: ratio >= 0.95), and against PyTorch on the CPU where
 * a Python with torch is found (scripts/python.ts; goal: at least 1/10 of its images/s).
 *
 * `BENCH_TFJS_BACKENDS=wasm,cpu` limits the backends. The pure-JS cpu backend needs
 * about 7 minutes for one step at batch 64 here (14 s at batch 2),
 * so it is timed over one step of BENCH_TFJS_CPU_BATCH images (8 unless set; set 64 for
 * the figure at batch 64 if you have the time) and says so.
 */

const here = dirname(fileURLToPath(import.meta.url));
const defaultBatch = 64;

// ---- the hand-written reference: He et al.'s ResNet-20 with standard tfjs layers ----

/** Shortcut A by hand: every other pixel (a 1x1 average pool of stride 2), zero channels appended. */
class ZeroPadShortcut extends tf.layers.Layer {
  static className = 'BenchZeroPadShortcut';
  constructor(private readonly extra: number) {
    super({});
  }
  override computeOutputShape(s: tf.Shape): tf.Shape {
    return [s[0]!, Math.ceil(s[1]! / 2), Math.ceil(s[2]! / 2), s[3]! + this.extra];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    return tf.tidy(() => tf.pad(tf.avgPool(x, 1, 2, 'valid'), [[0, 0], [0, 0], [0, 0], [0, this.extra]]));
  }
}

function handWrittenResNet20(): tf.LayersModel {
  const conv = (filters: number, strides: number) => tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', useBias: false, kernelInitializer: 'heNormal' });
  const bn = () => tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 });
  const input = tf.input({ shape: [32, 32, 3] });
  let x = tf.layers.reLU().apply(bn().apply(conv(16, 1).apply(input))) as tf.SymbolicTensor;
  let channels = 16;
  for (const [width, stride] of [
    [16, 1],
    [32, 2],
    [64, 2],
  ] as const) {
    for (let b = 0; b < 3; b++) {
      const s = b === 0 ? stride : 1;
      let y = tf.layers.reLU().apply(bn().apply(conv(width, s).apply(x))) as tf.SymbolicTensor;
      y = bn().apply(conv(width, 1).apply(y)) as tf.SymbolicTensor;
      const shortcut = s !== 1 || channels !== width ? (new ZeroPadShortcut(width - channels).apply(x) as tf.SymbolicTensor) : x;
      x = tf.layers.reLU().apply(tf.layers.add().apply([y, shortcut])) as tf.SymbolicTensor;
      channels = width;
    }
  }
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 10 }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

// ---- timing ----

type Step = () => void;

function randomBatch(batch: number): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(batch * 32 * 32 * 3);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) >>> 0) / 4294967296;
  return { x, y: Int32Array.from({ length: batch }, (_, i) => i % 10) };
}

function generatedStep(batch: number): { step: Step; dispose: () => void } {
  const file = new Workspace().check(join(here, '..', 'specs', 'cifar_resnet.resnet'))!;
  const checked = file.models.find((m) => m.name === 'resnet20')!;
  const model = buildTfjsModel(checked);
  setWeights(model, checked, initialWeights(checked, { seed: 0 }));
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = new Sgd(0.9, 5e-4);
  const data = randomBatch(batch);
  const dataset = { images: new Uint8Array(0), labels: new Uint8Array(0), count: batch, shape: checked.input };
  return {
    step: () => void trainStep(model, variables, optimizer, data, dataset, 10, 0.05),
    dispose: () => {
      optimizer.dispose();
      model.dispose();
    },
  };
}

function handWrittenStep(batch: number): { step: Step; dispose: () => void } {
  const model = handWrittenResNet20();
  const optimizer = tf.train.momentum(0.05, 0.9);
  const data = randomBatch(batch);
  return {
    step: () => {
      const loss = tf.tidy(() => {
        const x = tf.tensor4d(data.x, [batch, 32, 32, 3]);
        const labels = tf.oneHot(tf.tensor1d(data.y, 'int32'), 10);
        return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
      });
      loss.dataSync();
      loss.dispose();
    },
    dispose: () => {
      optimizer.dispose();
      model.dispose();
    },
  };
}

/** Images/s over `steps` steps after one warm-up step (none where a step takes a minute: the cpu backend). */
function imagesPerSecond(step: Step, steps: number, batch: number, warmUp: boolean): number {
  if (warmUp) step();
  const t = performance.now();
  for (let i = 0; i < steps; i++) step();
  return (steps * batch) / ((performance.now() - t) / 1000);
}

function pytorch(threads: number): number | undefined {
  const python = pythonWith(['torch']);
  if (!python) return undefined;
  const r = spawnSync(python, [join(here, 'tfjs_torch_resnet20.py'), String(threads), String(defaultBatch)], { encoding: 'utf8', timeout: 300_000 });
  const m = /([\d.]+) images\/s/.exec(r.stdout ?? '');
  return m ? Number(m[1]) : undefined;
}

export async function run(): Promise<void> {
  const wanted = process.env['BENCH_TFJS_BACKENDS']?.split(',') as ConcreteBackend[] | undefined;
  const results: { backend: ConcreteBackend; generated: number; handWritten: number }[] = [];
  for (const backend of wanted ?? preference) {
    try {
      await useBackend(backend);
    } catch (e) {
      if (e instanceof BackendUnavailable) {
        console.log(`${backend}: not available (${e.reason})`);
        continue;
      }
      throw e;
    }
    const steps = backend === 'cpu' ? 1 : 3;
    const rounds = backend === 'cpu' ? 1 : 2;
    const batch = backend === 'cpu' ? Number(process.env['BENCH_TFJS_CPU_BATCH'] ?? 8) : defaultBatch;
    const gen = generatedStep(batch);
    const hand = handWrittenStep(batch);
    let g = 0;
    let h = 0;
    // Alternate the two so that a busy moment of the machine does not favour either.
    for (let r = 0; r < rounds; r++) {
      g = Math.max(g, imagesPerSecond(gen.step, steps, batch, backend !== 'cpu'));
      h = Math.max(h, imagesPerSecond(hand.step, steps, batch, backend !== 'cpu'));
    }
    gen.dispose();
    hand.dispose();
    results.push({ backend, generated: g, handWritten: h });
    console.log(`${backend} (batch ${batch}): resnetc ResNet-20 ${g.toFixed(batch < defaultBatch ? 3 : 1)} images/s, hand-written ${h.toFixed(batch < defaultBatch ? 3 : 1)} images/s, ratio ${(g / h).toFixed(3)} (goal >= 0.95)`);
  }

  const torch = [1, cpus().length].filter((v, i, a) => a.indexOf(v) === i).map((threads) => ({ threads, rate: pytorch(threads) }));
  const available = torch.filter((t) => t.rate !== undefined) as { threads: number; rate: number }[];
  if (available.length === 0) {
    console.log(`PyTorch: ${missingPython(['torch'])}; no comparison`);
    return;
  }
  for (const t of available) console.log(`PyTorch CPU (${t.threads} thread${t.threads === 1 ? '' : 's'}): ${t.rate.toFixed(1)} images/s`);
  const best = Math.max(...available.map((t) => t.rate));
  for (const r of results) console.log(`${r.backend} vs PyTorch's best: ${(r.generated / best).toFixed(4)} (1/${(best / r.generated).toFixed(1)}; goal >= 1/10)`);
  console.log(`auto prefers ${preference.join(' > ')}: wasm is the fastest backend that always loads`);
}
