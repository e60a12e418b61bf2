import { describe, expect, it } from 'vitest';
import { model } from '../helpers/check.js';

const base = (extra: string, stem = 'conv 3x3 8'): string => `model t {
  input 3x16x16
  stem { ${stem} }
  block basic
  stage s { blocks 1  width 8 }
  ${extra}
}`;

describe('statements', () => {
  it('input sets the first shape, as channels x height x width', () => {
    const m = model(base('').replace('3x16x16', '1x28x20'));
    expect(m.input).toEqual({ c: 1, h: 28, w: 20 });
    expect(m.stem[0]!.out).toEqual({ c: 8, h: 28, w: 20 });
  });

  it('without classes the model ends at the last stage', () => {
    const m = model(base(''));
    expect(m.head).toBeUndefined();
    expect(m.classes).toBeUndefined();
  });

  it('classes adds global average pooling and a fully connected layer with bias', () => {
    const m = model(base('classes 5'));
    expect(m.head!.layers.map((l) => l.op)).toEqual(['global_pool', 'dense']);
    expect(m.head!.params).toBe(8 * 5 + 5);
    expect(m.head!.macs).toBe(40);
    expect(m.head!.layers[1]!.name).toBe('head.fc');
  });

  it('dropout sits before the fully connected layer and has no parameters', () => {
    const m = model(base('classes 5  dropout 0.5'));
    expect(m.head!.layers.map((l) => l.op)).toEqual(['global_pool', 'dropout', 'dense']);
    expect(m.totals.params).toBe(model(base('classes 5')).totals.params);
  });

  it('stem layers run in order, each conv followed by norm and activation; pools pad K/2', () => {
    const m = model(base('', 'conv 7x7 8 stride 2  maxpool 3x3 stride 2  avgpool 3x3'));
    expect(m.stem.map((l) => `${l.name}:${l.out.c}x${l.out.h}x${l.out.w}`)).toEqual([
      'stem.conv1:8x8x8', 'stem.norm1:8x8x8', 'stem.act1:8x8x8', 'stem.pool1:8x4x4', 'stem.pool2:8x4x4',
    ]);
    expect(m.stem[0]).toMatchObject({ padding: [3, 3, 3, 3], stride: 2 });
    expect(m.stem[3]).toMatchObject({ op: 'maxpool', padding: [1, 1, 1, 1], ceilMode: false });
    expect(m.stem[4]).toMatchObject({ op: 'avgpool', padding: [1, 1, 1, 1], stride: 1, countIncludePad: false });
  });

  it('stem convs take groups', () => {
    const m = model(base('', 'conv 3x3 6 groups 3').replace('3x16x16', '3x16x16'));
    expect(m.stem[0]).toMatchObject({ groups: 3, params: 3 * 3 * 1 * 6 });
  });

  it('norm sets eps and momentum (PyTorch convention) on every norm; defaults are 1e-5 and 0.1', () => {
    expect(model(base('')).norm).toEqual({ kind: 'batch', eps: 1e-5, momentum: 0.1, groups: 1 });
    const m = model(base('norm batch { eps 1e-3  momentum 0.01 }'));
    expect(m.norm).toEqual({ kind: 'batch', eps: 1e-3, momentum: 0.01, groups: 1 });
    expect(m.stem[1]).toMatchObject({ op: 'norm', eps: 1e-3, momentum: 0.01 });
  });

  it('activation relu is the default and applies everywhere', () => {
    const m = model(base('activation relu'));
    expect(m.activation).toEqual({ fn: 'relu', negativeSlope: 0 });
    expect(m.stem[2]).toMatchObject({ op: 'act', fn: 'relu' });
  });

  it('stride defaults to 1 and only the first block of a stage takes it', () => {
    const m = model(`model t { input 3x16x16 stem { conv 3x3 8 } block basic
      stage a { blocks 2 width 8 }
      stage b { blocks 3 width 16 stride 2 } }`);
    expect(m.stages.map((s) => s.blocks.map((b) => b.stride))).toEqual([[1, 1], [2, 1, 1]]);
    expect(m.stages[1]!.out).toEqual({ c: 16, h: 8, w: 8 });
  });

  it('a stage can override the block kind and its options', () => {
    const m = model(`model t { input 3x16x16 stem { conv 3x3 8 } block basic
      stage a { blocks 1 width 8 }
      stage b { blocks 1 width 8 block bottleneck { expansion 2 } } }`);
    expect(m.stages.map((s) => `${s.blocks[0]!.kind}:${s.out.c}`)).toEqual(['basic:8', 'bottleneck:16']);
  });

  it('a stage may be named with a keyword', () => {
    const m = model(`model t { input 3x16x16 stem { conv 3x3 8 } block basic stage output { blocks 1 width 8 } }`);
    expect(m.stages[0]!.blocks[0]!.name).toBe('output.block0');
  });

  it('an empty stem leaves the input as it is', () => {
    const m = model(base('', ''));
    expect(m.stem).toEqual([]);
    expect(m.stages[0]!.in).toEqual({ c: 3, h: 16, w: 16 });
  });

  it('counts norm parameters, biases and buffers apart', () => {
    const m = model(base('classes 4'));
    // stem norm 16; block norms 16 + 16
    expect(m.totals.normParams).toBe(48);
    expect(m.totals.buffers).toBe(48);
    expect(m.totals.biases).toBe(4);
  });

  it('every layer name is unique', () => {
    const m = model(base('classes 4', 'conv 3x3 8  conv 3x3 8  maxpool 2x2 stride 2'));
    const all = [...m.stem, ...m.stages.flatMap((s) => s.blocks.flatMap((b) => [...b.preactivation, ...b.branch, ...b.shortcut.layers, ...b.after])), ...m.head!.layers];
    expect(new Set(all.map((l) => l.name)).size).toBe(all.length);
  });
});
