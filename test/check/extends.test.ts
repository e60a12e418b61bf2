import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../../src/check/workspace.js';
import { check, model, tempFiles } from '../helpers/check.js';

describe('extends', () => {
  it('merges a stage of the same name field by field', () => {
    const m = model(`import "resnet50.resnet"
      model r extends resnet50 { stage conv4 { blocks 23 } }`);
    expect(m.stages.map((s) => `${s.name}:${s.blocks.length}:${s.width}:${s.stride}`)).toEqual([
      'conv2:3:64:1', 'conv3:4:128:2', 'conv4:23:256:2', 'conv5:3:512:2',
    ]);
    expect(m.totals.params).toBe(44_549_160);
  });

  it('replaces any other statement and appends new stages', () => {
    const m = model(`import "resnet18.resnet"
      model r extends resnet18 { input 3x64x64  classes 10  stage conv6 { blocks 1 width 1024 stride 2 } }`);
    expect(m.input).toEqual({ c: 3, h: 64, w: 64 });
    expect(m.classes).toBe(10);
    expect(m.stages.map((s) => s.name)).toEqual(['conv2', 'conv3', 'conv4', 'conv5', 'conv6']);
    expect(m.output).toEqual({ c: 1024, h: 1, w: 1 });
  });

  it('does not inherit expect lines', () => {
    // resnet18's `expect params 11_689_512` would fail for this deeper model if it were inherited.
    const file = check(`import "resnet18.resnet"
      model r extends resnet18 { stage conv2 { blocks 9 } }`);
    expect(file.diagnostics).toEqual([]);
    expect(file.models[0]!.expects).toEqual([]);
  });

  it('chains across files: resnext101 extends resnet101 extends resnet50', () => {
    const m = model(`import "resnext101_32x8d.resnet"
      model r extends resnext101_32x8d { classes 10 }`);
    expect(m.stages[2]!.blocks.length).toBe(23);
    expect(m.stages[0]!.blocks[0]!.groups).toBe(32);
  });

  it('within a file, in any order', () => {
    const m = model(`model child extends parent { classes 3 }
      model parent { input 3x8x8 stem { conv 3x3 4 } block basic stage s { blocks 1 width 4 } }`, 'child');
    expect(m.classes).toBe(3);
  });

  it('records where inherited stages were written', () => {
    const file = check(`import "resnet50.resnet"
      model r extends resnet50 { stage conv4 { blocks 2 } }`);
    const m = file.models[0]!;
    expect(m.stages[0]!.origin.file).toBe(join(import.meta.dirname, '..', '..', 'specs', 'resnet50.resnet'));
    expect(m.stages[2]!.origin.file).toBe(file.path);
  });

  it('reports an error from an inherited statement at the extends, pointing where it was written', () => {
    // resnet18's first stage (64 channels) cannot follow a 1024-channel stem with shortcut A.
    const file = check(`import "resnet18.resnet"
      model r extends resnet18 { shortcut A  stem { conv 7x7 1024 stride 2 } }`);
    expect(file.diagnostics.map((x) => x.code)).toEqual(['R0303']);
    const d = file.diagnostics[0]!;
    expect(d.message).toContain("(inherited from 'resnet18')");
    expect(file.source.text.slice(d.span.start, d.span.end)).toBe('resnet18');
    expect(d.related![0]!.file).toContain('resnet18.resnet');
  });

  it('sees models of imported files only, not of their imports', () => {
    const dir = tempFiles({
      'a.resnet': 'model a { input 3x8x8 stem { conv 3x3 4 } block basic stage s { blocks 1 width 4 } }',
      'b.resnet': 'import "a.resnet"\nmodel b extends a { classes 2 }',
      'c.resnet': 'import "b.resnet"\nmodel c extends a { classes 3 }',
    });
    const ws = new Workspace();
    expect(ws.check(join(dir, 'b.resnet'))!.diagnostics).toEqual([]);
    // `a` is not visible in c, so the import of b is unused as well.
    expect(ws.check(join(dir, 'c.resnet'))!.diagnostics.map((d) => d.code)).toEqual(['R0109', 'R0104']);
  });
});
