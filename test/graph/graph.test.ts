import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagramOf } from '../../src/graph/diagram.js';
import { layoutDiagram, modelSvg } from '../../src/graph/svg.js';
import { model } from '../helpers/check.js';
import { tempFiles } from '../helpers/check.js';
import { cli, root } from '../helpers/cli.js';

const resnet50 = () => model(readFileSync(join(root, 'specs', 'resnet50.resnet'), 'utf8'));

describe('the architecture diagram', () => {
  it('has input, stem, one box per stage, head and output, in order', () => {
    const d = diagramOf(resnet50());
    expect(d.boxes.map((b) => b.id)).toEqual(['input', 'stem', 'stage:conv2', 'stage:conv3', 'stage:conv4', 'stage:conv5', 'head', 'output']);
  });

  it('labels each stage with its block kind, depth, width, stride, shortcut, output shape and parameters', () => {
    const conv3 = diagramOf(resnet50()).boxes.find((b) => b.id === 'stage:conv3')!;
    // torchvision's ResNet-50 layer2: 4 bottlenecks, 512x28x28 out, 1,219,584 parameters.
    expect(conv3.lines).toEqual(['conv3: 4 × bottleneck', 'width 128 · stride 2', 'shortcut B, projection', '→ 512x28x28', '1.22M params (4.8%)']);
  });

  it('labels each flow with the feature map it carries', () => {
    expect(diagramOf(resnet50()).flows.map((f) => f.label)).toEqual(['3x224x224', '64x56x56', '256x56x56', '512x28x28', '1024x14x14', '2048x7x7', '1000']);
  });

  it('is laid out by ELK: boxes stacked top to bottom without overlapping, every flow routed', async () => {
    const laid = await layoutDiagram(diagramOf(resnet50()));
    const boxes = laid.children!;
    for (let i = 1; i < boxes.length; i++) expect(boxes[i]!.y!).toBeGreaterThanOrEqual(boxes[i - 1]!.y! + boxes[i - 1]!.height!);
    for (const e of laid.edges ?? []) expect((e as { sections?: unknown[] }).sections?.length).toBeGreaterThan(0);
  });

  it('draws well-formed SVG with the model’s totals in its title', async () => {
    const svg = await modelSvg(resnet50());
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('25,557,032 (25.56M) params');
    expect(svg.match(/<g class="box stage"/g)).toHaveLength(4);
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
    expect(svg).toContain('shortcut A, zero-pad');
  });

  it('asks for --model when the file declares several', async () => {
    const r = await cli('graph', join(root, 'specs', 'cifar_resnet.resnet'), '-o', '/dev/null');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pick one with --model');
  });
});
