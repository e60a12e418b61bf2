import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../../src/check/workspace.js';
import { emitOnnx } from '../../src/onnx/index.js';
import { initialWeights } from '../../src/weights/init.js';
import { checkText, randomInput, relativeError, runOrt, specsDir } from './helpers.js';

/**
 * Every model of the zoo compiles, runs in ONNX Runtime with the output shape its head (or
 * last stage) says, and the training and inference forms agree within 1e-4 relative.
 * A 32x32 input (through `extends`) keeps it quick; the weights are the real initialisation.
 */
const files = readdirSync(specsDir).filter((f) => f.endsWith('.resnet')).sort();
const workspace = new Workspace();
/** Specs of issue 13 whose constructs (dilation, feature outputs, group norm) the ONNX target does not emit yet: its branch (bb-onnx) takes them off this list. */
const pending = new Set(['resnet50_dilated.resnet', 'resnetv2_50_gn.resnet']);

describe('every spec in specs/ runs in ONNX Runtime', () => {
  for (const file of files.filter((f) => !pending.has(f))) {
    const checked = workspace.check(resolve(specsDir, file))!;
    for (const name of checked.declarations.keys()) {
      it(`${file}: ${name}`, async () => {
        const model = checkText(`import "${file}"\nmodel small extends ${name} { input 3x32x32 }`, 'small');
        const weights = initialWeights(model, { seed: 0 });
        const input = randomInput(1, 3, 32, 32);
        const training = await runOrt(emitOnnx(model, weights), input, [1, 3, 32, 32]);
        const expected = model.head ? [1, model.head.classes] : [1, model.output.c, model.output.h, model.output.w];
        expect(training.dims).toEqual(expected);
        const inference = await runOrt(emitOnnx(model, weights, { inference: true }), input, [1, 3, 32, 32]);
        expect(inference.dims).toEqual(expected);
        expect(relativeError(inference.data, training.data)).toBeLessThan(1e-4);
        expect(training.data.every(Number.isFinite)).toBe(true);
      });
    }
  }
});
