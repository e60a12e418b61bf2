import { describe, expect, it } from 'vitest';
import { model } from '../helpers/check.js';

const net = (shortcut: string): string => `model tiny {
  input 3x8x8
  stem { conv 3x3 4 }
  block basic
  shortcut ${shortcut}
  stage s1 { blocks 1  width 4 }
  stage s2 { blocks 1  width 8  stride 2 }
}`;

// The basic two-stage net of blocks.test.ts: 1364 params and 39680 MACs with shortcut B.
describe('shortcuts', () => {
  it('B (projection): 1x1 conv (stride s) and norm where the shape changes, identity elsewhere', () => {
    const m = model(net('B'));
    expect(m.stages[0]!.blocks[0]!.shortcut).toMatchObject({ option: 'B', kind: 'identity' });
    expect(m.stages[1]!.blocks[0]!.shortcut.layers.map((l) => `${l.op}:${l.out.c}x${l.out.h}x${l.out.w}`)).toEqual(['conv:8x4x4', 'norm:8x4x4']);
    expect(m.totals.params).toBe(1364);
    expect(model(net('projection')).totals.params).toBe(1364);
  });

  it('A (zero_pad): every s-th pixel, zero channels appended, no parameters', () => {
    const m = model(net('A'));
    const s = m.stages[1]!.blocks[0]!.shortcut;
    expect(s).toMatchObject({ option: 'A', kind: 'subsample_pad', source: 'input' });
    expect(s.layers[0]).toMatchObject({ op: 'subsample_pad', stride: 2, in: { c: 4, h: 8, w: 8 }, out: { c: 8, h: 4, w: 4 }, params: 0, macs: 0 });
    expect(m.totals.params).toBe(1364 - 48);
    expect(m.totals.macs).toBe(39680 - 512);
    expect(model(net('zero_pad')).totals.params).toBe(1316);
  });

  it('C (projection_all): a projection on every block, even where the shape stays', () => {
    const m = model(net('C'));
    expect(m.stages[0]!.blocks[0]!.shortcut.layers.map((l) => l.op)).toEqual(['conv', 'norm']);
    expect(m.totals.params).toBe(1364 + 16 + 8);
    expect(m.totals.macs).toBe(39680 + 16 * 64);
  });

  it('D (avg_projection): 2x2 average pool (ceil mode, padding not counted) then a 1x1 conv of stride 1', () => {
    const m = model(net('D'));
    const layers = m.stages[1]!.blocks[0]!.shortcut.layers;
    expect(layers.map((l) => l.op)).toEqual(['avgpool', 'conv', 'norm']);
    expect(layers[0]).toMatchObject({ kernel: [2, 2], stride: 2, padding: [0, 0, 0, 0], ceilMode: true, countIncludePad: false, out: { c: 4, h: 4, w: 4 } });
    expect(layers[1]).toMatchObject({ stride: 1, kernel: [1, 1] });
    expect(m.totals.params).toBe(1364);
    expect(m.totals.macs).toBe(39680);
  });

  it('D on an odd map rounds up, matching the strided 3x3 of the branch', () => {
    const m = model(`model t { input 3x7x7 stem { conv 3x3 4 } block basic shortcut D stage s { blocks 1 width 8 stride 2 } }`);
    const b = m.stages[0]!.blocks[0]!;
    expect(b.shortcut.layers[0]!.out).toEqual({ c: 4, h: 4, w: 4 });
    expect(b.out).toEqual({ c: 8, h: 4, w: 4 });
  });

  it('D without a stride change is a 1x1 conv with no pool', () => {
    const m = model(`model t { input 3x8x8 stem { conv 3x3 4 } block basic shortcut D stage s { blocks 1 width 8 } }`);
    expect(m.stages[0]!.blocks[0]!.shortcut.layers.map((l) => l.op)).toEqual(['conv', 'norm']);
  });

  it('a stage can override the model shortcut', () => {
    const m = model(`model t { input 3x8x8 stem { conv 3x3 4 } block basic shortcut A
      stage s1 { blocks 1 width 8 stride 2 shortcut B }
      stage s2 { blocks 1 width 16 stride 2 } }`);
    expect(m.stages.map((s) => s.blocks[0]!.shortcut.kind)).toEqual(['projection', 'subsample_pad']);
  });
});
