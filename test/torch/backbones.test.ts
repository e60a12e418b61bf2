import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../../src/check/workspace.js';
import type { CheckedModel, Layer } from '../../src/model/types.js';
import { walkLayers } from '../../src/model/walk.js';
import { checkText, specsDir } from '../onnx/helpers.js';
import { python } from './python.js';

/**
 * The backbone statements (issue 13) against PyTorch: models that together use every one of
 * them, built in PyTorch from torchvision's classes (resnet50 with
 * replace_stride_with_dilation, IntermediateLayerGetter for `outputs`, a ResNet of Bottleneck
 * blocks with GroupNorm, a 4x4 stride-4 stem without padding, a catavgmax head) and from
 * modules written from timm's definitions (test/torch/py/backbone_counts.py): parameters and
 * buffers equal, every convolution's kernel, stride, padding and dilation equal in module
 * order, and every output's shape equal. Activations, pools and drop path have no parameters:
 * their function is the backends' parity tests' to check.
 */

interface Torch {
  params: number;
  buffers: number;
  /** [kernel, stride, padding, dilation] of every Conv2d, in module order. */
  convs: [number, number, number, number][];
  outputs?: number[][];
  names?: string[];
}

/** The language's example (LANGUAGE.md, "Backbone statements"), every new statement but output_stride and outputs. */
const example = `model resnet26_silu_gn {
  input 3x160x256
  stem { conv 4x4 64 stride 4 pad 0 }
  block bottleneck
  activation silu
  norm group { groups 32 }
  drop_path 0.05
  pool catavgmax
  classes 100
  stage s1 { blocks 2  width 64 }
  stage s2 { blocks 2  width 128  stride 2 }
  stage s3 { blocks 2  width 256  stride 2 }
  stage s4 { blocks 2  width 512  stride 2 }
}`;

const workspace = new Workspace();
const zoo = new Map<string, CheckedModel>();
for (const file of ['resnet50_dilated', 'resnet_d', 'seresnext50_32x4d', 'resnetv2_50_gn']) {
  for (const m of workspace.check(join(specsDir, `${file}.resnet`))!.models) zoo.set(m.name, m);
}
zoo.set('resnet26_silu_gn', checkText(example, 'resnet26_silu_gn'));

/** Our convolutions in PyTorch's module order: the stem's, then each block's branch and shortcut (SE's 1x1s aside). */
function convs(model: CheckedModel): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  for (const { layer } of walkLayers(model)) if (layer.op === 'conv') out.push(convRow(layer));
  return out;
}

function convRow(l: Extract<Layer, { op: 'conv' }>): [number, number, number, number] {
  return [l.kernel[0], l.stride, l.padding[0], l.dilation];
}

describe.skipIf(!python)('backbone statements: counts, convolutions and outputs equal PyTorch’s', () => {
  const run = spawnSync(python!, [join(import.meta.dirname, 'py', 'backbone_counts.py')], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const torch = (run.status === 0 ? JSON.parse(run.stdout) : {}) as Record<string, Torch>;

  it('the PyTorch script ran', () => {
    expect(run.status, run.stderr).toBe(0);
  });

  for (const name of ['resnet50_os16', 'resnet50_os8', 'resnet26_silu_gn', 'resnet50d', 'resnet26t', 'seresnext50_32x4d', 'resnetv2_50_gn']) {
    it(`${name}: parameters and buffers`, () => {
      const m = zoo.get(name)!;
      expect(m, name).toBeDefined();
      expect({ params: m.totals.params, buffers: m.totals.buffers }).toEqual({ params: torch[name]!.params, buffers: torch[name]!.buffers });
    });
  }

  it('output_stride 16 and 8: every convolution’s kernel, stride, padding and dilation are torchvision’s (the first block of a stage takes the previous stage’s dilation)', () => {
    for (const name of ['resnet50_os16', 'resnet50_os8']) expect(convs(zoo.get(name)!), name).toEqual(torch[name]!.convs);
  });

  it('the patchify stem, group norm and catavgmax head: the convolutions and the logits are PyTorch’s', () => {
    const m = zoo.get('resnet26_silu_gn')!;
    expect(convs(m)).toEqual(torch['resnet26_silu_gn']!.convs);
    expect(m.stem[0]!.out).toEqual({ c: 64, h: 40, w: 64 });
    expect(m.outputs.map((o) => [o.shape.c, o.shape.h, o.shape.w])).toEqual(torch['resnet26_silu_gn']!.outputs);
  });

  it('outputs conv3 conv4 conv5: IntermediateLayerGetter’s names and shapes, in order', () => {
    const m = zoo.get('resnet50_os16')!;
    expect(m.outputs.map((o) => o.name)).toEqual(torch['resnet50_os16']!.names);
    expect(m.outputs.map((o) => [o.shape.c, o.shape.h, o.shape.w])).toEqual(torch['resnet50_os16']!.outputs);
    expect(m.head).toBeUndefined();
  });
});
