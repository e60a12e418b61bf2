/**
 * xoshiro128** (Blackman and Vigna): a small, fast generator of 32-bit words, its state
 * spread from a 32-bit seed by splitmix32. Written out here rather than taken from pure-rand
 * because initialising ResNet-152 draws some 60 million numbers and a generic generator's
 * call overhead dominated the export time.
 */
export class Xoshiro128 {
  constructor(
    private a: number,
    private b: number,
    private c: number,
    private d: number,
  ) {
    if ((a | b | c | d) === 0) this.a = 1;
  }

  static seeded(seed: number): Xoshiro128 {
    const [a, b, c, d] = splitmix32(seed, 4);
    return new Xoshiro128(a!, b!, c!, d!);
  }

  /** The next word, as a signed 32-bit integer. */
  next(): number {
    const m = Math.imul(this.b, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9);
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = (this.d << 11) | (this.d >>> 21);
    return result;
  }

  /** Uniform in (0, 1]: never 0, so its logarithm is finite. */
  uniform(): number {
    return ((this.next() >>> 0) + 1) / 4294967296;
  }
}

/** `count` words of splitmix32 from a 32-bit seed: a generator's starting state. */
export function splitmix32(seed: number, count: number): Int32Array {
  const words = new Int32Array(count);
  let s = seed | 0;
  for (let i = 0; i < count; i++) {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    words[i] = z ^ (z >>> 16);
  }
  return words;
}
