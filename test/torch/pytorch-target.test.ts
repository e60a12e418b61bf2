import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace } from '../../src/check/workspace.js';
import type { CheckedModel } from '../../src/model/types.js';
import { emitOnnx } from '../../src/onnx/index.js';
import { emitPython } from '../../src/torch/python.js';
import { initialWeights } from '../../src/weights/init.js';
import { stateDictBytes } from '../../src/weights/state-dict.js';
import { torchStateDict } from '../../src/weights/torch-names.js';
import { checkText, randomInput, randomWeights, relativeError, runOrt, specsDir } from '../onnx/helpers.js';
import { floats, python, runJobs, writeFloats } from './python.js';

/**
 * `--target pytorch` held to PyTorch (one Python process, test/torch/py/pytorch_target_jobs.py)
 * for every model of specs/ and the construct-covering models of constructs.resnet: the
 * module compiles and passes flake8; its parameter and buffer counts are the checker's; its
 * state_dict has the naming table's keys and shapes; zero_init_residual zeroes what resnetc's
 * does; torchvision's seeded initialisation gives torchvision's tensors; and with the same
 * weights (safetensors) its outputs are the ONNX export's in ONNX Runtime.
 */

const tolerance = 1e-5;

function modelsOf(path: string): CheckedModel[] {
  return new Workspace().check(path)!.models;
}

const torchvision = ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'resnext50_32x4d', 'resnext101_32x8d', 'wide_resnet50_2', 'wide_resnet101_2'];
/** The zoo's backbones and timm variants (issue 13): every model of these files. */
const backbones = ['resnet50_dilated', 'resnet_d', 'seresnext50_32x4d', 'resnetv2_50_gn'];
const zoo = [
  ...torchvision.flatMap((n) => modelsOf(join(specsDir, `${n}.resnet`)).filter((m) => m.name === n)),
  ...modelsOf(join(specsDir, 'cifar_resnet.resnet')),
  ...backbones.flatMap((n) => modelsOf(join(specsDir, `${n}.resnet`))),
];
const constructs = modelsOf(join(import.meta.dirname, 'constructs.resnet'));
/** Outputs are compared for these (the big zoo models: counts, names and style only, for time). */
const run = new Set(['resnet18', 'resnet50', ...modelsOf(join(specsDir, 'cifar_resnet.resnet')).map((m) => m.name), ...constructs.map((m) => m.name)]);
/** Models whose seeded initialisation is compared with torchvision's, zero_init_residual off and on (each build of resnet50 costs 0.7 s). */
const initAsTorchvision = new Map([
  ['resnet18', [false, true]],
  ['resnet50', [true]],
]);
/** The ImageNet models run at 64x64: the same module and weights, a fraction of the work. */
const at64 = new Map(['resnet18', 'resnet50'].map((n) => [n, checkText(`import "${n}.resnet"\nmodel ${n}_64 extends ${n} { input 3x64x64 }`)]));

interface ModelResult {
  params: number;
  buffers: number;
  batch_counters: number;
  missing: string[];
  extra: string[];
  shapes: string[];
  name: string;
  input: number[];
  classes: number | null;
  zeroed: string[];
  torchvision_init?: boolean[];
  load?: string;
  output_shape?: number[];
}

describe('the PyTorch target, held to PyTorch', () => {
  if (!python) console.warn('test/torch/pytorch-target: skipped, no Python here imports torch and torchvision (Debian: python3-torchvision)');
  const dir = mkdtempSync(join(tmpdir(), 'resnetc-pytorch-target-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const path = (name: string): string => join(dir, name);
  let results: { style: Record<string, string[]> | null; models: Record<string, ModelResult> };
  const ort = new Map<string, Promise<Float32Array>>();

  beforeAll(async () => {
    if (!python) return;
    const jobs = [];
    for (const model of [...zoo, ...constructs]) {
      const module = path(`${model.name}.py`);
      writeFileSync(module, emitPython(model, { version: 'test' }));
      const job: Record<string, unknown> = { name: model.name, module, entries: torchStateDict(model).map((e) => [e.key, e.shape]) };
      // torchvision's own initialisation to compare with (zero_init_residual off, on); the others are checked against resnetc's zero-init.
      const init = initAsTorchvision.get(model.name);
      if (init) job['torchvision'] = [model.name, init];
      if (run.has(model.name)) {
        job['zeroed'] = !init;
        const weights = randomWeights(model, 40);
        const shaped = at64.get(model.name) ?? model;
        const { c, h, w } = shaped.input;
        const input = randomInput(2, c, h, w, 41);
        writeFileSync(path(`${model.name}.safetensors`), stateDictBytes(model, weights));
        writeFloats(path(`${model.name}.input`), input);
        ort.set(model.name, runOrt(emitOnnx(shaped, weights), input, [2, c, h, w]).then((o) => o.data));
        Object.assign(job, { weights: path(`${model.name}.safetensors`), input: path(`${model.name}.input`), shape: [2, c, h, w], output: path(`${model.name}.torch`) });
      }
      jobs.push(job);
    }
    results = runJobs('pytorch_target_jobs.py', dir, jobs);
  }, 600_000);

  it.runIf(python)('writes modules that py_compile accepts and flake8 finds nothing in', () => {
    if (results.style === null) console.warn('test/torch/pytorch-target: flake8 is not installed (Debian: flake8), style not checked');
    else expect(results.style).toEqual({});
  });

  for (const model of [...zoo, ...constructs]) {
    it.runIf(python)(`${model.name}: the checker's counts and the naming table's state_dict`, () => {
      const r = results.models[model.name]!;
      const norms = torchStateDict(model).filter((e) => e.role === 'num_batches_tracked').length;
      expect({ params: r.params, buffers: r.buffers, batch_counters: r.batch_counters }).toEqual({ params: model.totals.params, buffers: model.totals.buffers, batch_counters: norms });
      expect({ missing: r.missing, extra: r.extra, shapes: r.shapes }).toEqual({ missing: [], extra: [], shapes: [] });
      expect({ name: r.name, input: r.input, classes: r.classes }).toEqual({ name: model.name, input: [model.input.c, model.input.h, model.input.w], classes: model.head?.classes ?? null });
    });
    if (run.has(model.name) && !initAsTorchvision.has(model.name)) {
      it.runIf(python)(`${model.name}: zero_init_residual zeroes what resnetc's --zero-init-residual zeroes`, () => {
        const zero = initialWeights(model, { zeroInitResidual: true });
        const keys = torchStateDict(model)
          .filter((e) => e.name !== undefined && e.role !== 'norm_shift' && e.role !== 'running_mean' && zero.get(e.name)!.every((v) => v === 0))
          .map((e) => e.key);
        expect(keys.length).toBeGreaterThan(0);
        expect(results.models[model.name]!.zeroed.filter((k) => !/(\.bias|running_mean)$/.test(k))).toEqual(keys.sort());
      });
      it.runIf(python)(`${model.name}: loads resnetc's safetensors with strict=True and gives the ONNX export's outputs`, async () => {
        const r = results.models[model.name]!;
        expect(r.load).toBe('<All keys matched successfully>');
        const expected = await ort.get(model.name)!;
        expect(r.output_shape).toEqual(model.classes !== undefined ? [2, model.classes] : [2, model.output.c, model.output.h, model.output.w]);
        expect(relativeError(floats(path(`${model.name}.torch`)), expected)).toBeLessThan(tolerance);
      });
    }
  }

  it.runIf(python)("initialises as torchvision does: with the same seed, torchvision's tensors, zero_init_residual or not", () => {
    for (const [name, flags] of initAsTorchvision) expect(results.models[name]!.torchvision_init, name).toEqual(flags.map(() => true));
  });
});
