import * as tf from '../../src/tfjs/tf.js';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CheckedModel } from '../../src/model/types.js';
import { emitOnnx } from '../../src/onnx/index.js';
import { useBackend } from '../../src/tfjs/backend.js';
import { buildTfjsModel } from '../../src/tfjs/build.js';
import { countTfjsWeights, setWeights } from '../../src/tfjs/weights.js';
import { initialWeights } from '../../src/weights/init.js';
import { nchwToNhwc, nhwcToNchw } from '../../src/weights/layout.js';
import { checkText, perturbNorms, randomImages, relativeError, smallModel } from './helpers.js';

/**
 * The tfjs model against an independent implementation of the same network: ONNX Runtime
 * running the ONNX target's export with the same weights (norms kept, with running
 * statistics made non-trivial so that their layouts are exercised too).
 */
async function compare(model: CheckedModel, batch = 2): Promise<number> {
  const weights = perturbNorms(initialWeights(model, { seed: 11 }));
  const { c, h, w } = model.input;
  const nchw = randomImages(batch * c * h * w);

  const session = await ort.InferenceSession.create(emitOnnx(model, weights, { inference: false }));
  const result = await session.run({ input: new ort.Tensor('float32', nchw, [batch, c, h, w]) });
  // One reference per model output, in order (a model with `outputs` has several).
  expect(session.outputNames).toEqual(model.outputs.map((o) => o.name));
  const references = session.outputNames.map((n) => result[n]!.data as Float32Array);
  await session.release();

  const tfModel = buildTfjsModel(model);
  try {
    setWeights(tfModel, model, weights);
    const counts = countTfjsWeights(tfModel);
    expect(counts.trainable).toBe(model.totals.params);
    expect(counts.nonTrainable).toBe(model.totals.buffers);
    const predicted = tf.tidy(() => tfModel.predict(tf.tensor4d(nchwToNhwc(nchw, batch, c, h, w), [batch, h, w, c])) as tf.Tensor | tf.Tensor[]);
    const ys = Array.isArray(predicted) ? predicted : [predicted];
    expect(ys.length).toBe(references.length);
    let worst = 0;
    ys.forEach((y, i) => {
      let out = y.dataSync() as Float32Array;
      if (y.rank === 4) out = nhwcToNchw(out, batch, y.shape[3]!, y.shape[1]!, y.shape[2]!);
      y.dispose();
      expect(out.length).toBe(references[i]!.length);
      worst = Math.max(worst, relativeError(out, references[i]!));
    });
    return worst;
  } finally {
    tfModel.dispose();
  }
}

beforeAll(async () => {
  await useBackend('wasm');
});

describe('every spec in specs/ equals ONNX Runtime on the ONNX export, at a small input', () => {
  const cases: [string, string, string][] = [
    ['cifar_resnet.resnet', 'resnet20', '3x32x32'],
    ['cifar_resnet.resnet', 'resnet32', '3x16x16'],
    ['cifar_resnet.resnet', 'resnet44', '3x12x12'],
    ['cifar_resnet.resnet', 'resnet56', '3x12x12'],
    ['cifar_resnet.resnet', 'resnet110', '3x8x8'],
    ['resnet18.resnet', 'resnet18', '3x32x32'],
    ['resnet34.resnet', 'resnet34', '3x32x32'],
    ['resnet50.resnet', 'resnet50', '3x32x32'],
    ['resnet101.resnet', 'resnet101', '3x32x32'],
    ['resnet152.resnet', 'resnet152', '3x32x32'],
    ['resnext50_32x4d.resnet', 'resnext50_32x4d', '3x32x32'],
    ['resnext101_32x8d.resnet', 'resnext101_32x8d', '3x32x32'],
    ['wide_resnet50_2.resnet', 'wide_resnet50_2', '3x32x32'],
    ['wide_resnet101_2.resnet', 'wide_resnet101_2', '3x32x32'],
    ['resnet50_dilated.resnet', 'resnet50_os16', '3x32x48'],
    ['resnet50_dilated.resnet', 'resnet50_os8', '3x32x32'],
    ['resnet_d.resnet', 'resnet50d', '3x32x32'],
    ['resnet_d.resnet', 'resnet26t', '3x32x32'],
    ['seresnext50_32x4d.resnet', 'seresnext50_32x4d', '3x32x32'],
    ['resnetv2_50_gn.resnet', 'resnetv2_50_gn', '3x32x32'],
  ];
  for (const [file, name, input] of cases) {
    it(`${name} at ${input}`, async () => {
      const model = smallModel(file, name, input);
      expect(await compare(model)).toBeLessThan(1e-4);
    });
  }
});

describe('every construct of the language equals ONNX Runtime', () => {
  it('pre-activation bottleneck, shortcut D with odd sizes (ceil-mode pool), SE, dropout, maxpool stem', async () => {
    const model = checkText(`model m {
      input 3x23x21
      classes 5
      dropout 0.2
      stem { conv 7x7 8 stride 2  maxpool 3x3 stride 2 }
      block preact-bottleneck { se 4 }
      shortcut D
      norm batch { eps 1e-3  momentum 0.01 }
      stage a { blocks 2  width 4 }
      stage b { blocks 2  width 8  stride 2 }
    }`);
    expect(await compare(model)).toBeLessThan(1e-4);
  });

  it('pre-activation basic, projection from the preactivated input, avgpool stem', async () => {
    const model = checkText(`model m {
      input 3x17x17
      classes 3
      stem { conv 3x3 8  avgpool 3x3 stride 2 }
      block preact-basic
      shortcut B
      stage a { blocks 1  width 8 }
      stage b { blocks 2  width 16  stride 2 }
    }`);
    expect(await compare(model)).toBeLessThan(1e-4);
  });

  it('shortcut C, grouped bottleneck with the stride on the 1x1, grouped stem, no head (feature map out)', async () => {
    const model = checkText(`model m {
      input 4x15x15
      stem { conv 3x3 8 stride 2 groups 2 }
      block bottleneck { groups 2  width_per_group 32  stride_on 1x1  expansion 2 }
      shortcut C
      stage a { blocks 1  width 8 }
      stage b { blocks 2  width 8  stride 2 }
    }`);
    expect(await compare(model)).toBeLessThan(1e-4);
  });

  it('backbone statements: GELU, Mish, LeakyReLU, SiLU in SE, group norm, dilation, drop path (identity at inference), each head pool, a patchify stem, several outputs', async () => {
    // The ONNX export of each construct is held to PyTorch in test/onnx/backbone.test.ts.
    const variants = [
      { act: 'gelu', pool: 'catavgmax', norm: 'norm group { groups 4 }' },
      { act: 'mish', pool: 'avgmax', norm: '' },
      { act: 'leaky_relu 0.2', pool: 'max', norm: 'norm group { groups 2  eps 1e-3 }' },
      { act: 'silu', pool: 'avg', norm: '' },
    ];
    for (const v of variants) {
      const model = checkText(`model m {
        input 3x19x23
        classes 5
        activation ${v.act}
        ${v.norm}
        drop_path 0.3
        pool ${v.pool}
        stem { conv 2x2 8 stride 2 pad 0  maxpool 3x3 stride 2 pad 0 }
        block bottleneck { se 4 }
        shortcut B
        output_stride 8
        outputs stem a c logits
        stage a { blocks 1  width 8 }
        stage b { blocks 1  width 8  stride 2 }
        stage c { blocks 2  width 8  stride 2 }
      }`);
      expect(await compare(model), `${v.act}, ${v.pool}`).toBeLessThan(1e-4);
    }
  });

  it('shortcut A on odd sizes, even kernel in the stem', async () => {
    const model = checkText(`model m {
      input 3x13x11
      classes 4
      stem { conv 4x4 8 }
      block basic
      shortcut A
      stage a { blocks 1  width 8 }
      stage b { blocks 1  width 16  stride 2 }
      stage c { blocks 1  width 24  stride 3 }
    }`);
    expect(await compare(model)).toBeLessThan(1e-4);
  });
});
