import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivationFn, CheckedModel, GlobalPoolKind, Layer, ModelOutput } from '../../src/model/types.js';
import { dense, globalPool } from '../../src/model/layers.js';
import { walkLayers } from '../../src/model/walk.js';
import { emitPython } from '../../src/torch/python.js';
import { readSafetensorsWeights, stateDictBytes } from '../../src/weights/state-dict.js';
import { checkText, randomInput, randomWeights } from '../onnx/helpers.js';
import { python, runJobs, writeFloats } from './python.js';

/**
 * The backbone statements in the PyTorch target and the safetensors files, held to PyTorch
 * (one Python process, test/torch/py/backbone_jobs.py): torchvision's resnet50 with
 * `replace_stride_with_dilation` inside `IntermediateLayerGetter`, and modules written from
 * timm's definitions (test/torch/py/timm_backbone.py) for dilated basic blocks, SiLU, exact
 * GELU, LeakyReLU, Mish, GroupNorm (ResNet and ResNetV2 names), drop path, the head's pools,
 * a patchify stem with `pad 0`, and several outputs. For each: resnetc's safetensors
 * (`--target safetensors`) load with strict=True into both modules; the parameter counts are
 * the checker's and the reference's; every listed output equals the reference's, in eval
 * mode and, with drop path, in training mode under the same seed; the reference's own
 * state_dict reads back into resnetc as the weights written.
 */

const tolerance = 1e-5;

interface Changes {
  activation?: [ActivationFn, number];
  groupNorm?: number;
  dropPath?: number;
  pool?: GlobalPoolKind;
  /** A stage's index and its dilation (its first block's first 3x3 keeps the previous stage's, 1). */
  dilation?: [number, number];
  outputs?: [string, ModelOutput['source'], number | undefined][];
}

/**
 * A checked model of the language as it was before the backbone statements, with their
 * fields set by hand where they keep every shape (the checked model's contract,
 * src/model/types.ts): what the PyTorch target is tested on until the checker builds them.
 */
function byHand(spec: string, o: Changes): CheckedModel {
  const m = checkText(spec);
  const layers: Layer[] = [];
  for (const { layer } of walkLayers(m)) layers.push(...(layer.op === 'se' ? [layer, layer.act] : [layer]));
  if (o.activation) {
    const [fn, negativeSlope] = o.activation;
    m.activation = { fn, negativeSlope };
    for (const l of layers) if (l.op === 'act' && l.fn !== 'sigmoid') Object.assign(l, { fn, negativeSlope });
  }
  if (o.groupNorm) {
    m.norm = { ...m.norm, kind: 'group', groups: o.groupNorm };
    for (const l of layers) if (l.op === 'norm') Object.assign(l, { kind: 'group', groups: o.groupNorm, buffers: 0 });
    m.totals.buffers = 0;
  }
  if (o.dropPath) {
    const blocks = m.stages.flatMap((s) => s.blocks);
    m.dropPath = o.dropPath;
    blocks.forEach((b, i) => (b.dropPath = (o.dropPath! * i) / (blocks.length - 1)));
  }
  if (o.pool === 'catavgmax' && m.head) {
    // Twice the channels into the classifier: the head built again from src/model/layers.ts.
    const before = m.head.params;
    const pool = globalPool('head.pool', m.head.in, 'catavgmax');
    const fc = dense('head.fc', pool.out, m.head.classes);
    m.head = { ...m.head, layers: [pool, fc], params: fc.params };
    m.totals.params += fc.params - before;
  } else if (o.pool) for (const l of layers) if (l.op === 'global_pool') l.kind = o.pool;
  if (o.dilation) {
    const [index, d] = o.dilation;
    const stage = m.stages[index]!;
    stage.dilation = d;
    stage.blocks.forEach((b, i) =>
      b.branch
        .filter((l) => l.op === 'conv' && l.kernel[0] === 3)
        .forEach((c, j) => {
          if (c.op === 'conv' && (i > 0 || j > 0)) Object.assign(c, { dilation: d, padding: [d, d, d, d] });
        }),
    );
  }
  if (o.outputs) {
    const shapeOf = (source: ModelOutput['source'], stage: number | undefined): ModelOutput['shape'] =>
      source === 'stage' ? m.stages[stage!]!.out : source === 'stem' ? m.stem[m.stem.length - 1]!.out : { c: m.classes!, h: 1, w: 1 };
    m.outputs = o.outputs.map(([name, source, stage]) => ({ name, source, stage, shape: shapeOf(source, stage) }));
  }
  return m;
}

interface Case {
  model: CheckedModel;
  reference: { kind: 'torchvision' | 'timm_resnet' | 'timm_resnetv2'; args: Record<string, unknown> };
  /** Pairs of resnetc's output name and the reference's. */
  outputs: [string, string][];
  /** Compare in training mode too (drop path, under the same seed). */
  train?: boolean;
}

const cases: Case[] = [
  {
    model: byHand(
      'model basic_leaky_dilated {\n  input 3x40x40\n  stem { conv 7x7 16 stride 2  maxpool 3x3 stride 2 }\n  block basic\n  classes 5\n  stage conv2 { blocks 1  width 16 }\n  stage conv3 { blocks 2  width 32  stride 2 }\n  stage conv4 { blocks 2  width 64  stride 2 }\n}',
      { activation: ['leaky_relu', 0.2], pool: 'max', dilation: [2, 2] },
    ),
    reference: {
      kind: 'timm_resnet',
      args: { block: 'basic', layers: [1, 2, 2], channels: [16, 32, 64], classes: 5, stem: [16, 7, 2, 3, true], act: ['leaky_relu', 0.2], norm: ['batch'], pool: 'max', dilations: [1, 1, 2] },
    },
    outputs: [['output', 'logits']],
  },
  {
    model: byHand(
      'model silu_gn_outputs {\n  input 3x64x64\n  stem { conv 4x4 32 stride 4 }\n  block bottleneck\n  classes 10\n  stage s1 { blocks 2  width 16 }\n  stage s2 { blocks 3  width 32  stride 2 }\n  stage s3 { blocks 1  width 64  stride 2 }\n}',
      {
        activation: ['silu', 0],
        groupNorm: 8,
        dropPath: 0.2,
        pool: 'avgmax',
        outputs: [
          ['stem', 'stem', undefined],
          ['s1', 'stage', 0],
          ['s3', 'stage', 2],
          ['logits', 'logits', undefined],
        ],
      },
    ),
    reference: {
      kind: 'timm_resnet',
      args: { block: 'bottleneck', layers: [2, 3, 1], channels: [16, 32, 64], classes: 10, stem: [32, 4, 4, 2, false], act: ['silu', 0], norm: ['group', 8], drop_path_rate: 0.2, pool: 'avgmax' },
    },
    outputs: [
      ['stem', 'stem'],
      ['s1', 'layer1'],
      ['s3', 'layer3'],
      ['logits', 'logits'],
    ],
    train: true,
  },
  {
    model: byHand(
      'model preact_mish_gn {\n  input 3x48x48\n  stem { conv 7x7 16 stride 2  maxpool 3x3 stride 2 }\n  block preact-bottleneck\n  classes 6\n  stage s1 { blocks 1  width 8 }\n  stage s2 { blocks 2  width 16  stride 2 }\n  stage s3 { blocks 2  width 32  stride 2 }\n}',
      {
        activation: ['mish', 0],
        groupNorm: 4,
        dropPath: 0.3,
        outputs: [
          ['stem', 'stem', undefined],
          ['s1', 'stage', 0],
          ['s3', 'stage', 2],
          ['logits', 'logits', undefined],
        ],
      },
    ),
    reference: { kind: 'timm_resnetv2', args: { layers: [1, 2, 2], channels: [32, 64, 128], classes: 6, stem_chs: 16, act: ['mish', 0], norm: ['group', 4], drop_path_rate: 0.3 } },
    outputs: [
      ['stem', 'stem'],
      ['s1', 'layer1'],
      ['s3', 'layer3'],
      ['logits', 'logits'],
    ],
    train: true,
  },
  {
    model: byHand('model gelu {\n  input 3x32x32\n  stem { conv 3x3 16 }\n  block basic\n  classes 3\n  stage s1 { blocks 1  width 16 }\n}', { activation: ['gelu', 0], pool: 'catavgmax' }),
    reference: { kind: 'timm_resnet', args: { block: 'basic', layers: [1], channels: [16], classes: 3, stem: [16, 3, 1, 1, false], act: ['gelu', 0], norm: ['batch'], pool: 'catavgmax' } },
    outputs: [['output', 'logits']],
  },
];

interface Result {
  params: number;
  reference_params: number;
  load: string;
  reference_load: string;
  rates: number[];
  reference_rates: number[];
  order: string[];
  eval: Record<string, [number[], number]>;
  train?: Record<string, [number[], number]>;
  train_vs_eval?: number;
}

describe('backbone statements in PyTorch: the generated module and safetensors against torchvision and timm', () => {
  if (!python) console.warn('test/torch/backbones: skipped, no Python here imports torch and torchvision (Debian: python3-torchvision)');
  const dir = mkdtempSync(join(tmpdir(), 'resnetc-backbones-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const weights = new Map(cases.map((c, i) => [c.model, randomWeights(c.model, 50 + i)]));
  let results: Record<string, Result>;

  beforeAll(() => {
    if (!python) return;
    const jobs = cases.map((c) => {
      const model = c.model;
      const path = (ext: string): string => join(dir, `${model.name}.${ext}`);
      writeFileSync(path('py'), emitPython(model, { version: 'test' }));
      writeFileSync(path('safetensors'), stateDictBytes(model, weights.get(model)!));
      const { c: ch, h, w } = model.input;
      writeFloats(path('input'), randomInput(4, ch, h, w, 51));
      return {
        name: model.name,
        module: path('py'),
        weights: path('safetensors'),
        reference_state: path('reference.safetensors'),
        input: path('input'),
        shape: [4, ch, h, w],
        reference: c.reference,
        outputs: c.outputs,
        train: c.train ?? false,
      };
    });
    results = runJobs('backbone_jobs.py', dir, jobs);
  }, 300_000);

  for (const c of cases) {
    const model = c.model;
    describe(model.name, () => {
      it.runIf(python)("loads resnetc's safetensors with strict=True, as the reference does; the checker's, the module's and the reference's parameter counts agree", () => {
        const r = results[model.name]!;
        expect({ load: r.load, reference: r.reference_load }).toEqual({ load: '<All keys matched successfully>', reference: '<All keys matched successfully>' });
        expect({ params: r.params, reference: r.reference_params }).toEqual({ params: model.totals.params, reference: model.totals.params });
      });

      it.runIf(python)("returns the listed outputs in order, each the reference's within 1e-5", () => {
        const r = results[model.name]!;
        expect(r.order).toEqual(model.outputs.map((o) => o.name));
        for (const o of model.outputs) {
          const [shape, error] = r.eval[o.name]!;
          expect(shape, o.name).toEqual(o.source === 'logits' || (o.name === 'output' && model.head) ? [4, o.shape.c] : [4, o.shape.c, o.shape.h, o.shape.w]);
          expect(error, o.name).toBeLessThan(tolerance);
        }
      });

      if (c.train) {
        it.runIf(python)("drops paths in training as timm does: the reference's rates, and its outputs under the same seed", () => {
          const r = results[model.name]!;
          const blocks = model.stages.flatMap((s) => s.blocks).filter((b) => b.dropPath > 0);
          expect(r.rates.length).toBe(blocks.length);
          expect(r.rates.length).toBe(r.reference_rates.length);
          r.rates.forEach((p, i) => expect(p).toBeCloseTo(r.reference_rates[i]!, 12));
          expect(r.train_vs_eval).toBeGreaterThan(1e-3);
          for (const [name, [, error]] of Object.entries(r.train!)) expect(error, name).toBeLessThan(tolerance);
        });
      }

      it.runIf(python)("reads the reference's own state_dict back as the weights written", () => {
        const read = readSafetensorsWeights(readFileSync(join(dir, `${model.name}.reference.safetensors`)), model);
        const written = weights.get(model)!;
        expect([...read.keys()].sort()).toEqual([...written.keys()].sort());
        const bytes = (a: Float32Array | undefined): Buffer => Buffer.from(a!.buffer, a!.byteOffset, a!.byteLength);
        for (const [name, values] of written) expect(bytes(read.get(name)).equals(bytes(values)), name).toBe(true);
      });
    });
  }
});
