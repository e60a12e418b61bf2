import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maxWasmThreads, wasmThreads } from '../../src/tfjs/wasm-threads.js';
import { root } from '../helpers/cli.js';
import { tempDir } from './helpers.js';

/**
 * tfjs's threaded wasm build, started in Node by src/tfjs/wasm-threads.ts: `resnetc train`
 * runs on 2 threads when asked, writes the same weights, bit for bit, as on 1 thread
 * (XNNPACK splits work by output tiles), and its process exits when training is done (the
 * pool's workers would otherwise keep it alive). Each run is a process of its own: a
 * process starts the backend once.
 */

const spec = `model tiny {
  input 3x8x8
  classes 4
  stem { conv 3x3 8 }
  block basic
  stage a { blocks 1  width 8 }
  stage b { blocks 1  width 16  stride 2 }
}
`;

function train(threads: number): { stderr: string; status: number | null; weights: Buffer } {
  const dir = tempDir();
  const file = join(dir, 'tiny.resnet');
  writeFileSync(file, spec);
  const out = join(dir, 'run');
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'train', file, '--data', 'synthetic:48', '--out', out, '--epochs', '1', '--batch-size', '16', '--backend', 'wasm'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: '1', RESNETC_WASM_THREADS: String(threads) },
  });
  return { stderr: r.stderr, status: r.status, weights: readFileSync(join(out, 'model', 'weights.bin')) };
}

describe('the wasm backend on several threads', () => {
  it('trains to the same bits as on one thread, says so, and exits', () => {
    const one = train(1);
    const two = train(2);
    expect(one.status, one.stderr).toBe(0);
    expect(two.status, two.stderr).toBe(0);
    expect(one.stderr).toContain('with backend wasm (1 thread)');
    expect(two.stderr).toContain('with backend wasm (2 threads)');
    expect(two.weights.equals(one.weights)).toBe(true);
  });

  it('takes the count from RESNETC_WASM_THREADS, else the cores, within 1..8', () => {
    expect(wasmThreads({ RESNETC_WASM_THREADS: '3' })).toBe(3);
    expect(wasmThreads({ RESNETC_WASM_THREADS: '0' })).toBe(1);
    expect(wasmThreads({ RESNETC_WASM_THREADS: '64' })).toBe(maxWasmThreads);
    expect(wasmThreads({ RESNETC_WASM_THREADS: 'many' })).toBe(Math.min(maxWasmThreads, availableParallelism()));
    expect(wasmThreads({})).toBe(Math.min(maxWasmThreads, availableParallelism()));
  });
});
