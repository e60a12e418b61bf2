import { normalWasmBase64 } from './normal-wasm.js';
import { splitmix32, Xoshiro128 } from './xoshiro.js';

/**
 * Normal samples for weight initialisation: Marsaglia and Tsang's ziggurat with 256 layers
 * over four xoshiro128** generators (Blackman and Vigna) taken in turn, sample 4i+j from
 * generator j, with a fifth generator for the rare draws the fast path rejects.
 *
 * Initialising ResNet-152 draws some 60 million samples, which is most of an export's time.
 * The four generators are what lets `normal.wat` run them in one SIMD register; this file
 * holds the same algorithm in plain JavaScript as the reference a test holds the
 * WebAssembly to (bit for bit), and as the fallback where WebAssembly SIMD is missing.
 *
 * One 32-bit word per sample almost always: its low 8 bits pick the layer, the other 24 the
 * signed position; a logarithm or exponential only in the wedge and tail cases (about 1 in
 * 100 samples). R and V are the paper's constants for 256 layers: where the tail starts,
 * and each layer's area under exp(-x^2/2).
 */

const LAYERS = 256;
const R = 3.6541528853610088;
const V = 0.00492867323399;
const SCALE = 8388608; // 2^23: the 24-bit signed position is in [-2^23, 2^23)

/** The generators' state: lanes' a, b, c, d (four words each), then the fifth generator's a, b, c, d. */
const STATE_WORDS = 20;

interface Tables {
  /** A layer's fast-path bound on |position|. */
  k: Int32Array;
  /** A layer's width: position times w is the sample. */
  w: Float64Array;
  /** exp(-x^2/2) at a layer's edge. */
  f: Float64Array;
}

const tables: Tables = zigguratTables();

function zigguratTables(): Tables {
  const k = new Int32Array(LAYERS);
  const w = new Float64Array(LAYERS);
  const f = new Float64Array(LAYERS);
  let dn = R;
  let tn = dn;
  const q = V / Math.exp(-0.5 * dn * dn);
  k[0] = Math.floor((dn / q) * SCALE);
  k[1] = 0;
  w[0] = q / SCALE;
  w[LAYERS - 1] = dn / SCALE;
  f[0] = 1;
  f[LAYERS - 1] = Math.exp(-0.5 * dn * dn);
  for (let i = LAYERS - 2; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(V / dn + Math.exp(-0.5 * dn * dn)));
    k[i + 1] = Math.floor((dn / tn) * SCALE);
    tn = dn;
    f[i] = Math.exp(-0.5 * dn * dn);
    w[i] = dn / SCALE;
  }
  return { k, w, f };
}

/**
 * The generators' starting state for a 32-bit seed, spread by splitmix32. A lane whose four
 * words came out all zero (it would stay at zero) gets a = 1, and so does the fifth generator.
 */
export function normalState(seed: number): Int32Array {
  const words = splitmix32(seed, STATE_WORDS);
  for (let lane = 0; lane < 4; lane++) {
    if ((words[lane]! | words[4 + lane]! | words[8 + lane]! | words[12 + lane]!) === 0) words[lane] = 1;
  }
  if ((words[16]! | words[17]! | words[18]! | words[19]!) === 0) words[16] = 1;
  return words;
}

/**
 * Fills `data` with normal samples of standard deviation `std`, the generators starting from
 * `state`; each float32 sample then times `factor` (a folded norm's scale), as a separate
 * pass over the values would give it, bit for bit.
 */
export type NormalFill = (data: Float32Array, state: Int32Array, std: number, factor?: number) => void;

/** The plain JavaScript sampler: the reference for the WebAssembly one. */
export const fillNormalReference: NormalFill = (data, state, std, factor = 1) => {
  const { k, w } = tables;
  const wf = Float32Array.from(w, (v) => v * std);
  const s = Int32Array.from(state);
  const spare = new Xoshiro128(s[16]!, s[17]!, s[18]!, s[19]!);
  for (let i = 0; i < data.length; i += 4) {
    for (let lane = 0; lane < 4; lane++) {
      // xoshiro128** on this lane's words.
      let a = s[lane]!;
      let b = s[4 + lane]!;
      let c = s[8 + lane]!;
      let d = s[12 + lane]!;
      const m = Math.imul(b, 5);
      const r = Math.imul((m << 7) | (m >>> 25), 9);
      const t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = (d << 11) | (d >>> 21);
      s[lane] = a;
      s[4 + lane] = b;
      s[8 + lane] = c;
      s[12 + lane] = d;

      const iz = r & (LAYERS - 1);
      const hz = r >> 8;
      const value = Math.abs(hz) < k[iz]! ? hz * wf[iz]! : slow(spare, hz, iz) * std;
      if (i + lane < data.length) data[i + lane] = value;
    }
  }
  for (let i = 0; i < data.length; i++) data[i]! *= factor;
};

/** A standard normal sample for a draw that missed the fast path: the wedge, the tail, or a fresh draw. */
function slow(rng: Xoshiro128, hz: number, iz: number): number {
  const { k, w, f } = tables;
  for (;;) {
    const x = hz * w[iz]!;
    if (iz === 0) {
      let tx: number;
      let ty: number;
      do {
        tx = -Math.log(rng.uniform()) / R;
        ty = -Math.log(rng.uniform());
      } while (ty + ty < tx * tx);
      return hz > 0 ? R + tx : -R - tx;
    }
    if (f[iz]! + rng.uniform() * (f[iz - 1]! - f[iz]!) < Math.exp(-0.5 * x * x)) return x;
    const u = rng.next();
    iz = u & (LAYERS - 1);
    hz = u >> 8;
    if (Math.abs(hz) < k[iz]!) return hz * w[iz]!;
  }
}

// The WebAssembly module's memory layout (see normal.wat).
const WIDTHS_AT = 2048;
const EDGES_AT = 4096;
const STATE_AT = 6144;
const OUT_AT = 65536;
const CHUNK = 65536;

/** What this file uses of the WebAssembly API, which the project's TypeScript libraries (ES2022, Node) do not declare. */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

interface NormalExports {
  memory: { buffer: ArrayBuffer };
  normal(n: number, std: number, factor: number): void;
}

/** A new instance of the WebAssembly sampler, or undefined where WebAssembly (with SIMD) is not available. */
export function wasmNormalFill(): NormalFill | undefined {
  const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (!wasm) return undefined;
  const bytes = Uint8Array.from(atob(normalWasmBase64), (c) => c.charCodeAt(0));
  if (!wasm.validate(bytes)) return undefined;
  const instance = new wasm.Instance(new wasm.Module(bytes), { math: { log: Math.log, exp: Math.exp } });
  const exports = instance.exports as unknown as NormalExports;
  const buffer = exports.memory.buffer;
  new Int32Array(buffer, 0, LAYERS).set(tables.k);
  new Float64Array(buffer, WIDTHS_AT, LAYERS).set(tables.w);
  new Float64Array(buffer, EDGES_AT, LAYERS).set(tables.f);
  const state = new Int32Array(buffer, STATE_AT, STATE_WORDS);
  const out = new Float32Array(buffer, OUT_AT, CHUNK);
  return (data, start, std, factor = 1) => {
    state.set(start);
    for (let at = 0; at < data.length; at += CHUNK) {
      const n = Math.min(CHUNK, data.length - at);
      exports.normal((n + 3) & ~3, std, factor);
      data.set(n === CHUNK ? out : out.subarray(0, n), at);
    }
  };
}

let chosen: NormalFill | undefined;

/** The fastest sampler this runtime has; both give the same values. */
export function fillNormal(data: Float32Array, state: Int32Array, std: number, factor = 1): void {
  chosen ??= wasmNormalFill() ?? fillNormalReference;
  chosen(data, state, std, factor);
}
