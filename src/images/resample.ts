/**
 * Bilinear resampling of 8-bit images as Pillow's Image.resize(BILINEAR) computes it (its
 * libImaging/Resample.c, which torchvision's Resize and RandomResizedCrop call on the
 * images ImageFolder loads): separable, horizontal pass first, pixel centres aligned
 * ((x + 0.5) · scale − 0.5), a triangle filter widened by the scale when shrinking
 * (antialiasing), weights normalised over the taps inside the image, 22-bit fixed-point
 * coefficients and each pass rounded to 8 bits.
 *
 * decode.ts enlarges with it; shrinking goes to libvips (sharp), whose antialiased linear
 * reduction is within a few levels of this one and runs off the main thread. libvips's
 * own enlargement samples output pixel x at x / scale − 0.5 instead of Pillow's
 * (x + 0.5) / scale − 0.5 — the image moves by half an output pixel — hence this file.
 */

const precisionBits = 32 - 8 - 2;

/** The taps of one output position: the first input index and fixed-point weights. */
interface Taps {
  first: Int32Array;
  count: Int32Array;
  weights: Int32Array;
  size: number;
}

/** Pillow's precompute_coeffs for the triangle filter (support 1), then normalize_coeffs_8bpc. */
function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const size = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * size);
  const k = new Float64Array(size);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = Math.max(0, 1 - Math.abs((x + xmin - center + 0.5) / filterScale));
      k[x] = w;
      sum += w;
    }
    for (let x = 0; x < xmax; x++) {
      const v = sum !== 0 ? k[x]! / sum : k[x]!;
      weights[xx * size + x] = Math.trunc(v < 0 ? -0.5 + v * (1 << precisionBits) : 0.5 + v * (1 << precisionBits));
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { first, count, weights, size };
}

const clip8 = (v: number): number => {
  const r = v >> precisionBits;
  return r < 0 ? 0 : r > 255 ? 255 : r;
};

/**
 * `src` (height x width x channels, 8-bit, interleaved) resized to `outHeight` x
 * `outWidth` as Pillow's BILINEAR resize does it. Returns a new buffer of the same layout.
 */
export function resizeBilinear(src: Uint8Array, height: number, width: number, channels: number, outHeight: number, outWidth: number): Uint8Array {
  let data = src;
  let w = width;
  if (outWidth !== width) {
    // A horizontal pass is a vertical pass over rows of single pixels of `channels` values.
    data = pass(data, height, width, outWidth, channels, 1);
    w = outWidth;
  }
  if (outHeight !== height) data = pass(data, 1, height, outHeight, w * channels, 1);
  return data === src ? src.slice() : data;
}

/**
 * One resampling pass along an axis of `inSize` positions → `outSize`, over `outer` blocks
 * (rows for a horizontal pass; 1 for a vertical one), each position holding `inner`
 * consecutive values.
 */
function pass(data: Uint8Array, outer: number, inSize: number, outSize: number, inner: number, _unit: 1): Uint8Array {
  const t = taps(inSize, outSize);
  const out = new Uint8Array(outer * outSize * inner);
  const half = 1 << (precisionBits - 1);
  for (let o = 0; o < outer; o++) {
    const inBase = o * inSize * inner;
    const outBase = o * outSize * inner;
    for (let x = 0; x < outSize; x++) {
      const wBase = x * t.size;
      const n = t.count[x]!;
      const start = inBase + t.first[x]! * inner;
      const dst = outBase + x * inner;
      for (let k = 0; k < inner; k++) {
        let acc = half;
        for (let i = 0, at = start + k; i < n; i++, at += inner) acc += data[at]! * t.weights[wBase + i]!;
        out[dst + k] = clip8(acc);
      }
    }
  }
  return out;
}
