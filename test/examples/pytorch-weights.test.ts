import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pythonWithTorch } from '../../examples/pytorch-weights/python.js';
import { root } from '../helpers/cli.js';

const python = pythonWithTorch();

describe('examples/pytorch-weights', () => {
  if (!python) console.warn('examples/pytorch-weights: skipped, no Python here imports torch and torchvision (Debian: python3-torchvision)');
  it.runIf(python !== undefined)("brings torchvision's resnet18 weights into the spec and gives PyTorch's outputs", () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'examples', 'pytorch-weights', 'compare.ts')], { cwd: root, encoding: 'utf8', env: { ...process.env, PYTHON: python! } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/training form: 2x1000 logits, .* same top class for every image: yes/);
    expect(r.stdout).toMatch(/inference form: 2x1000 logits, .* same top class for every image: yes/);
    expect(r.stdout).toContain("both forms give PyTorch's outputs within 0.0001 relative");
  }, 120_000);
});
