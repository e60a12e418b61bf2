import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { missingPython, pythonWith } from '../../scripts/python.js';
import { emitOnnx, readOnnxWeights, readOnnxWeightSource, writeOnnxFile, writeOnnxFiles } from '../../src/onnx/index.js';
import { emitGraph } from '../../src/onnx/emit.js';
import { importOnnxWeights } from '../../src/onnx/import.js';
import { onnx } from '../../src/onnx/proto.js';
import { maxModelBytes, planModel } from '../../src/onnx/writer.js';
import { tensorSize } from '../../src/model/tensors.js';
import { initialWeightSource, initialWeights, modelTensors } from '../../src/weights/init.js';
import { memorySource } from '../../src/weights/source.js';
import { cli } from '../helpers/cli.js';
import { mkfifo, removeScratch, scratch } from '../faults/io-helpers.js';
import { checkText, randomInput, thrown } from './helpers.js';

/**
 * ONNX external data (docs/onnx.md, docs/files.md): `--external-data` on a small model, the
 * pair of files kept consistent, the size decision for models over 2 GiB (without writing
 * them: external-data.heavy.test.ts writes one), and `--weights` refusing hostile entries.
 * References: ONNX Runtime, and onnx's own loader and checker (external_data.py).
 */

afterAll(removeScratch);

const tinySpec = `model tiny {
  input 3x16x16
  classes 3
  stem { conv 3x3 16 }
  block basic
  stage a { blocks 1  width 16 }
  stage b { blocks 1  width 32  stride 2 }
}
`;
const tiny = checkText(tinySpec);
const python = pythonWith(['onnx', 'numpy']);

/** ONNX Runtime's output for the model at `path` (read from its path, as external data needs). */
async function ortOutput(path: string, input: Float32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
  try {
    return (await session.run({ input: new ort.Tensor('float32', input, [1, 3, 16, 16]) }))['output']!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** external_data.py's JSON for the model (onnx's checker, loader and entries). */
function onnxCheck(path: string, ...args: string[]): { external: number; inside: number; data_bytes: number } {
  const r = spawnSync(python!, [join(import.meta.dirname, 'external_data.py'), path, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`external_data.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { external: number; inside: number; data_bytes: number };
}

const entriesOf = (path: string): Map<string, Record<string, string>> => {
  const graph = onnx.ModelProto.decode(readFileSync(path)).graph!;
  return new Map(graph.initializer!.filter((t) => t.dataLocation === 1).map((t) => [t.name!, Object.fromEntries(t.externalData!.map((e) => [e.key!, e.value!]))]));
};

const failRead = (): never => {
  throw new Error('the weights could not be read');
};

const codeOf = (e: unknown): string | undefined => (e as { code?: string }).code;

describe('resnetc compile --external-data', () => {
  it.skipIf(!python)('writes a model and MODEL.data that onnx checks and loads, and ONNX Runtime runs as the one-file model', async () => {
    const dir = scratch({ 'tiny.resnet': tinySpec });
    const r = await cli('compile', join(dir, 'tiny.resnet'), '-t', 'onnx', '-o', join(dir, 'ext.onnx'), '--external-data');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/, tensors in .*ext\.onnx\.data \(external data, [\d.]+ MB\)\n$/);
    expect((await cli('compile', join(dir, 'tiny.resnet'), '-t', 'onnx', '-o', join(dir, 'one.onnx'))).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['ext.onnx', 'ext.onnx.data', 'one.onnx', 'tiny.resnet']);
    // Every tensor of 1 KiB or more is outside, named by a relative location and an aligned offset.
    const entries = entriesOf(join(dir, 'ext.onnx'));
    expect(entries.get('stem.conv1.weight')).toEqual({ location: 'ext.onnx.data', offset: '0', length: String(16 * 3 * 3 * 3 * 4) });
    expect(entries.has('stem.norm1.weight')).toBe(false); // 64 bytes: inside
    const check = onnxCheck(join(dir, 'ext.onnx'), '--same-as', join(dir, 'one.onnx'));
    expect(check.external).toBe(entries.size);
    expect(check.data_bytes).toBe(statSync(join(dir, 'ext.onnx.data')).size);
    const input = randomInput(1, 3, 16, 16);
    expect(await ortOutput(join(dir, 'ext.onnx'), input)).toEqual(await ortOutput(join(dir, 'one.onnx'), input));
  });

  it('reads back with --weights: the same weights, for every target', async () => {
    const dir = scratch({ 'tiny.resnet': tinySpec });
    const spec = join(dir, 'tiny.resnet');
    expect((await cli('compile', spec, '-t', 'onnx', '-o', join(dir, 'ext.onnx'), '--external-data', '--seed', '3')).code).toBe(0);
    expect((await cli('compile', spec, '-t', 'onnx', '-o', join(dir, 'back.onnx'), '--weights', join(dir, 'ext.onnx'))).code).toBe(0);
    expect((await cli('compile', spec, '-t', 'onnx', '-o', join(dir, 'seed3.onnx'), '--seed', '3')).code).toBe(0);
    expect(readFileSync(join(dir, 'back.onnx')).equals(readFileSync(join(dir, 'seed3.onnx')))).toBe(true);
    expect((await cli('compile', spec, '-t', 'safetensors', '-o', join(dir, 'back.safetensors'), '--weights', join(dir, 'ext.onnx'))).code).toBe(0);
    expect((await cli('compile', spec, '-t', 'safetensors', '-o', join(dir, 'seed3.safetensors'), '--seed', '3')).code).toBe(0);
    expect(readFileSync(join(dir, 'back.safetensors')).equals(readFileSync(join(dir, 'seed3.safetensors')))).toBe(true);
  });

  it('keeps the pair consistent: a re-compile replaces both, a model without external data removes the one the old model named', async () => {
    const dir = scratch({ 'tiny.resnet': tinySpec });
    const spec = join(dir, 'tiny.resnet');
    const out = join(dir, 'm.onnx');
    expect((await cli('compile', spec, '-t', 'onnx', '-o', out, '--external-data', '--seed', '1')).code).toBe(0);
    const first = readFileSync(`${out}.data`);
    expect((await cli('compile', spec, '-t', 'onnx', '-o', out, '--external-data', '--seed', '2')).code).toBe(0);
    expect(readFileSync(`${out}.data`).equals(first)).toBe(false);
    expect(readOnnxWeights(out, tiny).get('stem.conv1.weight')).toEqual(initialWeights(tiny, { seed: 2 }).get('stem.conv1.weight'));
    // One file again, from a copy of the model that still names m.onnx.data: that file is an input, and stays.
    writeFileSync(join(dir, 'copy.onnx'), readFileSync(out));
    expect((await cli('compile', spec, '-t', 'onnx', '-o', out, '--weights', join(dir, 'copy.onnx'))).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['copy.onnx', 'm.onnx', 'm.onnx.data', 'tiny.resnet']);
    // Once more with m.onnx external, then one file: the data file the old model named goes.
    rmSync(join(dir, 'copy.onnx'));
    expect((await cli('compile', spec, '-t', 'onnx', '-o', out, '--external-data')).code).toBe(0);
    expect((await cli('compile', spec, '-t', 'onnx', '-o', out)).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['m.onnx', 'tiny.resnet']);
    // A file named like it that the old model did not name is someone else's: it stays.
    writeFileSync(`${out}.data`, 'mine');
    expect((await cli('compile', spec, '-t', 'onnx', '-o', out)).code).toBe(0);
    expect(readFileSync(`${out}.data`, 'utf8')).toBe('mine');
  });

  it('leaves the old pair whole when a write fails, and nothing beside it', () => {
    const dir = scratch();
    const out = join(dir, 'm.onnx');
    writeOnnxFile(out, tiny, initialWeights(tiny, { seed: 1 }), { externalData: true });
    const [model, data] = [readFileSync(out), readFileSync(`${out}.data`)];
    // A failure in the middle of the data file (its first tensors written): a source that cannot read one.
    const fresh = initialWeightSource(tiny, { seed: 2 });
    const failing = memorySource({ get: (name: string) => (name === 'b.block0.conv2.weight' ? failRead() : fresh.get(name)) });
    expect(() => writeOnnxFile(out, tiny, failing, { externalData: true })).toThrow('the weights could not be read');
    expect(readFileSync(out).equals(model) && readFileSync(`${out}.data`).equals(data)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['m.onnx', 'm.onnx.data']);
  });

  it('writes the data file only as a regular file of its own: not through a link, not onto a folder or an input', async () => {
    const dir = scratch({ 'tiny.resnet': tinySpec, 'elsewhere.bin': 'x' });
    const spec = join(dir, 'tiny.resnet');
    symlinkSync(join(dir, 'elsewhere.bin'), join(dir, 'l.onnx.data'));
    const link = await cli('compile', spec, '-t', 'onnx', '-o', join(dir, 'l.onnx'), '--external-data');
    expect([link.code, link.stderr]).toEqual([1, expect.stringMatching(/^error\[R0802\]: '.*l\.onnx\.data' is a symbolic link/)]);
    mkdirSync(join(dir, 'f.onnx.data'));
    expect((await cli('compile', spec, '-t', 'onnx', '-o', join(dir, 'f.onnx'), '--external-data')).stderr).toMatch(/^error\[R0803\]/);
    // x.onnx renamed w.onnx still names x.onnx.data: compiling x.onnx from it would write over its own input.
    expect((await cli('compile', spec, '-t', 'onnx', '-o', join(dir, 'x.onnx'), '--external-data')).code).toBe(0);
    writeFileSync(join(dir, 'w.onnx'), readFileSync(join(dir, 'x.onnx')));
    rmSync(join(dir, 'x.onnx'));
    const input = await cli('compile', spec, '-t', 'onnx', '-o', join(dir, 'x.onnx'), '--external-data', '--weights', join(dir, 'w.onnx'));
    expect([input.code, input.stderr]).toEqual([1, expect.stringMatching(/^error\[R0801\]: '.*x\.onnx\.data' is an input of this command/)]);
    expect(readFileSync(join(dir, 'elsewhere.bin'), 'utf8')).toBe('x');
    expect(readdirSync(dir).sort()).toEqual(['elsewhere.bin', 'f.onnx.data', 'l.onnx.data', 'tiny.resnet', 'w.onnx', 'x.onnx.data']);
  });
});

describe('the size of an ONNX file', () => {
  // 2.68 GB in tensors of 1.07 GB and less: written as one file of 2.7 GB (exit 0) that ONNX
  // Runtime and onnx.load refused ("Protobuf parsing failed"). Planned here without writing
  // it: the decision is made on the sizes, before any weight is computed
  // (external-data.heavy.test.ts writes and runs a model just over 2 GiB).
  const large = checkText(`model large {
  input 16384x1x1
  classes 10
  stem { conv 1x1 16384  conv 1x1 16384  conv 1x1 8192 }
  block basic
  stage s { blocks 1  width 8 }
}`);
  const meta = { opset: 17, producerVersion: '0' };
  const sizes = modelTensors(large).map((t) => 4 * tensorSize(t.shape));

  it('over 2 GiB puts the tensors in external data, and the model stays small (the old writer made a 2.7 GB file)', () => {
    const plan = planModel(emitGraph(large, initialWeightSource(large), { inference: false }), meta, { location: 'large.onnx.data' });
    expect(plan.modelBytes).toBeLessThan(1 << 20);
    expect(plan.data!.location).toBe('large.onnx.data');
    // Every tensor of 1 KiB or more, each on a 4 KiB page (64 KiB from 1 MiB): at most a page of padding each.
    const outside = sizes.filter((n) => n >= 1024);
    const sum = outside.reduce((a, b) => a + b, 0);
    expect(sum).toBeGreaterThan(2.68e9);
    expect(plan.data!.bytes).toBeGreaterThanOrEqual(sum);
    expect(plan.data!.bytes).toBeLessThan(sum + outside.length * 65536);
    expect(plan.tensors.filter((t) => t.offset !== undefined)).toHaveLength(outside.length);
    // By hand: each 1 GiB weight is followed by its norm's four vectors of 16,384 floats (64 KiB each).
    const offset = new Map(plan.tensors.map((t) => [t.init.name, t.offset]));
    expect([offset.get('stem.conv1.weight'), offset.get('stem.norm1.running_var'), offset.get('stem.conv2.weight'), offset.get('stem.conv3.weight')]).toEqual([
      0,
      2 ** 30 + 3 * 65536,
      2 ** 30 + 4 * 65536,
      2 * (2 ** 30 + 4 * 65536),
    ]);
  });

  it('one buffer cannot hold a model over 2 GiB: R0513 at once, before any weight is computed', () => {
    const start = performance.now();
    const e = thrown(() => emitOnnx(large, initialWeightSource(large)));
    expect([e.code, e.message]).toEqual(['R0513', expect.stringMatching(/^the model is 2\.5 GiB, more than the 2\.0 GiB an ONNX file can hold$/)]);
    expect(performance.now() - start).toBeLessThan(5_000); // computing the weights takes minutes
  });

  it('refuses a model whose graph alone passes the limit (R0513), and stays in one file up to it', () => {
    const graph = emitGraph(tiny, initialWeightSource(tiny), { inference: false });
    const whole = planModel(graph, meta, { location: 'x' });
    expect(whole.data).toBeUndefined();
    expect(planModel(graph, meta, { location: 'x', limit: whole.modelBytes }).data).toBeUndefined();
    const outside = planModel(graph, meta, { location: 'x', limit: whole.modelBytes - 1 });
    expect(outside.modelBytes).toBeLessThan(whole.modelBytes - outside.data!.bytes / 2);
    const e = thrown(() => planModel(graph, meta, { location: 'x', limit: outside.modelBytes - 1 }));
    expect([e.code, e.message]).toEqual(['R0513', expect.stringMatching(/^the model's graph alone, without its weights, is/)]);
    expect(maxModelBytes).toBe(2 ** 31 - 1);
  });
});

describe('--weights with external data', () => {
  /** A folder with the tiny model (seed 1) as ext.onnx + ext.onnx.data. */
  function pair(): string {
    const dir = scratch();
    writeOnnxFiles(join(dir, 'ext.onnx'), tiny, initialWeights(tiny, { seed: 1 }), { externalData: true });
    return dir;
  }

  /** Writes `to` (in the folder of `from`): the model at `from` with one tensor's external data entries edited. */
  function edited(from: string, to: string, tensor: string, edit: (entries: { key: string; value: string }[]) => { key: string; value: string }[]): string {
    const model = onnx.ModelProto.decode(readFileSync(from));
    const t = model.graph!.initializer!.find((i) => i.name === tensor)!;
    t.externalData = edit(t.externalData!.map((e) => ({ key: e.key!, value: e.value! })));
    writeFileSync(to, onnx.ModelProto.encode(model).finish());
    return to;
  }
  const set = (key: string, value: string) => (entries: { key: string; value: string }[]) => entries.map((e) => (e.key === key ? { key, value } : e));

  const refusal = (path: string): unknown => {
    try {
      readOnnxWeights(path, tiny).get('stem.conv1.weight');
    } catch (e) {
      return e;
    }
    throw new Error('expected a refusal');
  };

  it('reads the tensors from beside the model, and only from a path', () => {
    const dir = pair();
    const expected = initialWeights(tiny, { seed: 1 });
    const read = readOnnxWeights(join(dir, 'ext.onnx'), tiny);
    for (const [name, values] of expected) expect(read.get(name), name).toEqual(values);
    // Bytes alone do not say where the data file is.
    const e = thrown(() => importOnnxWeights(readFileSync(join(dir, 'ext.onnx')), tiny));
    expect([e.code, e.message]).toEqual(['R0505', expect.stringContaining('is stored outside the file (external data)')]);
  });

  it('refuses a location outside the model’s folder: ../, an absolute path, a link leading out (R0813)', () => {
    const dir = pair();
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    copyFileSync(join(dir, 'ext.onnx.data'), join(sub, 'ext.onnx.data')); // for the tensors not edited
    const model = join(dir, 'ext.onnx');
    expect(codeOf(refusal(edited(model, join(sub, 'up.onnx'), 'stem.conv1.weight', set('location', '../ext.onnx.data'))))).toBe('R0813');
    expect(codeOf(refusal(edited(model, join(dir, 'abs.onnx'), 'stem.conv1.weight', set('location', join(dir, 'ext.onnx.data')))))).toBe('R0813');
    symlinkSync(join(dir, 'ext.onnx.data'), join(sub, 'out.data'));
    const e = refusal(edited(model, join(sub, 'link.onnx'), 'stem.conv1.weight', set('location', 'out.data'))) as Error;
    expect([codeOf(e), e.message]).toEqual(['R0813', `'${join(sub, 'link.onnx')}' names 'out.data', outside its folder '${sub}'`]);
  });

  it('refuses a range past the end of the file (R0511) and a length other than the shape’s (R0512), before reading', () => {
    const dir = pair();
    const model = join(dir, 'ext.onnx');
    const size = statSync(join(dir, 'ext.onnx.data')).size;
    const past = refusal(edited(model, join(dir, 'past.onnx'), 'stem.conv1.weight', set('offset', String(size - 100)))) as Error;
    const range = `bytes ${(size - 100).toLocaleString('en-US')} to ${(size - 100 + 1728).toLocaleString('en-US')}`;
    expect([codeOf(past), past.message]).toEqual(['R0511', `'stem.conv1.weight' lies at ${range} of 'ext.onnx.data', which holds ${size.toLocaleString('en-US')} bytes (${(size / 1024).toFixed(1)} KiB)`]);
    expect(codeOf(refusal(edited(model, join(dir, 'huge.onnx'), 'stem.conv1.weight', set('offset', '9007199254740000'))))).toBe('R0511');
    const short = refusal(edited(model, join(dir, 'short.onnx'), 'stem.conv1.weight', set('length', '1724'))) as Error;
    expect([codeOf(short), short.message]).toEqual(['R0512', "'stem.conv1.weight' names 1,724 bytes of external data, but its shape and type make 1,728"]);
    // Without a length the tensor runs to the end of the file, which is then too long.
    expect(codeOf(refusal(edited(model, join(dir, 'nolength.onnx'), 'stem.conv1.weight', (es) => es.filter((x) => x.key !== 'length'))))).toBe('R0512');
  });

  it('refuses malformed entries (R0510), a missing data file (R0101) and a FIFO (R0811) at once', () => {
    const dir = pair();
    const model = join(dir, 'ext.onnx');
    for (const [name, edit] of [
      ['no location', (es: { key: string; value: string }[]) => es.filter((x) => x.key !== 'location')],
      ['a negative offset', set('offset', '-4')],
      ['an offset that is not a number', set('offset', '1e3')],
      ['a key twice', (es: { key: string; value: string }[]) => [...es, { key: 'offset', value: '0' }]],
    ] as const) {
      expect(codeOf(refusal(edited(model, join(dir, 'bad.onnx'), 'stem.conv1.weight', edit))), name).toBe('R0510');
    }
    expect(codeOf(refusal(edited(model, join(dir, 'gone.onnx'), 'stem.conv1.weight', set('location', 'gone.data'))))).toBe('R0101');
    mkfifo(join(dir, 'pipe.data'));
    expect(codeOf(refusal(edited(model, join(dir, 'pipe.onnx'), 'stem.conv1.weight', set('location', 'pipe.data'))))).toBe('R0811');
  });

  it('through the command line: a coded error and nothing written', async () => {
    const dir = pair();
    writeFileSync(join(dir, 'tiny.resnet'), tinySpec);
    edited(join(dir, 'ext.onnx'), join(dir, 'up.onnx'), 'stem.conv1.weight', set('location', '../ext.onnx.data'));
    const r = await cli('compile', join(dir, 'tiny.resnet'), '-t', 'onnx', '-o', join(dir, 'out.onnx'), '--weights', join(dir, 'up.onnx'));
    expect([r.code, r.stderr]).toEqual([1, expect.stringMatching(/^error\[R0813\]: '.*up\.onnx' names '\.\.\/ext\.onnx\.data', outside its folder/)]);
    expect(existsSync(join(dir, 'out.onnx'))).toBe(false);
  });

  it('checks the range again when it reads: a data file cut short since is R0511, not a short tensor', () => {
    const dir = pair();
    const weights = readOnnxWeightSource(join(dir, 'ext.onnx'), tiny);
    truncateSync(join(dir, 'ext.onnx.data'), 100);
    const e = thrown(() => weights.get('b.block0.conv2.weight'));
    expect([e.code, e.layer]).toEqual(['R0511', 'b.block0.conv2']);
  });
});

describe.skipIf(python !== undefined)('external data against onnx', () => {
  it('needs Python with onnx', () => {
    console.warn(`external data tests against onnx skipped: ${missingPython(['onnx', 'numpy'])}`);
  });
});
