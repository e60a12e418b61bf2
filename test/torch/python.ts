import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pythonWith } from '../../scripts/python.js';

export const python = pythonWith(['torch', 'torchvision']);

/** Runs one of test/torch/py's scripts on a jobs file in one Python process; returns its results. */
export function runJobs<T>(script: string, dir: string, jobs: unknown): T {
  const jobsPath = join(dir, 'jobs.json');
  const resultsPath = join(dir, 'results.json');
  writeFileSync(jobsPath, JSON.stringify(jobs));
  const r = spawnSync(python!, [join(import.meta.dirname, 'py', script), jobsPath, resultsPath], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(readFileSync(resultsPath, 'utf8')) as T;
}

/** A raw little-endian float32 file. */
export function floats(path: string): Float32Array {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export function writeFloats(path: string, values: Float32Array): void {
  writeFileSync(path, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}
