import { describe, expect, it } from 'vitest';
import type { CheckedModel, ConvLayer } from '../../src/model/types.js';
import { codesOf, model } from '../helpers/check.js';

/**
 * The backbone statements' meaning where PyTorch's modules (test/torch/backbones.test.ts) do
 * not reach: rules read in timm's make_blocks and blocks (huggingface/pytorch-image-models,
 * timm/models/resnet.py) and worked by hand.
 */

const four = (extra: string, block = 'basic'): string => `model m {
  input 3x64x64
  stem { conv 3x3 8 stride 2 }
  block ${block}
  ${extra}
  stage a { blocks 2  width 8 }
  stage b { blocks 2  width 16  stride 2 }
  stage c { blocks 2  width 32  stride 2 }
  stage d { blocks 2  width 64  stride 2 }
}`;

const dilations = (m: CheckedModel, stage: number, block: number): number[] =>
  m.stages[stage]!.blocks[block]!.branch.filter((l): l is ConvLayer => l.op === 'conv').map((l) => l.dilation);

describe('backbone statements', () => {
  it('output_stride 8 on a basic-block model: timm’s BasicBlock, conv1 with the previous stage’s dilation, conv2 with the stage’s', () => {
    // Stride reached: 4 (stem), a 4, b 8; c would reach 16: dilation 2; d would too: dilation 4.
    const m = model(four('output_stride 8').replace('stem { conv 3x3 8 stride 2 }', 'stem { conv 3x3 8 stride 2  maxpool 3x3 stride 2 }'));
    expect(m.stages.map((s) => [s.stride, s.dilation])).toEqual([[1, 1], [2, 1], [1, 2], [1, 4]]);
    expect(dilations(m, 2, 0)).toEqual([1, 2]);
    expect(dilations(m, 2, 1)).toEqual([2, 2]);
    expect(dilations(m, 3, 0)).toEqual([2, 4]);
    expect(dilations(m, 3, 1)).toEqual([4, 4]);
    // A dilated 3x3 pads by its dilation: the map keeps its size.
    expect(m.stages[3]!.blocks[1]!.branch[0]!).toMatchObject({ padding: [4, 4, 4, 4], out: { h: 8, w: 8 } });
    expect(m.output).toEqual({ c: 64, h: 8, w: 8 });
  });

  it('a stage’s own dilation, without output_stride: the next stage’s first block starts from it', () => {
    const m = model(four('', 'basic').replace('stage c { blocks 2  width 32  stride 2 }', 'stage c { blocks 2  width 32  dilation 3 }'));
    expect(dilations(m, 2, 0)).toEqual([1, 3]);
    expect(dilations(m, 3, 0)).toEqual([3, 1]);
    expect(m.stages[2]!.stride).toBe(1);
  });

  it('drop_path: timm’s linear rule over every block the model declares, even those outputs drops', () => {
    const m = model(four('drop_path 0.7\n  outputs a c'));
    const rates = m.stages.flatMap((s) => s.blocks.map((b) => b.dropPath));
    // 8 blocks: block k drops with 0.7 x k / 7.
    expect(rates.map((r) => Math.round(r * 1e12) / 1e12)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5]);
    expect(m.dropPath).toBe(0.7);
  });

  it('outputs: the model ends at the last one listed; expect output is the last stage listed', () => {
    const m = model(four('classes 10\n  outputs stem b c\n  expect output 32x8x8'));
    expect(m.stages.map((s) => s.name)).toEqual(['a', 'b', 'c']);
    expect(m.head).toBeUndefined();
    expect(m.outputs.map((o) => [o.name, o.source, o.stage, o.shape])).toEqual([
      ['stem', 'stem', undefined, { c: 8, h: 32, w: 32 }],
      ['b', 'stage', 1, { c: 16, h: 16, w: 16 }],
      ['c', 'stage', 2, { c: 32, h: 8, w: 8 }],
    ]);
    // The fc's 64 x 10 + 10 and stage d are not counted.
    const whole = model(four('classes 10'));
    const dropped = whole.stages[3]!.params + whole.head!.params;
    expect(m.totals.params).toBe(whole.totals.params - dropped);
  });

  it('outputs with logits keeps the head, and a pre-activation model its final norm only when its last stage stays', () => {
    const m = model(four('classes 10\n  outputs b logits', 'preact-basic'));
    expect(m.outputs.map((o) => [o.name, o.shape.c])).toEqual([['b', 16], ['logits', 10]]);
    expect(m.final.map((l) => l.name)).toEqual(['final.norm', 'final.act']);
    expect(model(four('outputs b', 'preact-basic')).final).toEqual([]);
  });

  it('the activations and their slope; group norm’s groups, no buffers; the head’s pool', () => {
    const m = model(four('activation leaky_relu 0.2\n  norm group { groups 4 }\n  classes 10\n  pool catavgmax'));
    expect(m.activation).toEqual({ fn: 'leaky_relu', negativeSlope: 0.2 });
    expect(model(four('activation leaky_relu')).activation).toEqual({ fn: 'leaky_relu', negativeSlope: 0.01 });
    for (const fn of ['silu', 'gelu', 'mish']) expect(model(four(`activation ${fn}`)).activation.fn).toBe(fn);
    expect(m.norm).toMatchObject({ kind: 'group', groups: 4 });
    expect(m.totals.buffers).toBe(0);
    // catavgmax: the fc takes 2 x 64 features.
    expect(m.head!.layers.map((l) => [l.op, l.out.c])).toEqual([['global_pool', 128], ['dense', 10]]);
    expect(m.head!.params).toBe(128 * 10 + 10);
  });

  it('pad on the stem: PyTorch’s floor((n + 2p - k) / s) + 1', () => {
    const m = model('model m { input 3x224x224 stem { conv 4x4 64 stride 4 pad 0  maxpool 3x3 stride 2 pad 0  avgpool 2x2 stride 1 pad 1 } block basic stage s { blocks 1 width 64 } }');
    expect(m.stem.filter((l) => l.op !== 'norm' && l.op !== 'act').map((l) => [l.out.h, l.out.w])).toEqual([[56, 56], [27, 27], [28, 28]]);
  });

  it('outputs followed by a stem statement, and a stage named with a keyword: parsed as meant', () => {
    expect(codesOf('model m { input 3x16x16 outputs s stem\n stem { conv 3x3 8 } block basic stage s { blocks 1 width 8 } }')).toContain('R0236');
    expect(codesOf('model m { input 3x16x16 outputs stem s\n stem { conv 3x3 8 } block basic stage s { blocks 1 width 8 } }')).toEqual([]);
  });
});
