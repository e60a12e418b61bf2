import { describe, expect, it } from 'vitest';
import type { Code } from '../../src/diagnostics/codes.js';
import { serializeSafetensors, TorchWeightsError, type TensorToWrite } from '../../src/weights/safetensors.js';
import { readSafetensorsWeights } from '../../src/weights/state-dict.js';
import { torchModulePaths, torchStateDict } from '../../src/weights/torch-names.js';
import { model } from '../helpers/check.js';

/**
 * The naming table against names read in torchvision's and timm's sources (the keys below are
 * what their modules' state_dict() lists; test/torch/ compares with PyTorch itself), and the
 * reader's refusals, each naming the key and the spec's layer.
 */

const tiny = model(`model tiny {
  input 3x16x16
  classes 4
  stem { conv 3x3 8 stride 2  conv 3x3 8  conv 3x3 16  maxpool 3x3 stride 2 }
  block bottleneck { se 4 }
  shortcut D
  stage a { blocks 1  width 8 }
  stage b { blocks 2  width 8  stride 2 }
}`);

const preact = model(`model pre {
  input 3x16x16
  classes 4
  stem { conv 3x3 8  conv 3x3 8  maxpool 3x3 stride 2 }
  block preact-bottleneck
  shortcut D
  stage a { blocks 1  width 4 }
  stage b { blocks 1  width 8  stride 2  shortcut A }
}`);

describe('the naming table', () => {
  it("names a post-activation model as timm's ResNet: deep stem conv1.0/1/3/4/6 and bn1, downsample.1/.2 for D, se.fc1/fc2", () => {
    const keys = torchStateDict(tiny).map((e) => e.key);
    expect(keys.slice(0, 17)).toEqual([
      'conv1.0.weight',
      ...['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((a) => `conv1.1.${a}`),
      'conv1.3.weight',
      ...['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((a) => `conv1.4.${a}`),
      'conv1.6.weight',
      ...['weight', 'bias', 'running_mean', 'running_var'].map((a) => `bn1.${a}`),
    ]);
    for (const k of ['layer1.0.se.fc1.weight', 'layer1.0.se.fc1.bias', 'layer1.0.se.fc2.weight', 'layer1.0.se.fc2.bias', 'layer1.0.downsample.1.weight', 'layer1.0.downsample.2.running_var', 'layer2.0.downsample.1.weight', 'layer2.1.conv3.weight', 'layer2.1.bn3.num_batches_tracked', 'fc.weight', 'fc.bias']) {
      expect(keys).toContain(k);
    }
    expect(keys.filter((k) => k.includes('downsample.0'))).toEqual([]);
    const paths = torchModulePaths(tiny);
    expect(['stem.act3', 'stem.pool1', 'b.block0.shortcut.pool', 'head.pool'].map((l) => paths.get(l))).toEqual(['act1', 'maxpool', 'layer2.0.downsample.0', 'avgpool']);
  });

  it("names a pre-activation model as timm's ResNetV2: stem.convN, stages.I.blocks.J.norm1…, downsample.conv, norm, head.fc as a 1x1 convolution", () => {
    const entries = torchStateDict(preact);
    const keys = entries.map((e) => e.key);
    expect(keys.slice(0, 2)).toEqual(['stem.conv1.weight', 'stem.conv2.weight']);
    for (const k of ['stages.0.blocks.0.norm1.running_mean', 'stages.0.blocks.0.conv1.weight', 'stages.0.blocks.0.norm3.weight', 'stages.0.blocks.0.conv3.weight', 'stages.0.blocks.0.downsample.conv.weight', 'stages.1.blocks.0.norm2.bias', 'norm.weight', 'norm.num_batches_tracked', 'head.fc.bias']) {
      expect(keys).toContain(k);
    }
    expect(keys.filter((k) => k.startsWith('stages.1.blocks.0.downsample'))).toEqual([]);
    expect(entries.find((e) => e.key === 'head.fc.weight')!.shape).toEqual([4, 32, 1, 1]);
    expect(torchModulePaths(preact).get('stem.pool1')).toBe('stem.pool');
  });
});

/** tiny's state_dict as a file, with tensors changed by `edit` (seeded values, zero batch counts). */
function tinyFile(edit: (tensors: TensorToWrite[]) => TensorToWrite[] = (t) => t): Uint8Array {
  const tensors: TensorToWrite[] = torchStateDict(tiny).map((e, i) => ({
    name: e.key,
    dtype: e.dtype,
    shape: e.shape,
    values: () => (e.dtype === 'I64' ? BigInt64Array.of(3n) : Float32Array.from({ length: e.shape.reduce((a, b) => a * b, 1) }, (_, j) => i + j / 1000)),
  }));
  return serializeSafetensors(edit(tensors));
}

function refusal(bytes: Uint8Array): { code: Code; message: string; help: string | undefined; layer: string | undefined } {
  try {
    readSafetensorsWeights(bytes, tiny, "'w.safetensors'");
  } catch (e) {
    if (e instanceof TorchWeightsError) return { code: e.code, message: e.message, help: e.help, layer: e.layer };
    throw e;
  }
  throw new Error('the file was accepted');
}

describe('reading a state_dict into a model', () => {
  it("takes every tensor by its key into resnetc's names, with or without num_batches_tracked", () => {
    const entries = torchStateDict(tiny);
    for (const bytes of [tinyFile(), tinyFile((t) => t.filter((x) => !x.name.endsWith('num_batches_tracked')))]) {
      const weights = readSafetensorsWeights(bytes, tiny);
      expect([...weights.keys()].sort()).toEqual(entries.flatMap((e) => (e.name ? [e.name] : [])).sort());
      const i = entries.findIndex((e) => e.key === 'layer2.0.downsample.1.weight');
      expect(weights.get('b.block0.shortcut.conv.weight')!.slice(0, 2)).toEqual(Float32Array.of(i, i + 0.001));
    }
  });

  it('names a missing tensor with its key, shape and layer (R1005)', () => {
    const r = refusal(tinyFile((t) => t.filter((x) => x.name !== 'layer2.0.downsample.1.weight')));
    expect(r).toMatchObject({ code: 'R1005', layer: 'b.block0.shortcut.conv' });
    expect(r.message).toBe("'w.safetensors' has no tensor 'layer2.0.downsample.1.weight' (b.block0.shortcut.conv, 32x32x1x1), which tiny needs");
  });

  it('says when the names carry a prefix, as a DistributedDataParallel state_dict does', () => {
    const r = refusal(tinyFile((t) => t.map((x) => ({ ...x, name: `module.${x.name}` }))));
    expect(r.code).toBe('R1005');
    expect(r.help).toMatch(/the file's names have a prefix \('module\.conv1\.0\.weight'\).*model\.module\.state_dict\(\)/);
  });

  it("names the file's tensors the spec does not have (R1006), and lists them where a tensor is missing", () => {
    const extra = (x: TensorToWrite): TensorToWrite => ({ ...x, name: 'layer3.0.conv1.weight' });
    const r = refusal(tinyFile((t) => [...t, extra(t[0]!)]));
    expect(r.code).toBe('R1006');
    expect(r.message).toBe("'w.safetensors' has a tensor that tiny does not have: 'layer3.0.conv1.weight'");
    const renamed = refusal(tinyFile((t) => t.map((x) => (x.name === 'conv1.0.weight' ? { ...x, name: 'conv1.weight' } : x))));
    expect(renamed).toMatchObject({ code: 'R1005', layer: 'stem.conv1' });
    expect(renamed.help).toBe("it has 'conv1.weight' instead (a tensor tiny does not have): the file holds another network than tiny: compile the spec that describes the file's");
  });

  it('names a tensor of another shape (R1007)', () => {
    const r = refusal(tinyFile((t) => t.map((x) => (x.name === 'fc.weight' ? { ...x, shape: [5, 26], values: () => new Float32Array(130) } : x))));
    expect(r).toMatchObject({ code: 'R1007', layer: 'head.fc' });
    expect(r.message).toBe("'fc.weight' (head.fc, 4x32) is [5, 26] in 'w.safetensors'; tiny needs [4, 32]");
  });

  it('refuses a weight or a batch count of the wrong kind of dtype (R1002)', () => {
    const asInt = refusal(tinyFile((t) => t.map((x) => (x.name === 'layer1.0.bn2.bias' ? { ...x, dtype: 'I64', values: () => new BigInt64Array(8) } : x))));
    expect(asInt).toMatchObject({ code: 'R1002', layer: 'a.block0.norm2' });
    const count = refusal(tinyFile((t) => t.map((x) => (x.name === 'bn1.num_batches_tracked' ? { ...x, dtype: 'F32', values: () => new Float32Array(1) } : x))));
    expect(count).toMatchObject({ code: 'R1002', layer: 'stem.norm3' });
  });

  it('refuses a NaN, an infinity or a negative running variance, naming the tensor (R0816), as the other weight readers do', async () => {
    const { WeightValueError } = await import('../../src/weights/validate.js');
    const poisoned = (key: string, value: number): Uint8Array =>
      tinyFile((t) => t.map((x) => (x.name === key ? { ...x, values: () => Float32Array.from({ length: x.shape.reduce((a, b) => a * b, 1) }, (_, j) => (j === 1 ? value : 1)) } : x)));
    for (const [key, value, tensor] of [
      ['layer1.0.conv2.weight', Number.NaN, 'a.block0.conv2.weight'],
      ['fc.bias', Number.POSITIVE_INFINITY, 'head.fc.bias'],
      ['layer2.1.bn1.running_var', -0.5, 'b.block1.norm1.running_var'],
    ] as const) {
      let error: unknown;
      try {
        readSafetensorsWeights(poisoned(key, value), tiny, "'w.safetensors'");
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(WeightValueError);
      expect(error).toMatchObject({ code: 'R0816', tensor, index: 1 });
    }
  });
});
