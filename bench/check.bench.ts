import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FileHost } from '../src/check/host.js';
import type { Workspace as WorkspaceType } from '../src/check/workspace.js';
import { generateSpec } from './generate.js';

/**
 * Parse + check, warm, from memory (no disk in the figure): the zoo and a generated 1 MB
 * file. It measures the compiled package in dist/ (what `resnetc` runs), not the sources
 * through tsx, whose transform adds a call to every closure the parser creates.
 */
const dist = resolve(import.meta.dirname, '..', 'dist', 'check', 'workspace.js');
if (!existsSync(dist)) throw new Error('dist/ is missing: run `npm run build` first');
const { Workspace } = (await import(dist)) as { Workspace: typeof WorkspaceType };

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(files: Map<string, string>, roots: string[], runs: number): { ms: number; min: number; models: number } {
  const host: FileHost = { readFile: (p) => files.get(p) };
  let models = 0;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const workspace = new Workspace(host); // fresh: nothing cached from the last run
    const start = performance.now();
    models = 0;
    for (const root of roots) {
      const checked = workspace.check(root)!;
      if (checked.diagnostics.some((d) => d.severity === 'error')) throw new Error(`${root} has errors`);
      models += checked.models.length;
    }
    samples.push(performance.now() - start);
  }
  return { ms: median(samples), min: Math.min(...samples), models };
}

export async function run(): Promise<void> {
  const specs = resolve(import.meta.dirname, '..', 'specs');
  const zoo = new Map<string, string>();
  for (const f of readdirSync(specs).filter((f) => f.endsWith('.resnet'))) zoo.set(join(specs, f), readFileSync(join(specs, f), 'utf8'));
  const zooBytes = [...zoo.values()].reduce((a, t) => a + Buffer.byteLength(t), 0);
  time(zoo, [...zoo.keys()], 20); // warm-up: JIT and the parser's lookahead tables
  const z = time(zoo, [...zoo.keys()], 50);

  const big = generateSpec(1 << 20);
  const bigPath = join(specs, '__bench_1mb__.resnet');
  const bigFiles = new Map([[bigPath, big]]);
  time(bigFiles, [bigPath], 3);
  const b = time(bigFiles, [bigPath], 10);
  const bigBytes = Buffer.byteLength(big);

  const row = (label: string, r: { ms: number; min: number; models: number }, bytes: number, goal: number): string =>
    `${label.padEnd(26)} median ${r.ms.toFixed(2).padStart(8)} ms (min ${r.min.toFixed(2)})  ${(bytes / 1e6 / (r.ms / 1000)).toFixed(2).padStart(6)} MB/s  ${String(r.models).padStart(5)} models  goal < ${goal} ms: ${(r.ms / goal).toFixed(2)} of it`;
  console.log('parse + check, warm, from memory, compiled (dist/)');
  console.log(row(`zoo (${zoo.size} files, ${(zooBytes / 1024).toFixed(1)} KB)`, z, zooBytes, 20));
  console.log(row(`generated ${(bigBytes / 1e6).toFixed(2)} MB`, b, bigBytes, 300));
}
