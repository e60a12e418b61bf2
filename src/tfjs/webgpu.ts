import { existsSync, readdirSync } from 'node:fs';
import { loadOptional } from '../util/optional.js';

/**
 * TensorFlow.js's WebGPU backend in Node: `@tensorflow/tfjs-backend-webgpu` running on
 * Dawn (Chromium's WebGPU implementation) through the `webgpu` npm package, whose native
 * binaries (`dawn.node`, Vulkan/Metal/D3D12) ship inside the package. Both are optional
 * dependencies: loaded here, lazily, only when `--backend webgpu` (or `auto`) asks.
 *
 * Resolves once tfjs has a `webgpu` backend to select; rejects with the reason it cannot
 * (the caller reports it as R0605 and `auto` moves on): no GPU device (Linux: none of
 * /dev/dri, /dev/nvidia*, /dev/dxg — checked first, so a machine without a GPU never loads
 * Dawn), a package missing, or no WebGPU adapter.
 */
export async function prepareWebgpu(): Promise<void> {
  webgpuReady ??= load();
  return webgpuReady;
}

let webgpuReady: Promise<void> | undefined;

interface Dawn {
  create(options: string[]): { requestAdapter(options?: { powerPreference?: string }): Promise<unknown> };
  globals: object;
}

async function load(): Promise<void> {
  if (process.platform === 'linux' && !hasGpuDevice()) throw new Error('no GPU device on this machine (none of /dev/dri, /dev/nvidia*, /dev/dxg)');
  // R0940 (not installed) or R0941 (installed, does not load), with the package to install.
  const dawn = await loadOptional<Dawn>('webgpu');
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('Dawn found no WebGPU adapter (no supported GPU or driver)');
  // tfjs-backend-webgpu registers its backend on import when navigator.gpu exists, and uses WebGPU's global constants.
  Object.assign(globalThis, dawn.globals);
  const g = globalThis as { navigator?: object };
  if (g.navigator === undefined) g.navigator = {};
  Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  await loadOptional('@tensorflow/tfjs-backend-webgpu');
}

function hasGpuDevice(): boolean {
  if (existsSync('/dev/dri') || existsSync('/dev/dxg')) return true;
  try {
    return readdirSync('/dev').some((f) => f.startsWith('nvidia'));
  } catch {
    return false;
  }
}
