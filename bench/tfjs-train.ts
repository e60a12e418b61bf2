import * as tf from '../src/tfjs/tf.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Workspace } from '../src/check/workspace.js';
import { backendThreads, type ConcreteBackend, useBackend } from '../src/tfjs/backend.js';
import { buildTfjsModel } from '../src/tfjs/build.js';
import { setWeights } from '../src/tfjs/weights.js';
import { Sgd } from '../src/train/optimizer.js';
import { classificationLoss, lossAndGradients, trainStep } from '../src/train/train.js';
import { initialWeights } from '../src/weights/init.js';

/**
 * One measurement of bench/tfjs.bench.ts, in a process of its own (a process starts the
 * wasm backend once, with the thread count of $RESNETC_WASM_THREADS): training images/s
 * of the CIFAR ResNet-20 spec as `resnetc train` trains it and of a hand-written tfjs
 * ResNet-20 trained the idiomatic tfjs way, alternated; with `--profile`, where a step's
 * time goes (kernels timed one by one). Prints one line of JSON (TrainMeasurement).
 *
 * Usage: tsx bench/tfjs-train.ts BACKEND BATCH STEPS [--profile]
 */

const here = dirname(fileURLToPath(import.meta.url));

export interface KernelTime {
  kernel: string;
  /** Per step, excluding the kernels it runs itself. */
  ms: number;
  calls: number;
}

export interface TrainMeasurement {
  backend: ConcreteBackend;
  threads: number | undefined;
  batch: number;
  /** Images/s, wall clock. */
  generated: number;
  /** Images per second of the process's CPU time (user + system, every thread): less dependent on the machine's load than `generated`. */
  generatedCpu: number;
  handWritten: number;
  profile?: { stepMs: number; phases: Record<'forward' | 'backward' | 'optimizer', number>; kernels: KernelTime[] };
}

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

// ---- the two training steps ----

type Step = () => void;

function randomBatch(batch: number): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(batch * 32 * 32 * 3);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) >>> 0) / 4294967296;
  return { x, y: Int32Array.from({ length: batch }, (_, i) => i % 10) };
}

interface Generated {
  step: Step;
  /** One step with `phase` told where the forward pass ends and the optimizer starts (what trainStep does, in its parts). */
  phasedStep: (phase: (p: 'forward' | 'backward' | 'optimizer') => void) => void;
}

function generatedStep(batch: number): Generated {
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
    phasedStep: (phase) => {
      const loss = tf.tidy(() => {
        phase('forward');
        const x = tf.tensor4d(data.x, [batch, 32, 32, 3]);
        const labels = tf.tensor1d(data.y, 'int32');
        const { value, grads } = lossAndGradients(model, variables, x, (logits) => {
          const l = classificationLoss(logits, labels, 10);
          phase('backward');
          return l;
        });
        phase('optimizer');
        optimizer.step(variables, grads, 0.05);
        return value;
      });
      loss.dataSync();
      loss.dispose();
    },
  };
}

function handWrittenStep(batch: number): Step {
  const model = handWrittenResNet20();
  const optimizer = tf.train.momentum(0.05, 0.9);
  const data = randomBatch(batch);
  return () => {
    const loss = tf.tidy(() => {
      const x = tf.tensor4d(data.x, [batch, 32, 32, 3]);
      const labels = tf.oneHot(tf.tensor1d(data.y, 'int32'), 10);
      return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
    });
    loss.dataSync();
    loss.dispose();
  };
}

/**
 * Images per second over `steps` steps after one warm-up step (none where a step takes a
 * minute: the cpu backend): of wall-clock time, and of the process's CPU time.
 */
function imagesPerSecond(step: Step, steps: number, batch: number, warmUp: boolean): { wall: number; cpu: number } {
  if (warmUp) step();
  const t = performance.now();
  const c = process.cpuUsage();
  for (let i = 0; i < steps; i++) step();
  const cpu = process.cpuUsage(c);
  return { wall: (steps * batch) / ((performance.now() - t) / 1000), cpu: (steps * batch) / ((cpu.user + cpu.system) / 1e6) };
}

// ---- where a step's time goes ----

/**
 * Times every kernel of the current backend while `run` runs `steps` steps: each kernel's
 * own time (the kernels it calls, such as the filter gradient's BatchMatMul, are counted
 * apart), per phase of the step. Kernels run synchronously on wasm and cpu, so the clock
 * around a kernel is its time.
 */
function profileSteps(steps: number, run: (phase: (p: 'forward' | 'backward' | 'optimizer') => void) => void): NonNullable<TrainMeasurement['profile']> {
  const configs = tf.getKernelsForBackend(tf.getBackend()) as { kernelName: string; kernelFunc: tf.KernelFunc }[];
  const totals = new Map<string, { ms: number; calls: number }>();
  const phases = { forward: 0, backward: 0, optimizer: 0 };
  let phase: keyof typeof phases = 'forward';
  let phaseStart = 0;
  const enter = (p: keyof typeof phases): void => {
    const now = performance.now();
    if (phaseStart > 0) phases[phase] += now - phaseStart;
    phase = p;
    phaseStart = now;
  };
  const nested: number[] = [];
  const originals = configs.map((c) => c.kernelFunc);
  configs.forEach((config, i) => {
    const original = originals[i]!;
    config.kernelFunc = ((args: Parameters<tf.KernelFunc>[0]) => {
      const start = performance.now();
      nested.push(0);
      const result = original(args);
      const inner = nested.pop()!;
      const ms = performance.now() - start;
      if (nested.length > 0) nested[nested.length - 1]! += ms;
      const t = totals.get(config.kernelName) ?? { ms: 0, calls: 0 };
      t.ms += ms - inner;
      t.calls++;
      totals.set(config.kernelName, t);
      return result;
    }) as tf.KernelFunc;
  });
  const start = performance.now();
  try {
    for (let i = 0; i < steps; i++) {
      phaseStart = 0;
      run(enter);
      enter('forward');
    }
  } finally {
    configs.forEach((config, i) => (config.kernelFunc = originals[i]!));
  }
  const stepMs = (performance.now() - start) / steps;
  const kernels = [...totals].map(([kernel, t]) => ({ kernel, ms: t.ms / steps, calls: t.calls / steps })).sort((a, b) => b.ms - a.ms);
  return { stepMs, phases: { forward: phases.forward / steps, backward: phases.backward / steps, optimizer: phases.optimizer / steps }, kernels };
}

// ---- main ----

const [backend, batchArg, stepsArg] = process.argv.slice(2) as [ConcreteBackend, string, string];
const batch = Number(batchArg);
const steps = Number(stepsArg);
const warmUp = backend !== 'cpu';
await useBackend(backend);
const generated = generatedStep(batch);
const hand = handWrittenStep(batch);
// Alternated, so that a busy moment of the machine does not favour either.
const g = imagesPerSecond(generated.step, steps, batch, warmUp);
const h = imagesPerSecond(hand, steps, batch, warmUp);
const measurement: TrainMeasurement = { backend, threads: backendThreads(), batch, generated: g.wall, generatedCpu: g.cpu, handWritten: h.wall };
if (process.argv.includes('--profile')) measurement.profile = profileSteps(steps, generated.phasedStep);
console.log(JSON.stringify(measurement));
