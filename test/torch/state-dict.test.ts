import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace } from '../../src/check/workspace.js';
import type { CheckedModel } from '../../src/model/types.js';
import { emitOnnx } from '../../src/onnx/index.js';
import { onnx } from '../../src/onnx/proto.js';
import { initialWeightSource } from '../../src/weights/init.js';
import { readSafetensorsWeights, stateDictBytes, stateDictMetadata } from '../../src/weights/state-dict.js';
import { torchStateDict } from '../../src/weights/torch-names.js';
import { cli } from '../helpers/cli.js';
import { checkText, randomInput, randomWeights, relativeError, runOrt, specsDir } from '../onnx/helpers.js';
import { floats, python, runJobs, writeFloats } from './python.js';

/**
 * resnetc's weights under PyTorch's names, both ways, held to PyTorch itself (one Python
 * process, test/torch/py/state_dict_jobs.py, with its own safetensors reader and writer):
 * the naming table against torchvision's state_dict() for the whole zoo; torchvision's
 * weights as safetensors compiled to ONNX give PyTorch's outputs; resnetc's safetensors load
 * with strict=True into torchvision's models and into modules built as timm builds its
 * ResNet-D, SE-ResNet and ResNetV2 (test/torch/py/timm_like.py), and give the outputs of
 * resnetc's ONNX export of the same weights.
 */

const zoo = ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'resnext50_32x4d', 'resnext101_32x8d', 'wide_resnet50_2', 'wide_resnet101_2'];
const tolerance = 1e-5;

function zooModel(name: string): CheckedModel {
  const file = new Workspace().check(join(specsDir, `${name}.resnet`))!;
  return file.models.find((m) => m.name === name)!;
}

/** Small networks in timm's layouts, with the timm-like module (test/torch/py/timm_like.py) that has the same names. */
const timmCases = [
  {
    what: "timm's SE-ResNet-D (deep stem, average-pool shortcut D, SE)",
    spec: `model seresnet_d {
  input 3x32x32
  classes 10
  stem { conv 3x3 16 stride 2  conv 3x3 16  conv 3x3 32  maxpool 3x3 stride 2 }
  block bottleneck { se 16 }
  shortcut D
  stage conv2 { blocks 2  width 32 }
  stage conv3 { blocks 2  width 64  stride 2 }
  stage conv4 { blocks 1  width 128  stride 2 }
}`,
    module: { kind: 'timm_resnet', args: { block: 'Bottleneck', layers: [2, 2, 1], channels: [32, 64, 128], classes: 10, stem_width: 16, deep_stem: true, avg_down: true, se_ratio: 16 } },
  },
  {
    what: "timm's ResNet-D of basic blocks",
    spec: `model resnet_d_basic {
  input 3x24x24
  classes 5
  stem { conv 3x3 8 stride 2  conv 3x3 8  conv 3x3 16  maxpool 3x3 stride 2 }
  block basic
  shortcut D
  stage conv2 { blocks 1  width 8 }
  stage conv3 { blocks 2  width 16  stride 2 }
}`,
    module: { kind: 'timm_resnet', args: { block: 'BasicBlock', layers: [1, 2], channels: [8, 16], classes: 5, stem_width: 8, deep_stem: true, avg_down: true } },
  },
  {
    what: "timm's pre-activation ResNetV2 of bottlenecks",
    spec: `model resnetv2_small {
  input 3x32x32
  classes 6
  stem { conv 7x7 16 stride 2  maxpool 3x3 stride 2 }
  block preact-bottleneck
  stage conv2 { blocks 2  width 16 }
  stage conv3 { blocks 2  width 32  stride 2 }
}`,
    module: { kind: 'timm_resnetv2', args: { layers: [2, 2], channels: [64, 128], classes: 6, stem_chs: 16 } },
  },
  {
    what: "timm's pre-activation ResNetV2 of basic blocks with shortcut D",
    spec: `model resnetv2_basic_d {
  input 3x20x20
  classes 4
  stem { conv 7x7 16 stride 2  maxpool 3x3 stride 2 }
  block preact-basic
  shortcut D
  stage conv2 { blocks 1  width 16 }
  stage conv3 { blocks 2  width 32  stride 2 }
}`,
    module: { kind: 'timm_resnetv2', args: { layers: [1, 2], channels: [16, 32], classes: 4, stem_chs: 16, basic: true, avg_down: true } },
  },
];

/** The .pth conversion script of docs/pytorch.md, written to a file. */
function docScript(): string {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'pytorch.md'), 'utf8');
  const script = /```python\n(# pth_to_safetensors\.py[^]*?)```/.exec(doc)![1]!;
  const file = join(dir, 'pth_to_safetensors.py');
  writeFileSync(file, script);
  return file;
}

interface Results {
  zoo: Record<string, { missing: string[]; extra: string[]; shapes: string[]; order: boolean }>;
  export: { outputs: number[] }[];
  load: { message: string; metadata: Record<string, string>; batch_counts: number[]; scalar_counts: boolean }[];
  convert: { equal: boolean }[];
  finetune: Record<string, number[]>[];
}

/** Fine-tuning resnet18's 1000-class weights: a head of 10 classes, and 1 or 4 input channels (timm's adapt_input_conv). */
const tuneSeed = 3;
/** The models read from torchvision's safetensors and held to PyTorch's outputs (two: the whole zoo would cost minutes). */
const exported = ['resnet18', 'resnet50'];
const tuneChannels = [1, 4];

const dir = mkdtempSync(join(tmpdir(), 'resnetc-state-dict-'));
const path = (name: string): string => join(dir, name);

describe('safetensors under PyTorch names, held to PyTorch', () => {
  if (!python) console.warn('test/torch/state-dict: skipped, no Python here imports torch and torchvision (Debian: python3-torchvision)');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let results: Results;
  /** What ONNX Runtime gives for each load job's input with resnetc's ONNX export of the same weights. */
  const ortOutputs: Promise<Float32Array>[] = [];

  beforeAll(async () => {
    if (!python) return;
    const load: unknown[] = [];
    // resnetc's seeded export of specs/resnet18 and resnet50 by the command line, and the ONNX
    // export of the same seed of each at a 64x64 input (the same tensors: a seed draws each
    // tensor by its name), so that the forward passes cost little.
    // resnet18 fine-tuned: a head of 10 classes, and other input channels.
    const small = path('small.resnet');
    const imports = exported.map((n) => `import "${relative(dir, join(specsDir, `${n}.resnet`))}"`).join('\n');
    const models = exported.map((n) => `model ${n}_64 extends ${n} { input 3x64x64 }`).join('\n');
    const tuned = ['model resnet18_ft extends resnet18 { input 3x64x64  classes 10 }', ...tuneChannels.map((c) => `model resnet18_in${c} extends resnet18 { input ${c}x64x64 }`)].join('\n');
    writeFileSync(small, `${imports}\n${models}\n${tuned}\n`);
    // The head resnetc initialises afresh for resnet18_ft, for PyTorch to compute with.
    const ft = new Workspace().check(small)!.models.find((m) => m.name === 'resnet18_ft')!;
    const fresh = initialWeightSource(ft, { seed: tuneSeed });
    writeFloats(path('ft.head'), Float32Array.from([...fresh.get('head.fc.weight')!, ...fresh.get('head.fc.bias')!]));
    for (const name of ['resnet18', 'resnet50']) {
      for (const args of [
        [join(specsDir, `${name}.resnet`), '--target', 'safetensors', '-o', path(`${name}.safetensors`)],
        [small, '--model', `${name}_64`, '--target', 'onnx', '-o', path(`${name}.onnx`)],
      ]) {
        const r = await cli('compile', ...args, '--seed', '5');
        if (r.code !== 0) throw new Error(r.stderr);
      }
      const input = randomInput(1, 3, 64, 64, 11);
      writeFloats(path(`${name}.input`), input);
      ortOutputs.push(runOrt(readFileSync(path(`${name}.onnx`)), input, [1, 3, 64, 64]).then((o) => o.data));
      load.push({ module: { kind: 'torchvision', arch: name }, weights: path(`${name}.safetensors`), input: path(`${name}.input`), shape: [1, 3, 64, 64], output: path(`${name}.torch`) });
    }
    // The timm layouts, with random weights and running statistics.
    for (const [i, c] of timmCases.entries()) {
      const model = checkText(c.spec);
      const weights = randomWeights(model, 20 + i);
      writeFileSync(path(`${model.name}.safetensors`), stateDictBytes(model, weights, stateDictMetadata(model, 'test')));
      const shape = [2, model.input.c, model.input.h, model.input.w];
      const input = randomInput(2, model.input.c, model.input.h, model.input.w, 30 + i);
      writeFloats(path(`${model.name}.input`), input);
      ortOutputs.push(runOrt(emitOnnx(model, weights), input, shape).then((o) => o.data));
      load.push({ module: c.module, weights: path(`${model.name}.safetensors`), input: path(`${model.name}.input`), shape, output: path(`${model.name}.torch`) });
    }
    const jobs = {
      zoo: zoo.map((arch) => ({ arch, entries: torchStateDict(zooModel(arch)).map((e) => [e.key, e.shape]) })),
      // resnet18's tensors in F32, F16, BF16 and F64 in turn.
      export: exported.map((arch, i) => ({ arch, seed: i + 1, dtypes: arch === 'resnet18', weights: path(`tv_${arch}.safetensors`), shape: [2, 3, 64, 64], input: path(`tv_${arch}.input`), output: path(`tv_${arch}.output`) })),
      load,
      convert: [{ script: docScript(), pth: path('resnet18.pth'), weights: path('converted.safetensors') }],
      finetune: [
        {
          arch: 'resnet18',
          seed: 11,
          weights: path('r18_1000.safetensors'),
          head: { classes: 10, weights: path('ft.head'), input: path('ft.input'), output: path('ft.output') },
          channels: tuneChannels.map((c) => ({ in_chans: c, weight: path(`in${c}.weight`), input: path(`in${c}.input`), output: path(`in${c}.output`) })),
        },
      ],
    };
    results = runJobs<Results>('state_dict_jobs.py', dir, jobs);
  }, 300_000);

  it.runIf(python)("names every tensor of the zoo's models with the key and shape of torchvision's state_dict, in its order", () => {
    for (const arch of zoo) expect(results.zoo[arch], arch).toEqual({ missing: [], extra: [], shapes: [], order: true });
  });

  for (const arch of exported) {
    it.runIf(python)(`reads torchvision's ${arch} from safetensors${arch === 'resnet18' ? ' (its tensors F32, F16, BF16 and F64, read as the float32 values PyTorch holds)' : ''}: the ONNX compiled from it gives PyTorch's outputs`, async () => {
      const onnxPath = path(`tv_${arch}.onnx`);
      const r = await cli('compile', path('small.resnet'), '--model', `${arch}_64`, '-t', 'onnx', '--weights', path(`tv_${arch}.safetensors`), '-o', onnxPath);
      expect(r.stderr).toBe('');
      const out = await runOrt(readFileSync(onnxPath), floats(path(`tv_${arch}.input`)), [2, 3, 64, 64]);
      expect(out.dims).toEqual([2, 1000]);
      expect(relativeError(out.data, floats(path(`tv_${arch}.output`)))).toBeLessThan(tolerance);
    });
  }

  it.runIf(python)("loads a 1000-class resnet18 into resnet18_ft (10 classes), the head initialised afresh and said in one line; the ONNX gives PyTorch's outputs with that head", async () => {
    const onnxPath = path('ft.onnx');
    const r = await cli('compile', path('small.resnet'), '--model', 'resnet18_ft', '-t', 'onnx', '--weights', path('r18_1000.safetensors'), '--seed', String(tuneSeed), '-o', onnxPath);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`warning[R1009]: '${path('r18_1000.safetensors')}' has a head of 1000 classes, resnet18_ft 10: head.fc initialised afresh (torchvision's initialisation, seed ${tuneSeed}), every other tensor loaded\n`);
    const out = await runOrt(readFileSync(onnxPath), floats(path('ft.input')), [2, 3, 64, 64]);
    expect(out.dims).toEqual([2, 10]);
    expect(relativeError(out.data, floats(path('ft.output')))).toBeLessThan(tolerance);
    // --strict-weights refuses it, writing nothing.
    const strict = await cli('compile', path('small.resnet'), '--model', 'resnet18_ft', '-t', 'onnx', '--weights', path('r18_1000.safetensors'), '--strict-weights', '-o', path('strict.onnx'));
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/^error\[R1011\]: '.*r18_1000\.safetensors' has a head of 1000 classes; resnet18_ft has 10\n/);
    expect(existsSync(path('strict.onnx'))).toBe(false);
  });

  for (const c of tuneChannels) {
    it.runIf(python)(`adapts resnet18's RGB filters to ${c} input channel${c > 1 ? 's' : ''} as timm's adapt_input_conv does, said in one line; the ONNX gives PyTorch's outputs`, async () => {
      const onnxPath = path(`in${c}.onnx`);
      const r = await cli('compile', path('small.resnet'), '--model', `resnet18_in${c}`, '-t', 'onnx', '--weights', path('r18_1000.safetensors'), '-o', onnxPath);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`^warning\\[R1010\\]: '.*' takes 3 input channels, resnet18_in${c} ${c}: stem\\.conv1 adapted as timm's adapt_input_conv does \\([^)]+\\)\\n$`));
      expect(results.finetune[0]![c]).toEqual([64, c, 7, 7]);
      const model = onnx.ModelProto.decode(readFileSync(onnxPath));
      const stem = model.graph!.initializer!.find((t) => t.name === 'stem.conv1.weight')!;
      const raw = stem.rawData!;
      expect(relativeError(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)), floats(path(`in${c}.weight`)))).toBeLessThan(1e-6);
      const out = await runOrt(readFileSync(onnxPath), floats(path(`in${c}.input`)), [2, c, 64, 64]);
      expect(relativeError(out.data, floats(path(`in${c}.output`)))).toBeLessThan(tolerance);
      const strict = await cli('compile', path('small.resnet'), '--model', `resnet18_in${c}`, '-t', 'onnx', '--weights', path('r18_1000.safetensors'), '--strict-weights', '-o', path('strict.onnx'));
      expect(strict.stderr).toMatch(new RegExp(`^error\\[R1012\\]: '.*' takes 3 input channels; resnet18_in${c} takes ${c}\\n`));
    });
  }

  it.runIf(python)("docs/pytorch.md's script converts a torch.save'd state_dict to safetensors that resnetc reads", () => {
    expect(results.convert[0]!.equal).toBe(true);
    const weights = readSafetensorsWeights(path('converted.safetensors'), zooModel('resnet18'));
    expect(weights.size).toBe(torchStateDict(zooModel('resnet18')).filter((e) => e.name !== undefined).length);
  });

  const loads = [
    ...['resnet18', 'resnet50'].map((n) => ({ what: `torchvision's ${n} (resnetc compile --target safetensors of specs/${n}.resnet)`, name: n })),
    ...timmCases.map((c) => ({ what: c.what, name: /model (\w+)/.exec(c.spec)![1]! })),
  ];
  for (const [i, l] of loads.entries()) {
    it.runIf(python)(`loads with strict=True into ${l.what}, which then gives the ONNX export's outputs`, async () => {
      const loaded = results.load[i]!;
      expect(loaded.message).toBe('<All keys matched successfully>');
      expect(loaded.metadata['format']).toBe('pt');
      expect(loaded.batch_counts).toEqual([0]);
      expect(loaded.scalar_counts).toBe(true);
      expect(relativeError(floats(path(`${l.name}.torch`)), await ortOutputs[i]!)).toBeLessThan(tolerance);
    });
  }
});
