import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileOnnx, emitOnnx, importOnnxWeights } from '../../src/onnx/index.js';
import { onnx } from '../../src/onnx/proto.js';
import { initialWeights } from '../../src/weights/init.js';
import { openWeightSource } from '../../src/weights/open.js';
import { checkText, lcg, randomInput, randomWeights, relativeError, runOrt, thrown } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'resnetc-onnx-weights-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tiny = (block: string, shortcut: string, extra = ''): string => `model tiny {
  input 3x12x12
  classes 4
  stem { conv 3x3 8 }
  block ${block}
  shortcut ${shortcut}
  stage a { blocks 2  width 8 }
  stage b { blocks 1  width 16  stride 2 }
  ${extra}
}`;

const specs = {
  'bottleneck with SE and shortcut D': tiny('bottleneck { se 4 }', 'D'),
  'pre-activation bottleneck with shortcut C': tiny('preact-bottleneck { groups 2  width_per_group 32 }', 'C'),
  'basic with shortcut A': tiny('basic', 'A'),
};

describe('--weights: weights from another ONNX file, matched by place', () => {
  for (const [what, spec] of Object.entries(specs)) {
    it(`round-trips a seed-1 export into a seed-2 compile with identical outputs (${what})`, async () => {
      const model = checkText(spec);
      const seed1 = join(dir, 'seed1.onnx');
      const seed2 = join(dir, 'seed2.onnx');
      const imported = join(dir, 'imported.onnx');
      compileOnnx(model, { output: seed1, seed: 1 });
      compileOnnx(model, { output: seed2, seed: 2 });
      compileOnnx(model, { output: imported, weights: await openWeightSource(seed1, model) });
      const input = randomInput(2, 3, 12, 12);
      const run = async (path: string): Promise<Float32Array> => (await runOrt(readFileSync(path), input, [2, 3, 12, 12])).data;
      const [a, b, c] = [await run(seed1), await run(seed2), await run(imported)];
      expect(Array.from(c)).toEqual(Array.from(a));
      expect(Array.from(b)).not.toEqual(Array.from(a));
    });
  }

  it('gives back every tensor exactly, running statistics included', () => {
    const model = checkText(specs['bottleneck with SE and shortcut D']);
    const weights = randomWeights(model, 5);
    const back = importOnnxWeights(emitOnnx(model, weights), model);
    expect([...back.keys()].sort()).toEqual([...weights.keys()].sort());
    for (const [name, values] of weights) expect(back.get(name), name).toEqual(values);
  });

  it('matches by place, not by names or file order, even where a shortcut and the branch share shapes', () => {
    // expansion 1 and shortcut C: conv1, conv3 and the shortcut's conv are all 1x1 8->8.
    const model = checkText(tiny('bottleneck { expansion 1 }', 'C').replace('width 16  stride 2', 'width 8'));
    const weights = randomWeights(model, 9);
    const decoded = onnx.ModelProto.decode(emitOnnx(model, weights));
    const graph = decoded.graph!;
    // Rename every value and tensor as PyTorch's exporter might, and scramble the order of
    // the tensors and of the nodes (the file no longer says which node is which).
    const rand = lcg(4);
    const renamed = new Map<string, string>([['input', 'input'], ['output', 'output']]);
    const rename = (n: string): string => {
      if (!renamed.has(n)) renamed.set(n, `onnx::T_${renamed.size}`);
      return renamed.get(n)!;
    };
    for (const t of graph.initializer!) t.name = rename(t.name!);
    for (const node of graph.node!) {
      node.input = node.input!.map(rename);
      node.output = node.output!.map(rename);
      node.name = '';
    }
    const shuffle = <T>(xs: T[]): T[] => xs.map((x) => [rand(), x] as const).sort((p, q) => p[0] - q[0]).map(([, x]) => x);
    graph.initializer = shuffle(graph.initializer!);
    graph.node = shuffle(graph.node!);
    const back = importOnnxWeights(onnx.ModelProto.encode(decoded).finish(), model);
    for (const [name, values] of weights) expect(back.get(name), name).toEqual(values);
  });

  it('reads a tensor given as an Identity of an equal one, as PyTorch exports equal tensors once', async () => {
    const model = checkText(specs['bottleneck with SE and shortcut D']);
    const weights = initialWeights(model, { seed: 3 });
    const bytes = emitOnnx(model, weights);
    const decoded = onnx.ModelProto.decode(bytes);
    const graph = decoded.graph!;
    // Every tensor equal to an earlier one becomes an Identity of it; the Identity nodes come
    // last, after the nodes that read them, to show that the file's order does not matter.
    const first = new Map<string, string>();
    const kept: typeof graph.initializer = [];
    const aliases: typeof graph.node = [];
    for (const t of graph.initializer!) {
      const key = `${t.dims!.join('x')}:${Buffer.from(t.rawData!).toString('base64')}`;
      const earlier = first.get(key);
      if (earlier === undefined) {
        first.set(key, t.name!);
        kept.push(t);
      } else aliases.push(onnx.NodeProto.create({ opType: 'Identity', input: [earlier], output: [t.name!], name: `alias of ${earlier}` }));
    }
    expect(aliases.length).toBeGreaterThan(10); // the norms: ones, zeros
    graph.initializer = kept;
    graph.node = [...graph.node!, ...aliases];
    const deduplicated = onnx.ModelProto.encode(decoded).finish();
    const back = importOnnxWeights(deduplicated, model);
    for (const [name, values] of weights) expect(back.get(name), name).toEqual(values);
    const input = randomInput(1, 3, 12, 12);
    expect(Array.from((await runOrt(emitOnnx(model, back), input, [1, 3, 12, 12])).data)).toEqual(Array.from((await runOrt(bytes, input, [1, 3, 12, 12])).data));
  });

  it('reports a file of another architecture with the layer where it differs', () => {
    const resnet18 = checkText('import "resnet18.resnet"\nmodel small extends resnet18 { input 3x32x32 }', 'small');
    const resnet34 = checkText('import "resnet34.resnet"\nmodel small extends resnet34 { input 3x32x32 }', 'small');
    const file = emitOnnx(resnet18, initialWeights(resnet18, { seed: 0 }));
    const e = thrown(() => importOnnxWeights(file, resnet34));
    expect(e.code).toBe('R0504');
    expect(e.layer).toBe('conv2.block2.conv1');
    expect(e.message).toMatch(/^conv2\.block2\.conv1: expected a convolution weight of 64x64x3x3; the file's Conv 'conv3\.block0\.conv1' has 128x64x3x3/);
  });

  it('reports a head of another size at the head', () => {
    const four = checkText(specs['basic with shortcut A']);
    const ten = checkText(specs['basic with shortcut A'].replace('classes 4', 'classes 10'));
    const e = thrown(() => importOnnxWeights(emitOnnx(ten, randomWeights(ten, 1)), four));
    expect([e.code, e.layer]).toEqual(['R0504', 'head.fc']);
  });

  it('reports a file that goes on after the spec ends', () => {
    const full = checkText(specs['basic with shortcut A']);
    const features = checkText(specs['basic with shortcut A'].replace('classes 4', ''));
    const e = thrown(() => importOnnxWeights(emitOnnx(full, randomWeights(full, 1)), features));
    expect(e.code).toBe('R0506');
  });

  for (const what of ['basic with shortcut A', 'bottleneck with SE and shortcut D'] as const) {
    it(`takes a file whose norms were folded into its convolutions, each norm rebuilt as what it computed (${what})`, async () => {
      const model = checkText(specs[what]);
      const folded = emitOnnx(model, randomWeights(model, 1), { inference: true }); // as PyTorch's default export
      const back = importOnnxWeights(folded, model);
      expect(back.get('stem.norm1.weight')!.every((v) => v === 1)).toBe(true);
      expect(back.get('a.block0.norm2.running_mean')!.every((v) => v === 0)).toBe(true);
      expect(back.get('a.block0.norm2.running_var')!.every((v) => v === Math.fround(1 - 1e-5))).toBe(true);
      const input = randomInput(2, 3, 12, 12);
      const expected = (await runOrt(folded, input, [2, 3, 12, 12])).data;
      for (const inference of [false, true]) {
        const got = (await runOrt(emitOnnx(model, back, { inference }), input, [2, 3, 12, 12])).data;
        expect(relativeError(got, Array.from(expected)), `inference ${inference}`).toBeLessThan(1e-5);
      }
    });
  }

  it('says where a folded file cannot be read: a norm after an addition is no longer a BatchNormalization', () => {
    const model = checkText(specs['pre-activation bottleneck with shortcut C']);
    const e = thrown(() => importOnnxWeights(emitOnnx(model, randomWeights(model, 1), { inference: true }), model));
    expect(e.code).toBe('R0503');
    expect(e.message).toMatch(/expected a BatchNormalization of \d+ channels; the file has Mul/);
  });

  it('reads float64 weights, and refuses weights stored outside the file', () => {
    const model = checkText(specs['basic with shortcut A']);
    const weights = randomWeights(model, 2);
    const decoded = onnx.ModelProto.decode(emitOnnx(model, weights));
    const stem = decoded.graph!.initializer!.find((t) => t.name === 'stem.conv1.weight')!;
    stem.dataType = 11; // DOUBLE
    stem.rawData = new Uint8Array(Float64Array.from(weights.get('stem.conv1.weight')!).buffer);
    expect(importOnnxWeights(onnx.ModelProto.encode(decoded).finish(), model).get('stem.conv1.weight')).toEqual(weights.get('stem.conv1.weight'));
    stem.dataLocation = 1; // EXTERNAL
    stem.rawData = new Uint8Array(0);
    const e = thrown(() => importOnnxWeights(onnx.ModelProto.encode(decoded).finish(), model));
    expect([e.code, e.layer]).toEqual(['R0505', 'stem.conv1']);
  });

  it('refuses bytes that are not an ONNX model', () => {
    const model = checkText(specs['basic with shortcut A']);
    expect(thrown(() => importOnnxWeights(new TextEncoder().encode('model tiny { }'), model)).code).toBe('R0502');
  });
});
