import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { kernelsSharedWasmBase64, kernelsWasmBase64 } from './kernels-wasm.js';

/**
 * kernels.wat, instantiated on the memory of tfjs's wasm backend, so that its loops run
 * on the backend's tensors in place. Pointers are byte offsets into that memory
 * (`offset(tensor)`); every function's layout is in kernels.wat.
 */
export interface SimdKernels {
  /** Byte offset of a tensor's data in the backend's memory. */
  offset(t: { dataId: object }): number;
  channel_moments(x: number, rows: number, c: number, shift: number, out: number): void;
  channel_dot(dy: number, x: number, rows: number, c: number, mean: number, out: number): void;
  affine(x: number, y: number, rows: number, c: number, s: number, a: number, b: number): void;
  affine_grad(dy: number, x: number, dx: number, rows: number, c: number, mean: number, p: number, q: number, r: number): void;
  relu_grad(dy: number, x: number, dx: number, n: number): void;
  filter_grad(x: number, dy: number, dw: number, n: number, h: number, w: number, ci: number, oh: number, ow: number, co: number, kh: number, kw: number, sh: number, sw: number, top: number, left: number): void;
  scatter_phase(src: number, dst: number, n: number, jn: number, inn: number, c: number, h: number, w: number, ry: number, rx: number, sy: number, sx: number): void;
  im2col_t(x: number, planes: number, dst: number, n: number, h: number, w: number, ci: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number, top: number, left: number): void;
}

/** A WebAssembly.Memory: what this file uses of it (the project's TypeScript libraries, ES2022 and Node, do not declare the WebAssembly API). */
interface Memory {
  buffer: ArrayBuffer | SharedArrayBuffer;
}

interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

interface GlueModule {
  /** The memory of the threaded build (a SharedArrayBuffer's). */
  wasmMemory?: Memory;
  /** The exports of the single-threaded build, its memory among them. */
  asm?: { memory?: Memory };
}

const instances = new WeakMap<object, SimdKernels | null>();

/**
 * The kernels for `backend`, or undefined where they cannot run (no WebAssembly SIMD, or a
 * build of the backend whose memory this does not find): callers then take their
 * JavaScript path.
 */
export function simdKernels(backend: BackendWasm): SimdKernels | undefined {
  const glue = (backend as unknown as { wasm: GlueModule }).wasm;
  let kernels = instances.get(glue);
  if (kernels === undefined) {
    kernels = instantiate(backend, glue.wasmMemory ?? glue.asm?.memory) ?? null;
    instances.set(glue, kernels);
  }
  return kernels ?? undefined;
}

function instantiate(backend: BackendWasm, memory: Memory | undefined): SimdKernels | undefined {
  const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (!memory || !wasm) return undefined;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const bytes = Buffer.from(shared ? kernelsSharedWasmBase64 : kernelsWasmBase64, 'base64');
  if (!wasm.validate(bytes)) return undefined;
  const { exports } = new wasm.Instance(new wasm.Module(bytes), { env: { memory } });
  const dataIdMap = (backend as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } }).dataIdMap;
  return { ...(exports as unknown as Omit<SimdKernels, 'offset'>), offset: (t) => dataIdMap.get(t.dataId).memoryOffset };
}
