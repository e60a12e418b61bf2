import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileOnnx, emitOnnx, OnnxError, writeOnnxFile } from '../../src/onnx/index.js';
import { onnx, type DecodedTensor } from '../../src/onnx/proto.js';
import { initialWeights, initialWeightSource, modelTensors } from '../../src/weights/init.js';
import { checkText, decodeGraph, randomWeights } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'resnetc-onnx-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const model = checkText(`model tiny {
  input 3x16x16
  classes 5
  stem { conv 3x3 8 stride 2  maxpool 3x3 stride 2 }
  block bottleneck { se 4 }
  shortcut B
  stage conv2 { blocks 2  width 4 }
  stage conv3 { blocks 1  width 8  stride 2 }
}`);

describe('the ONNX file', () => {
  it('streamed to disk is byte for byte the buffer emitOnnx returns, and a valid ModelProto', () => {
    const weights = randomWeights(model, 1);
    const path = join(dir, 'tiny.onnx');
    const size = writeOnnxFile(path, model, weights);
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(size);
    expect(new Uint8Array(bytes)).toEqual(emitOnnx(model, weights));
    expect(onnx.ModelProto.decode(bytes).producerName).toBe('resnetc');
    const graph = decodeGraph(bytes);
    const conv = graph.initializer.find((t) => t.name === 'conv3.block0.conv2.weight') as DecodedTensor;
    expect(conv.dims.map(Number)).toEqual([8, 8, 3, 3]);
    expect(new Float32Array(Uint8Array.from(conv.rawData).buffer)).toEqual(weights.get('conv3.block0.conv2.weight'));
  });

  it('names initialisers as PyTorch names the tensors, in execution order, and nodes after the layers', () => {
    const graph = decodeGraph(emitOnnx(model, randomWeights(model, 1)));
    expect(graph.initializer.map((t) => t.name)).toEqual(modelTensors(model).map((t) => t.name));
    const names = graph.node.map((n) => n.name);
    expect(names.slice(0, 5)).toEqual(['stem.conv1', 'stem.norm1', 'stem.act1', 'stem.pool1', 'conv2.block0.conv1']);
    expect(names).toContain('conv3.block0.shortcut.conv');
    expect(names).toContain('conv3.block0.se');
    expect(names).toContain('conv3.block0.add');
  });

  it('takes an input of any batch size and names its input and output', () => {
    const graph = decodeGraph(emitOnnx(model, randomWeights(model, 1)));
    const dims = (v: (typeof graph.input)[number]): (string | number)[] => v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
    expect(graph.input.map((i) => i.name)).toEqual(['input']);
    expect(dims(graph.input[0]!)).toEqual(['N', 3, 16, 16]);
    expect(graph.output.map((o) => o.name)).toEqual(['output']);
    expect(dims(graph.output[0]!)).toEqual(['N', 5]);
  });

  it('in the inference form has no BatchNormalization and a bias on every convolution', () => {
    const graph = decodeGraph(emitOnnx(model, randomWeights(model, 1), { inference: true }));
    expect(graph.node.filter((n) => n.opType === 'BatchNormalization')).toEqual([]);
    for (const n of graph.node.filter((n) => n.opType === 'Conv')) expect(n.input).toHaveLength(3);
  });

  it('is the same whether the initial weights are computed on demand (compile) or held in a set', () => {
    for (const inference of [false, true]) {
      const path = join(dir, 'compiled.onnx');
      compileOnnx(model, { output: path, seed: 4, zeroInitResidual: true, inference });
      const held = emitOnnx(model, initialWeights(model, { seed: 4, zeroInitResidual: true }), { inference });
      expect(Buffer.compare(readFileSync(path), held), `inference ${inference}`).toBe(0);
      rmSync(path);
    }
  });

  it('is not written at all when the weights lack a tensor', () => {
    const weights = randomWeights(model, 1);
    weights.delete('conv3.block0.shortcut.norm.running_var');
    const path = join(dir, 'missing.onnx');
    expect(() => writeOnnxFile(path, model, weights)).toThrow(OnnxError);
    expect(readdirSync(dir).filter((f) => f.startsWith('.') || f === 'missing.onnx')).toEqual([]);
  });
});

describe('the initial weights', () => {
  const big = checkText('import "resnet50.resnet"\nmodel small extends resnet50 { input 3x32x32 }', 'small');

  it('are the same for the same seed and differ for another', () => {
    const a = initialWeights(big, { seed: 1 });
    const b = initialWeights(big, { seed: 1 });
    const c = initialWeights(big, { seed: 2 });
    const same = (x: Float32Array, y: Float32Array): boolean => Buffer.compare(Buffer.from(x.buffer, x.byteOffset, x.byteLength), Buffer.from(y.buffer, y.byteOffset, y.byteLength)) === 0;
    const differing = [...a].filter(([name, values]) => !same(values, b.get(name)!)).map(([name]) => name);
    expect(differing).toEqual([]);
    expect(same(c.get('conv4.block2.conv2.weight')!, a.get('conv4.block2.conv2.weight')!)).toBe(false);
  });

  it('draw convolutions from Kaiming normal (fan out) and the dense layer from uniform(±1/sqrt(fan in))', () => {
    const w = initialWeights(big, { seed: 0 });
    const conv = w.get('conv4.block0.conv2.weight')!; // 256x256x3x3: fan out 2304
    const mean = conv.reduce((a, v) => a + v, 0) / conv.length;
    const std = Math.sqrt(conv.reduce((a, v) => a + (v - mean) ** 2, 0) / conv.length);
    expect(Math.abs(mean)).toBeLessThan(1e-3);
    expect(std / Math.sqrt(2 / 2304)).toBeCloseTo(1, 2);
    // The tails are normal too: about 0.27% beyond three standard deviations.
    const beyond = conv.filter((v) => Math.abs(v) > 3 * std).length / conv.length;
    expect(beyond).toBeGreaterThan(0.0018);
    expect(beyond).toBeLessThan(0.0036);
    // Kolmogorov-Smirnov against the normal CDF (Abramowitz and Stegun 7.1.26 for erf), at the 1% level.
    const erf = (x: number): number => {
      const t = 1 / (1 + 0.3275911 * Math.abs(x));
      const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
      return x >= 0 ? y : -y;
    };
    const sorted = Float64Array.from(conv, (v) => v / Math.sqrt(2 / 2304)).sort();
    let ks = 0;
    for (let i = 0; i < sorted.length; i++) ks = Math.max(ks, Math.abs((i + 1) / sorted.length - 0.5 * (1 + erf(sorted[i]! / Math.SQRT2))));
    expect(ks).toBeLessThan(1.63 / Math.sqrt(sorted.length));
    const fc = w.get('head.fc.weight')!;
    const bound = 1 / Math.sqrt(2048);
    const largest = fc.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(largest).toBeLessThanOrEqual(bound);
    expect(largest).toBeGreaterThan(bound * 0.99);
  });

  it('fold a norm that scales every channel alike into the sampling, bit for bit as a pass over the weights would', () => {
    const source = initialWeightSource(big, { seed: 3 });
    const name = 'conv3.block1.conv2.weight'; // 128 output channels
    const plain = source.get(name)!;
    const a = 1 / Math.sqrt(1 + 1e-5);
    const folded = source.scaling!.scaled(name, a)!;
    const afterwards = Float32Array.from(plain, (v) => v * a);
    expect(Buffer.from(folded.buffer).equals(Buffer.from(afterwards.buffer))).toBe(true);
    expect(source.scaling!.scaled(name, 0)!.every((v) => v === 0)).toBe(true);
    // Any other tensor is drawn, then multiplied: the same bits too.
    const fc = source.scaling!.scaled('head.fc.weight', a)!;
    expect(Buffer.from(fc.buffer).equals(Buffer.from(Float32Array.from(source.get('head.fc.weight')!, (v) => v * a).buffer))).toBe(true);
    expect(source.scaling!.scaled('no.such.weight', a)).toBeUndefined();
  });

  it('start each residual branch at zero with --zero-init-residual', () => {
    const w = initialWeights(big, { seed: 0, zeroInitResidual: true });
    expect(w.get('conv3.block1.norm3.weight')!.every((v) => v === 0)).toBe(true);
    expect(w.get('conv3.block1.norm2.weight')!.every((v) => v === 1)).toBe(true);
  });
});
