import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { cli } from '../helpers/cli.js';
import { tempDir } from '../tfjs/helpers.js';
import { imageFolder } from './helpers.js';

/**
 * Without sharp (an optional peer dependency), every command that reads an image stops
 * with R0940 and the line that installs it, before it writes or shows anything: no
 * output folder, no progress bar. (`npm run test:pack` checks the same on a real install
 * without sharp; here the loader is made to find no sharp.)
 */
vi.mock('../../src/util/optional.js', async (original) => {
  const actual = await original<typeof import('../../src/util/optional.js')>();
  return {
    ...actual,
    loadOptional: async (name: Parameters<typeof actual.loadOptional>[0]) => {
      if (name === 'sharp') throw new actual.OptionalPackageError('sharp', false);
      return actual.loadOptional(name);
    },
  };
});

describe('sharp not installed', () => {
  const dir = tempDir();
  const spec = join(dir, 'tiny.resnet');
  writeFileSync(spec, 'model tiny {\n  input 3x8x8\n  classes 2\n  stem { conv 3x3 4 }\n  block basic\n  stage a { blocks 1  width 4 }\n}\n');
  const refused = (r: { code: number; stderr: string }): void => {
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[R0940]: sharp is not installed');
    expect(r.stderr).toContain('npm install sharp');
  };

  it('train on an image folder: R0940 and no output folder', async () => {
    const root = await imageFolder(join(dir, 'pets'), { train: { cat: [['0.png', 8, 8]], dog: [['0.png', 8, 8]] }, val: { cat: [['0.png', 8, 8]], dog: [['0.png', 8, 8]] } });
    const out = join(dir, 'run');
    const r = await cli('train', spec, '--data', root, '--out', out, '--epochs', '1', '--batch-size', '2', '--backend', 'wasm');
    refused(r);
    expect(existsSync(out)).toBe(false);
    expect(r.stderr).not.toContain('training tiny');
  });

  it('eval of an image folder and predict: R0940, no progress bar', async () => {
    const weights = join(dir, 'tfjs');
    expect((await cli('compile', spec, '--target', 'tfjs', '-o', weights)).code).toBe(0);
    const e = await cli('eval', spec, '--weights', weights, '--data', join(dir, 'pets'), '--backend', 'wasm');
    refused(e);
    expect(e.stderr).not.toContain('evaluating tiny');
    refused(await cli('predict', spec, '--weights', weights, join(dir, 'pets', 'val', 'cat', '0.png'), '--backend', 'wasm'));
  });
});
