import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { overlayHost } from '../../src/check/host.js';
import { Workspace } from '../../src/check/workspace.js';
import { layerTensors, tensorSize } from '../../src/model/tensors.js';
import type { CheckedModel } from '../../src/model/types.js';
import { walkLayers } from '../../src/model/walk.js';
import { onnx, type DecodedGraph } from '../../src/onnx/proto.js';
import type { WeightSet } from '../../src/weights/init.js';
import { OnnxError } from '../../src/onnx/errors.js';

export const specsDir = resolve(import.meta.dirname, '../../specs');

/**
 * Checks spec text as if it were a file in specs/ (so `import "resnet50.resnet"` finds the
 * zoo), without writing it anywhere; fails the test on any error.
 */
export function checkText(text: string, name?: string): CheckedModel {
  const path = resolve(specsDir, '__onnx_test__.resnet');
  const file = new Workspace(overlayHost(new Map([[path, text]]))).check(path)!;
  const errors = file.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((d) => `${d.code}: ${d.message}`).join('\n'));
  const model = name ? file.models.find((m) => m.name === name) : file.models[0];
  if (!model) throw new Error(`no model ${name ?? ''}`);
  return model;
}

/** A small deterministic generator for test data (not the code under test's). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/**
 * Weights that exercise everything: convolution weights scaled to keep activations near 1,
 * and norms with non-trivial scale, shift and running statistics (so folding matters).
 */
export function randomWeights(model: CheckedModel, seed: number): WeightSet {
  const rand = lcg(seed);
  const u = (lo: number, hi: number): number => lo + (hi - lo) * rand();
  const weights: WeightSet = new Map();
  for (const { layer } of walkLayers(model)) {
    for (const t of layerTensors(layer)) {
      const data = new Float32Array(tensorSize(t.shape));
      const fanIn = tensorSize(t.shape.slice(1));
      for (let i = 0; i < data.length; i++) {
        switch (t.role) {
          case 'weight':
            data[i] = u(-1, 1) * Math.sqrt(3 / fanIn);
            break;
          case 'bias':
          case 'norm_shift':
            data[i] = u(-0.2, 0.2);
            break;
          case 'norm_scale':
            data[i] = u(0.5, 1.5);
            break;
          case 'running_mean':
            data[i] = u(-0.3, 0.3);
            break;
          case 'running_var':
            data[i] = u(0.5, 1.5);
            break;
        }
      }
      weights.set(t.name, data);
    }
  }
  return weights;
}

export function randomInput(batch: number, c: number, h: number, w: number, seed = 7): Float32Array {
  const rand = lcg(seed);
  return Float32Array.from({ length: batch * c * h * w }, () => rand() * 2 - 1);
}

/**
 * Runs an ONNX model in ONNX Runtime on one input; returns its last output's values and
 * dims (a model with `outputs` has several, the last listed last), and every output by name.
 */
export async function runOrt(
  bytes: Uint8Array,
  input: Float32Array,
  dims: number[],
): Promise<{ data: Float32Array; dims: readonly number[]; outputs: Record<string, { data: Float32Array; dims: readonly number[] }> }> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const results = await session.run({ input: new ort.Tensor('float32', input, dims) });
    const outputs = Object.fromEntries(session.outputNames.map((n) => [n, { data: results[n]!.data as Float32Array, dims: results[n]!.dims }]));
    const out = outputs[session.outputNames[session.outputNames.length - 1]!]!;
    return { data: out.data, dims: out.dims, outputs };
  } finally {
    await session.release();
  }
}

/** The largest difference relative to the largest magnitude of the expected values. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / scale;
}

/** An ONNX file's graph, decoded by onnx-proto (every repeated field present). */
export function decodeGraph(bytes: Uint8Array): DecodedGraph {
  return onnx.ModelProto.decode(bytes).graph as DecodedGraph;
}

/** The OnnxError a function throws; fails the test when it throws nothing or something else. */
export function thrown(f: () => unknown): OnnxError {
  try {
    f();
  } catch (e) {
    if (e instanceof OnnxError) return e;
    throw e;
  }
  throw new Error('expected an OnnxError');
}
