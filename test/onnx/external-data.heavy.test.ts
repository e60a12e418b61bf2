import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { pythonWith } from '../../scripts/python.js';
import { spawnCli } from '../helpers/cli.js';
import { removeScratch, scratch } from '../faults/io-helpers.js';
import { lcg, relativeError } from './helpers.js';

/**
 * HEAVY: a model just over ONNX's 2 GiB, written, run and read back. About 2.2 GB of disk
 * twice and 2.2 GB of memory at a time (each step in a process of its own); a minute or two
 * on a 2-core machine. RESNETC_SKIP_HEAVY=1 skips it.
 *
 * The model takes a 1x1 image of 23,171 channels to as many with a 1x1 convolution: one
 * weight of 23,171^2 floats, 2,147,580,964 bytes, 96 KB over 2 GiB. The old writer failed
 * on it after some 20 s with R0000 (Node's ERR_OUT_OF_RANGE: one write of over 2 GiB), and
 * would have written a file no runtime parses. In the `--inference` form (the one ONNX
 * Runtime's default optimisations load: in the training form its Conv+BatchNormalization
 * fusion makes a 2 GiB initialiser of its own, which it refuses to embed; docs/onnx.md).
 *
 * One compile, one ONNX Runtime run, one read-back:
 * - compile: the model file under 2 GiB, the rest in MODEL.data;
 * - ONNX Runtime loads it from its path and runs it; onnx's checker and entries
 *   (external_data.py) and a numpy evaluation over the mapped data file give the same output;
 * - read back: `--weights` from it writes, in a folder of its own, the same two files byte
 *   for byte (the refolded weights are the file's own: scale 1 over sqrt(1 - eps + eps)).
 */

const skip = process.env['RESNETC_SKIP_HEAVY'] === '1';
const python = pythonWith(['onnx', 'numpy']);
const channels = 23_171;

afterAll(removeScratch);

/** Whether two files hold the same bytes, read 64 MiB at a time. */
function sameBytes(a: string, b: string): boolean {
  if (statSync(a).size !== statSync(b).size) return false;
  const [fa, fb] = [openSync(a, 'r'), openSync(b, 'r')];
  const [ba, bb] = [Buffer.alloc(1 << 26), Buffer.alloc(1 << 26)];
  try {
    for (;;) {
      const n = readSync(fa, ba, 0, ba.length, null);
      if (readSync(fb, bb, 0, n, null) !== n) return false;
      if (n === 0) return true;
      if (!ba.subarray(0, n).equals(bb.subarray(0, n))) return false;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

describe.skipIf(skip || !python)('HEAVY: a model over 2 GiB', () => {
  it('compiles to a model and external data that ONNX Runtime loads and runs, and reads back with --weights', async () => {
    const dir = scratch({
      'wide.resnet': `model wide {\n  input ${channels}x1x1\n  classes 10\n  stem { conv 1x1 ${channels} }\n  block basic\n  stage s { blocks 1  width 8 }\n}\n`,
    });
    const model = join(dir, 'wide.onnx');
    const seconds = (start: number): string => ((performance.now() - start) / 1000).toFixed(1);
    let start = performance.now();
    const compiled = spawnCli(['compile', join(dir, 'wide.resnet'), '-t', 'onnx', '--inference', '-o', model]);
    expect(compiled.stderr).not.toMatch(/error/);
    expect(compiled.code).toBe(0);
    const times = [`compile ${seconds(start)} s`];
    expect(statSync(model).size).toBeLessThan(2 ** 31);
    expect(statSync(`${model}.data`).size).toBeGreaterThan(channels * channels * 4);
    expect(channels * channels * 4).toBeGreaterThan(2 ** 31);

    start = performance.now();
    const rand = lcg(11);
    const input = Float32Array.from({ length: channels }, () => rand() * 2 - 1);
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2 });
    let output: Float32Array;
    try {
      output = (await session.run({ input: new ort.Tensor('float32', input, [1, channels, 1, 1]) }))['output']!.data as Float32Array;
    } finally {
      await session.release();
    }
    times.push(`ONNX Runtime ${seconds(start)} s`);

    start = performance.now();
    writeFileSync(join(dir, 'input.f32'), input);
    const r = spawnSync(python!, [join(import.meta.dirname, 'external_data.py'), model, '--input', join(dir, 'input.f32')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const reference = JSON.parse(r.stdout) as { output: number[]; external: number };
    expect(reference.external).toBeGreaterThan(0);
    expect(relativeError(output, reference.output)).toBeLessThan(1e-4);
    times.push(`onnx + numpy ${seconds(start)} s`);

    start = performance.now();
    mkdirSync(join(dir, 'back'));
    const back = join(dir, 'back', 'wide.onnx');
    const read = spawnCli(['compile', join(dir, 'wide.resnet'), '-t', 'onnx', '--inference', '--weights', model, '-o', back]);
    expect(read.code).toBe(0);
    expect(sameBytes(back, model)).toBe(true);
    expect(sameBytes(`${back}.data`, `${model}.data`)).toBe(true);
    times.push(`read back ${seconds(start)} s`);
    console.log(`HEAVY external data: ${times.join(', ')}`);
  }, 900_000);
});
