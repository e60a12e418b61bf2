import * as tf from './tf.js';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';

/**
 * The wasm backend on several threads in Node.
 *
 * tfjs-backend-wasm ships a threaded SIMD build (XNNPACK's convolutions and matrix
 * products split over a pthread pool of Web Workers on a shared memory) but never uses it
 * in Node (its WASM_HAS_MULTITHREAD_SUPPORT flag is false there: tensorflow/tfjs#3830),
 * and it could not start there as shipped: the Emscripten glue starts each pthread as a
 * Worker from a `blob:` URL, which Node's worker_threads refuse, and hands the worker its
 * main script as a Blob it cannot read. Its C++ also caps the pool at half the logical
 * cores (it assumes two hyper-threads a core), so on a 2-core machine it runs on one.
 *
 * `threadedInit` starts it anyway, for the duration of the backend's initialisation only:
 * it sets the flag and the thread count, has `worker_threads.Worker` start a `blob:` worker
 * from the package's own worker source (wasm-out/tfjs-backend-wasm-threaded-simd.worker.js,
 * as code) and send it the path of the package's threaded glue
 * (wasm-out/tfjs-backend-wasm-threaded-simd.js) in place of the Blob, and reports twice the
 * cores to the C++ so that the count asked for is granted. Everything is put back once the
 * backend has started, and the pool's workers are unref'd, so that they never keep a process alive.
 *
 * Results do not depend on the number of threads: XNNPACK splits an operation by output
 * tiles, each computed whole by one thread.
 */

/** tfjs-backend-wasm's pthread pool (its PTHREAD_POOL_SIZE): more threads would need workers started mid-kernel. */
export const maxWasmThreads = 8;

/**
 * The number of threads to ask for: $RESNETC_WASM_THREADS when set (1 = tfjs's own
 * single-threaded build), else the logical cores, at most maxWasmThreads.
 */
export function wasmThreads(env: NodeJS.ProcessEnv = process.env): number {
  const asked = env['RESNETC_WASM_THREADS'];
  const n = asked !== undefined && /^\d+$/.test(asked.trim()) ? Number(asked) : os.availableParallelism();
  return Math.max(1, Math.min(maxWasmThreads, n));
}

type WorkerClass = new (script: string | URL, options?: Record<string, unknown>) => { postMessage(message: unknown, transfer?: unknown): void };

interface LoadMessage {
  cmd?: string;
  urlOrBlob?: unknown;
}

/**
 * Whether the threaded build can start here: shared memory, and the package's worker source
 * and threaded glue where this module expects them (`wasmOut`: its wasm-out directory). A
 * pthread that fails to start takes the process down (the glue throws from the worker's
 * error event), so anything missing means one thread instead.
 */
export function canThread(wasmOut: string): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  try {
    const require = createRequire(import.meta.url);
    const source = (require(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents?: unknown }).wasmWorkerContents;
    return typeof source === 'string' && existsSync(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js'));
  } catch {
    return false;
  }
}

/**
 * Runs `init` (which must start the wasm backend: tf.setBackend('wasm')) with tfjs's
 * threaded build enabled for `threads` threads. `wasmOut` is the package's wasm-out
 * directory (check canThread first). Returns what `init` returns; puts every patched
 * global back before returning.
 */
export async function threadedInit<T>(wasm: { setThreadsCount(n: number): void }, wasmOut: string, threads: number, init: () => Promise<T>): Promise<T> {
  const require = createRequire(import.meta.url);
  const workerThreads = require('node:worker_threads') as { Worker: WorkerClass };
  const nodeOs = require('node:os') as { cpus: typeof os.cpus };
  const workerSource = (require(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string }).wasmWorkerContents;
  const glue = join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
  const Original = workerThreads.Worker;
  const cpus = nodeOs.cpus;

  class PthreadWorker extends Original {
    constructor(script: string | URL, options?: Record<string, unknown>) {
      const blob = typeof script === 'string' && script.startsWith('blob:');
      // The source is a template literal's text: its "\n" escapes were turned into newlines inside string literals.
      super(blob ? workerSource.replace(/\n/g, '\\n') : script, blob ? { ...options, eval: true } : options);
    }
    override postMessage(message: unknown, transfer?: unknown): void {
      const m = message as LoadMessage;
      super.postMessage(m?.cmd === 'load' && typeof m.urlOrBlob !== 'string' ? { ...m, urlOrBlob: glue } : message, transfer);
    }
  }

  const flags = tf.env();
  const hadFlag = flags.getFlags()['WASM_HAS_MULTITHREAD_SUPPORT'];
  flags.set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  workerThreads.Worker = PthreadWorker as unknown as WorkerClass;
  nodeOs.cpus = () => {
    const real = cpus();
    return Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]!);
  };
  try {
    const started = await init();
    // The glue refs a worker while its pthread runs, and XNNPACK's pool threads run for
    // good: without this a process that used the backend would never exit.
    const glueModule = (tf.findBackend('wasm') as unknown as { wasm?: { PThread?: { runningWorkers: { unref(): void }[] } } } | null)?.wasm;
    for (const worker of glueModule?.PThread?.runningWorkers ?? []) worker.unref();
    return started;
  } finally {
    workerThreads.Worker = Original;
    nodeOs.cpus = cpus;
    if (hadFlag === undefined) flags.set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    else flags.set('WASM_HAS_MULTITHREAD_SUPPORT', hadFlag);
  }
}
