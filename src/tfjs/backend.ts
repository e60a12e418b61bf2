import * as tf from './tf.js';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadOptional, OptionalPackageError } from '../util/optional.js';
import { registerBatchNormKernels } from './batch-norm-kernels.js';
import { registerFastGradients } from './gradients.js';
import { registerWasmGradients } from './wasm-kernels.js';
import { canThread, threadedInit, wasmThreads } from './wasm-threads.js';
import { prepareWebgpu } from './webgpu.js';

/** The backends a user can ask for; `auto` takes the first of `preference` that loads. */
export const backendChoices = ['auto', 'tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof backendChoices)[number];
export type ConcreteBackend = Exclude<BackendChoice, 'auto'>;

/**
 * The order `auto` tries. GPUs first (native TensorFlow's CUDA, then WebGPU through Dawn),
 * then native TensorFlow on the CPU; then wasm, which with this project's gradient kernels
 * trains ResNet-20 far faster than the pure-JS cpu backend (bench/tfjs.bench.ts measures
 * both; figures in docs/tfjs.md).
 */
export const preference: readonly ConcreteBackend[] = ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'];

export class BackendUnavailable extends Error {
  constructor(
    readonly backend: ConcreteBackend,
    readonly reason: string,
  ) {
    super(`backend '${backend}' is not available: ${reason}`);
  }
}

export function isBackendChoice(name: string): name is BackendChoice {
  return (backendChoices as readonly string[]).includes(name);
}

/** The tfjs name a concrete backend registers itself under. */
function tfName(backend: ConcreteBackend): string {
  return backend === 'tfjs-node' ? 'tensorflow' : backend === 'tfjs-node-gpu' ? 'tensorflow' : backend;
}

let wasmReady: Promise<() => Promise<boolean>> | undefined;
let wasmPackage: { getThreadsCount(): number } | undefined;

/** Loads the wasm backend's package and this project's kernels; returns what starts the backend (threaded: wasm-threads.ts). */
async function prepareWasm(): Promise<() => Promise<boolean>> {
  wasmReady ??= (async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasmPackage = wasm;
    const require = createRequire(import.meta.url);
    // The package's main file sits in dist/; its .wasm binaries in wasm-out/ beside it.
    const main = require.resolve('@tensorflow/tfjs-backend-wasm');
    const wasmOut = join(dirname(main), '..', 'wasm-out');
    wasm.setWasmPaths(wasmOut + '/');
    registerWasmGradients();
    registerBatchNormKernels();
    const threads = wasmThreads();
    const start = (): Promise<boolean> => tf.setBackend('wasm');
    // Once started, the backend stays (setBackend only switches to it).
    return () => (threads > 1 && !tf.findBackend('wasm') && canThread(wasmOut) ? threadedInit(wasm, wasmOut, threads, start) : start());
  })();
  return wasmReady;
}

/** Makes one backend current; throws BackendUnavailable when it cannot load. */
export async function useBackend(backend: ConcreteBackend): Promise<void> {
  registerFastGradients();
  let start = (): Promise<boolean> => tf.setBackend(tfName(backend));
  try {
    if (backend === 'tfjs-node-gpu' || backend === 'tfjs-node') {
      await loadOptional(`@tensorflow/${backend}`);
    } else if (backend === 'wasm') {
      start = await prepareWasm();
    } else if (backend === 'webgpu') {
      await prepareWebgpu();
    }
  } catch (e) {
    throw new BackendUnavailable(backend, e instanceof OptionalPackageError ? `${e.message}; ${e.help}` : e instanceof Error ? e.message : String(e));
  }
  const ok = await start();
  if (!ok) throw new BackendUnavailable(backend, 'it failed to initialise');
  await tf.ready();
  // The pure-JS backend greets Node users with advice to install tfjs-node; the command says which backend it uses instead.
  if (backend === 'cpu') (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
}

/** The threads the current backend computes on, where it says: wasm's (1 unless started threaded, wasm-threads.ts). */
export function backendThreads(): number | undefined {
  return tf.getBackend() === 'wasm' && wasmPackage ? Math.max(1, wasmPackage.getThreadsCount()) : undefined;
}

/** Selects a backend; `auto` takes the first of `preference` that loads. Returns the one in use. */
export async function selectBackend(choice: BackendChoice): Promise<ConcreteBackend> {
  if (choice !== 'auto') {
    await useBackend(choice);
    return choice;
  }
  for (const candidate of preference) {
    try {
      await useBackend(candidate);
      return candidate;
    } catch (e) {
      if (!(e instanceof BackendUnavailable)) throw e;
    }
  }
  throw new BackendUnavailable('cpu', 'no backend loaded');
}
