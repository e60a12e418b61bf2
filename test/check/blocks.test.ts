import { describe, expect, it } from 'vitest';
import type { Layer } from '../../src/model/types.js';
import { model } from '../helpers/check.js';

// Every figure here is worked out by hand from LANGUAGE.md's definitions:
// conv params = k*k*(cin/groups)*cout, MACs = params * hout * wout; norm 2C params, 2C buffers.

const stemAnd = (block: string, stage: string, extra = ''): string => `model t {
  input 3x8x8
  stem { conv 3x3 8 }
  block ${block}
  ${stage}
  ${extra}
}`;

const names = (layers: Layer[]): string[] => layers.map((l) => `${l.name.split('.').pop()}:${l.out.c}x${l.out.h}x${l.out.w}`);

describe('basic blocks', () => {
  const net = `model tiny {
    input 3x8x8
    stem { conv 3x3 4 }
    block basic
    stage s1 { blocks 1  width 4 }
    stage s2 { blocks 1  width 8  stride 2 }
  }`;

  it('count as conv 3x3 (s) -> norm -> act -> conv 3x3 -> norm, plus a projection where the shape changes', () => {
    const m = model(net);
    // stem 108 + 8; s1: 144+8+144+8 = 304; s2: 288+16+576+16 + shortcut 32+16 = 944
    expect(m.totals.params).toBe(1364);
    // stem 108*64; s1 2*144*64; s2 288*16 + 576*16 + 32*16
    expect(m.totals.macs).toBe(6912 + 18432 + 14336);
    expect(m.totals.buffers).toBe(8 + 16 + 48);
    expect(m.output).toEqual({ c: 8, h: 4, w: 4 });
  });

  it('name and order their layers', () => {
    const b = model(net).stages[1]!.blocks[0]!;
    expect(b.name).toBe('s2.block0');
    expect(names(b.branch)).toEqual(['conv1:8x4x4', 'norm1:8x4x4', 'act1:8x4x4', 'conv2:8x4x4', 'norm2:8x4x4']);
    expect(names(b.shortcut.layers)).toEqual(['conv:8x4x4', 'norm:8x4x4']);
    expect(names(b.after)).toEqual(['act:8x4x4']);
    expect(b.branch[0]).toMatchObject({ op: 'conv', kernel: [3, 3], stride: 2, padding: [1, 1, 1, 1], groups: 1, bias: false });
  });

  it('widen their output by an explicit expansion', () => {
    const m = model(stemAnd('basic { expansion 2 }', 'stage s { blocks 1 width 4 }'));
    const b = m.stages[0]!.blocks[0]!;
    expect(names(b.branch.filter((l) => l.op === 'conv'))).toEqual(['conv1:4x8x8', 'conv2:8x8x8']);
    expect(b.shortcut.kind).toBe('identity'); // 8 in, 8 out, stride 1
  });
});

describe('bottleneck blocks', () => {
  const stage = 'stage s1 { blocks 1  width 4  stride 2 }';

  it('count as 1x1 -> 3x3 (s) -> 1x1 to width x 4, with the stride on the 3x3 by default', () => {
    const m = model(stemAnd('bottleneck', stage));
    // stem 216+16; block 32+8 + 144+8 + 64+32 + shortcut 128+32 = 448
    expect(m.totals.params).toBe(216 + 16 + 448);
    // stem 216*64; conv1 32*64; conv2 144*16; conv3 64*16; shortcut 128*16
    expect(m.totals.macs).toBe(13824 + 2048 + 2304 + 1024 + 2048);
    expect(m.output).toEqual({ c: 16, h: 4, w: 4 });
    const b = m.stages[0]!.blocks[0]!;
    expect(b.innerWidth).toBe(4);
    expect(names(b.branch)).toEqual([
      'conv1:4x8x8', 'norm1:4x8x8', 'act1:4x8x8', 'conv2:4x4x4', 'norm2:4x4x4', 'act2:4x4x4', 'conv3:16x4x4', 'norm3:16x4x4',
    ]);
  });

  it('put the stride on the 1x1 with stride_on 1x1 (the paper and Caffe layout)', () => {
    const m = model(stemAnd('bottleneck { stride_on 1x1 }', stage));
    expect(m.totals.params).toBe(680);
    expect(m.totals.macs).toBe(13824 + 32 * 16 + 2304 + 1024 + 2048);
    expect(m.stages[0]!.blocks[0]!.branch[0]).toMatchObject({ op: 'conv', stride: 2, kernel: [1, 1] });
  });

  it('group the 3x3 with groups and width_per_group: inner = floor(W x P / 64) x G', () => {
    const m = model(stemAnd('bottleneck { groups 2  width_per_group 32 }', stage));
    const conv2 = m.stages[0]!.blocks[0]!.branch[3]!;
    expect(conv2).toMatchObject({ op: 'conv', groups: 2 });
    expect(conv2.params).toBe(72); // 9 * (4/2) * 4
    expect(m.totals.params).toBe(680 - 72);
    expect(m.totals.macs).toBe(21248 - 1152);
    // floor(4 * 24 / 64) * 3 = 3
    expect(model(stemAnd('bottleneck { groups 3  width_per_group 24 }', stage)).stages[0]!.blocks[0]!.innerWidth).toBe(3);
  });

  it('add squeeze-and-excitation before the addition: 1x1 convs with bias to floor(C / R) and back', () => {
    const m = model(stemAnd('bottleneck { se 4 }', stage));
    const b = m.stages[0]!.blocks[0]!;
    const se = b.branch[b.branch.length - 1]!;
    expect(se.op).toBe('se');
    if (se.op !== 'se') return;
    expect(se.reduce.out.c).toBe(4);
    expect(se.params).toBe(16 * 4 + 4 + 4 * 16 + 16);
    expect(se.macs).toBe(16 * 4 + 4 * 16);
    expect(m.totals.params).toBe(680 + 148);
    expect(m.totals.biases).toBe(4 + 16);
  });
});

describe('pre-activation blocks', () => {
  it('preact-bottleneck: bare stem convs, norm -> act before each conv, projection without norm, a final norm', () => {
    const m = model(stemAnd('preact-bottleneck', 'stage s1 { blocks 1  width 4  stride 2 }'));
    expect(m.preactivation).toBe(true);
    expect(m.stem.map((l) => l.op)).toEqual(['conv']);
    const b = m.stages[0]!.blocks[0]!;
    expect(names(b.preactivation)).toEqual(['norm1:8x8x8', 'act1:8x8x8']);
    expect(names(b.branch)).toEqual([
      'conv1:4x8x8', 'norm2:4x8x8', 'act2:4x8x8', 'conv2:4x4x4', 'norm3:4x4x4', 'act3:4x4x4', 'conv3:16x4x4',
    ]);
    expect(b.shortcut).toMatchObject({ kind: 'projection', source: 'preactivated' });
    expect(names(b.shortcut.layers)).toEqual(['conv:16x4x4']);
    expect(b.after).toEqual([]);
    expect(names(m.final)).toEqual(['norm:16x4x4', 'act:16x4x4']);
    // stem 216; block 16 + 32 + 8 + 144 + 8 + 64 + shortcut 128; final norm 32
    expect(m.totals.params).toBe(216 + 400 + 32);
    expect(m.totals.macs).toBe(13824 + 2048 + 2304 + 1024 + 2048);
  });

  it('preact-basic: an identity shortcut takes the raw input', () => {
    const m = model(stemAnd('preact-basic', 'stage s1 { blocks 2  width 8 }', 'classes 10'));
    const b = m.stages[0]!.blocks[1]!;
    expect(names(b.preactivation)).toEqual(['norm1:8x8x8', 'act1:8x8x8']);
    expect(names(b.branch)).toEqual(['conv1:8x8x8', 'norm2:8x8x8', 'act2:8x8x8', 'conv2:8x8x8']);
    expect(b.shortcut).toMatchObject({ kind: 'identity', source: 'input', layers: [] });
    // stem 216; 2 blocks of (16 + 576 + 16 + 576); final 16; head 8*10 + 10
    expect(m.totals.params).toBe(216 + 2 * 1184 + 16 + 90);
  });
});
