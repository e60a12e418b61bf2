import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as esbuild from 'esbuild';

/**
 * The fault harness: runs resnetc as users do, in processes of its own (the command line and
 * the language server), with a time limit, and judges what comes back. A fault is any of:
 * an internal error (R0000, exit 70), a stack trace in the output, a crash (a signal, the
 * server's process ending), or a run past its limit (killed there). Every other outcome —
 * success, or a coded error with exit 1 or 2 — is the tool doing its job.
 *
 * The processes run a fresh transpile of src/ (esbuild, some 0.2 s once per test file) rather
 * than tsx, which costs over a second each start; the code is the same, the types stripped.
 */

export const root = join(import.meta.dirname, '..', '..');

/** The time a command (or a language server request) may take before it counts as a hang. */
export const hangLimitMs = 10_000;

let built: Promise<string> | undefined;

/**
 * src/ transpiled to JavaScript under node_modules/.cache (so bare imports resolve from the
 * project's node_modules), with package.json beside it for the version and `"type": "module"`.
 * Once per process; removed when the process ends. Returns the folder holding `src/`.
 */
export function transpiledCli(): Promise<string> {
  built ??= (async () => {
    const cache = join(root, 'node_modules', '.cache');
    mkdirSync(cache, { recursive: true });
    // Copies left by runs that were killed: those over an hour old (others may be in use).
    for (const old of readdirSync(cache).filter((f) => f.startsWith('resnetc-faults-'))) {
      if (Date.now() - statSync(join(cache, old)).mtimeMs > 3_600_000) rmSync(join(cache, old), { recursive: true, force: true });
    }
    const dir = mkdtempSync(join(cache, 'resnetc-faults-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    const sources = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(root, 'src', f));
    await esbuild.build({ entryPoints: sources, outdir: join(dir, 'src'), outbase: join(root, 'src'), format: 'esm', platform: 'node', target: 'node20', logLevel: 'silent' });
    copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
    return dir;
  })();
  return built;
}

/** Removes the transpiled copy now (tests call it when done; it is also removed at exit). */
export function removeTranspiled(): void {
  void built?.then((dir) => rmSync(dir, { recursive: true, force: true }));
  built = undefined;
}

export interface Run {
  /** The exit code, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Killed at the limit. */
  timedOut: boolean;
}

/** Waits for a child process, killing it at `limitMs`. */
export function finish(child: ChildProcess, limitMs: number): Promise<Run> {
  const started = performance.now();
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => void (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => void (stderr += d));
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started, timedOut });
    });
  });
}

/** `resnetc ARGS` in a process of its own, killed at `limitMs`. */
export async function runCli(args: string[], options: { cwd?: string; limitMs?: number; env?: Record<string, string> } = {}): Promise<Run> {
  const dir = await transpiledCli();
  const child = spawn(process.execPath, [join(dir, 'src', 'cli', 'main.js'), ...args], {
    cwd: options.cwd ?? root,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return finish(child, options.limitMs ?? hangLimitMs);
}

/**
 * A module's function timed in a process of its own: `code` is the body of an async function
 * that gets `load(path)` (a module of src/, e.g. `syntax/tokens.js`) and returns what to
 * report; the process is killed at `limitMs`, so a quadratic case costs the limit, not its
 * own time. Resolves to what the code returned, with the milliseconds it took.
 */
export async function timedInProcess<T>(code: string, limitMs: number): Promise<{ value: T | undefined; ms: number; run: Run }> {
  const dir = await transpiledCli();
  const script = `
    const load = (p) => import(${JSON.stringify(`file://${join(dir, 'src')}/`)} + p);
    const value = await (async (load) => { ${code} })(load);
    process.stdout.write(JSON.stringify({ value }));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const run = await finish(child, limitMs);
  const value = run.code === 0 ? (JSON.parse(run.stdout) as { value: T }).value : undefined;
  return { value, ms: run.ms, run };
}

/** What makes a run a fault; empty when there is none. */
export function faultsOf(run: Run, what = 'the command'): string[] {
  const faults: string[] = [];
  const output = run.stdout + run.stderr;
  if (run.timedOut) faults.push(`${what} ran past ${hangLimitMs / 1000} s and was killed`);
  else if (run.signal) faults.push(`${what} was ended by ${run.signal}`);
  else if (run.code !== 0 && run.code !== 1 && run.code !== 2) faults.push(`${what} exited with ${run.code}`);
  if (/R0000/.test(output)) faults.push(`${what} reported an internal error (R0000)`);
  if (hasStackTrace(output)) faults.push(`${what} printed a stack trace`);
  if (run.code !== null && run.code !== 0 && !/(?:error|warning)\[R\d{4}\]|"code": "R\d{4}"/.test(output)) faults.push(`${what} failed without a coded error`);
  return faults;
}

/** A JavaScript stack trace (`    at f (file.js:1:2)`) or an uncaught error's banner. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+[(\s]\S+:\d+:\d+\)?$/m.test(text) || /^(?:Uncaught |node:internal)|^\w*Error: .*\n\s+at /m.test(text);
}

/** A path for messages: relative to the project when inside it. */
export function shown(path: string): string {
  const rel = relative(root, path);
  return rel.startsWith('..') ? path : rel;
}
