import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pythonWith } from '../../scripts/python.js';
import { Workspace } from '../../src/check/workspace.js';
import { outputLength, paddingOnlyTaps } from '../../src/model/arithmetic.js';
import { check } from '../helpers/check.js';
import { root } from '../helpers/cli.js';

/** The warnings of a text, each as `CODE at 'the text it points at'`. */
function warnings(text: string): string[] {
  const file = check(text);
  const errors = file.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new Error(`unexpected errors: ${errors.map((d) => d.message).join('; ')}`);
  return file.diagnostics.map((d) => `${d.code} at '${text.slice(d.span.start, d.span.end)}'`);
}

const net = (o: { input?: string; stem?: string; block?: string; shortcut?: string; stages: string; extra?: string }): string => `model t {
  input ${o.input ?? '3x32x32'}
  stem { ${o.stem ?? 'conv 3x3 16'} }
  block ${o.block ?? 'basic'}
  ${o.shortcut ?? ''}
  ${o.stages}
  ${o.extra ?? ''}
}`;

const imagenetStages = `stage conv2 { blocks 2  width 64 }
  stage conv3 { blocks 2  width 128  stride 2 }
  stage conv4 { blocks 2  width 256  stride 2 }
  stage conv5 { blocks 2  width 512  stride 2 }`;

describe('warnings that save an hour', () => {
  it('R0306: a stride on a 1x1 map, once per stage, at the stride', () => {
    // 16 -> conv /2 -> 8 -> pool /2 -> 4 -> conv3 -> 2 -> conv4 -> 1 -> conv5 strides a 1x1 map
    const text = net({ input: '3x16x16', stem: 'conv 7x7 64 stride 2  maxpool 3x3 stride 2', stages: imagenetStages });
    const file = check(text);
    const d = file.diagnostics.find((x) => x.code === 'R0306')!;
    expect(file.diagnostics.filter((x) => x.code === 'R0306')).toHaveLength(1);
    expect(text.slice(d.span.start, d.span.end)).toBe('stride 2');
    expect(file.source.position(d.span.start).line).toBe(text.split('\n').findIndex((l) => l.includes('stage conv5')) + 1);
    expect(d.message).toBe("stride 2 of stage 'conv5' meets a 1x1 map and changes nothing");
    expect(d.help).toContain("after stage 'conv4'");
    // in the stem too: a 1x1 input
    expect(warnings(net({ input: '3x1x1', stem: 'conv 1x1 8  maxpool 3x3 stride 2', stages: 'stage s { blocks 1  width 8 }' }))).toContain("R0306 at 'stride 2'");
    // a 1x8 map is halved along its width: no warning
    expect(warnings(net({ input: '3x1x8', stem: 'conv 1x1 8', stages: 'stage s { blocks 1  width 8  stride 2 }' }))).not.toContain("R0306 at 'stride 2'");
  });

  it('R0309: a kernel whose taps fall only on padding, with the number a hand count gives', () => {
    const text = net({ input: '3x16x16', stem: 'conv 7x7 64 stride 2  maxpool 3x3 stride 2', stages: imagenetStages });
    const d = check(text).diagnostics.find((x) => x.code === 'R0309')!;
    // conv4's first 3x3 at stride 2 on 2x2: output 1, reading rows -1, 0, 1: 2 of 3 taps per axis see the map
    expect(d.message).toBe("a 3x3 convolution of stage 'conv4' sees a 2x2 map at stride 2: 5 of its 9 taps fall only on padding, so their weights never train");
    expect(text.slice(d.span.start, d.span.end)).toBe('conv4');
    // a 7x7 stem convolution on a 2x2 image: its two outputs read rows -3..3 and -2..4, so
    // only taps 2, 3 and 4 of each axis ever meet the image: 49 - 3 x 3
    expect(check(net({ input: '3x2x2', stem: 'conv 7x7 8', stages: 'stage s { blocks 1  width 8 }' })).diagnostics[0]!.message).toMatch(
      /^the stem's conv 7x7 sees a 2x2 map: 40 of its 49 taps/,
    );
  });

  it('paddingOnlyTaps agrees with counting every output position', () => {
    for (let n = 1; n <= 9; n++)
      for (let k = 1; k <= 7; k++)
        for (let s = 1; s <= 4; s++) {
          const p = Math.floor(k / 2);
          const out = outputLength(n, k, s, p, p);
          let dead = 0;
          for (let t = 0; t < k; t++) {
            let seen = false;
            for (let o = 0; o < out; o++) if (o * s - p + t >= 0 && o * s - p + t < n) seen = true;
            if (!seen) dead++;
          }
          expect(paddingOnlyTaps(n, k, s, p, p), `n ${n} k ${k} s ${s}`).toBe(dead);
        }
  });

  const python = pythonWith(['torch', 'torchvision']);
  it.runIf(python !== undefined)("paddingOnlyTaps is the number of taps PyTorch's weight gradient leaves at zero", () => {
    const cases: [number, number, number][] = [[1, 3, 1], [2, 3, 2], [3, 3, 3], [2, 7, 2], [5, 7, 4], [4, 3, 2], [1, 7, 2], [9, 5, 3]];
    const script = `
import json, sys, torch
out = []
for n, k, s in json.loads(sys.argv[1]):
    x = torch.ones(1, 1, n, 1)
    w = torch.ones(1, 1, k, 1, requires_grad=True)
    torch.nn.functional.conv2d(x, w, stride=(s, 1), padding=(k // 2, 0)).sum().backward()
    out.append(int((w.grad.flatten() == 0).sum()))
print(json.dumps(out))`;
    const r = spawnSync(python!, ['-c', script, JSON.stringify(cases)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(cases.map(([n, k, s]) => paddingOnlyTaps(n, k, s, Math.floor(k / 2), Math.floor(k / 2)))).toEqual(JSON.parse(r.stdout));
  });

  it('R0307: a shortcut kind written for a stage, or a model, whose blocks all keep their shape', () => {
    expect(warnings(net({ stages: 'stage s { blocks 2  width 16  shortcut B }' }))).toEqual(["R0307 at 'shortcut B'"]);
    expect(warnings(net({ stages: 'stage s { blocks 2  width 16  shortcut D }' }))).toEqual(["R0307 at 'shortcut D'"]);
    expect(warnings(net({ shortcut: 'shortcut projection', stages: 'stage s { blocks 2  width 16 }' }))).toEqual(["R0307 at 'shortcut projection'"]);
    // used: the width changes (16 -> 32), or the stage strides, or C projects everywhere
    expect(warnings(net({ stages: 'stage s { blocks 2  width 32  shortcut B }' }))).toEqual([]);
    expect(warnings(net({ stages: 'stage s { blocks 2  width 16  stride 2  shortcut A }' }))).toEqual([]);
    expect(warnings(net({ stages: 'stage s { blocks 2  width 16  shortcut C }' }))).toEqual([]);
    // the model's shortcut is used by the stage that does not set its own
    expect(warnings(net({ shortcut: 'shortcut B', stages: 'stage a { blocks 1  width 16  shortcut C }\n  stage b { blocks 1  width 32 }' }))).toEqual([]);
  });

  it('R0308: squeeze-and-excitation that leaves one channel, once, at `se`', () => {
    // 64 x 4 = 256 channels; 256 / 256 = 1; the later stage (512 channels) keeps 2
    const text = net({ block: 'bottleneck { se 256 }', stages: 'stage a { blocks 1  width 64 }\n  stage b { blocks 1  width 128 }' });
    expect(warnings(text)).toEqual(["R0308 at 'se 256'"]);
    expect(check(text).diagnostics[0]!.message).toBe("se 256 squeezes the 256 channels of stage 'a' to 1");
    expect(warnings(text.replace('se 256', 'se 128'))).toEqual([]);
  });

  it('R0216: stride_on on a block that never strides', () => {
    const text = net({ block: 'bottleneck { stride_on 1x1 }', stages: 'stage a { blocks 1  width 16 }' });
    expect(warnings(text)).toEqual(["R0216 at 'stride_on 1x1'"]);
    expect(warnings(text.replace('width 16 }', 'width 16  stride 2 }'))).toEqual([]);
    // a stage's own block is judged by that stage alone
    expect(warnings(net({ block: 'bottleneck', stages: 'stage a { blocks 1  width 16  stride 2 }\n  stage b { blocks 1  width 16  block bottleneck { stride_on 1x1 } }' }))).toEqual([
      "R0216 at 'stride_on 1x1'",
    ]);
  });

  it('R0217: an inner width that width_per_group makes fractional, rounded down', () => {
    const text = net({ block: 'bottleneck { groups 32  width_per_group 4 }', stages: 'stage a { blocks 1  width 40 }' });
    expect(warnings(text)).toEqual(["R0217 at 'width 40'"]);
    // 40 x 4 / 64 = 2.5 per group: 2 x 32 = 64 channels where 80 were written for
    expect(check(text).models[0]!.stages[0]!.blocks[0]!.innerWidth).toBe(64);
    expect(check(text).diagnostics[0]!.message).toBe("stage 'a' has 40 x 4 / 64 = 2.5 inner channels per group, rounded down to 2: an inner width of 64, not 80");
    expect(warnings(text.replace('width 40', 'width 48'))).toEqual([]);
  });

  it("R0218: a norm momentum that reads as Keras's convention", () => {
    expect(warnings(net({ stages: 'stage a { blocks 1  width 16 }', extra: 'norm batch { momentum 0.99 }' }))).toEqual(["R0218 at '0.99'"]);
    expect(warnings(net({ stages: 'stage a { blocks 1  width 16 }', extra: 'norm batch { momentum 0.5 }' }))).toEqual([]);
  });

  it('an inherited cause is reported at the extends, with a note where it was written', () => {
    const text = 'import "resnet50.resnet"\nmodel small extends resnet50 { input 3x16x16 }';
    const file = check(text);
    expect(file.diagnostics.map((d) => `${d.code} at '${text.slice(d.span.start, d.span.end)}'`)).toEqual(["R0309 at 'resnet50'", "R0306 at 'resnet50'"]);
    expect(file.diagnostics[1]!.related![0]!.message).toBe('written here');
  });

  it('none fires on the model zoo or the examples', () => {
    const files = [
      ...readdirSync(join(root, 'specs')).map((f) => join(root, 'specs', f)),
      ...readdirSync(join(root, 'examples'), { recursive: true, encoding: 'utf8' }).map((f) => join(root, 'examples', f)),
    ].filter((f) => f.endsWith('.resnet'));
    expect(files.length).toBeGreaterThan(10);
    const workspace = new Workspace();
    for (const f of files) expect(workspace.check(f)!.diagnostics, relative(root, f)).toEqual([]);
  });
});
