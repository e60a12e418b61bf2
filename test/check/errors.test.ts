import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../../src/check/workspace.js';
import { codes } from '../../src/diagnostics/codes.js';
import { check, tempFiles } from '../helpers/check.js';

const ok = `input 3x16x16
  stem { conv 3x3 8 }
  block basic
  stage s { blocks 1  width 8 }`;
const m = (body: string): string => `model t {\n  ${body}\n}`;

/** One input per checker code: the text, the code it must raise, and the text the diagnostic must point at. */
const cases: { code: string; text: string; at: string; message?: RegExp }[] = [
  { code: 'R0001', text: m(`${ok}\n  classes 10 @`), at: '@', message: /unexpected character '@'/ },
  { code: 'R0002', text: 'import "x.resnet\n' + m(ok), at: '"x.resnet' },
  { code: 'R0003', text: m(`${ok}\n  clases 10`), at: 'clases', message: /unknown word 'clases'/ },
  { code: 'R0003', text: m(`${ok}\n  classes 3x3`), at: '3x3', message: /expected a number, found '3x3'/ },
  { code: 'R0004', text: m(`${ok}\n  extra ${'{'.repeat(40)}${'}'.repeat(40)}`), at: '{', message: /nested more than 32 deep/ },
  { code: 'R0005', text: m(`${ok}\n  classes ${'9'.repeat(1001)}`), at: '9'.repeat(1001), message: /1,001 characters long/ },
  { code: 'R0101', text: `import "missing.resnet"\n${m(ok)}`, at: '"missing.resnet"', message: /cannot find 'missing.resnet'/ },
  { code: 'R0104', text: 'model t extends resnet50 { }', at: 'resnet50', message: /no model named 'resnet50'/ },
  { code: 'R0104', text: `model base { ${ok} }\nmodel t extends bsae { }`, at: 'bsae' },
  { code: 'R0105', text: 'model a extends b { }\nmodel b extends a { }', at: 'a' },
  { code: 'R0105', text: 'model a extends a { }', at: 'a' },
  { code: 'R0106', text: `${m(ok)}\n${m(ok)}`, at: 't' },
  { code: 'R0107', text: `${m(ok)}\nimport "resnet50.resnet"`, at: 'import "resnet50.resnet"' },
  { code: 'R0108', text: '# nothing here\n', at: '' },
  { code: 'R0109', text: `import "resnet50.resnet"\n${m(ok)}`, at: 'import "resnet50.resnet"' },
  { code: 'R0110', text: `import "resnet50.resnet"\nimport "resnet50.resnet"\nmodel t extends resnet50 { }`, at: 'import "resnet50.resnet"' },
  { code: 'R0201', text: m('stem { conv 3x3 8 }\n  block basic\n  stage s { blocks 1 width 8 }'), at: 't', message: /no 'input'/ },
  { code: 'R0201', text: m('input 3x8x8\n  block basic\n  stage s { blocks 1 width 8 }'), at: 't', message: /no 'stem'/ },
  { code: 'R0201', text: m('input 3x8x8\n  stem { }\n  stage s { blocks 1 width 8 }'), at: 't', message: /no 'block'/ },
  { code: 'R0202', text: m(`${ok}\n  input 3x8x8`), at: 'input 3x8x8', message: /'input' is already set/ },
  { code: 'R0202', text: m(`${ok}\n  stage s { blocks 1 width 8 }`), at: 's' },
  { code: 'R0202', text: m('input 3x16x16 stem { conv 3x3 8 stride 1 stride 2 } block basic stage s { blocks 1 width 8 }'), at: 'stride 2' },
  { code: 'R0202', text: m('input 3x16x16 stem { } block basic stage s { blocks 1 width 8 blocks 2 }'), at: 'blocks 2' },
  { code: 'R0203', text: m('input 3x16x16 stem { } block bottleneckk stage s { blocks 1 width 8 }'), at: 'bottleneckk', message: /unknown block kind/ },
  { code: 'R0204', text: m(`${ok}\n  shortcut E`), at: 'E', message: /unknown shortcut kind 'E'/ },
  { code: 'R0205', text: m(`${ok}\n  norm layer`), at: 'layer' },
  { code: 'R0206', text: m(`${ok}\n  activation swish`), at: 'swish' },
  { code: 'R0207', text: m(`${ok}\n  classes 2.5`), at: '2.5', message: /whole number/ },
  { code: 'R0208', text: m(`${ok}\n  classes 0`), at: '0', message: /at least 1/ },
  { code: 'R0208', text: m(`${ok}\n  dropout 1.5`), at: '1.5' },
  { code: 'R0208', text: m(`${ok}\n  norm batch { momentum 2 }`), at: '2' },
  { code: 'R0208', text: m(`${ok}\n  norm batch { eps 0 }`), at: '0' },
  { code: 'R0208', text: m('input 3x0x16 stem { } block basic stage s { blocks 1 width 8 }'), at: '3x0x16' },
  { code: 'R0208', text: m('input 3x16x16 stem { } block bottleneck { stride_on 5x5 } stage s { blocks 1 width 8 }'), at: '5x5' },
  { code: 'R0208', text: m('input 3x16x16 stem { } block bottleneck { width_per_group 1 } stage s { blocks 1 width 8 }'), at: 'width 8', message: /inner width/ },
  { code: 'R0209', text: m('input 3x16x16 stem { } block basic { groups 32 } stage s { blocks 1 width 8 }'), at: 'groups', message: /does not apply to basic blocks/ },
  { code: 'R0209', text: m('input 3x16x16 stem { } block basic { stride_on 1x1 } stage s { blocks 1 width 8 }'), at: 'stride_on' },
  { code: 'R0209', text: m('input 3x16x16 stem { maxpool 3x3 groups 2 } block basic stage s { blocks 1 width 8 }'), at: 'groups' },
  { code: 'R0209', text: m('input 3x16x16 stem { } block basic stage s { blocks 1 width 8 block preact-basic }'), at: 'block preact-basic', message: /cannot stand in a model/ },
  { code: 'R0210', text: m('input 3x16x16 stem { } block basic stage s { blocks 1 }'), at: 's', message: /no 'width'/ },
  { code: 'R0210', text: m('input 3x16x16 stem { } block basic stage s { width 8 }'), at: 's', message: /no 'blocks'/ },
  { code: 'R0211', text: m('input 224x224 stem { } block basic stage s { blocks 1 width 8 }'), at: '224x224' },
  { code: 'R0211', text: m('input 3x16x16 stem { conv 3x3x3 8 } block basic stage s { blocks 1 width 8 }'), at: '3x3x3' },
  { code: 'R0211', text: m(`${ok}\n  expect output 8x16`), at: '8x16' },
  { code: 'R0212', text: m('input 3x16x16 stem { } block basic stage head { blocks 1 width 8 }'), at: 'head' },
  { code: 'R0213', text: m(`${ok}\n  dropout 0.2`), at: 'dropout 0.2' },
  { code: 'R0208', text: m('input 3x16x16 stem { } block basic stage s { blocks 99999999 width 8 }'), at: '99999999', message: /at most 10,000/ },
  { code: 'R0215', text: m('input 3x1000000x1000000 stem { conv 3x3 1000000 } block basic stage s { blocks 1 width 1000000 }'), at: 't' },
  { code: 'R0214', text: m('input 3x16x16 stem { } block basic'), at: 't' },
  { code: 'R0216', text: m('input 3x16x16 stem { } block bottleneck { stride_on 1x1 } stage s { blocks 1 width 8 }'), at: 'stride_on 1x1', message: /no stage with this block has a stride/ },
  { code: 'R0217', text: m('input 3x16x16 stem { } block bottleneck { groups 2  width_per_group 4 } stage s { blocks 1 width 40 }'), at: 'width 40', message: /rounded down to 2/ },
  { code: 'R0218', text: m(`${ok}\n  norm batch { momentum 0.9 }`), at: '0.9' },
  { code: 'R0230', text: m(`${ok}\n  output_stride 4`), at: '4', message: /8, 16 or 32, not 4/ },
  { code: 'R0231', text: m('input 3x64x64 stem { conv 3x3 8 stride 2 } block basic output_stride 8 stage s { blocks 1 width 8 dilation 2 }'), at: 'dilation 2' },
  { code: 'R0232', text: m('input 3x64x64 stem { conv 3x3 8 stride 4  maxpool 3x3 stride 4 } block basic output_stride 8 stage s { blocks 1 width 8 }'), at: 'output_stride 8', message: /stem alone has stride 16/ },
  { code: 'R0233', text: m(`${ok}\n  norm group { groups 3 }`), at: 'groups 3', message: /3 groups do not divide the 8 channels of stem.norm1/ },
  { code: 'R0233', text: m('input 3x16x16 stem { conv 3x3 32 } block bottleneck norm group stage s { blocks 1 width 12 }'), at: 'norm group', message: /12 channels of s.block0.norm1/ },
  { code: 'R0234', text: m(`${ok}\n  outputs t`), at: 't', message: /not a stage/ },
  { code: 'R0234', text: m(`${ok}\n  outputs ss`), at: 'ss', message: /did you mean 's'|not a stage/ },
  { code: 'R0235', text: m(`${ok}\n  outputs s s`), at: 's', message: /already listed/ },
  { code: 'R0236', text: m(`${ok}\n  outputs s stem`), at: 'stem', message: /after 's'/ },
  { code: 'R0237', text: m(`${ok}\n  outputs s logits`), at: 'logits', message: /no head/ },
  { code: 'R0238', text: m('input 3x3x3 stem { conv 4x4 8 stride 4 pad 0 } block basic stage s { blocks 1 width 8 }'), at: 'pad 0', message: /leaves no output/ },
  { code: 'R0239', text: m('input 3x16x16 stem { maxpool 3x3 stride 2 pad 2 } block basic stage s { blocks 1 width 8 }'), at: 'pad 2', message: /at most half its kernel/ },
  { code: 'R0240', text: m(`${ok}\n  drop_path 1`), at: '1', message: /below 1/ },
  { code: 'R0241', text: m(`${ok}\n  classes 10\n  pool mean`), at: 'mean', message: /unknown pool kind/ },
  { code: 'R0242', text: m(`${ok}\n  activation leaky_relu 1e999`), at: '1e999', message: /finite/ },
  { code: 'R0209', text: m(`${ok}\n  activation silu 0.2`), at: '0.2', message: /silu takes no slope/ },
  { code: 'R0209', text: m(`${ok}\n  norm group { momentum 0.1 }`), at: 'momentum', message: /does not apply to group norm/ },
  { code: 'R0302', text: m('input 3x16x16 stem { conv 3x3 8 groups 2 } block basic stage s { blocks 1 width 8 }'), at: 'conv 3x3 8 groups 2' },
  { code: 'R0303', text: m('input 3x16x16 stem { conv 3x3 32 } block basic shortcut A stage s { blocks 1 width 8 }'), at: 'stage s { blocks 1 width 8 }' },
  { code: 'R0305', text: m('input 3x16x16 stem { } block basic { se 16 } stage s { blocks 1 width 8 }'), at: 'block basic { se 16 }' },
  { code: 'R0306', text: m('input 3x1x1 stem { } block basic stage s { blocks 1 width 8 stride 2 }'), at: 'stride 2', message: /meets a 1x1 map/ },
  { code: 'R0307', text: m(`${ok}\n  shortcut B`), at: 'shortcut B', message: /never takes effect/ },
  { code: 'R0308', text: m('input 3x16x16 stem { } block basic { se 8 } stage s { blocks 1 width 8 }'), at: 'se 8', message: /to 1$/ },
  { code: 'R0309', text: m('input 3x2x2 stem { conv 7x7 8 } block basic stage s { blocks 1 width 8 }'), at: 'conv 7x7 8', message: /taps fall only on padding/ },
  { code: 'R0320', text: m(`${ok}\n  output_stride 32`), at: 'output_stride 32', message: /reaches only 1/ },
  { code: 'R0321', text: m(`${ok}\n  pool max`), at: 'pool max', message: /no head/ },
  { code: 'R0321', text: m(`${ok}\n  classes 10\n  pool max\n  outputs s`), at: 'pool max', message: /no head/ },
  { code: 'R0401', text: m(`${ok}\n  expect params 1`), at: 'expect params 1' },
  { code: 'R0402', text: m(`${ok}\n  expect macs 1K`), at: 'expect macs 1K' },
  { code: 'R0403', text: m(`${ok}\n  expect output 8x8x8`), at: 'expect output 8x8x8' },
  { code: 'R0404', text: m(`${ok}\n  expect params 1.5`), at: '1.5' },
  { code: 'R0404', text: m(`${ok}\n  expect params 2e6`), at: '2e6' },
];

describe('every checker error', () => {
  for (const c of cases) {
    it(`${c.code}: ${c.text.replace(/\s+/g, ' ').slice(0, 70)}`, () => {
      const file = check(c.text);
      const d = file.diagnostics.find((x) => x.code === c.code);
      expect(d, `diagnostics: ${JSON.stringify(file.diagnostics.map((x) => `${x.code} ${x.message}`))}`).toBeDefined();
      expect(file.source.text.slice(d!.span.start, d!.span.end)).toBe(c.at);
      expect(d!.severity).toBe(codes[d!.code].severity);
      if (c.message) expect(d!.message).toMatch(c.message);
    });
  }

  it('covers every code of the language core', () => {
    const core = Object.keys(codes).filter((code) => /^R0[0-4]/.test(code));
    const tested = new Set(cases.map((c) => c.code).concat(['R0102', 'R0103', 'R0111', 'R0112'])); // the last two: limits.test.ts
    expect(core.filter((code) => !tested.has(code))).toEqual([]);
  });

  it('R0102: an import cycle is reported in every file of the cycle', () => {
    const dir = tempFiles({
      'a.resnet': `import "b.resnet"\n${m(ok)}`,
      'b.resnet': `import "a.resnet"\nmodel u { ${ok} }`,
    });
    // Whichever file is checked, each file of the cycle reports it at its own import.
    for (const root of ['a.resnet', 'b.resnet']) {
      const ws = new Workspace();
      const first = ws.check(join(dir, root))!;
      const d = first.diagnostics.find((x) => x.code === 'R0102')!;
      expect(first.source.text.slice(d.span.start, d.span.end)).toBe(root === 'a.resnet' ? '"b.resnet"' : '"a.resnet"');
      expect(first.diagnostics.map((x) => x.code)).not.toContain('R0103');
    }
    expect(new Workspace().check(join(dir, 'a.resnet'))!.diagnostics.find((x) => x.code === 'R0102')!.message).toBe(
      "importing 'b.resnet' makes a cycle: a.resnet -> b.resnet -> a.resnet",
    );
  });

  it('R0103: an imported file with errors is flagged at its import, with the first error', () => {
    const dir = tempFiles({
      'lib.resnet': 'model base { input 3x8x8 stem { } block basic stage s { blocks 1 width 8 } classes 0 }',
      'main.resnet': 'import "lib.resnet"\nmodel t extends base { }',
    });
    const main = new Workspace().check(join(dir, 'main.resnet'))!;
    const d = main.diagnostics.find((x) => x.code === 'R0103')!;
    expect(d.message).toBe("'lib.resnet' has 1 error");
    expect(d.related![0]!.message).toContain('classes must be at least 1');
  });

  it('suggests the names that were meant', () => {
    expect(check(m('input 3x16x16 stem { } block bottlenek stage s { blocks 1 width 8 }')).diagnostics[0]!.help).toBe("did you mean 'bottleneck'?");
    expect(check(m(`${ok}\n  shortcut b`)).diagnostics[0]!.help).toBe("did you mean 'B'?");
    expect(check(m('input 3x16x16 stem { } block prea-basic stage s { blocks 1 width 8 }')).diagnostics[0]!.help).toBe("did you mean 'preact-basic'?");
    expect(check(`import "resnet50.resnet"\nmodel t extends resnet5 { }`).diagnostics.find((d) => d.code === 'R0104')!.help).toBe("did you mean 'resnet50'?");
  });

  it('does not report a missing statement whose value was wrong', () => {
    expect(check(m('input 3x0x16 stem { } block basic stage s { blocks 1 width 8 }')).diagnostics.map((d) => d.code)).toEqual(['R0208']);
  });
});
