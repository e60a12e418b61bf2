import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedModule, generatedPath } from '../../scripts/wasm-module.js';
import { fillNormal, fillNormalReference, normalState, wasmNormalFill } from '../../src/weights/normal.js';

const sameBits = (x: Float32Array, y: Float32Array): boolean => Buffer.compare(Buffer.from(x.buffer, x.byteOffset, x.byteLength), Buffer.from(y.buffer, y.byteOffset, y.byteLength)) === 0;

describe('the normal sampler', () => {
  const wasm = wasmNormalFill();

  it('runs as WebAssembly on Node (the JavaScript one is only a fallback)', () => {
    expect(wasm).toBeDefined();
  });

  // Lengths around the four lanes and the 65,536-sample chunks of the WebAssembly module.
  it.each([0, 1, 3, 4, 5, 65535, 65536, 65537, 200_003])('gives the same bits in WebAssembly and in JavaScript (%i samples)', (n) => {
    // Factors: none, a fresh norm's 1/sqrt(1 + eps), a zeroed norm's, and one that flips the sign.
    for (const [seed, std, factor] of [[0, 1, 1], [-7, 0.05, 1 / Math.sqrt(1 + 1e-5)], [0x7fffffff, 3.5, 0], [12, 0.2, -2.5]] as const) {
      const a = new Float32Array(n);
      const b = new Float32Array(n);
      wasm!(a, normalState(seed), std, factor);
      fillNormalReference(b, normalState(seed), std, factor);
      expect(sameBits(a, b)).toBe(true);
    }
  });

  it('takes the slow path (wedges and the tail) often enough that the comparison covers it', () => {
    const values = new Float32Array(1_000_000);
    fillNormal(values, normalState(5), 1);
    // Beyond the ziggurat's base, R = 3.654, only the tail algorithm produces values: 2.6e-4 of a normal.
    const tail = values.filter((v) => Math.abs(v) > 3.6541528853610088).length / values.length;
    expect(tail).toBeGreaterThan(1.8e-4);
    expect(tail).toBeLessThan(3.4e-4);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.005);
    expect(Math.abs(variance - 1)).toBeLessThan(0.005);
  });

  it('starts from a different state for every seed', () => {
    const a = new Float32Array(64);
    const b = new Float32Array(64);
    fillNormal(a, normalState(1), 1);
    fillNormal(b, normalState(2), 1);
    expect(sameBits(a, b)).toBe(false);
  });

  it('is assembled from normal.wat as committed (`npm run wasm` after editing it)', async () => {
    expect(readFileSync(generatedPath, 'utf8')).toBe(await generatedModule());
  });
});
