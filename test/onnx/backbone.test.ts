import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace } from '../../src/check/workspace.js';
import type { CheckedModel } from '../../src/model/types.js';
import { emitOnnx, importOnnxWeights } from '../../src/onnx/index.js';
import type { WeightSet } from '../../src/weights/init.js';
import { floats, python, runJobs } from '../torch/python.js';
import { checkText, decodeGraph, randomWeights, relativeError, thrown } from './helpers.js';

/**
 * The backbone statements held to PyTorch (test/onnx/py/backbone_jobs.py, one process):
 * each model of fixtures/backbone.resnet is built again in PyTorch, from torchvision's
 * classes or from small modules written from timm's definitions, and described there by
 * hand (not from the checked model). PyTorch's ONNX export is imported (--weights), and
 * every output of our graph, both forms, opsets 13, 17 and 21, run in ONNX Runtime, must be
 * PyTorch's within 1e-4 relative; --dynamic-size graphs at five input sizes each.
 */

const tolerance = 1e-4;
const act = (fn: string, slope = 0): [string, number] => [fn, slope];
const batch = ['batch', 1e-5];
const group = (g: number): [string, number, number] => ['group', g, 1e-5];
/** A stage as timm's make_blocks leaves it: the stride it applies and its 3x3 convolutions' dilation. */
const stage = (name: string, blocks: number, width: number, stride: number, dilation: number): Record<string, string | number> => ({ name, blocks, width, stride, dilation });

/** PyTorch's description of each network (test/onnx/py/backbone_jobs.py reads it). */
const jobs = [
  {
    name: 'tv_os8',
    layers: [1, 1, 2, 1],
    width_per_group: 8,
    dilate: [false, true, true],
    return_layers: { layer2: 'conv3', layer3: 'conv4', layer4: 'conv5' },
    input: [3, 40, 36],
    outputs: ['conv3', 'conv4', 'conv5'],
    export_opset: 13,
    sizes: [[40, 36]],
  },
  {
    name: 'silu_gn',
    input: [3, 36, 28],
    stem: [['conv', 4, 16, 4, 0]],
    block: 'bottleneck',
    se: 4,
    shortcut: 'D',
    act: act('silu'),
    norm: group(4),
    drop_path: 0.1,
    pool: 'catavgmax',
    classes: 5,
    outputs: ['conv2', 'conv3', 'logits'],
    stages: [
      stage('conv2', 1, 8, 1, 1),
      stage('conv3', 2, 16, 2, 1),
    ],
    export_opset: 13,
    // Odd, even, non-square: the stem's 4x4 patches and the ceil-mode shortcut pools at every parity.
    sizes: [
      [36, 28],
      [32, 32],
      [29, 41],
      [44, 20],
      [17, 23],
    ],
  },
  {
    name: 'gelu_os8',
    input: [3, 40, 40],
    stem: [
      ['conv', 3, 16, 2, 1],
      ['maxpool', 3, 2, 0],
    ],
    block: 'basic',
    shortcut: 'B',
    act: act('gelu'),
    norm: batch,
    pool: 'avgmax',
    classes: 7,
    outputs: ['output'],
    stages: [
      stage('conv2', 1, 16, 1, 1),
      stage('conv3', 2, 32, 2, 1),
      stage('conv4', 1, 32, 1, 2),
    ],
    export_opset: 17,
    // PyTorch's default export: eval mode, constant folding (norms folded into the convolutions).
    folded: true,
    sizes: [
      [40, 40],
      [33, 47],
      [64, 24],
      [21, 21],
      [50, 38],
    ],
  },
  {
    name: 'mish_preact',
    input: [3, 16, 20],
    stem: [['conv', 3, 8, 1, 1]],
    block: 'preact-bottleneck',
    shortcut: 'B',
    act: act('mish'),
    norm: group(2),
    drop_path: 0.2,
    pool: 'max',
    classes: 4,
    outputs: ['output'],
    stages: [
      stage('conv2', 1, 4, 1, 1),
      stage('conv3', 1, 8, 2, 1),
    ],
    export_opset: 17,
    sizes: [[16, 20]],
  },
  {
    name: 'leaky',
    input: [3, 14, 18],
    stem: [['conv', 3, 8, 1, 1]],
    block: 'basic',
    shortcut: 'B',
    act: act('leaky_relu', 0.2),
    norm: batch,
    outputs: ['stem', 'conv3'],
    stages: [
      stage('conv2', 1, 8, 1, 1),
      stage('conv3', 1, 16, 2, 1),
    ],
    export_opset: 13,
    sizes: [[14, 18]],
  },
];

interface SizeResult {
  input: string;
  dims: number[];
  outputs: { name: string; path: string; dims: number[] }[];
}
interface JobResult {
  params: number;
  onnx: string;
  sizes: SizeResult[];
}

/** Every output of the graph for one input, by name. */
async function runAll(bytes: Uint8Array, input: Float32Array, dims: number[]): Promise<Map<string, { data: Float32Array; dims: readonly number[] }>> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const out = await session.run({ input: new ort.Tensor('float32', input, dims) });
    return new Map(Object.entries(out).map(([k, t]) => [k, { data: t.data as Float32Array, dims: t.dims }]));
  } finally {
    await session.release();
  }
}

/** Our outputs equal PyTorch's, each within the tolerance, in PyTorch's order and shapes. */
async function expectPytorchOutputs(bytes: Uint8Array, size: SizeResult, label: string): Promise<void> {
  const got = await runAll(bytes, floats(size.input), size.dims);
  expect([...got.keys()], label).toEqual(size.outputs.map((o) => o.name));
  for (const o of size.outputs) {
    const ours = got.get(o.name)!;
    expect([...ours.dims], `${label} ${o.name}`).toEqual(o.dims);
    expect(relativeError(ours.data, floats(o.path)), `${label} ${o.name}`).toBeLessThan(tolerance);
  }
}

describe('backbone statements in ONNX, held to PyTorch', () => {
  if (!python) console.warn('test/onnx/backbone: skipped, no Python here imports torch and torchvision (Debian: python3-torchvision)');
  const dir = mkdtempSync(join(tmpdir(), 'resnetc-onnx-backbone-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const models = new Map<string, CheckedModel>(new Workspace().check(join(import.meta.dirname, 'fixtures', 'backbone.resnet'))!.models.map((m) => [m.name, m]));
  let results: Record<string, JobResult>;
  const weights = new Map<string, WeightSet>();

  beforeAll(() => {
    if (!python) return;
    results = runJobs<Record<string, JobResult>>('../../onnx/py/backbone_jobs.py', dir, jobs);
    for (const job of jobs) weights.set(job.name, importOnnxWeights(readFileSync(results[job.name]!.onnx), models.get(job.name)!));
  }, 120_000);

  for (const job of jobs) {
    describe(job.name, () => {
      it.skipIf(!python)("has PyTorch's parameter count", () => {
        expect(models.get(job.name)!.totals.params).toBe(results[job.name]!.params);
      });

      // Opset 18 too where group norm is: GroupNormalization's per-group scale and shift (18 to 20).
      for (const opset of job.norm?.[0] === 'group' ? [13, 17, 18, 21] : [13, 17, 21]) {
        for (const inference of [false, true]) {
          it.skipIf(!python)(`gives PyTorch's outputs at opset ${opset}, ${inference ? 'inference' : 'training'} form`, async () => {
            const bytes = emitOnnx(models.get(job.name)!, weights.get(job.name)!, { opset, inference });
            await expectPytorchOutputs(bytes, results[job.name]!.sizes[0]!, `opset ${opset}`);
          });
        }
      }

      if (job.sizes.length > 1) {
        for (const [opset, inference] of [
          [13, false],
          [17, true],
        ] as const) {
          it.skipIf(!python)(`with --dynamic-size gives PyTorch's outputs at ${job.sizes.length} input sizes (opset ${opset}, ${inference ? 'inference' : 'training'} form)`, async () => {
            const bytes = emitOnnx(models.get(job.name)!, weights.get(job.name)!, { opset, inference, dynamicSize: true });
            const input = decodeGraph(bytes).input[0]!.type!.tensorType!.shape!.dim!;
            expect(input.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['N', 3, 'H', 'W']);
            for (const size of results[job.name]!.sizes) await expectPytorchOutputs(bytes, size, `${size.dims.join('x')}`);
          });
        }
      }
    });
  }
});

describe("backbone statements: resnetc's own ONNX read back by --weights", () => {
  const models = new Workspace().check(join(import.meta.dirname, 'fixtures', 'backbone.resnet'))!.models;
  const byName = (n: string): CheckedModel => models.find((m) => m.name === n)!;

  // Every form of every construct: group norm per opset (InstanceNormalization, per-group
  // GroupNormalization then Mul and Add, per-channel GroupNormalization), GELU and Mish as
  // operators and spelt out, dilations, LeakyRelu's slope, each global pool.
  for (const name of ['silu_gn', 'gelu_os8', 'mish_preact', 'leaky']) {
    it(`gives back every tensor exactly (${name}, opsets 13, 18 and 21)`, () => {
      const model = byName(name);
      const weights = randomWeights(model, 5);
      for (const opset of [13, 18, 21]) {
        const back = importOnnxWeights(emitOnnx(model, weights, { opset }), model);
        // Compared as bytes: vitest's deep equality takes seconds over typed arrays.
        const bytes = (a: Float32Array | undefined): Buffer => (a ? Buffer.from(a.buffer, a.byteOffset, a.byteLength) : Buffer.alloc(0));
        for (const [k, v] of weights) expect(bytes(back.get(k)).equals(bytes(v)), `${k} at opset ${opset}`).toBe(true);
      }
    });
  }

  it('refuses a file whose LeakyReLU has another slope, naming the activation', () => {
    const model = byName('leaky');
    const steeper = checkText(readFileSync(join(import.meta.dirname, 'fixtures', 'backbone.resnet'), 'utf8').replace('leaky_relu 0.2', 'leaky_relu 0.3'), 'leaky');
    const e = thrown(() => importOnnxWeights(emitOnnx(steeper, randomWeights(steeper, 1)), model));
    expect(e.code).toBe('R0503');
    expect(e.message).toMatch(/stem\.act1: expected the activation leaky_relu with slope 0\.2/);
  });

  it('refuses a file whose convolutions have another dilation', () => {
    const model = byName('gelu_os8');
    const undilated = checkText(readFileSync(join(import.meta.dirname, 'fixtures', 'backbone.resnet'), 'utf8').replace('output_stride 8\n  pool avgmax', 'pool avgmax'), 'gelu_os8');
    // The same tensors with output stride 32: the last stage strides instead of dilating.
    const e = thrown(() => importOnnxWeights(emitOnnx(undilated, randomWeights(undilated, 1)), model));
    expect(e.code).toBe('R0504');
    expect(e.message).toMatch(/conv4\.block0\.conv1: expected groups 1, stride 1 and dilation 1; .* strides 2x2/);
  });

  it('refuses a group norm of another group count', () => {
    const model = byName('silu_gn');
    const other = checkText(readFileSync(join(import.meta.dirname, 'fixtures', 'backbone.resnet'), 'utf8').replace('groups 4', 'groups 2'), 'silu_gn');
    for (const opset of [13, 18, 21]) {
      const e = thrown(() => importOnnxWeights(emitOnnx(other, randomWeights(other, 1), { opset }), model));
      expect(e.code, `opset ${opset}`).toBe('R0504');
      expect(e.message, `opset ${opset}`).toMatch(/stem\.norm1: expected a group norm of 4 groups over 16 channels; .* has 2 groups/);
    }
  });
});
