import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingPython, pythonWith } from '../scripts/python.js';
import { type ConcreteBackend, preference } from '../src/tfjs/backend.js';
import { wasmThreads } from '../src/tfjs/wasm-threads.js';
import type { TrainMeasurement } from './tfjs-train.js';

/**
 * Training images/s of the CIFAR ResNet-20 spec at batch 64 on every backend that loads,
 * the compiled model trained as `resnetc train` trains it:
 *
 * - against a hand-written tfjs ResNet-20 trained the idiomatic tfjs way on the same backend
 *   in the same process (goal: ratio >= 0.95);
 * - against PyTorch on the CPU (bench/tfjs_torch_resnet20.py, the same network and SGD step,
 *   1 thread and every core), where a Python with torch is found (scripts/python.ts), in the
 *   same rounds (goal: at least 1/5 of PyTorch's best): best against best, and wasm on one
 *   thread against PyTorch on one thread, of wall-clock time and of the processes' CPU time
 *   (images per CPU-second: what a shared machine's load changes least);
 * - and where the time of a wasm step (one thread) goes: forward, backward, optimizer, and
 *   the kernels (each timed apart) that take it.
 *
 * Each tfjs measurement runs in a process of its own (bench/tfjs-train.ts), wasm once on one
 * thread and once on every core (RESNETC_WASM_THREADS). The machine this project runs on is
 * shared: measurements are taken in rounds, tfjs and PyTorch alternating, and the medians
 * reported, with the ratio of each round's (tfjs and PyTorch measured within a minute of
 * each other) and the load average.
 *
 * `BENCH_TFJS_BACKENDS=wasm,cpu` limits the backends; `BENCH_TFJS_ROUNDS` (3). The pure-JS
 * cpu backend needs minutes for a step at batch 64, so it is timed over one step of
 * BENCH_TFJS_CPU_BATCH images (8 unless set), once.
 */

const here = dirname(fileURLToPath(import.meta.url));
const batch = 64;
const rounds = Number(process.env['BENCH_TFJS_ROUNDS'] ?? 3);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const rate = (x: number): string => x.toFixed(x < 10 ? 3 : 1);
const load = (): string => loadavg()[0]!.toFixed(1);

interface Config {
  backend: ConcreteBackend;
  threads?: number;
  batch: number;
  steps: number;
}

const label = (c: Config): string => `${c.backend}${c.threads ? ` (${c.threads} thread${c.threads === 1 ? '' : 's'})` : ''}`;

/** One measurement in its own process; undefined (with the reason printed) when the backend does not load. */
function measure(c: Config, profile = false): TrainMeasurement | undefined {
  const env = { ...process.env, ...(c.threads ? { RESNETC_WASM_THREADS: String(c.threads) } : {}) };
  const args = ['--import', 'tsx', join(here, 'tfjs-train.ts'), c.backend, String(c.batch), String(c.steps), ...(profile ? ['--profile'] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env, timeout: 1_800_000 });
  const line = r.stdout?.trim().split('\n').pop() ?? '';
  if (r.status === 0 && line.startsWith('{')) return JSON.parse(line) as TrainMeasurement;
  const reason = /backend '[^']+' is not available: ([^\n]*)/.exec(r.stderr ?? '')?.[1] ?? (r.stderr ?? '').trim().split('\n').slice(-1)[0];
  console.log(`${label(c)}: not measured (${reason})`);
  return undefined;
}

/** PyTorch's images/s on `threads` threads: of wall-clock time, and of the process's CPU time. */
function pytorch(threads: number): { wall: number; cpu: number } | undefined {
  const python = pythonWith(['torch']);
  if (!python) return undefined;
  const r = spawnSync(python, [join(here, 'tfjs_torch_resnet20.py'), String(threads), String(batch)], { encoding: 'utf8', timeout: 300_000 });
  const m = /([\d.]+) images\/s, ([\d.]+) per CPU-second/.exec(r.stdout ?? '');
  return m ? { wall: Number(m[1]), cpu: Number(m[2]) } : undefined;
}

/** Which backends load, and the configurations measured in every round (the cpu backend is measured once, apart). */
function configurations(): { rounds: Config[]; cpu?: Config } {
  const wanted = (process.env['BENCH_TFJS_BACKENDS']?.split(',') as ConcreteBackend[] | undefined) ?? preference;
  const out: Config[] = [];
  let cpu: Config | undefined;
  for (const backend of wanted) {
    if (backend === 'cpu') cpu = { backend, batch: Number(process.env['BENCH_TFJS_CPU_BATCH'] ?? 8), steps: 1 };
    else if (backend === 'wasm') {
      const cores = wasmThreads({});
      out.push({ backend, threads: 1, batch, steps: 3 });
      if (cores > 1) out.push({ backend, threads: cores, batch, steps: 3 });
    } else out.push({ backend, batch, steps: 3 });
  }
  return { rounds: out, ...(cpu ? { cpu } : {}) };
}

function printProfile(m: TrainMeasurement): void {
  const p = m.profile!;
  const pct = (ms: number): string => `${((100 * ms) / p.stepMs).toFixed(1).padStart(5)}%`;
  const ms = (x: number): string => `${x.toFixed(1).padStart(7)} ms`;
  console.log(`\nwhere a ${label({ backend: m.backend, threads: m.threads, batch: m.batch, steps: 0 })} step goes, batch ${m.batch}: ${p.stepMs.toFixed(0)} ms (kernels timed one by one)`);
  for (const [phase, t] of Object.entries(p.phases)) console.log(`  ${phase.padEnd(26)}${ms(t)} ${pct(t)}`);
  console.log('  top kernels (own time, all phases):');
  const inKernels = p.kernels.reduce((s, k) => s + k.ms, 0);
  for (const k of p.kernels.slice(0, 12)) console.log(`    ${k.kernel.padEnd(24)}${ms(k.ms)} ${pct(k.ms)}  ${String(Math.round(k.calls)).padStart(4)} calls${describe[k.kernel] ? `  ${describe[k.kernel]}` : ''}`);
  const rest = p.kernels.slice(12).reduce((s, k) => s + k.ms, 0);
  console.log(`    ${'other kernels'.padEnd(24)}${ms(rest)} ${pct(rest)}`);
  console.log(`    ${'outside kernels'.padEnd(24)}${ms(p.stepMs - inKernels)} ${pct(p.stepMs - inKernels)}        tfjs's bookkeeping (tape, scopes, layers) and JavaScript`);
}

/** What each kernel of a ResNet-20 step is there for. */
const describe: Record<string, string> = {
  FusedConv2D: 'forward convolutions (XNNPACK)',
  Conv2D: "convolutions' input gradients, as convolutions of dy (XNNPACK); shortcut A",
  Conv2DBackpropFilter: "convolutions' filter gradients (kernels.wat's filter_grad; the stem: im2col)",
  BatchMatMul: "the stem's filter gradient, patches x dy (XNNPACK); the head",
  Conv2DBackpropInput: "input gradients: each phase's filter taps, reassembly (kernels.wat)",
  ResnetcBatchNormTraining: 'batch norm, forward (kernels.wat)',
  ResnetcBatchNormSums: "batch norm's γ and β gradients (kernels.wat)",
  ResnetcBatchNormInputGrad: "batch norm's input gradient (kernels.wat)",
  ResnetcReluGrad: "ReLU's gradient (kernels.wat)",
  Relu: 'ReLU, forward',
  Add: 'residual additions, gradient sums, SGD',
  Multiply: 'SGD (momentum, weight decay, learning rate)',
  Slice: "zero padding's gradient (by contiguous runs)",
  PadV2: 'zero padding before strided convolutions',
};

export async function run(): Promise<void> {
  const { rounds: configs, cpu } = configurations();
  const torchThreads = [1, availableParallelism()].filter((v, i, a) => a.indexOf(v) === i);
  const python = pythonWith(['torch']);
  if (!python) console.log(`PyTorch: ${missingPython(['torch'])}; no comparison`);
  const tfjs = new Map<string, TrainMeasurement[]>();
  const torch = new Map<number, { wall: number; cpu: number }[]>();
  // Per round: best tfjs / best PyTorch; wasm on 1 thread / PyTorch on 1 thread, of wall-clock and of CPU time.
  const ratios = { best: [] as number[], oneThread: [] as number[], oneThreadCpu: [] as number[] };
  const loads: number[] = [];
  const skip = new Set<string>();
  for (let r = 0; r < rounds; r++) {
    loads.push(loadavg()[0]!);
    const head = `round ${r + 1} (load ${load()}):`;
    const line: string[] = [];
    let bestTfjs = 0;
    let oneThread: TrainMeasurement | undefined;
    for (const c of configs) {
      if (skip.has(label(c))) continue;
      const m = measure(c);
      if (!m) {
        skip.add(label(c));
        continue;
      }
      tfjs.set(label(c), [...(tfjs.get(label(c)) ?? []), m]);
      line.push(`${label(c)} ${rate(m.generated)}${c.threads === 1 ? ` (${rate(m.generatedCpu)} per CPU-s)` : ''}`);
      bestTfjs = Math.max(bestTfjs, m.generated);
      if (c.threads === 1) oneThread = m;
    }
    let bestTorch = 0;
    for (const t of python ? torchThreads : []) {
      const v = pytorch(t);
      if (v === undefined) continue;
      torch.set(t, [...(torch.get(t) ?? []), v]);
      line.push(`PyTorch ${t}T ${rate(v.wall)}${t === 1 ? ` (${rate(v.cpu)} per CPU-s)` : ''}`);
      bestTorch = Math.max(bestTorch, v.wall);
      if (t === 1 && oneThread) {
        ratios.oneThread.push(oneThread.generated / v.wall);
        ratios.oneThreadCpu.push(oneThread.generatedCpu / v.cpu);
      }
    }
    if (bestTfjs > 0 && bestTorch > 0) ratios.best.push(bestTfjs / bestTorch);
    console.log(`${head} ${line.join(', ')} images/s`);
  }

  console.log(`\ntraining images/s, ResNet-20, batch ${batch}, median of ${rounds} rounds (load average ${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)}):`);
  for (const [name, ms] of tfjs) {
    const g = median(ms.map((m) => m.generated));
    const h = median(ms.map((m) => m.handWritten));
    console.log(`  ${name.padEnd(20)} resnetc ${rate(g)}, hand-written tfjs ${rate(h)}: ratio ${(g / h).toFixed(3)} (goal >= 0.95)`);
  }
  for (const [t, vs] of torch) console.log(`  PyTorch CPU (${t} thread${t === 1 ? '' : 's'}) ${rate(median(vs.map((v) => v.wall)))}`);
  const asRatio = (x: number): string => `${x.toFixed(3)} (1/${(1 / x).toFixed(1)})`;
  if (ratios.best.length > 0) {
    const best = Math.max(...[...torch.values()].map((vs) => median(vs.map((v) => v.wall))));
    for (const [name, ms] of tfjs) console.log(`  ${name} vs PyTorch's best: ${asRatio(median(ms.map((m) => m.generated)) / best)}`);
    console.log(`  medians of the rounds' ratios (goal >= 1/5):`);
    console.log(`    best tfjs vs best PyTorch             ${asRatio(median(ratios.best))}`);
  }
  if (ratios.oneThread.length > 0) {
    console.log(`    wasm 1 thread vs PyTorch 1 thread     ${asRatio(median(ratios.oneThread))}`);
    console.log(`    the same, images per CPU-second       ${asRatio(median(ratios.oneThreadCpu))}  (the least dependent on load)`);
  }

  // Where the time goes: the backend `auto` prefers among those measured; wasm on one thread, whose
  // kernels' times do not depend on how busy the other cores are (XNNPACK's workers wait for each other).
  const profiled = configs.find((c) => tfjs.has(label(c)) && (c.backend !== 'wasm' || c.threads === 1));
  if (profiled) {
    const m = measure({ ...profiled, steps: 2 }, true);
    if (m?.profile) printProfile(m);
  }

  if (cpu) {
    const m = measure(cpu);
    if (m) console.log(`\ncpu (batch ${m.batch}, one step): resnetc ${rate(m.generated)}, hand-written ${rate(m.handWritten)} images/s, ratio ${(m.generated / m.handWritten).toFixed(3)}`);
  }
  console.log(`auto prefers ${preference.join(' > ')}: wasm is the fastest backend that always loads`);
}
