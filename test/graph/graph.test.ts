import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagramOf } from '../../src/graph/diagram.js';
import { layoutDiagram, modelSvg } from '../../src/graph/svg.js';
import type { CheckedModel } from '../../src/model/types.js';
import { model } from '../helpers/check.js';
import { tempFiles } from '../helpers/check.js';
import { cli, root } from '../helpers/cli.js';

const resnet50 = () => model(readFileSync(join(root, 'specs', 'resnet50.resnet'), 'utf8'));
const resnet18 = () => model(readFileSync(join(root, 'specs', 'resnet18.resnet'), 'utf8'));

describe('the architecture diagram', () => {
  it('has input, stem, one box per stage, head and output, in order', () => {
    const d = diagramOf(resnet50());
    expect(d.boxes.map((b) => b.id)).toEqual(['input', 'stem', 'stage:conv2', 'stage:conv3', 'stage:conv4', 'stage:conv5', 'head', 'output']);
  });

  it('labels each stage with its block kind, depth, width, stride, output shape and parameters', () => {
    const conv3 = diagramOf(resnet50()).boxes.find((b) => b.id === 'stage:conv3')!;
    // torchvision's ResNet-50 layer2: 4 bottlenecks, 512x28x28 out, 1,219,584 parameters.
    expect(conv3.lines).toEqual(['conv3: 4 × bottleneck', 'width 128 · stride 2', '→ 512x28x28 · 1.22M params (4.8%)']);
  });

  // torchvision's _make_layer gives a block a downsample (projection) when its stride is not 1
  // or its input channels differ from planes x expansion: in ResNet-18 the first block of
  // layer2-4, none in layer1; in ResNet-50 the first block of every layer.
  const inside = (m: CheckedModel, stage: string) => diagramOf(m).boxes.find((b) => b.id === `stage:${stage}`)!.inside!;
  const texts = (m: CheckedModel, stage: string) => inside(m, stage).boxes.map((b) => b.lines.join(' | '));
  const skips = (m: CheckedModel, stage: string) => inside(m, stage).flows.filter((f) => f.kind === 'skip');

  it('draws a stage with identity shortcuts as one block whose skip connection is an identity', () => {
    expect(texts(resnet18(), 'conv2')).toEqual(['block input', '3x3 conv, 64 | BN · ReLU', '3x3 conv, 64 | BN', '+', 'ReLU']);
    expect(skips(resnet18(), 'conv2').map((f) => [f.from, f.to, f.label])).toEqual([['stage:conv2/in', 'stage:conv2/add', 'identity']]);
  });

  it('draws a projection shortcut only on the block that has one, the stride where it is', () => {
    expect(texts(resnet18(), 'conv3')).toEqual([
      'block input',
      '3x3 conv, 128, /2 in block 0 | BN · ReLU',
      '3x3 conv, 128 | BN',
      '+',
      'shortcut B, projection (block 0) | 1x1 conv, 128, /2 | BN',
      'ReLU',
    ]);
    expect(skips(resnet18(), 'conv3').map((f) => [f.from, f.to, f.label])).toEqual([
      ['stage:conv3/in', 'stage:conv3/shortcut', ''],
      ['stage:conv3/shortcut', 'stage:conv3/add', ''],
      ['stage:conv3/in', 'stage:conv3/add', 'identity (block 1)'],
    ]);
    // ResNet-50 (v1.5): the 3x3 convolution takes the stride; every stage's block 0 projects.
    expect(texts(resnet50(), 'conv3').slice(1, 4)).toEqual(['1x1 conv, 128 | BN · ReLU', '3x3 conv, 128, /2 in block 0 | BN · ReLU', '1x1 conv, 512 | BN']);
    for (const stage of ['conv2', 'conv3', 'conv4', 'conv5']) expect(texts(resnet50(), stage).filter((t) => t.startsWith('shortcut B, projection (block 0)'))).toHaveLength(1);
  });

  it('shows squeeze-and-excitation, pre-activation, and a shortcut that takes the preactivated input', () => {
    const m = model(`model p {
  input 3x64x64
  stem { conv 3x3 16 }
  block preact-bottleneck { se 4 }
  shortcut D
  stage s1 { blocks 2  width 16  stride 2 }
}`);
    expect(texts(m, 's1')).toEqual([
      'block input',
      'BN · ReLU',
      '1x1 conv, 16',
      'BN · ReLU | 3x3 conv, 16, /2 in block 0',
      'BN · ReLU | 1x1 conv, 64',
      'SE 64 → 16 → 64 | ReLU · sigmoid gate',
      '+',
      'shortcut D, avg-pool projection (block 0) | avgpool 2x2 /2 | 1x1 conv, 64',
    ]);
    // timm's ResNetV2 (PreActBottleneck): downsample(x_preact).
    expect(skips(m, 's1').map((f) => f.from)).toEqual(['stage:s1/pre', 'stage:s1/shortcut', 'stage:s1/in']);
  });

  it('says the dilation of a dilated stage, and where block 0 differs (output stride 16)', () => {
    const os16 = model(readFileSync(join(root, 'specs', 'resnet50_dilated.resnet'), 'utf8'), 'resnet50_os16');
    // torchvision's resnet50(replace_stride_with_dilation=[False, False, True]): layer4's
    // blocks have stride 1; block 0's conv2 keeps the previous dilation 1, the others take 2.
    const conv5 = diagramOf(os16).boxes.find((b) => b.id === 'stage:conv5')!;
    expect(conv5.lines[1]).toBe('width 512 · stride 1 · dilation 2');
    expect(texts(os16, 'conv5')[2]).toBe('3x3 conv, 512, dilation 1 in block 0, 2 after | BN · ReLU');
    expect(diagramOf(os16).boxes.filter((b) => b.kind === 'feature').map((b) => b.lines.join(' '))).toEqual([
      "output 'conv3' 512x28x28",
      "output 'conv4' 1024x14x14",
      "output 'conv5' 2048x14x14",
    ]);
  });

  it('marks the feature outputs a model returns', () => {
    const m = resnet50();
    const stage = (name: string) => m.stages.findIndex((s) => s.name === name);
    const withOutputs: CheckedModel = {
      ...m,
      outputs: ['conv3', 'conv4'].map((name) => ({ name, source: 'stage' as const, stage: stage(name), shape: m.stages[stage(name)]!.out })),
    };
    const d = diagramOf(withOutputs);
    expect(d.boxes.filter((b) => b.kind === 'feature').map((b) => b.lines)).toEqual([
      ["output 'conv3'", '512x28x28'],
      ["output 'conv4'", '1024x14x14'],
    ]);
    expect(d.flows.filter((f) => f.to.startsWith('output:')).map((f) => [f.from, f.to])).toEqual([
      ['stage:conv3', 'output:conv3'],
      ['stage:conv4', 'output:conv4'],
    ]);
  });

  it('labels each flow with the feature map it carries', () => {
    expect(diagramOf(resnet50()).flows.map((f) => f.label)).toEqual(['3x224x224', '64x56x56', '256x56x56', '512x28x28', '1024x14x14', '2048x7x7', '1000']);
  });

  it('is laid out by ELK: boxes stacked top to bottom without overlapping, each stage holding its block, every flow routed', async () => {
    const laid = await layoutDiagram(diagramOf(resnet50()));
    const boxes = laid.children!;
    for (let i = 1; i < boxes.length; i++) expect(boxes[i]!.y!).toBeGreaterThanOrEqual(boxes[i - 1]!.y! + boxes[i - 1]!.height!);
    for (const e of laid.edges ?? []) expect((e as { sections?: unknown[] }).sections?.length).toBeGreaterThan(0);
    for (const stage of boxes.filter((b) => b.id.startsWith('stage:'))) {
      for (const c of stage.children!) {
        // In the stage's coordinates, below its header and inside it.
        expect(c.y!).toBeGreaterThanOrEqual(3 * 16);
        expect(c.x! + c.width!).toBeLessThanOrEqual(stage.width!);
        expect(c.y! + c.height!).toBeLessThanOrEqual(stage.height!);
      }
      for (const e of stage.edges ?? []) expect((e as { sections?: unknown[] }).sections?.length).toBeGreaterThan(0);
    }
  });

  it('draws well-formed SVG with the model’s totals in its title', async () => {
    const svg = await modelSvg(resnet50());
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('25,557,032 (25.56M) params');
    expect(svg.match(/<g class="box stage"/g)).toHaveLength(4);
    // Skip connections dashed: conv2-conv5 each have a projection (two segments) and an identity.
    expect(svg.match(/class="flow skip"[^>]*stroke-dasharray/g)).toHaveLength(12);
  });
});

describe('resnetc graph', () => {
  it('writes the SVG of the model picked with --model', async () => {
    const dir = tempFiles({});
    const out = join(dir, 'r56.svg');
    const r = await cli('graph', join(root, 'specs', 'cifar_resnet.resnet'), '--model', 'resnet56', '-o', out);
    expect(r.code).toBe(0);
    const svg = readFileSync(out, 'utf8');
    expect(svg).toContain('conv2: 9 × basic');
    expect(svg).toContain('shortcut A, zero-pad (block 0)');
    expect(svg).toContain('subsample /2');
  });

  it('asks for --model when the file declares several', async () => {
    const r = await cli('graph', join(root, 'specs', 'cifar_resnet.resnet'), '-o', '/dev/null');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pick one with --model');
  });
});
