import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingPython, pythonWith } from '../../scripts/python.js';
import { root } from '../helpers/cli.js';

const python = pythonWith(['torch', 'torchvision']);

describe('examples/pytorch-weights', () => {
  if (!python) console.warn(`examples/pytorch-weights: skipped, ${missingPython(['torch', 'torchvision'])}`);
  it.runIf(python !== undefined)("brings torchvision's resnet18 weights into the spec, norms kept or folded, and gives PyTorch's outputs", () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'examples', 'pytorch-weights', 'compare.ts')], { cwd: root, encoding: 'utf8', env: { ...process.env, PYTHON: python! } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const file of ['norms kept', 'norms folded by PyTorch']) {
      for (const form of ['training', 'inference']) expect(r.stdout).toMatch(new RegExp(`${file}, ${form} form: 2x1000 logits, .* same top class for every image: yes`));
    }
    expect(r.stdout).toContain("all four give PyTorch's outputs within 0.0001 relative");
  }, 120_000);
});
