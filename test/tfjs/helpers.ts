import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Workspace } from '../../src/check/workspace.js';
import type { CheckedModel } from '../../src/model/types.js';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { WeightSet } from '../../src/weights/init.js';

export const specsDir = join(import.meta.dirname, '..', '..', 'specs');

let scratch: string | undefined;

/** A fresh temporary directory for this test run. */
export function tempDir(prefix = 'resnetc-tfjs-'): string {
  scratch ??= mkdtempSync(join(tmpdir(), prefix));
  return mkdtempSync(join(scratch, 'd'));
}

/** Checks a spec given as text; throws with its diagnostics when it has errors. */
export function checkText(text: string, name?: string): CheckedModel {
  const dir = tempDir();
  const path = join(dir, 'spec.resnet');
  writeFileSync(path, text);
  const file = new Workspace().check(path)!;
  const errors = file.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join('\n'));
  const model = name ? file.models.find((m) => m.name === name) : file.models[0];
  if (!model) throw new Error(`no model ${name ?? ''}`);
  return model;
}

/** A model of specs/FILE, extended with a smaller input (expect lines are not inherited). */
export function smallModel(file: string, model: string, input: string): CheckedModel {
  return checkText(`import "${join(specsDir, file)}"\nmodel small_${model} extends ${model} {\n  input ${input}\n}\n`, `small_${model}`);
}

/** Makes every tensor of a weight set non-trivial: norms get random scales, shifts and running statistics. */
export function perturbNorms(weights: WeightSet, seed = 7): WeightSet {
  const rng = xoroshiro128plus(seed);
  const u = (): number => (rng.next() >>> 0) / 4294967296;
  const out: WeightSet = new Map();
  for (const [name, data] of weights) {
    const copy = data.slice();
    if (name.endsWith('running_var')) for (let i = 0; i < copy.length; i++) copy[i] = 0.5 + u();
    else if (name.endsWith('running_mean')) for (let i = 0; i < copy.length; i++) copy[i] = (u() - 0.5) * 0.2;
    else if (copy.length === data.length && /norm\d*\.weight$|\.norm\.weight$/.test(name)) for (let i = 0; i < copy.length; i++) copy[i] = 0.5 + u();
    else if (/norm\d*\.bias$|\.norm\.bias$/.test(name)) for (let i = 0; i < copy.length; i++) copy[i] = (u() - 0.5) * 0.2;
    out.set(name, copy);
  }
  return out;
}

/** Deterministic pseudo-random values in [0, 1). */
export function randomImages(count: number, seed = 3): Float32Array {
  const rng = xoroshiro128plus(seed);
  return Float32Array.from({ length: count }, () => (rng.next() >>> 0) / 4294967296);
}

/** max |a - b| / max |b|. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}
