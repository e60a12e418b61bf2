import * as tf from '../../src/tfjs/tf.js';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingPython, pythonWith } from '../../scripts/python.js';
import { useBackend } from '../../src/tfjs/backend.js';
import { buildTfjsModel } from '../../src/tfjs/build.js';
import { setWeights } from '../../src/tfjs/weights.js';
import { checkTrainableOutputs } from '../../src/train/train.js';
import { modelTensors, type WeightSet } from '../../src/weights/init.js';
import { nchwToNhwc, nhwcToNchw } from '../../src/weights/layout.js';
import { cli } from '../helpers/cli.js';
import { readTensors } from '../train/helpers.js';
import { checkText, relativeError, tempDir } from './helpers.js';

/**
 * Several outputs, output stride 8 and group norm against torchvision's own classes
 * (torchvision_outputs.py: ResNet(Bottleneck, [1, 1, 2, 1], replace_stride_with_dilation=
 * [False, True, True], norm_layer=GroupNorm(32, ·)) and IntermediateLayerGetter on maxpool,
 * layer2, layer3, layer4): with its weights imported (matched in state_dict order, shape by
 * shape), every output of the tfjs model equals PyTorch's within 1e-4 relative, in order and
 * by name, on a non-square input.
 */
const python = pythonWith(['torch', 'torchvision', 'numpy']);

const spec = `model tv_os8_gn {
  input 3x40x48
  norm group { groups 32 }
  output_stride 8
  outputs stem conv3 conv4 conv5
  stem { conv 7x7 64 stride 2  maxpool 3x3 stride 2 }
  block bottleneck
  stage conv2 { blocks 1  width 64 }
  stage conv3 { blocks 1  width 128  stride 2 }
  stage conv4 { blocks 2  width 256  stride 2 }
  stage conv5 { blocks 1  width 512  stride 2 }
}
`;

describe.runIf(python !== undefined)('outputs of a torchvision backbone', () => {
  it('IntermediateLayerGetter over ResNet with replace_stride_with_dilation and GroupNorm: every output, on wasm', async () => {
    const stem = join(tempDir('resnetc-outputs-'), 'tv');
    const r = spawnSync(python!, [join(import.meta.dirname, 'torchvision_outputs.py'), stem], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const torch = readTensors(stem);
    const model = checkText(spec);
    const specs = modelTensors(model);
    const weights: WeightSet = new Map();
    specs.forEach((t, i) => {
      const p = torch.get(`param/${i}`);
      expect(p?.shape, t.name).toEqual(t.shape);
      weights.set(t.name, p!.data);
    });
    expect(torch.has(`param/${specs.length}`)).toBe(false);

    await useBackend('wasm');
    const net = buildTfjsModel(model);
    setWeights(net, model, weights);
    expect(net.outputNames).toEqual(['stem', 'conv3', 'conv4', 'conv5']);
    const x = torch.get('x')!;
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const ys = tf.tidy(() => net.predict(tf.tensor4d(nchwToNhwc(x.data, n, c, h, w), [n, h, w, c])) as tf.Tensor[]);
    model.outputs.forEach((o, i) => {
      const y = ys[i]!;
      const ref = torch.get(`out/${o.name}`)!;
      expect(ref.shape, o.name).toEqual([n, o.shape.c, o.shape.h, o.shape.w]);
      const mine = nhwcToNchw(y.dataSync() as Float32Array, n, y.shape[3]!, y.shape[1]!, y.shape[2]!);
      expect(relativeError(mine, ref.data), o.name).toBeLessThan(1e-4);
    });
    tf.dispose(ys);
    net.dispose();
  }, 120_000);
});

describe.skipIf(python !== undefined)('outputs of a torchvision backbone', () => {
  it('needs PyTorch and torchvision', (ctx) => ctx.skip(missingPython(['torch', 'torchvision', 'numpy'])));
});

describe('training a model with several outputs', () => {
  const base = `model two {
  input 3x8x8
  classes 3
  stem { conv 3x3 4 }
  block basic
  stage a { blocks 1  width 4 }
  stage b { blocks 1  width 4  stride 2 }
`;
  it('is refused (R0730) when the last output is not the logits, before any data is read', async () => {
    const dir = tempDir();
    const path = join(dir, 'two.resnet');
    (await import('node:fs')).writeFileSync(path, `${base}  outputs a b\n}\n`);
    const r = await cli('train', path, '--data', join(dir, 'no-such-data'), '--out', join(dir, 'out'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('error[R0730]');
    expect(r.stderr).toContain("'a', 'b'");
  });

  it('trains on the last output when it is the logits (the feature maps take no part)', () => {
    const many = checkText(`${base}  outputs a logits\n}\n`);
    const one = checkText(`${base}}\n`);
    expect(() => checkTrainableOutputs(many)).not.toThrow();
    expect(() => checkTrainableOutputs(one)).not.toThrow();
    expect(many.outputs.map((o) => o.name)).toEqual(['a', 'logits']);
  });
});
