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

describe('every spec in specs/ runs in ONNX Runtime', () => {
  for (const file of files) {
    const checked = workspace.check(resolve(specsDir, file))!;
    for (const name of checked.declarations.keys()) {
      it(`${file}: ${name}`, async () => {
        const model = checkText(`import "${file}"\nmodel small extends ${name} { input 3x32x32 }`, 'small');
        const weights = initialWeights(model, { seed: 0 });
        const input = randomInput(1, 3, 32, 32);
        const training = await runOrt(emitOnnx(model, weights), input, [1, 3, 32, 32]);
        // One graph output per model output, in order, each of the shape the checker gives it.
        expect(Object.keys(training.outputs)).toEqual(model.outputs.map((o) => o.name));
        const inference = await runOrt(emitOnnx(model, weights, { inference: true }), input, [1, 3, 32, 32]);
        for (const o of model.outputs) {
          const expected = o.source === 'logits' ? [1, o.shape.c] : [1, o.shape.c, o.shape.h, o.shape.w];
          expect(training.outputs[o.name]!.dims, o.name).toEqual(expected);
          expect(inference.outputs[o.name]!.dims, o.name).toEqual(expected);
          expect(relativeError(inference.outputs[o.name]!.data, training.outputs[o.name]!.data), o.name).toBeLessThan(1e-4);
          expect(training.outputs[o.name]!.data.every(Number.isFinite), o.name).toBe(true);
        }
      });
    }
  }
});
