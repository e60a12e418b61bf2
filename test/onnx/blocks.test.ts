import { describe, expect, it } from 'vitest';
import { emitOnnx } from '../../src/onnx/index.js';
import { checkText, randomInput, randomWeights, relativeError, runOrt } from './helpers.js';
import { forward, type BlockOptions } from './reference.js';

/**
 * The exported graph computes what LANGUAGE.md says: for every block kind and shortcut
 * kind (and groups, SE, stride on the 1x1, the stems' pools, dropout, a model without a
 * head), ONNX Runtime's output equals a plain-arithmetic reference (test/onnx/reference.ts)
 * on a tiny network, in both the training form and the --inference form.
 */
interface Case extends BlockOptions {
  name: string;
  block: string;
  stem?: string;
  input?: string;
  head?: string;
}

const cases: Case[] = [
  { name: 'basic, shortcut A', block: 'basic', shortcut: 'A' },
  { name: 'basic, shortcut B', block: 'basic', shortcut: 'B' },
  { name: 'basic, shortcut C', block: 'basic', shortcut: 'C' },
  { name: 'basic, shortcut D on an odd size', block: 'basic', shortcut: 'D' },
  { name: 'bottleneck, shortcut A', block: 'bottleneck', shortcut: 'A' },
  { name: 'bottleneck, shortcut B, groups, stride on the 1x1, maxpool stem', block: 'bottleneck { groups 2  width_per_group 32  stride_on 1x1 }', shortcut: 'B', groups: 2, strideOn: '1x1', stem: 'conv 3x3 8  maxpool 3x3 stride 2', input: '3x13x13' },
  { name: 'bottleneck, shortcut C, SE', block: 'bottleneck { se 4 }', shortcut: 'C', se: 4 },
  { name: 'bottleneck, shortcut D, groups, avgpool stem, dropout', block: 'bottleneck { groups 4  width_per_group 16 }', shortcut: 'D', groups: 4, stem: 'conv 3x3 8 stride 2  avgpool 3x3 stride 1', input: '3x14x14', head: 'classes 5  dropout 0.2' },
  { name: 'preact-basic, shortcut A', block: 'preact-basic', shortcut: 'A' },
  { name: 'preact-basic, shortcut B, no head', block: 'preact-basic', shortcut: 'B', head: '' },
  { name: 'preact-basic, shortcut D, SE', block: 'preact-basic { se 2 }', shortcut: 'D', se: 2 },
  { name: 'preact-bottleneck, shortcut C, groups', block: 'preact-bottleneck { groups 2  width_per_group 32 }', shortcut: 'C', groups: 2 },
  { name: 'preact-bottleneck, shortcut D, SE, stride on the 1x1', block: 'preact-bottleneck { se 4  stride_on 1x1 }', shortcut: 'D', se: 4, strideOn: '1x1' },
];

function specOf(c: Case): string {
  return `model tiny {
    input ${c.input ?? '3x11x11'}
    ${c.head ?? 'classes 6'}
    stem { ${c.stem ?? 'conv 3x3 8'} }
    block ${c.block}
    shortcut ${c.shortcut}
    norm batch { eps 1e-3 }
    stage a { blocks 2  width 8 }
    stage b { blocks 2  width 16  stride 2 }
  }`;
}

describe('the exported graph against a plain-arithmetic reference', () => {
  for (const c of cases) {
    for (const inference of [false, true]) {
      it(`${c.name} (${inference ? 'inference' : 'training'} form)`, async () => {
        const model = checkText(specOf(c));
        const weights = randomWeights(model, 11);
        const batch = 2;
        const { c: ch, h, w } = model.input;
        const input = randomInput(batch, ch, h, w);
        const per = ch * h * w;
        const expected: number[] = [];
        for (let n = 0; n < batch; n++) expected.push(...forward(model, weights, Float64Array.from(input.subarray(n * per, (n + 1) * per)), c));
        const out = await runOrt(emitOnnx(model, weights, { inference }), input, [batch, ch, h, w]);
        const outDims = model.head ? [batch, model.head.classes] : [batch, model.output.c, model.output.h, model.output.w];
        expect(out.dims).toEqual(outDims);
        expect(relativeError(out.data, expected)).toBeLessThan(1e-5);
      });
    }
  }

  for (const opset of [13, 14, 15, 16, 18, 19, 20, 21]) {
    it(`gives the same outputs at opset ${opset}`, async () => {
      const c = cases[7]!;
      const model = checkText(specOf(c));
      const weights = randomWeights(model, 3);
      const { c: ch, h, w } = model.input;
      const input = randomInput(1, ch, h, w);
      const expected = forward(model, weights, Float64Array.from(input), c);
      for (const inference of [false, true]) {
        const out = await runOrt(emitOnnx(model, weights, { opset, inference }), input, [1, ch, h, w]);
        expect(relativeError(out.data, expected)).toBeLessThan(1e-5);
      }
    });
  }
});
