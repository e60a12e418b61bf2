import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../../src/check/workspace.js';
import { emitOnnx, importOnnxWeights } from '../../src/onnx/index.js';
import { decodeGraph, relativeError, runOrt } from './helpers.js';

/**
 * Bringing PyTorch weights in: fixtures/torch_tiny.onnx was exported by PyTorch from a tiny
 * ResNeXt made of torchvision's Bottleneck blocks (fixtures/make_torch_fixture.py), with
 * PyTorch's own output beside it. Imported into the spec of the same network, our graph must
 * compute what PyTorch computed.
 */
const fixtures = join(import.meta.dirname, 'fixtures');
const expected = JSON.parse(readFileSync(join(fixtures, 'torch_tiny.json'), 'utf8')) as { input_shape: number[]; input: number[]; output: number[] };

describe('weights exported by PyTorch', () => {
  const model = new Workspace().check(join(fixtures, 'tiny.resnet'))!.models[0]!;
  const weights = importOnnxWeights(readFileSync(join(fixtures, 'torch_tiny.onnx')), model);

  for (const inference of [false, true]) {
    it(`give PyTorch's outputs in our ${inference ? 'inference' : 'training'} form`, async () => {
      const out = await runOrt(emitOnnx(model, weights, { inference }), Float32Array.from(expected.input), expected.input_shape);
      expect(out.dims).toEqual([2, 5]);
      expect(relativeError(out.data, expected.output)).toBeLessThan(1e-5);
    });
  }

  it("land on the spec's layers though PyTorch lists each shortcut after its branch", () => {
    const theirs = new Map(decodeGraph(readFileSync(join(fixtures, 'torch_tiny.onnx'))).initializer.map((t) => [t.name!, new Float32Array(Uint8Array.from(t.rawData!).buffer)]));
    const pairs: [string, string][] = [
      ['conv2.block0.shortcut.conv.weight', 'layer1.0.downsample.0.weight'],
      ['conv2.block0.shortcut.norm.running_var', 'layer1.0.downsample.1.running_var'],
      ['conv2.block0.conv3.weight', 'layer1.0.conv3.weight'],
      ['conv3.block0.shortcut.conv.weight', 'layer2.0.downsample.0.weight'],
      ['conv3.block1.norm2.running_mean', 'layer2.1.bn2.running_mean'],
      ['head.fc.weight', 'fc.weight'],
    ];
    for (const [ours, pytorch] of pairs) expect(weights.get(ours), ours).toEqual(theirs.get(pytorch));
  });
});
