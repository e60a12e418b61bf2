import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingPython, pythonWith } from '../scripts/python.js';
import * as ort from 'onnxruntime-node';
import type { Workspace as WorkspaceType } from '../src/check/workspace.js';
import type { CheckedModel } from '../src/model/types.js';
import type { compileOnnx as CompileOnnx } from '../src/onnx/index.js';
import { onnx, type DecodedGraph } from '../src/onnx/proto.js';

/**
 * `npm run bench -- onnx`: how fast resnetc writes ONNX and how fast ONNX Runtime runs it,
 * beside PyTorch's exporter and its file where Debian's python3-torchvision is installed.
 * Goals: resnet152 exported at least 10x faster than torch.onnx.export; ONNX Runtime
 * latency of our --inference resnet50 within 2% of PyTorch's (constant-folded) export.
 */
const here = dirname(fileURLToPath(import.meta.url));
// The compiled package (dist/, built by `npm run bench`), as `resnetc compile` runs it.
const { Workspace } = (await import(join(here, '..', 'dist', 'check', 'workspace.js'))) as { Workspace: typeof WorkspaceType };
const { compileOnnx } = (await import(join(here, '..', 'dist', 'onnx', 'index.js'))) as { compileOnnx: typeof CompileOnnx };

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ms = (x: number): string => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

function model(name: string): CheckedModel {
  const file = new Workspace().check(join(here, '..', 'specs', `${name}.resnet`))!;
  return file.models.find((m) => m.name === name)!;
}

interface Export {
  seconds: number;
  /** CPU time (user + system) of the same runs: less sensitive to other jobs on the machine. */
  cpuSeconds: number;
  bytes: number;
}

/**
 * What `resnetc compile` does after checking: initialise the weights and stream the file; the
 * median of `runs`. Each run writes a new file, as PyTorch's export below does: replacing a
 * 240 MB file makes the kernel free the old one's pages inside the rename (about 100 ms here),
 * a cost of the file system, not of either exporter.
 */
function exportTimed(m: CheckedModel, path: string, inference: boolean, runs = 5): Export {
  const times: number[] = [];
  const cpu: number[] = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    rmSync(path, { force: true });
    const start = performance.now();
    const startCpu = process.cpuUsage();
    bytes = compileOnnx(m, { output: path, inference, seed: 0 }).bytes;
    const used = process.cpuUsage(startCpu);
    times.push((performance.now() - start) / 1000);
    cpu.push((used.user + used.system) / 1e6);
  }
  return { seconds: median(times), cpuSeconds: median(cpu), bytes };
}

async function session(path: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path, { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
}

/** Latency (ms: median and minimum) of each session on one 224x224 image, runs interleaved so that both see the same machine. */
async function latencies(sessions: ort.InferenceSession[], rounds = 80): Promise<{ median: number; min: number }[]> {
  const input = new ort.Tensor('float32', Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i)), [1, 3, 224, 224]);
  const times: number[][] = sessions.map(() => []);
  for (const s of sessions) for (let i = 0; i < 5; i++) await s.run({ input });
  for (let r = 0; r < rounds; r++) {
    for (const [i, s] of sessions.entries()) {
      const start = performance.now();
      await s.run({ input });
      times[i]!.push(performance.now() - start);
    }
  }
  return times.map((t) => ({ median: median(t), min: Math.min(...t) }));
}

/** The operators of an ONNX file and how often each occurs, e.g. `Add 16, Conv 53, …`. */
function operators(path: string): string {
  const counts = new Map<string, number>();
  for (const n of decodeGraph(readFileSync(path)).node) counts.set(n.opType!, (counts.get(n.opType!) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([op, n]) => `${op} ${n}`).join(', ');
}

function decodeGraph(bytes: Uint8Array): DecodedGraph {
  return onnx.ModelProto.decode(bytes).graph as DecodedGraph;
}

interface TorchResult {
  torch: string;
  torchvision: string;
  models: Record<string, { build_s: number; export_s: number; path: string; bytes: number }>;
}

function torchExport(dir: string, models: string[]): TorchResult | string {
  const python = pythonWith(['torch', 'torchvision']);
  if (!python) return missingPython(['torch', 'torchvision']);
  const out = execFileSync(python, [join(here, 'onnx_torch.py'), dir, ...models], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split('\n').at(-1)!) as TorchResult;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'resnetc-onnx-bench-'));
  console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (other jobs inflate wall times)`);
  try {
    const names = ['resnet50', 'resnet152'];
    const ours = new Map<string, Export>();
    for (const name of names) {
      const m = model(name);
      const start = performance.now();
      model(name);
      const checkMs = performance.now() - start;
      const training = exportTimed(m, join(dir, `${name}.onnx`), false);
      const inference = exportTimed(m, join(dir, `${name}-inference.onnx`), true);
      ours.set(name, inference);
      const line = (what: string, e: Export): string =>
        `${what} ${ms(e.seconds * 1000)} (CPU ${ms(e.cpuSeconds * 1000)}), ${mb(e.bytes)}, ${(e.bytes / 1e6 / e.seconds).toFixed(0)} MB/s`;
      console.log(`resnetc ${name}: check ${ms(checkMs)}; ${line('export with weights', training)}; ${line('--inference', inference)}`);
    }
    console.log(`peak memory (RSS) of the exports: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (the resnet152 weights alone are ${mb(60_192_808 * 4)})`);

    const torch = torchExport(dir, names);
    const oursSession = await session(join(dir, 'resnet50-inference.onnx'));
    if (typeof torch === 'string') {
      const [latency] = await latencies([oursSession]);
      console.log(`ONNX Runtime, our --inference resnet50 (batch 1, 224x224, 2 threads): median ${ms(latency!.median)}, min ${ms(latency!.min)}`);
      console.log(`PyTorch comparison skipped: ${torch}`);
      return;
    }
    console.log(`PyTorch ${torch.torch}, torchvision ${torch.torchvision}:`);
    for (const name of names) {
      const t = torch.models[name]!;
      const o = ours.get(name)!;
      console.log(
        `  torch.onnx.export ${name}: ${ms(t.export_s * 1000)} (+ ${ms(t.build_s * 1000)} to build the model), ${mb(t.bytes)}; ` +
          `resnetc (init + write, --inference) ${ms(o.seconds * 1000)}: ${(t.export_s / o.seconds).toFixed(1)}x faster than the export alone, ${((t.export_s + t.build_s) / o.seconds).toFixed(1)}x with the build (goal >= 10x)`,
      );
    }
    const theirs = await session(torch.models['resnet50']!.path);
    const [mine, pytorch] = await latencies([oursSession, theirs]);
    console.log(
      `ONNX Runtime latency, resnet50 (batch 1, 224x224, 2 threads, 80 interleaved runs): resnetc --inference median ${ms(mine!.median)} (min ${ms(mine!.min)}), ` +
        `PyTorch export median ${ms(pytorch!.median)} (min ${ms(pytorch!.min)}): ratio of medians ${(mine!.median / pytorch!.median).toFixed(3)}, of minima ${(mine!.min / pytorch!.min).toFixed(3)} (goal <= 1.02)`,
    );
    console.log(`  operators, resnetc --inference: ${operators(join(dir, 'resnet50-inference.onnx'))}`);
    console.log(`  operators, PyTorch export:      ${operators(torch.models['resnet50']!.path)} (Identity nodes only alias initialisers)`);
    const bytesOurs = readFileSync(join(dir, 'resnet50-inference.onnx')).length;
    console.log(`  file sizes: resnetc ${mb(bytesOurs)}, PyTorch ${mb(torch.models['resnet50']!.bytes)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
